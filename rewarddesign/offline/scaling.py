"""Pieces the offline learners share: input normalisation, action scaling, evaluation rollouts."""

from __future__ import annotations

from typing import Any, Protocol

import gymnasium as gym
import numpy as np
import torch

from rewarddesign._validation import check_positive_int
from rewarddesign.offline.datasets import OfflineData

__all__ = ["Agent", "Scaling", "evaluate_agent"]


class Agent(Protocol):
    """What an evaluation rollout needs of a learned policy."""

    def reset(self) -> None:
        """Forget the current episode (sequence policies keep a history)."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The action for ``obs``, in the env's action space."""
        ...


class Scaling:
    """Observation standardisation and the map of actions to ``[-1, 1]``, fitted on a dataset.

    Attributes:
        obs_mean, obs_std: ``[obs_dim]`` (``std`` floored at 1e-3).
        act_low, act_high: ``[act_dim]`` the action bounds (the env's, else the data's range).
    """

    def __init__(self, obs_mean: Any, obs_std: Any, act_low: Any, act_high: Any) -> None:
        self.obs_mean = np.asarray(obs_mean, dtype=np.float32)
        self.obs_std = np.maximum(np.asarray(obs_std, dtype=np.float32), 1e-3)
        self.act_low = np.asarray(act_low, dtype=np.float32)
        self.act_high = np.asarray(act_high, dtype=np.float32)
        if np.any(self.act_high <= self.act_low):
            raise ValueError("action bounds must have high > low in every dimension")

    @classmethod
    def fit(cls, data: OfflineData) -> Scaling:
        low, high = data.actions.min(axis=0), data.actions.max(axis=0)
        if data.env_id is not None:
            try:
                env = gym.make(data.env_id)
            except Exception:  # noqa: BLE001 - an env that cannot be made here: keep the data's range
                space = None
            else:
                space = env.action_space
                env.close()
            if isinstance(space, gym.spaces.Box) and np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high)):
                low, high = space.low, space.high
        high = np.where(high > low, high, low + 1.0)
        return cls(data.observations.mean(axis=0), data.observations.std(axis=0), low, high)

    def obs(self, obs: np.ndarray) -> np.ndarray:
        return ((np.asarray(obs, dtype=np.float32) - self.obs_mean) / self.obs_std).astype(np.float32)

    def to_unit(self, actions: np.ndarray) -> np.ndarray:
        """Actions in the env's bounds -> ``[-1, 1]``."""
        unit = 2.0 * (np.asarray(actions, dtype=np.float32) - self.act_low) / (self.act_high - self.act_low) - 1.0
        return np.clip(unit, -1.0, 1.0).astype(np.float32)

    def from_unit(self, unit: np.ndarray) -> np.ndarray:
        """``[-1, 1]`` -> the env's bounds."""
        return (
            self.act_low + (np.asarray(unit, dtype=np.float32) + 1.0) * 0.5 * (self.act_high - self.act_low)
        ).astype(np.float32)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {name: torch.as_tensor(getattr(self, name)) for name in ("obs_mean", "obs_std", "act_low", "act_high")}

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> Scaling:
        return cls(*(state[name].numpy() for name in ("obs_mean", "obs_std", "act_low", "act_high")))


def evaluate_agent(agent: Agent, env_id: str, n_episodes: int = 10, seed: int = 0) -> np.ndarray:
    """``[n_episodes]`` undiscounted true returns of ``agent`` on ``env_id`` (episode ``i`` reset with ``seed + i``)."""
    check_positive_int(n_episodes, "n_episodes")
    env = gym.make(env_id)
    returns = np.zeros(n_episodes)
    for episode in range(n_episodes):
        obs, _ = env.reset(seed=seed + episode)
        agent.reset()
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(agent.act(obs))
            returns[episode] += float(reward)
            done = terminated or truncated
    env.close()
    return returns
