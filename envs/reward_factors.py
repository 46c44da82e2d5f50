"""The reward factors of the project's tasks: the terms each task's reward is made of.

Preference learning from hierarchical comparisons (HERON) asks a designer only to rank these
factors by importance; the hand-weighted sum (:class:`rewarddesign.factors.FactorWeightedReward`)
and the env's own reward serve as baselines. :func:`with_reward_factors` wraps an env in
:class:`rewarddesign.factors.RewardFactors` with the :class:`~rewarddesign.factors.FactorSpec`
of its id, so the env publishes its factors in ``info["reward_factors"]`` and methods read the
spec with :func:`rewarddesign.factors.factor_spec`:

| env | factors | better when | env reward |
|---|---|---|---|
| ``Pendulum-v1`` | angle^2, angular velocity^2, torque^2 (before the step) | lower | ``-(f0 + 0.1 f1 + 0.001 f2)`` |
| ``MountainCarContinuous-v0`` | goal reached (0/1), action^2 | higher, lower | ``100 f0 - 0.1 f1`` |
| ``HalfCheetah-v5`` | forward progress, control cost | higher, lower | ``f0 - f1`` |
| ``Hopper-v5`` | forward progress, control cost, health | higher, lower, higher | ``f0 - f1 + f2`` |
| ``Walker2d-v5`` | forward progress, control cost, health | higher, lower, higher | ``f0 - f1 + f2`` |

Example:
    >>> import gymnasium as gym
    >>> from rewarddesign.factors import factor_spec
    >>> env = with_reward_factors(gym.make("Pendulum-v1"))
    >>> _ = env.reset(seed=0)
    >>> _, reward, *_, info = env.step(np.array([1.0], dtype=np.float32))
    >>> f = info["reward_factors"]
    >>> factor_spec(env).names
    ('angle^2', 'velocity^2', 'torque^2')
    >>> bool(np.isclose(reward, -(f[0] + 0.1 * f[1] + 0.001 * f[2])))
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from rewarddesign.factors import FactorSpec, RewardFactors

__all__ = ["REWARD_FACTORS", "with_reward_factors"]


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


def with_reward_factors(env: gym.Env) -> RewardFactors:
    """``env`` publishing its reward factors, the :class:`FactorSpec` looked up by its id in :data:`REWARD_FACTORS`.

    Raises:
        ValueError: When no factors are known for the env's id.
    """
    env_id = env.spec.id if env.spec is not None else None
    if env_id not in REWARD_FACTORS:
        raise ValueError(f"no reward factors known for {env_id!r}; known: {', '.join(REWARD_FACTORS)}")
    return RewardFactors(env, REWARD_FACTORS[env_id])
