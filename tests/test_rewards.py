import gymnasium as gym
import numpy as np
import pytest
import torch

from rewarddesign.mdp import random_mdp
from rewarddesign.rewards import MLPRewardNet, RewardFunction, TabularReward, check_rewards


def test_tabular_reward_looks_up_transitions(rng):
    mdp = random_mdp(4, 2, rng=rng)
    table = rng.normal(size=(4, 2, 4))
    reward = TabularReward(table, mdp)
    obs, act, nxt = rng.integers(4, size=10), rng.integers(2, size=10), rng.integers(4, size=10)
    np.testing.assert_array_equal(reward(obs, act, nxt, np.zeros(10, bool)), table[obs, act, nxt])
    assert isinstance(reward, RewardFunction)
    with pytest.raises(ValueError, match="obs must hold integers"):
        reward(np.array([4]), np.array([0]), np.array([0]), np.array([False]))
    with pytest.raises(ValueError, match="reward must have shape"):
        TabularReward(np.zeros((3, 2)), mdp)


def test_reward_net_matches_manual_forward_and_one_hot():
    obs_space, act_space = gym.spaces.Discrete(3), gym.spaces.Discrete(2)
    net = MLPRewardNet(obs_space, act_space, use_next_state=True, hidden_sizes=(), device="cpu")
    layer = net.mlp[0]
    obs, act, nxt = np.array([0, 2]), np.array([1, 0]), np.array([1, 1])
    features = np.concatenate([np.eye(3)[obs], np.eye(2)[act], np.eye(3)[nxt]], axis=1)
    expected = features @ layer.weight.detach().numpy()[0] + layer.bias.item()
    np.testing.assert_allclose(net.predict(obs, act, nxt, np.zeros(2)), expected, rtol=1e-5)
    assert net.predict(obs, act, nxt, np.zeros(2)).dtype == np.float64


def test_reward_net_is_differentiable_and_device_aware():
    net = MLPRewardNet(gym.spaces.Box(-1, 1, (4,)), gym.spaces.Box(-1, 1, (2,)), device="auto")
    expected = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert net.device.type == expected.type
    tensors = net.preprocess(np.ones((5, 4)), np.ones((5, 2)), np.ones((5, 4)), np.zeros(5))
    assert all(t.device.type == expected.type for t in tensors)
    net(*tensors).sum().backward()
    assert net.mlp[0].weight.grad is not None


def test_check_rewards_validates_shape_and_values():
    np.testing.assert_array_equal(check_rewards([1, 2], 2), [1.0, 2.0])
    with pytest.raises(ValueError, match="shape"):
        check_rewards(np.zeros((2, 1)), 2)
    with pytest.raises(ValueError, match="non-finite"):
        check_rewards([0.0, np.nan], 2)
    with pytest.raises(ValueError, match="at least one"):
        MLPRewardNet(gym.spaces.Discrete(2), gym.spaces.Discrete(2), use_state=False, use_action=False)
