import gymnasium as gym
import numpy as np
import pytest
from scipy import stats
from stable_baselines3.common.vec_env import DummyVecEnv

from rewarddesign.preferences import (
    Fragments,
    HeronGatherer,
    LearnedReward,
    PreferenceDataset,
    RewardEnsemble,
    RewardModel,
    SyntheticGatherer,
    VecLearnedReward,
    hierarchical_labels,
    preference_accuracy,
    random_pairs,
    train_reward_model,
)


def naive_labels(zi, zj, ranking, signs, margins):
    out = []
    for a, b in zip(zi, zj):
        label = -1
        for level, k in enumerate(ranking):
            if signs[k] * a[k] > signs[k] * b[k] + margins[level]:
                label = 1
                break
            if signs[k] * b[k] > signs[k] * a[k] + margins[level]:
                label = 0
                break
        out.append(label)
    return np.array(out)


def test_heron_labels_match_a_hand_worked_example():
    # factors: 0 = distance to the goal (less is better), 1 = speed (more), 2 = energy (less);
    # importance: distance, then energy, then speed
    ranking, signs, margins = [0, 2, 1], [-1, 1, -1], [0.5, 1.0, 0.1]
    zi = np.array([[1.0, 3.0, 2.0], [1.0, 3.0, 2.0], [1.0, 3.0, 2.0], [1.0, 3.0, 2.0], [1.0, 3.0, 2.0]])
    zj = np.array([[2.0, 0.0, 0.0], [1.2, 0.0, 5.0], [1.2, 9.0, 2.5], [1.2, 3.05, 2.5], [0.9, 2.0, 0.0]])
    # 1: distance 1 vs 2 decides for i; 2: distance within 0.5, energy 2 vs 5 decides for i; 3: energy
    # within 1, speed 3 vs 9 decides for j; 4: nothing decides; 5: distance within, energy 2 vs 0 for j
    np.testing.assert_array_equal(hierarchical_labels(zi, zj, ranking, signs, margins), [1, 1, 0, -1, 0])


def test_vectorised_labels_equal_a_double_loop(rng):
    for _ in range(10):
        k = int(rng.integers(1, 5))
        zi, zj = rng.normal(size=(200, k)), rng.normal(size=(200, k))
        ranking = rng.permutation(k)
        signs = rng.choice([-1.0, 1.0], size=k)
        margins = rng.uniform(0, 1, size=k)
        np.testing.assert_array_equal(
            hierarchical_labels(zi, zj, ranking, signs, margins), naive_labels(zi, zj, ranking, signs, margins)
        )


def test_heron_gatherer_labels_all_pairs_with_margins_from_the_spread(rng):
    factors = rng.normal(size=(30, 4, 2))
    fragments = Fragments(rng.normal(size=(30, 4, 3)), np.zeros((30, 4), dtype=int), factors=factors)
    gatherer = HeronGatherer(ranking=[1, 0], signs=[1, -1], sigmas=[0.5, 0.5])
    data = gatherer.all_pairs(fragments)
    sums = factors.sum(1)
    first, second = np.triu_indices(30, k=1)
    expected = naive_labels(sums[first], sums[second], [1, 0], [1, -1], 0.5 * sums.std(0)[[1, 0]])
    assert len(data) == int((expected >= 0).sum()) and set(np.unique(data.labels)) <= {0.0, 1.0}
    np.testing.assert_array_equal(data.labels, expected[expected >= 0])


def linear_fragments(rng, n=400, length=3):
    obs = rng.normal(size=(n, length, 3)).astype(np.float32)
    weights = np.array([1.0, -2.0, 0.5])
    return Fragments(obs, np.zeros((n, length), dtype=np.int64), rewards=obs @ weights), weights


SPACES = (gym.spaces.Box(-5, 5, (3,), np.float32), gym.spaces.Discrete(2))


def test_bradley_terry_model_recovers_a_linear_reward_ordering(rng):
    fragments, weights = linear_fragments(rng)
    first, second = random_pairs(len(fragments), 2000, rng)
    data = SyntheticGatherer(temperature=0.5, seed=0)(fragments, first, second)
    train, held = data.split(0.2, rng)
    model = RewardModel(*SPACES, device="cpu")
    losses = train_reward_model(model, train, epochs=15, seed=0)
    assert losses[-1] < losses[0]
    assert preference_accuracy(model, held) > 0.8
    states = rng.normal(size=(500, 3)).astype(np.float32)
    rho = stats.spearmanr(model.predict(states, np.zeros(500, dtype=int)), states @ weights).statistic
    assert rho > 0.9


