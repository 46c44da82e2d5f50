"""rewarddesign.multiobjective: Pareto tools with known answers, scalarising wrappers against direct
computation, the direction-conditioned observation layout, MO-Gymnasium envs through every wrapper,
and the per-factor learned vector reward."""

import doctest
import importlib
import itertools
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given
from hypothesis import strategies as st

from rewarddesign.factors import FactorSpec
from rewarddesign.multiobjective import (
    ChebyshevScalarization,
    ChebyshevTerm,
    DirectionalReward,
    DirectionConditioned,
    LearnedVectorReward,
    LinearScalarization,
    LinearTerm,
    VectorReward,
    VectorRewardModel,
    evaluate_directions,
    expected_utility,
    hypervolume,
    pareto_front,
    pareto_mask,
    reward_dim,
    simplex_weights,
    sparsity,
    train_vector_reward_model,
    unit_directions,
    vector_returns,
)
from rewarddesign.rewards import VectorDesignedReward

mo_gym = pytest.importorskip("mo_gymnasium")

MO_ENVS = ["deep-sea-treasure-v0", "four-room-v0", "resource-gathering-v0", "mo-mountaincar-v0"]


# --- Pareto tools -------------------------------------------------------------------------------


def brute_hypervolume(points: np.ndarray, ref: np.ndarray) -> float:
    """Inclusion-exclusion over every subset: the union of the boxes [ref, p]."""
    points = points[np.all(points > ref, axis=1)]
    total = 0.0
    for size in range(1, len(points) + 1):
        for subset in itertools.combinations(range(len(points)), size):
            corner = points[list(subset)].min(axis=0)
            total += (-1) ** (size + 1) * float(np.prod(corner - ref))
    return total


def test_pareto_front_known():
    points = [[1, 5], [2, 4], [2, 4], [3, 1], [1, 1], [0, 6], [2, 3], [3, 0]]
    assert pareto_front(points).tolist() == [[3, 1], [2, 4], [1, 5], [0, 6]]
    assert pareto_mask(points).tolist() == [True, True, False, True, False, True, False, False]
    assert pareto_front([[1.0, 2.0, 3.0]]).tolist() == [[1.0, 2.0, 3.0]]
    assert pareto_front(np.zeros((0, 2))).shape == (0, 2)


def test_hypervolume_known_answers():
    assert hypervolume([[1, 3], [2, 2], [3, 1]], [0, 0]) == 6.0
    assert hypervolume([[2, 2, 2]], [0, 0, 0]) == 8.0
    assert hypervolume([[1, 2, 1], [2, 1, 1]], [0, 0, 0]) == 3.0
    # deep-sea-treasure's Pareto front (treasure, -time), reference (0, -25), as MORL-Baselines reports it
    dst = np.array([[0.7, -1], [8.2, -3], [11.5, -5], [14, -7], [15.1, -8], [16.1, -9], [19.6, -13],
                    [20.3, -14], [22.4, -17], [23.7, -19]])  # fmt: skip
    assert hypervolume(dst, [0, -25]) == pytest.approx(brute_hypervolume(dst, np.array([0.0, -25.0])))
    # by hand, the strips of the sweep:
    # 23.7 * 6 + 22.4 * 2 + 20.3 * 3 + 19.6 + 16.1 * 4 + 15.1 + 14 + 11.5 * 2 + 8.2 * 2 + 0.7 * 2
    assert hypervolume(dst, [0, -25]) == pytest.approx(401.8)
    # points not above the reference add nothing; dominated points add nothing
    assert hypervolume([[1, 3], [2, 2], [3, 1], [5, 0], [1, 1]], [0, 0]) == 6.0
    assert hypervolume([[-1, 3]], [0, 0]) == 0.0
    assert hypervolume([[3.0], [2.0]], [1.0]) == 2.0
    # four dimensions (WFG): two unit-overlapping boxes
    assert hypervolume([[2, 1, 1, 1], [1, 2, 1, 1]], [0, 0, 0, 0]) == 3.0


@given(
    st.integers(2, 5).flatmap(
        lambda k: st.lists(st.lists(st.integers(-2, 6), min_size=k, max_size=k), min_size=1, max_size=6)
    )
)
def test_hypervolume_matches_inclusion_exclusion(rows):
    points = np.asarray(rows, dtype=np.float64)
    ref = np.full(points.shape[1], -1.0)
    assert hypervolume(points, ref) == pytest.approx(brute_hypervolume(points, ref), abs=1e-9)


