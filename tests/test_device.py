"""``device=`` everywhere: an explicit CUDA request without CUDA is a clear error, not a fall-back to the CPU."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from rewarddesign._validation import check_device
from rewarddesign.distances import distance_matrix, epic_distance
from rewarddesign.mdp import random_mdp
from rewarddesign.offline import OPPO, BehaviorCloning, OfflineData, OPPOConfig
from rewarddesign.preferences import RewardModel
from rewarddesign.rewards import MLPRewardNet
from rewarddesign.train import train

OBS, ACT = gym.spaces.Box(-1, 1, (3,)), gym.spaces.Box(-1, 1, (1,))
MDP = random_mdp(3, 2, gamma=0.9, rng=0)
R1, R2 = np.random.default_rng(0).normal(size=(2, 3, 2, 3))


def _data() -> OfflineData:
    rng = np.random.default_rng(0)
    n = 20
    obs = rng.normal(size=(n, 3))
    ends = np.zeros(n, bool)
    ends[9::10] = True
    return OfflineData(obs, rng.uniform(-1, 1, (n, 1)), rng.normal(size=n), obs + 0.1, np.zeros(n, bool), ends,
                       np.full(2, 10), env_id="Pendulum-v1")  # fmt: skip


ENTRY_POINTS: dict[str, Callable[[str], Any]] = {
    "RewardModel": lambda device: RewardModel(OBS, ACT, hidden_sizes=(4,), device=device, seed=0),
    "MLPRewardNet": lambda device: MLPRewardNet(OBS, ACT, hidden_sizes=(4,), device=device),
    "epic_distance": lambda device: epic_distance(R1, R2, MDP, device=device),
    "distance_matrix": lambda device: distance_matrix(np.stack([R1, R2]), MDP, device=device),
    "BehaviorCloning": lambda device: BehaviorCloning(_data(), hidden_sizes=(4,), device=device),
    "OPPO": lambda device: OPPO(
        _data(), None, OPPOConfig(context_length=4, z_dim=2, embed_dim=8, n_layers=1, n_heads=2), device=device
    ),  # fmt: skip
}

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")


@no_cuda
@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_cuda_without_cuda_is_a_clear_error(name: str) -> None:
    with pytest.raises(ValueError, match=r"device 'cuda' asks for CUDA.*CUDA is not available"):
        ENTRY_POINTS[name]("cuda")


@no_cuda
def test_train_refuses_cuda_without_cuda_before_training() -> None:
    with pytest.raises(ValueError, match=r"device 'cuda' asks for CUDA.*CUDA is not available"):
        train("CartPole-v1", "ppo", 64, device="cuda")


@pytest.mark.parametrize("name", ["RewardModel", "MLPRewardNet", "epic_distance", "BehaviorCloning"])
@pytest.mark.parametrize("device", ["auto", "cpu"])
def test_auto_and_cpu_work(name: str, device: str) -> None:
    ENTRY_POINTS[name](device)


def test_check_device_names_and_resolves() -> None:
    assert check_device("cpu") == torch.device("cpu")
    assert check_device(torch.device("cpu")) == torch.device("cpu")
    assert check_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match=r"policy_device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got 'gpu'"):
        check_device("gpu", "policy_device")
    with pytest.raises(TypeError, match=r"device must be .* got 3 of type int"):
        check_device(3)
    with pytest.raises(ValueError, match=r"device 'cuda:99'"):
        check_device("cuda:99")