def test_ensembles_worst_case_is_never_above_the_mean_and_models_save_and_load(rng, tmp_path):
    fragments, _ = linear_fragments(rng, n=100)
    data = SyntheticGatherer(temperature=0.5, seed=1)(fragments, *random_pairs(100, 300, rng))
    ensemble = RewardEnsemble.of(RewardModel(*SPACES, device="cpu"), 3, aggregate="wco")
    ensemble.train_members(data, epochs=3)
    states, acts = rng.normal(size=(64, 3)).astype(np.float32), np.zeros(64, dtype=int)
    worst = ensemble.predict(states, acts)
    ensemble.aggregate = "mean"
    mean = ensemble.predict(states, acts)
    ensemble.aggregate, ensemble.uwo_penalty = "uwo", 1.0
    assert np.all(worst <= mean + 1e-12) and np.all(ensemble.predict(states, acts) <= mean + 1e-12)
    member = ensemble.members[0]
    member.save(str(tmp_path / "m.pt"))
    copy = RewardModel(*SPACES, device="cpu").load(str(tmp_path / "m.pt"))
    np.testing.assert_allclose(copy.predict(states, acts), member.predict(states, acts), rtol=1e-6)
    data.save(tmp_path / "d.npz")
    loaded = PreferenceDataset.load(tmp_path / "d.npz")
    np.testing.assert_array_equal(loaded.labels, data.labels)
    np.testing.assert_array_equal(loaded.fragments.obs, data.fragments.obs)


class FactorEnv(gym.Env):
    observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.t += 1
        obs = np.full(2, self.t / 10, np.float32)
        info = {"reward_factors": np.array([self.t, action], dtype=float)}
        return obs, float(action), False, self.t >= 3, info


def test_learned_reward_wrappers_agree_and_keep_the_original_reward(rng):
    model = RewardModel(n_factors=2, device="cpu", seed=0)
    env = LearnedReward(FactorEnv(), model, mode="add")
    env.reset(seed=0)
    _, reward, _, _, info = env.step(1)
    assert info["original_reward"] == 1.0 and reward == pytest.approx(1.0 + info["learned_reward"])
    assert info["learned_reward"] == pytest.approx(model.predict_factors([[1.0, 1.0]])[0])
    venv = VecLearnedReward(DummyVecEnv([FactorEnv, FactorEnv]), model)
    venv.reset()
    singles = [LearnedReward(FactorEnv(), model) for _ in range(2)]
    for s in singles:
        s.reset(seed=0)
    for _ in range(7):  # across the autoreset every 3 steps
        actions = rng.integers(2, size=2)
        _, rewards, _, infos = venv.step(actions)
        for k, single in enumerate(singles):
            _, r, terminated, truncated, _ = single.step(int(actions[k]))
            # the model runs in float32 and a batch of two may round otherwise than one step: float32 tolerance
            assert rewards[k] == pytest.approx(r, rel=1e-5, abs=1e-6)
            assert infos[k]["original_reward"] == float(actions[k])
            if terminated or truncated:
                single.reset()
    obs_model = RewardModel(*SPACES, device="cpu")
    wrapped = LearnedReward(gym.make("CartPole-v1"), RewardModel(gym.make("CartPole-v1").observation_space,
                                                                 gym.spaces.Discrete(2), device="cpu"))  # fmt: skip
    first, _ = wrapped.reset(seed=0)
    _, reward, _, _, _ = wrapped.step(0)
    assert reward == pytest.approx(wrapped.model.predict(first[None], np.array([0]))[0])
    assert obs_model.predict(np.zeros((1, 3), np.float32), np.zeros(1, dtype=int)).shape == (1,)


