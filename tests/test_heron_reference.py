"""HERON's reference setting: single-transition comparisons, (obs, factors) reward models, the reference hierarchies."""

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from rewarddesign.envs.reward_factors import HERON_REFERENCE, REWARD_FACTORS, with_reward_factors
from rewarddesign.factors import FactorWeightedReward
from rewarddesign.preferences import (
    Fragments,
    LearnedReward,
    PreferenceLearning,
    RewardModel,
    SyntheticGatherer,
    preference_accuracy,
    train_reward_model,
)
from rewarddesign.rollouts import rollout


def test_single_step_fragments_take_every_step_once_in_order():
    env = with_reward_factors(gym.make("Pendulum-v1", max_episode_steps=7))
    trajectories = rollout(None, env, n_episodes=2, seed=0)
    fragments = Fragments.from_trajectories(trajectories, 1, np.random.default_rng(0))
    assert len(fragments) == 14 and fragments.length == 1
    np.testing.assert_array_equal(fragments.obs[:7, 0], trajectories[0].obs[:-1])
    assert fragments.rewards is not None
    np.testing.assert_array_equal(fragments.rewards[7:, 0], trajectories[1].rews)
    assert fragments.factors is not None and fragments.factors.shape == (14, 1, 3)


def linear_obs_factors_model() -> RewardModel:
    """A linear (obs, factors) model with known weights: r = obs . (1, 2, 3) + factors . (-1, -10) + 0.5."""
    space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
    model = RewardModel(space, n_factors=2, hidden_sizes=(), device="cpu", seed=0)
    assert isinstance(model.net, torch.nn.Sequential)
    layer = model.net[0]
    assert isinstance(layer, torch.nn.Linear)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 2.0, 3.0, -1.0, -10.0]]))
        layer.bias.fill_(0.5)
    return model


def test_obs_factors_model_scores_observation_then_factors():
    model = linear_obs_factors_model()
    assert model.inputs == "obs_factors" and model.obs_dim == 3
    obs = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    factors = np.array([[1.0, 0.0], [0.0, 0.1]])
    np.testing.assert_allclose(model.predict_factors(factors, obs, normalized=False), [0.5, 4.5], rtol=1e-6)
    fragments = Fragments(obs[:, None, :], np.zeros((2, 1, 1)), factors[:, None, :])
    np.testing.assert_allclose(model.fragment_returns(fragments).detach().numpy(), [0.5, 4.5], rtol=1e-6)
    with pytest.raises(ValueError, match="obs is required"):
        model.predict_factors(factors)
    with pytest.raises(ValueError, match="3 values per step"):
        model.predict_factors(factors, obs[:, :2])


def test_reward_model_refuses_mixed_inputs():
    box = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    with pytest.raises(ValueError, match="observation_space and n_factors"):
        RewardModel(box, box, n_factors=2)
    with pytest.raises(ValueError, match="n_factors"):
        RewardModel(box, n_factors=0)
    with pytest.raises(TypeError, match="Box"):
        RewardModel(gym.spaces.Discrete(3), n_factors=2)


def test_learned_reward_feeds_obs_and_factors_of_the_step():
    env = with_reward_factors(gym.make("Pendulum-v1"))
    model = RewardModel(env.observation_space, n_factors=3, device="cpu", seed=1)
    env = LearnedReward(env, model)
    obs, _ = env.reset(seed=0)
    _, reward, _, _, info = env.step(np.array([1.0], dtype=np.float32))
    assert reward == pytest.approx(model.predict_factors(info["reward_factors"][None], obs[None])[0])


@pytest.mark.parametrize("env_id", sorted(HERON_REFERENCE))
def test_true_weights_give_the_env_reward(env_id: str):
    reference = HERON_REFERENCE[env_id]
    env = FactorWeightedReward(with_reward_factors(gym.make(env_id)), reference.true_weights)
    env.reset(seed=3)
    rng = np.random.default_rng(0)
    high = float(env.action_space.high[0])  # pyright: ignore[reportAttributeAccessIssue]
    for _ in range(50):
        _, reward, terminated, truncated, info = env.step(rng.uniform(-high, high, 1).astype(np.float32))
        assert reward == pytest.approx(info["original_reward"], abs=1e-4)
        if terminated or truncated:
            env.reset()


