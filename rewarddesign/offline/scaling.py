"""Observation standardisation and action scaling, fitted on a dataset and shared by the offline learners."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from rewarddesign.offline.data import OfflineData

__all__ = ["Scaling"]


class Scaling:
    """Observation standardisation and the map of actions to ``[-1, 1]``, fitted on a dataset.

    Args:
        obs_mean: ``[obs_dim]`` the observations' mean.
        obs_std: ``[obs_dim]`` the observations' standard deviation (floored at 1e-3).
        act_low: ``[act_dim]`` the actions' lower bounds.
        act_high: ``[act_dim]`` the actions' upper bounds (above ``act_low`` everywhere).

    Attributes:
        obs_mean, obs_std, act_low, act_high: As given, float32.
    """

    def __init__(self, obs_mean: ArrayLike, obs_std: ArrayLike, act_low: ArrayLike, act_high: ArrayLike) -> None:
        self.obs_mean = np.asarray(obs_mean, dtype=np.float32)
        self.obs_std = np.maximum(np.asarray(obs_std, dtype=np.float32), 1e-3)
        self.act_low = np.asarray(act_low, dtype=np.float32)
        self.act_high = np.asarray(act_high, dtype=np.float32)
        if np.any(self.act_high <= self.act_low):
            raise ValueError("action bounds must have high > low in every dimension")

    @classmethod
    def fit(cls, data: OfflineData) -> Scaling:
        """Fitted on ``data``: its observations' mean and spread; the action bounds of its env (made by its
        id with ``gym.make``) where that env can be made and has finite bounds, else the data's range."""
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

    def obs(self, obs: ArrayLike) -> NDArray[np.float32]:
        """Standardised observations (any leading shape)."""
        return ((np.asarray(obs, dtype=np.float32) - self.obs_mean) / self.obs_std).astype(np.float32)

    def to_unit(self, actions: ArrayLike) -> NDArray[np.float32]:
        """Actions in the env's bounds -> ``[-1, 1]``."""
        unit = 2.0 * (np.asarray(actions, dtype=np.float32) - self.act_low) / (self.act_high - self.act_low) - 1.0
        return np.clip(unit, -1.0, 1.0).astype(np.float32)

    def from_unit(self, unit: ArrayLike) -> NDArray[np.float32]:
        """``[-1, 1]`` -> the env's bounds."""
        return (
            self.act_low + (np.asarray(unit, dtype=np.float32) + 1.0) * 0.5 * (self.act_high - self.act_low)
        ).astype(np.float32)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The four arrays as tensors (what :meth:`from_state_dict` takes)."""
        return {name: torch.as_tensor(getattr(self, name)) for name in ("obs_mean", "obs_std", "act_low", "act_high")}

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> Scaling:
        """The scaling :meth:`state_dict` described."""
        return cls(*(state[name].numpy() for name in ("obs_mean", "obs_std", "act_low", "act_high")))