def test_bad_input_is_rejected(rng):
    z = rng.normal(size=(4, 3))
    with pytest.raises(ValueError, match="permutation"):
        hierarchical_labels(z, z, [0, 0, 1], [1, 1, 1], [0, 0, 0])
    with pytest.raises(ValueError, match=r"\[P, K\]"):
        hierarchical_labels(z, z[:, :2], [0, 1, 2], [1, 1, 1], [0, 0, 0])
    with pytest.raises(ValueError, match="finite"):
        hierarchical_labels(np.full((4, 3), np.nan), z, [0, 1, 2], [1, 1, 1], [0, 0, 0])
    with pytest.raises(ValueError, match="margins"):
        hierarchical_labels(z, z, [0, 1, 2], [1, 1, 1], [0, 0])
    with pytest.raises(ValueError, match="signs"):
        hierarchical_labels(z, z, [0, 1, 2], [1, 0, 1], [0, 0, 0])
    fragments, _ = linear_fragments(rng, n=5)
    with pytest.raises(ValueError, match="labels"):
        PreferenceDataset(fragments, [0], [1], [0.3])
    with pytest.raises(ValueError, match="empty"):
        train_reward_model(RewardModel(*SPACES, device="cpu"), PreferenceDataset(fragments, [], [], []))
    with pytest.raises(ValueError, match="factors"):
        Fragments(np.zeros((2, 3, 1)), np.zeros((2, 3)), factors=np.zeros((2, 4, 2)))
    with pytest.raises(ValueError, match="reward factors"):
        RewardModel(n_factors=2, device="cpu").fragment_returns(fragments)
    with pytest.raises(ValueError, match="either"):
        RewardModel(device="cpu")
    with pytest.raises(ValueError, match="outside"):
        PreferenceDataset(fragments, [0], [9], [1.0])


@pytest.mark.parametrize(
    "env_id, reward_of",
    [
        ("Pendulum-v1", lambda f: -(f[0] + 0.1 * f[1] + 0.001 * f[2])),
        ("MountainCarContinuous-v0", lambda f: 100 * f[0] - 0.1 * f[1]),
        ("HalfCheetah-v5", lambda f: f[0] - f[1]),
        ("Hopper-v5", lambda f: f[0] - f[1] + f[2]),
        ("Walker2d-v5", lambda f: f[0] - f[1] + f[2]),
    ],
)
def test_reward_factors_add_up_to_the_env_reward(env_id, reward_of):
    from gymnasium.utils.env_checker import check_env

    from rewarddesign.envs.reward_factors import REWARD_FACTORS, with_reward_factors

    env = with_reward_factors(gym.make(env_id))
    check_env(env, skip_render_check=True)
    env.reset(seed=0)
    for _ in range(20):
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        factors = info["reward_factors"]
        assert factors.shape == (len(REWARD_FACTORS[env_id].names),)
        assert reward == pytest.approx(reward_of(factors), rel=1e-5, abs=1e-5)
        if terminated or truncated:
            env.reset()
    with pytest.raises(ValueError, match="no reward factors"):
        with_reward_factors(gym.make("CartPole-v1"))


def test_a_short_heron_run_on_pendulum_beats_the_untrained_policy():
    from rewarddesign.envs import with_reward_factors
    from rewarddesign.preferences.learning import PreferenceLearning

    gatherer = HeronGatherer(ranking=[0, 1, 2], signs=[-1, -1, -1], sigmas=[0.1, 0.1, 0.1])
    learner = PreferenceLearning(
        lambda: with_reward_factors(gym.make("Pendulum-v1")), gatherer, rounds=4, episodes_per_round=8,
        fragment_length=25, reward_inputs="obs_act",  # the fragment setting (HERON's default is single steps)
        device="cpu", seed=0,
        # RL Zoo's step size for Pendulum; a (64, 64) network trains in a third of the default's time
        algo_kwargs={"learning_starts": 500, "learning_rate": 1e-3, "policy_kwargs": {"net_arch": [64, 64]}},
    )  # fmt: skip
    learner.train(5000, 400)
    last = learner.history[-1]
    assert last.comparisons == 400 and len(learner.dataset) + len(learner.test_set) <= 400
    # SAC on the learned reward does better than random actions (about -1100 to -1300): seeds 0-2 of
    # this run ended at -811, -229 and -122 on one thread (about 40 CPU-s each); the margin asked
    # here is smaller
    assert last.true_return > learner.untrained_return + 200
    assert last.accuracy > 0.7