def test_mountain_car_hierarchy_puts_the_goal_before_any_action_cost():
    reference = HERON_REFERENCE["MountainCarContinuous-v0"]
    gatherer = reference.gatherer(REWARD_FACTORS["MountainCarContinuous-v0"].signs)
    factors = np.array([[[1.0, 1.0]], [[0.0, 0.0]], [[0.0, 0.9]], [[0.0, 0.01]]])
    fragments = Fragments(np.zeros((4, 1, 2), np.float32), np.zeros((4, 1, 1)), factors)
    labelled = gatherer(fragments, [0, 2, 3], [1, 3, 1])
    # goal beats no goal at the highest cost; 0.9 vs 0.01 differs by more than one std (0.46); 0.01 vs 0 does not
    np.testing.assert_array_equal(labelled.first, [0, 2])
    np.testing.assert_array_equal(labelled.labels, [1.0, 0.0])


def test_pendulum_obs_factors_model_learns_heron_labels_of_single_transitions():
    env = with_reward_factors(gym.make("Pendulum-v1"))
    reference = HERON_REFERENCE["Pendulum-v1"]
    fragments = Fragments.from_trajectories(rollout(None, env, n_episodes=4, seed=0), 1, np.random.default_rng(0))
    gatherer = reference.gatherer(REWARD_FACTORS["Pendulum-v1"].signs)
    rng = np.random.default_rng(1)
    first, second = rng.integers(len(fragments), size=3000), rng.integers(len(fragments), size=3000)
    train, test = gatherer(fragments, first, second).split(0.2, rng)
    model = RewardModel(env.observation_space, n_factors=3, device="cpu", seed=0)
    train_reward_model(model, train, epochs=15, seed=0)
    assert preference_accuracy(model, test) > 0.9


def test_preference_learning_reference_setting_keeps_equal_label_budgets():
    reference = HERON_REFERENCE["Pendulum-v1"]
    make = lambda: with_reward_factors(gym.make("Pendulum-v1", max_episode_steps=50))  # noqa: E731
    kwargs: dict[str, Any] = dict(
        reward_inputs="obs_factors", algo="td3", fragment_length=1, rounds=2, episodes_per_round=2,
        reward_epochs=1, redraw_undecided=True, reward_hidden_sizes=(16,), reward_lr=1e-3, device="cpu", seed=0,
        algo_kwargs={"learning_starts": 50, "policy_kwargs": {"net_arch": [8]}},
    )  # fmt: skip
    heron = PreferenceLearning(make, reference.gatherer(REWARD_FACTORS["Pendulum-v1"].signs), **kwargs)
    heron.train(100, 60)
    bradley_terry = PreferenceLearning(make, SyntheticGatherer(temperature=0.0), **kwargs).train(100, 60)
    assert heron.model.inputs == "obs_factors"  # type: ignore[union-attr]
    assert [r.labels for r in heron.history] == [r.labels for r in bradley_terry.history] == [15, 60]


def test_heron_gatherers_default_to_the_reference_setting_others_to_fragments():
    make = lambda: with_reward_factors(gym.make("Pendulum-v1"))  # noqa: E731
    heron = PreferenceLearning(make, HERON_REFERENCE["Pendulum-v1"].gatherer((-1.0, -1.0, -1.0)), device="cpu")
    assert (heron.reward_inputs, heron.fragment_length) == ("obs_factors", 1)
    other = PreferenceLearning(make, SyntheticGatherer(), device="cpu")
    assert (other.reward_inputs, other.fragment_length) == ("obs_act", 25)
    with pytest.raises(ValueError, match="fragment_length"):
        PreferenceLearning(make, SyntheticGatherer(), fragment_length=0, device="cpu")
