"""Reward factors: the terms a task's reward is made of, as a vector in ``info["reward_factors"]``.

Preference learning from hierarchical comparisons (HERON) asks a designer only to rank these
factors by importance; the hand-weighted sum and the env's own reward serve as baselines.
:func:`with_reward_factors` wraps an env by its id:

| env | factors | better when | env reward |
|---|---|---|---|
| ``Pendulum-v1`` | angle^2, angular velocity^2, torque^2 (before the step) | lower | ``-(f0 + 0.1 f1 + 0.001 f2)`` |
| ``MountainCarContinuous-v0`` | goal reached (0/1), action^2 | higher, lower | ``100 f0 - 0.1 f1`` |
| ``HalfCheetah-v5`` | forward progress, control cost | higher, lower | ``f0 - f1`` |
| ``Hopper-v5`` | forward progress, control cost, health | higher, lower, higher | ``f0 - f1 + f2`` |
| ``Walker2d-v5`` | forward progress, control cost, health | higher, lower, higher | ``f0 - f1 + f2`` |

Example:
    >>> import gymnasium as gym
    >>> env = with_reward_factors(gym.make("Pendulum-v1"))
    >>> _ = env.reset(seed=0)
    >>> _, reward, *_, info = env.step(np.array([1.0], dtype=np.float32))
    >>> f = info["reward_factors"]
    >>> bool(np.isclose(reward, -(f[0] + 0.1 * f[1] + 0.001 * f[2])))
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rewarddesign.rewards import TransitionRewardWrapper

__all__ = ["FactorSpec", "REWARD_FACTORS", "RewardFactors", "with_reward_factors", "FactorWeightedReward"]


@dataclass(frozen=True)
class FactorSpec:
    """How to read an env's reward factors.

    Attributes:
        names: One name per factor.
        signs: +1 where more is better, -1 where less is.
        compute: ``(env, obs, action, next_obs, reward, terminated, info) -> [K]``, ``obs`` being
            the observation the action was taken in.
    """

    names: tuple[str, ...]
    signs: tuple[float, ...]
    compute: Callable[..., np.ndarray]


def _pendulum(env: gym.Env, obs: Any, action: Any, next_obs: Any, reward: float, terminated: bool, info: dict):
    cos, sin, velocity = np.asarray(obs, dtype=np.float64)
    angle = np.arctan2(sin, cos)  # in [-pi, pi], as the env normalises it
    torque = float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], -2.0, 2.0))
    return np.array([angle**2, velocity**2, torque**2])


def _mountain_car(env: gym.Env, obs: Any, action: Any, next_obs: Any, reward: float, terminated: bool, info: dict):
    power = float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], -1.0, 1.0))
    return np.array([float(terminated), power**2])


def _locomotion(*keys: str) -> Callable[..., np.ndarray]:
    def compute(env: gym.Env, obs: Any, action: Any, next_obs: Any, reward: float, terminated: bool, info: dict):
        values = [float(info["reward_forward"]), -float(info["reward_ctrl"])]
        if "reward_survive" in keys:
            values.append(float(info["reward_survive"]))
        return np.array(values)

    return compute


#: Factor specifications by env id.
REWARD_FACTORS: dict[str, FactorSpec] = {
    "Pendulum-v1": FactorSpec(("angle^2", "velocity^2", "torque^2"), (-1.0, -1.0, -1.0), _pendulum),
    "MountainCarContinuous-v0": FactorSpec(("goal", "action^2"), (1.0, -1.0), _mountain_car),
    "HalfCheetah-v5": FactorSpec(("forward", "control cost"), (1.0, -1.0), _locomotion("reward_forward")),
    "Hopper-v5": FactorSpec(
        ("forward", "control cost", "health"), (1.0, -1.0, 1.0), _locomotion("reward_forward", "reward_survive")
    ),
    "Walker2d-v5": FactorSpec(
        ("forward", "control cost", "health"), (1.0, -1.0, 1.0), _locomotion("reward_forward", "reward_survive")
    ),
}


class RewardFactors(TransitionRewardWrapper, gym.utils.RecordConstructorArgs):
    """Adds ``info["reward_factors"]`` (a float vector ``[K]``) to every step.

    Args:
        env: The env.
        spec: Its :class:`FactorSpec`.
    """

    def __init__(self, env: gym.Env, spec: FactorSpec) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, spec=spec)
        super().__init__(env)
        self.factor_spec = spec

    def transition_reward(self, obs: Any, action: Any, next_obs: Any, reward: float, terminated: bool, info: dict):
        factors = self.factor_spec.compute(self.env, obs, action, next_obs, reward, terminated, info)
        return reward, dict(info, reward_factors=np.asarray(factors, dtype=np.float64))


def with_reward_factors(env: gym.Env) -> RewardFactors:
    """``env`` with its reward factors in ``info``, looked up by its id in :data:`REWARD_FACTORS`."""
    env_id = env.spec.id if env.spec is not None else None
    if env_id not in REWARD_FACTORS:
        raise ValueError(f"no reward factors known for {env_id!r}; known: {', '.join(REWARD_FACTORS)}")
    return RewardFactors(env, REWARD_FACTORS[env_id])


class FactorWeightedReward(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """A hand-weighted sum of the reward factors as the reward: ``sum_k w_k s_k f_k`` (``s_k`` the factor's sign).

    The env's reward stays in ``info["true_reward"]``. The env is wrapped with its factors if it
    is not already.

    Args:
        env: The env (its id must be in :data:`REWARD_FACTORS`).
        weights: One non-negative weight per factor.
    """

    def __init__(self, env: gym.Env, weights: Any) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, weights=weights)
        if not isinstance(env, RewardFactors):
            env = with_reward_factors(env)
        super().__init__(env)
        spec = env.factor_spec
        self.weights = np.asarray(weights, dtype=np.float64).reshape(-1)
        if (
            self.weights.shape != (len(spec.names),)
            or np.any(self.weights < 0)
            or not np.all(np.isfinite(self.weights))
        ):
            raise ValueError(f"weights must be {len(spec.names)} finite values >= 0 ({spec.names}), got {weights!r}")
        self._signed = self.weights * np.asarray(spec.signs)

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        designed = float(self._signed @ info["reward_factors"])
        return obs, designed, terminated, truncated, dict(info, true_reward=float(reward))