def test_hypervolume_large_2d_is_fast_and_exact():
    t = np.linspace(0, np.pi / 2, 20_000)
    points = np.stack([np.cos(t), np.sin(t)], axis=1)
    assert hypervolume(points, [0, 0]) == pytest.approx(np.pi / 4, abs=1e-3)


def test_expected_utility_and_sparsity_known():
    points = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.6]])
    weights = simplex_weights(2, 2)  # (1, 0), (.5, .5), (0, 1)
    assert expected_utility(points, weights) == pytest.approx((1.0 + 0.6 + 1.0) / 3)
    # MORL-Baselines' definitions, written out: eum = mean_w max_p w.p ; sparsity per objective
    front = np.array([[0.0, 3.0], [1.0, 1.0], [4.0, 0.0]])
    assert sparsity(front) == pytest.approx(((1 + 9) + (1 + 4)) / 2)
    assert sparsity([[1.0, 1.0]]) == 0.0


def test_weight_grids():
    w = simplex_weights(3, 4)
    assert w.shape == (15, 3) and np.allclose(w.sum(1), 1) and np.all(w >= 0)
    assert len({tuple(row) for row in w.tolist()}) == 15
    d = unit_directions(3, 4)
    assert np.allclose(np.linalg.norm(d, axis=1), 1)


def test_pareto_bad_input():
    with pytest.raises(ValueError, match="points"):
        pareto_front([1.0, 2.0, np.nan])
    with pytest.raises(ValueError, match="reference"):
        hypervolume([[1, 2]], [0, 0, 0])
    with pytest.raises(ValueError, match="points"):
        hypervolume([[1, np.inf]], [0, 0])
    with pytest.raises(ValueError, match="weights"):
        expected_utility([[1, 2]], [[1, 2, 3]])
    with pytest.raises(ValueError, match="n_partitions"):
        simplex_weights(2, 0)


def test_morl_baselines_numbers_where_installed():
    indicators = pytest.importorskip("morl_baselines.common.performance_indicators")
    rng = np.random.default_rng(0)
    for k in (2, 3, 4):
        points = rng.uniform(0, 1, (12, k))
        ref = np.zeros(k)
        assert hypervolume(points, ref) == pytest.approx(indicators.hypervolume(ref, list(points)))
        front = pareto_front(points)
        assert sparsity(front) == pytest.approx(indicators.sparsity(list(front)))
        weights = simplex_weights(k, 4)
        assert expected_utility(front, weights) == pytest.approx(indicators.expected_utility(list(front), weights))


# --- vector rewards and scalarisations -----------------------------------------------------------


def _spec() -> FactorSpec:
    return FactorSpec(
        ("alive", "centre"), (1.0, -1.0), lambda env, obs, act, next_obs, r, term, info: [r, abs(next_obs[0])]
    )


def test_vector_reward_from_factors():
    env = VectorReward(gym.make("CartPole-v1"), _spec())
    assert reward_dim(env) == 2 and env.factor_names == ("alive", "centre")
    env.reset(seed=0)
    obs, reward, *_, info = env.step(1)
    assert np.allclose(reward, [1.0, -abs(obs[0])])
    assert info["original_reward"] == 1.0
    check_env(env, skip_render_check=True)
    with pytest.raises(ValueError, match="reward factors"):
        VectorReward(gym.make("CartPole-v1"))
    with pytest.raises(TypeError, match="vector reward"):
        LinearScalarization(gym.make("CartPole-v1"), [1.0])


def _wrappers(k: int) -> list:
    w = np.linspace(1.0, 2.0, k)
    unit = w / np.linalg.norm(w)
    return [
        ("linear", lambda e: LinearScalarization(e, w), lambda r: r @ w),
        ("chebyshev", lambda e: ChebyshevScalarization(e, w, np.ones(k)), lambda r: -np.max(w * np.abs(r - 1))),
        ("directional", lambda e: DirectionalReward(e, 3 * w, scale=2 * w), lambda r: (r / (2 * w)) @ unit),
    ]  # fmt: skip