def test_the_rounds_roll_out_random_actions_until_the_agent_learns(monkeypatch):
    from rewarddesign.preferences import learning as module

    policies = []
    real = module.rollout

    def recording(policy, *args, **kwargs):
        if not kwargs.get("deterministic"):  # the rounds' label episodes, not the evaluations
            policies.append(policy)
        return real(policy, *args, **kwargs)

    monkeypatch.setattr(module, "rollout", recording)
    learner = module.PreferenceLearning(
        "Pendulum-v1", SyntheticGatherer(seed=0), algo="td3", rounds=4, episodes_per_round=1, device="cpu", seed=0,
        algo_kwargs={"learning_starts": 100, "policy_kwargs": {"net_arch": [8]}},
    )  # fmt: skip
    learner.train(200, 40)  # 50 steps a round: the agent starts learning after the second round
    assert [p is None for p in policies] == [True, True, False, False]
    assert policies[2] is learner.agent


def test_the_loop_reads_the_factors_from_the_env_it_is_given():
    from rewarddesign.envs import with_reward_factors
    from rewarddesign.preferences.learning import PreferenceLearning

    gatherer = HeronGatherer(ranking=[0, 1, 2], signs=[-1, -1, -1], sigmas=[0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match="publishes none"):  # the caller wraps; the method looks nothing up
        PreferenceLearning("Pendulum-v1", gatherer, device="cpu")
    with pytest.raises(ValueError, match="publishes none"):
        PreferenceLearning("Pendulum-v1", SyntheticGatherer(), reward_inputs="factors", device="cpu")
    with pytest.raises(ValueError, match="ranks 2 factors"):
        PreferenceLearning(
            lambda: with_reward_factors(gym.make("Pendulum-v1")),
            HeronGatherer(ranking=[0, 1], signs=[-1, -1], sigmas=[0.1, 0.1]),
            device="cpu",
        )
    with pytest.raises(TypeError, match="env must be"):
        PreferenceLearning(gym.make("Pendulum-v1"), gatherer, device="cpu")
    learner = PreferenceLearning(
        lambda: with_reward_factors(gym.make("Pendulum-v1")), gatherer, reward_inputs="factors", device="cpu"
    )
    assert learner.model.n_factors == 3


def test_the_seed_alone_fixes_the_reward_models_initial_weights():
    import torch

    from rewarddesign.preferences.learning import PreferenceLearning

    def initial_weights(seed, global_seed):
        torch.manual_seed(global_seed)  # whatever ran before in this process
        learner = PreferenceLearning("Pendulum-v1", SyntheticGatherer(seed=0), device="cpu", seed=seed)
        return torch.cat([p.detach().flatten() for p in learner.model.parameters()])

    assert torch.equal(initial_weights(3, 0), initial_weights(3, 1))
    assert not torch.equal(initial_weights(3, 0), initial_weights(4, 0))


def test_weighted_factor_reward_and_fragments_from_rollouts(rng):
    from rewarddesign.envs.reward_factors import with_reward_factors
    from rewarddesign.factors import FactorWeightedReward
    from rewarddesign.rollouts import rollout

    env = FactorWeightedReward(with_reward_factors(gym.make("Pendulum-v1")), [1.0, 0.5, 0.25])
    env.reset(seed=0)
    _, reward, *_, info = env.step(np.array([2.0], dtype=np.float32))
    f = info["reward_factors"]
    assert reward == pytest.approx(-(f[0] + 0.5 * f[1] + 0.25 * f[2])) and info["factor_reward"] == reward
    assert info["original_reward"] == pytest.approx(-(f[0] + 0.1 * f[1] + 0.001 * f[2]))
    with pytest.raises(ValueError, match="weights"):
        FactorWeightedReward(with_reward_factors(gym.make("Pendulum-v1")), [1.0, -1.0, 0.0])
    with pytest.raises(ValueError, match="publishes none"):
        FactorWeightedReward(gym.make("Pendulum-v1"), [1.0, 0.5, 0.25])
    # the SB3 form of the same term gives the same rewards
    from stable_baselines3.common.vec_env import DummyVecEnv

    from rewarddesign.factors import FactorWeightsTerm, factor_spec
    from rewarddesign.rewards.wrappers import VecDesignedReward

    single = FactorWeightedReward(with_reward_factors(gym.make("Pendulum-v1")), [1.0, 0.5, 0.25])
    term = FactorWeightsTerm(factor_spec(single), [1.0, 0.5, 0.25])
    venv = VecDesignedReward(DummyVecEnv([lambda: with_reward_factors(gym.make("Pendulum-v1"))]), term)
    venv.seed(0)
    venv.reset()
    single.reset(seed=0)
    for torque in (-2.0, 0.5, 1.5):
        _, rewards, _, infos = venv.step(np.array([[torque]], dtype=np.float32))
        _, reward, *_ = single.step(np.array([torque], dtype=np.float32))
        assert rewards[0] == pytest.approx(reward, rel=1e-6) and infos[0]["factor_reward"] == pytest.approx(reward)
    with pytest.raises(KeyError, match="publishes no factors"):
        term.step_one(None, None, None, 0.0, False, False, {})

    trajectories = rollout(None, with_reward_factors(gym.make("Pendulum-v1")), n_episodes=2, seed=0)
    fragments = Fragments.from_trajectories(trajectories, 25, rng)
    returns = np.array([t.undiscounted_return() for t in trajectories])
    assert len(fragments) == 2 * (200 // 25) and fragments.factors.shape == (16, 25, 3)
    np.testing.assert_allclose(
        fragments.rewards, -(fragments.factors @ np.array([1.0, 0.1, 0.001])), rtol=1e-5, atol=1e-6
    )
    assert returns.shape == (2,)
    with pytest.raises(ValueError, match="shorter"):
        Fragments.from_trajectories(rollout(None, gym.make("Pendulum-v1"), n_episodes=1, seed=0), 500, rng)
    bare = Fragments.from_trajectories(rollout(None, gym.make("Pendulum-v1"), n_episodes=1, seed=0), 25, rng)
    assert bare.factors is None and len(bare) == 8  # the env publishes no factors: none are kept


def test_disagreement_fragmenter_picks_the_pairs_the_ensemble_disagrees_on(rng):
    from rewarddesign.preferences import DisagreementFragmenter

    fragments, _ = linear_fragments(rng, n=60)
    ensemble = RewardEnsemble.of(RewardModel(*SPACES, device="cpu"), 3)
    first, second = DisagreementFragmenter(oversample=5)(fragments, 10, ensemble, np.random.default_rng(0))
    all_first, all_second = random_pairs(60, 50, np.random.default_rng(0))

    def spread(a, b):
        import torch

        with torch.no_grad():
            p = torch.stack(
                [
                    torch.sigmoid(m.fragment_returns(fragments, a) - m.fragment_returns(fragments, b))
                    for m in ensemble.members
                ]
            )
        return p.std(0).numpy()

    assert len(first) == 10 and spread(first, second).min() >= np.sort(spread(all_first, all_second))[-10] - 1e-6


def pendulum_reward(obs, act, next_obs=None, done=None):
    """Pendulum-v1's reward as a batched reward function."""
    obs, act = np.asarray(obs, dtype=np.float64), np.asarray(act, dtype=np.float64).reshape(len(obs), -1)
    angle = np.arctan2(obs[:, 1], obs[:, 0])
    return -(angle**2 + 0.1 * obs[:, 2] ** 2 + 0.001 * np.clip(act[:, 0], -2, 2) ** 2)


def test_the_loop_logs_the_epic_distance_of_the_learned_reward_to_the_true_one():
    from rewarddesign.distances import sample_epic_distance
    from rewarddesign.preferences.learning import PreferenceLearning
    from rewarddesign.rollouts import Transitions, rollout

    learner = PreferenceLearning(
        "Pendulum-v1", SyntheticGatherer(temperature=1.0, seed=0), rounds=2, episodes_per_round=4,
        reward_epochs=30, true_reward=pendulum_reward, device="cpu", seed=0, algo_kwargs={"learning_starts": 1000},
    )  # fmt: skip
    untrained = RewardModel(learner.eval_env.observation_space, learner.eval_env.action_space, device="cpu", seed=1)
    learner.train(200, 300)
    epic = [row.epic for row in learner.history]
    assert len(epic) == 2 and all(0 <= d <= 1 for d in epic)
    # the same estimate, of an untrained network, on random-action transitions
    trajectories = rollout(None, learner.eval_env, n_episodes=4, seed=0)
    fragments = Fragments.from_trajectories(trajectories, 25, np.random.default_rng(0))
    obs, acts = fragments.obs, fragments.acts
    transitions = Transitions(
        obs[:, :-1].reshape(-1, 3), acts[:, :-1].reshape(-1, 1), obs[:, 1:].reshape(-1, 3)
    )  # fmt: skip
    before = sample_epic_distance(untrained.predict, pendulum_reward, transitions, 0.99, n_mean_samples=64, rng=0)
    after = sample_epic_distance(learner.model.predict, pendulum_reward, transitions, 0.99, n_mean_samples=64, rng=0)
    # deterministic run: 0.68 after 75 comparisons, 0.22 after 300 (on the policy's fragments); on random
    # actions the untrained network is at 0.52, the trained model at 0.23 (seeds 1-4 of the loop: 0.22, 0.18,
    # 0.21, 0.20; the logged distance falls from round 1 to round 2 on seeds 0, 1, 3 and 4, not on seed 2:
    # 0.15 then 0.19)
    assert after < 0.6 * before and epic[-1] < epic[0]
    assert sample_epic_distance(pendulum_reward, pendulum_reward, transitions, 0.99, rng=0) < 1e-6


def test_an_ensemble_logs_the_epic_distance_like_a_single_model():
    from rewarddesign.preferences.learning import PreferenceLearning

    learner = PreferenceLearning(
        "Pendulum-v1", SyntheticGatherer(seed=0), ensemble_size=2, rounds=1, episodes_per_round=1, reward_epochs=1,
        true_reward=pendulum_reward, device="cpu", seed=0, algo_kwargs={"learning_starts": 1000},
    )  # fmt: skip
    learner.train(10, 10)
    (row,) = learner.history
    assert isinstance(learner.model, RewardEnsemble) and row.epic is not None and 0 <= row.epic <= 1


def linear_factor_member(weight: float) -> RewardModel:
    """A factor model with one input and no hidden layer whose raw output is ``weight * x``."""
    import torch

    model = RewardModel(n_factors=1, hidden_sizes=(), device="cpu", seed=0)
    layer = next(m for m in model.modules() if isinstance(m, torch.nn.Linear))
    with torch.no_grad():
        layer.weight.fill_(weight)
        layer.bias.zero_()
    return model


def test_uwo_is_the_mean_minus_lambda_times_the_members_variance():
    import doctest

    import torch

    from rewarddesign.preferences import models

    # members 1x, 2x, 6x at x = 1: mean 3, variance (4 + 1 + 9) / 3 = 14 / 3, standard deviation 2.16
    ensemble = RewardEnsemble([linear_factor_member(w) for w in (1.0, 2.0, 6.0)], "uwo", uwo_penalty=0.5)
    x = np.array([[1.0], [2.0]])
    np.testing.assert_allclose(ensemble.predict_factors(x, normalized=False), [3 - 7 / 3, 6 - 28 / 3], rtol=1e-6)
    fragments = Fragments(np.zeros((1, 2, 1)), np.zeros((1, 2)), factors=np.array([[[0.25], [0.75]]]))
    with torch.no_grad():  # the torch path: fragment returns 1, 2, 6 again
        np.testing.assert_allclose(ensemble.fragment_returns(fragments).numpy(), [3 - 7 / 3], rtol=1e-6)
    ensemble.aggregate = "uwo-std"
    np.testing.assert_allclose(
        ensemble.predict_factors(x[:1], normalized=False), [3 - 0.5 * np.sqrt(14 / 3)], rtol=1e-6
    )
    ensemble.aggregate = "wco"
    np.testing.assert_allclose(ensemble.predict_factors(x, normalized=False), [1.0, 2.0], rtol=1e-6)
    with pytest.raises(ValueError, match="uwo_penalty"):
        RewardEnsemble(list(ensemble.members), "uwo", uwo_penalty=-1.0)
    with pytest.raises(ValueError, match="aggregate"):
        RewardEnsemble(list(ensemble.members), "std")
    result = doctest.testmod(models, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_ensemble_members_differ_by_seed_on_the_same_pairs_and_bootstrap_stays_an_option(rng):
    import torch

    def weights(model):
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    fragments, _ = linear_fragments(rng, n=60)
    data = SyntheticGatherer(temperature=0.5, seed=1)(fragments, *random_pairs(60, 120, rng))
    for bootstrap in (False, True):
        ensemble = RewardEnsemble.of(RewardModel(*SPACES, device="cpu", seed=0), 3, seed=5)
        starts = [RewardModel(*SPACES, device="cpu", seed=5 + k) for k in range(3)]  # member k starts from seed 5 + k
        assert all(torch.equal(weights(m), weights(s)) for m, s in zip(ensemble.members, starts))
        if bootstrap:
            ensemble.train_members(data, seed=5, bootstrap=True, epochs=2)
        else:
            ensemble.train_members(data, seed=5, epochs=2)  # the default: every member on all the pairs
        for k, (member, start) in enumerate(zip(ensemble.members, starts)):
            train_reward_model(start, data, seed=5 + k, bootstrap=bootstrap, epochs=2)
            assert torch.equal(weights(member), weights(start)), (bootstrap, k)
    assert not torch.equal(weights(ensemble.members[0]), weights(ensemble.members[1]))


def test_building_and_training_reward_models_leave_the_global_torch_stream_alone(rng):
    import torch

    def weights(model):
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    torch.manual_seed(0)
    expected = torch.rand(6)
    torch.manual_seed(0)
    before = torch.rand(3)
    model_after_a_draw = RewardModel(*SPACES, device="cpu", seed=3)
    ensemble = RewardEnsemble.of(model_after_a_draw, 2, seed=7)
    after = torch.rand(3)
    assert torch.equal(torch.cat([before, after]), expected)  # building drew nothing from the caller's stream
    torch.manual_seed(1)
    model_first = RewardModel(*SPACES, device="cpu", seed=3)
    assert torch.equal(weights(model_first), weights(model_after_a_draw))  # whatever was drawn before
    fragments, _ = linear_fragments(rng, n=30)
    data = SyntheticGatherer(temperature=0.5, seed=1)(fragments, *random_pairs(30, 40, rng))
    state = torch.get_rng_state()
    train_reward_model(model_first, data, epochs=2, seed=0)
    ensemble.train_members(data, epochs=1)
    assert torch.equal(torch.get_rng_state(), state)  # training re-seeds nothing either


def test_the_agents_random_stream_runs_on_across_reward_rounds():
    import torch

    from rewarddesign.preferences.learning import PreferenceLearning

    learner = PreferenceLearning(
        "Pendulum-v1", SyntheticGatherer(seed=0), rounds=3, episodes_per_round=1, reward_epochs=1, device="cpu", seed=0
    )
    draws = []
    # what the agent would draw at the start of each round's training (SB3 samples from torch's global stream)
    learner.agent.learn = lambda *args, **kwargs: draws.append(torch.rand(4))
    learner.train(3, 30)
    assert len(draws) == 3
    assert not torch.equal(draws[0], draws[1]) and not torch.equal(draws[1], draws[2])


def load_preference_benchmark(monkeypatch):
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "preference_learning.py"
    spec = importlib.util.spec_from_file_location("preference_learning_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_the_benchmarks_heron_labels_keep_each_factors_sign_under_any_ranking(monkeypatch):
    import dataclasses

    bench = load_preference_benchmark(monkeypatch)
    env_id = "MountainCarContinuous-v0"  # factors: goal reached (more is better), action^2 (less is better)
    monkeypatch.setitem(bench.ENVS, env_id, dataclasses.replace(bench.ENVS[env_id], ranking=(1, 0)))
    gatherer = bench.heron_gatherer(env_id)  # action^2 first, then the goal
    factors = np.array([[[0.0, 0.1]], [[0.0, 0.9]], [[1.0, 0.9]], [[1.0, 0.1]]])  # one step per fragment
    fragments = Fragments(np.zeros((4, 1, 2)), np.zeros((4, 1, 1)), factors=factors)
    data = gatherer(fragments, np.array([0, 1, 2, 0]), np.array([1, 2, 3, 2]))
    # 0 vs 1: less power wins; 1 vs 2: same power, the goal wins; 2 vs 3: less power wins; 0 vs 2: power
    # is ranked first, so less power wins over reaching the goal
    np.testing.assert_array_equal(data.labels, [1.0, 0.0, 0.0, 1.0])
