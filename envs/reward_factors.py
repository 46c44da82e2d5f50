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

HERON's reference code (Bukharin et al., classic control) ranks and compares these same factors;
:data:`HERON_REFERENCE` holds its hierarchy for Pendulum and MountainCarContinuous (ranking and
margins) beside the weights of the env's own reward and the reference's hand-weighted baseline.
The reference defines no progress factor for MountainCarContinuous: the goal indicator and the
action cost are its only factors.

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
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rewarddesign.factors import FactorSpec, RewardFactors
from rewarddesign.preferences import HeronGatherer

__all__ = ["REWARD_FACTORS", "HERON_REFERENCE", "HeronReference", "with_reward_factors"]


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


@dataclass(frozen=True)
class HeronReference:
    """HERON's hierarchy for one task as its reference code sets it, and the task's reward weights.

    Attributes:
        ranking: Factor indices from the most to the least important.
        sigmas: Per level (in ranking order): the margin of a level is ``sigma`` times the standard
            deviation of its factor over the compared steps; 0 makes any difference decide.
        true_weights: The env's own reward as a weighted factor sum ``sum_k w_k s_k f_k`` (``s_k``
            the factor's sign, :class:`~rewarddesign.factors.FactorWeightedReward`'s convention):
            these weights give the env's reward exactly.
        heuristic_weights: The reference's hand-weighted baseline (its ``--heuristic`` reward).
    """

    ranking: tuple[int, ...]
    sigmas: tuple[float, ...]
    true_weights: tuple[float, ...]
    heuristic_weights: tuple[float, ...]

    def gatherer(self, signs: tuple[float, ...], discount: float = 1.0) -> HeronGatherer:
        """The :class:`~rewarddesign.preferences.HeronGatherer` of this hierarchy, ``signs`` indexed by factor."""
        return HeronGatherer(list(self.ranking), list(signs), list(self.sigmas), discount)


#: HERON's reference hierarchies: Pendulum compares angle, then velocity, then torque, each level
#: deciding beyond one standard deviation; MountainCarContinuous compares reaching the goal (any
#: difference decides), then the action cost (beyond one standard deviation). The reference's
#: hand-weighted baselines: ``-(f0 + 0.5 f1 + 0.25 f2)`` and ``f0 - f1``.
HERON_REFERENCE: dict[str, HeronReference] = {
    "Pendulum-v1": HeronReference((0, 1, 2), (1.0, 1.0, 1.0), (1.0, 0.1, 0.001), (1.0, 0.5, 0.25)),
    "MountainCarContinuous-v0": HeronReference((0, 1), (0.0, 1.0), (100.0, 0.1), (1.0, 1.0)),
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