@pytest.mark.parametrize("env_id", MO_ENVS)
def test_mo_gymnasium_envs_through_every_wrapper(env_id):
    k = reward_dim(mo_gym.make(env_id))
    for _, make, direct in _wrappers(k):
        plain, wrapped = mo_gym.make(env_id), make(mo_gym.make(env_id))
        check_env(wrapped, skip_render_check=True)
        plain.reset(seed=3)
        wrapped.reset(seed=3)
        actions = np.random.default_rng(0)
        for _ in range(30):
            a = int(actions.integers(plain.action_space.n))
            _, r, term, trunc, _ = plain.step(a)
            _, s, term2, trunc2, info = wrapped.step(a)
            assert isinstance(s, float) and s == pytest.approx(float(direct(np.asarray(r, np.float64))))
            assert np.allclose(info["vector_reward"], r) and np.allclose(info["original_reward"], r)
            assert (term, trunc) == (term2, trunc2)
            if term or trunc:
                break
    conditioned = DirectionConditioned(mo_gym.make(env_id))
    check_env(conditioned, skip_render_check=True)


def test_wrappers_refuse_bad_arguments():
    env = mo_gym.make("deep-sea-treasure-v0")
    with pytest.raises(ValueError, match="objectives"):
        LinearScalarization(env, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="direction"):
        DirectionalReward(env, [0.0, 0.0])
    with pytest.raises(ValueError, match="weights"):
        ChebyshevScalarization(env, [-1.0, 1.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="scale"):
        DirectionalReward(env, [1.0, 1.0], scale=[1.0, 0.0])
    with pytest.raises(TypeError, match="sampler"):
        DirectionConditioned(env, sampler=3)  # type: ignore[arg-type]


def test_vector_env_form_matches_single_env():
    """LinearTerm on MO-Gymnasium's vector env (rewards [B, K]) gives each env's LinearScalarization reward.

    Up, left and right along deep-sea-treasure's top row never end an episode, so no autoreset step intervenes.
    """
    from mo_gymnasium.wrappers.vector import MOSyncVectorEnv

    w = np.array([0.3, 1.0])
    venv = VectorDesignedReward(MOSyncVectorEnv([lambda: mo_gym.make("deep-sea-treasure-v0")] * 2), LinearTerm(w))
    singles = [LinearScalarization(mo_gym.make("deep-sea-treasure-v0"), w) for _ in range(2)]
    venv.reset(seed=[0, 1])
    for i, env in enumerate(singles):
        env.reset(seed=i)
    rng = np.random.default_rng(0)
    for _ in range(5):
        actions = rng.choice([0, 2, 3], size=2)
        _, rewards, *_, info = venv.step(actions)
        expected = [env.step(int(a))[1] for env, a in zip(singles, actions)]
        assert np.allclose(rewards, expected)
        assert info["original_reward"].shape == (2, 2)


def test_chebyshev_term_batched():
    term = ChebyshevTerm([1.0, 2.0], [1.0, 1.0])
    r = np.array([[0.0, 0.0], [1.0, 3.0]])
    assert term.step(None, None, None, r, np.zeros(2, bool), np.zeros(2, bool), [{}, {}]).tolist() == [-2.0, -4.0]  # type: ignore[arg-type]


# --- direction-conditioned policies ---------------------------------------------------------------


def test_direction_conditioned_observation_layout_and_reward():
    inner = mo_gym.make("four-room-v0")
    env = DirectionConditioned(mo_gym.make("four-room-v0"), scale=[1.0, 2.0, 4.0], rng=0)
    n = int(np.prod(inner.observation_space.shape))
    assert env.observation_space.shape == (n + 3,)
    obs, info = env.reset(seed=5)
    inner_obs, _ = inner.reset(seed=5)
    v = info["direction"]
    assert np.allclose(obs[:n], inner_obs) and np.allclose(obs[n:], v)
    assert np.isclose(np.linalg.norm(v), 1) and np.all(v >= 0)
    for _ in range(20):
        a = env.action_space.sample()
        obs, reward, term, trunc, info = env.step(a)
        inner_obs, r, *_ = inner.step(a)
        assert np.allclose(obs[:n], inner_obs) and np.allclose(obs[n:], v)
        assert reward == pytest.approx(float((np.asarray(r) / [1.0, 2.0, 4.0]) @ v))
        if term or trunc:
            break
    # same seed, same direction; a fixed direction steers; reset options fix one episode
    again = DirectionConditioned(mo_gym.make("four-room-v0"))
    assert np.allclose(again.reset(seed=5)[1]["direction"], v)
    env.set_direction([0.0, 0.0, 2.0])
    assert np.allclose(env.reset()[0][n:], [0, 0, 1])
    assert np.allclose(env.reset(options={"direction": [1, 0, 0]})[0][n:], [1, 0, 0])
    env.set_direction(None)
    assert not np.allclose(env.reset(seed=6)[0][n:], [0, 0, 1])


def test_evaluate_directions_known_returns():
    """Deep-sea-treasure: always 'down' reaches the first treasure (0.7) in one step, whatever the direction."""
    env = DirectionConditioned(mo_gym.make("deep-sea-treasure-v0"))
    sweep = evaluate_directions(lambda obs: np.ones(len(obs), dtype=int), env, unit_directions(2, 3), n_episodes=2)
    assert sweep.returns.shape == (4, 2, 2)
    assert np.allclose(sweep.mean_returns, [[0.7, -1.0]] * 4)
    per_direction = vector_returns(
        lambda obs: np.ones(len(obs), dtype=int), DirectionalReward(mo_gym.make("deep-sea-treasure-v0"), [1, 1]), 3
    )
    assert np.allclose(per_direction, [[0.7, -1.0]] * 3)
    with pytest.raises(TypeError, match="DirectionConditioned"):
        evaluate_directions(None, mo_gym.make("deep-sea-treasure-v0"), [[1, 0]])
    with pytest.raises(ValueError, match="directions"):
        evaluate_directions(None, env, [[1, 0, 0]])


def test_sb3_trains_one_conditioned_policy():
    from stable_baselines3 import PPO

    env = DirectionConditioned(mo_gym.make("deep-sea-treasure-v0"), scale=[23.7, 19.0])
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu").learn(128)
    sweep = evaluate_directions(model, env, [[1, 0], [0, 1]])
    assert sweep.returns.shape == (2, 1, 2)


# --- learned vector reward ------------------------------------------------------------------------


def test_learned_vector_reward_recovers_each_factor():
    from rewarddesign.factors import RewardFactors
    from rewarddesign.preferences import Fragments
    from rewarddesign.rollouts import rollout

    spec = FactorSpec(
        ("velocity", "push right"),
        (1.0, -1.0),
        lambda env, obs, act, next_obs, r, term, info: [obs[1], float(act == 1)],
    )
    env = RewardFactors(gym.make("CartPole-v1"), spec)  # rollouts record the factors; VectorReward signs them
    trajectories = rollout(None, env, n_episodes=60, seed=0)
    fragments = Fragments.from_trajectories(trajectories, 4, np.random.default_rng(0))
    model = VectorRewardModel(env.observation_space, env.action_space, 2, hidden_sizes=(32,), device="cpu", seed=0)
    train_vector_reward_model(model, fragments, signs=spec.signs, sigmas=0.0, n_pairs=600, epochs=15, seed=0)
    test = rollout(None, env, n_episodes=10, seed=1)
    obs = np.concatenate([t.obs[:-1] for t in test])
    acts = np.concatenate([t.acts for t in test])
    predicted = model.predict(obs, acts)
    truth = np.stack([obs[:, 1], -(acts == 1).astype(float)], axis=1)  # signed: more is better
    for k in range(2):
        assert np.corrcoef(predicted[:, k], truth[:, k])[0, 1] > 0.8, k
    wrapped = LinearScalarization(LearnedVectorReward(VectorReward(env), model), [1.0, 1.0])
    wrapped.reset(seed=0)
    _, reward, *_, info = wrapped.step(0)
    assert reward == pytest.approx(float(np.sum(info["vector_reward"])))
    assert LearnedVectorReward(VectorReward(env), model).factor_names == ("velocity", "push right")
    with pytest.raises(ValueError, match="factors"):
        train_vector_reward_model(model, Fragments(fragments.obs, fragments.acts))


# --- packaging ------------------------------------------------------------------------------------


def test_imports_without_mo_gymnasium():
    code = (
        "import sys; sys.modules['mo_gymnasium'] = None\n"
        "import rewarddesign.multiobjective as mo\n"
        "try:\n    mo.require_mo_gymnasium()\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "rewarddesign[multiobjective]" in out


@pytest.mark.parametrize(
    "module",
    [
        "rewarddesign.multiobjective.pareto",
        "rewarddesign.multiobjective.wrappers",
        "rewarddesign.multiobjective.evaluation",
        "rewarddesign.multiobjective.learned",
    ],
)
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
