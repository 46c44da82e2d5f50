"""Reward factors: the terms an env's reward is made of, published by the env and read by methods.

An env publishes its factors by being wrapped in :class:`RewardFactors`, which computes a float
vector ``[K]`` for every step and puts it in ``info["reward_factors"]``; its :class:`FactorSpec`
(names, signs, computation) is the wrapper's ``factor_spec`` attribute, and :func:`factor_spec`
reads it from any env stack (``None`` when the env publishes none). Methods that use factors
(HERON's hierarchical labels, factor reward models, :class:`FactorWeightedReward`) take the env
they are given and read :func:`factor_spec`; they never look an env up by its id. The factor
definitions of the project's tasks (Pendulum, MountainCarContinuous, MuJoCo locomotion) live
with the tasks, in :mod:`rewarddesign.envs.reward_factors`.

Example:
    >>> import gymnasium as gym
    >>> spec = FactorSpec(("position^2",), (-1.0,), lambda env, obs, act, next_obs, r, term, info: next_obs[:1] ** 2)
    >>> env = RewardFactors(gym.make("MountainCarContinuous-v0"), spec)
    >>> factor_spec(env).names
    ('position^2',)
    >>> _ = env.reset(seed=0)
    >>> _, _, _, _, info = env.step(np.zeros(1, dtype=np.float32))
    >>> info["reward_factors"].shape
    (1,)
    >>> factor_spec(gym.make("MountainCarContinuous-v0")) is None
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import ArrayLike, NDArray

from rewarddesign.rewards.wrappers import DesignedReward, RewardTerm

__all__ = [
    "FactorFunction",
    "FactorSpec",
    "RewardFactors",
    "factor_spec",
    "require_factor_spec",
    "stack_factors",
    "FactorWeightsTerm",
    "FactorWeightedReward",
]

#: ``(env, obs, action, next_obs, reward, terminated, info) -> [K]``, ``obs`` the observation the action was taken in.
FactorFunction = Callable[[gym.Env, Any, Any, Any, float, bool, dict[str, Any]], ArrayLike]


@dataclass(frozen=True)
class FactorSpec:
    """How to read an env's reward factors.

    Attributes:
        names: One name per factor.
        signs: +1 where more of the factor is better, -1 where less is (indexed by factor).
        compute: ``(env, obs, action, next_obs, reward, terminated, info) -> [K]``, ``obs`` being
            the observation the action was taken in.
    """

    names: tuple[str, ...]
    signs: tuple[float, ...]
    compute: FactorFunction

    def __post_init__(self) -> None:
        if len(self.names) == 0:
            raise ValueError("names must name at least one factor, got ()")
        if len(self.signs) != len(self.names) or any(s not in (-1.0, 1.0) for s in self.signs):
            raise ValueError(f"signs must be +1 or -1, one per factor of {self.names}, got {self.signs!r}")
        if not callable(self.compute):
            raise TypeError(f"compute must be callable, got {type(self.compute).__name__}")


class RewardFactors(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Publishes an env's reward factors: ``info["reward_factors"]`` (float ``[K]``) at every step.

    The reward passes unchanged; the spec is the ``factor_spec`` attribute (read it with
    :func:`factor_spec`). The wrapper keeps the last observation, the one each action is taken in.

    Args:
        env: The env.
        spec: Its :class:`FactorSpec`.
    """

    def __init__(self, env: gym.Env, spec: FactorSpec) -> None:
        if not isinstance(spec, FactorSpec):
            raise TypeError(f"spec must be a FactorSpec, got {type(spec).__name__}")
        gym.utils.RecordConstructorArgs.__init__(self, spec=spec)
        gym.Wrapper.__init__(self, env)
        self.factor_spec = spec
        self._obs: Any = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._obs = obs
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        next_obs, reward, terminated, truncated, info = self.env.step(action)
        factors = self.factor_spec.compute(self.env, self._obs, action, next_obs, float(reward), terminated, info)
        self._obs = next_obs
        info = dict(info, reward_factors=np.asarray(factors, dtype=np.float64))
        return next_obs, float(reward), terminated, truncated, info


def factor_spec(env: gym.Env) -> FactorSpec | None:
    """The :class:`FactorSpec` ``env`` publishes (through a :class:`RewardFactors` in its stack), or None."""
    try:
        spec = env.get_wrapper_attr("factor_spec")
    except AttributeError:
        return None
    return spec if isinstance(spec, FactorSpec) else None


def require_factor_spec(env: gym.Env, what: str = "this method") -> FactorSpec:
    """:func:`factor_spec` of ``env``, or a ValueError saying that ``what`` needs the env to publish its factors."""
    spec = factor_spec(env)
    if spec is None:
        env_id = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
        raise ValueError(
            f"{what} needs reward factors, and env {env_id!r} publishes none: wrap it in "
            "rewarddesign.factors.RewardFactors (for the project's tasks: rewarddesign.envs.with_reward_factors(env))"
        )
    return spec


def stack_factors(infos: Sequence[Mapping[str, Any]]) -> NDArray[np.float64]:
    """The published factors of steps, ``[T, K]``, from their infos' ``"reward_factors"``.

    Raises:
        KeyError: A step's info holds no factors (the env publishes none: wrap it in :class:`RewardFactors`).
    """
    try:
        return np.stack([np.asarray(info["reward_factors"], dtype=np.float64) for info in infos])
    except KeyError as error:
        raise KeyError("info['reward_factors'] is missing: the env publishes no factors (RewardFactors)") from error


class FactorWeightsTerm(RewardTerm):
    """The reward term of a weighted factor sum: ``sum_k w_k s_k f_k`` of ``info["reward_factors"]`` (``s_k`` the sign).

    It replaces the env's reward; its values go to ``info["factor_reward"]``. Drive it with
    :class:`FactorWeightedReward` (Gymnasium) or the reward-wrapper forms of
    :mod:`rewarddesign.rewards.wrappers` (``VecDesignedReward(venv, FactorWeightsTerm(...))`` for SB3).

    Args:
        spec: The factors' :class:`FactorSpec` (their signs).
        weights: One finite, non-negative weight per factor.

    Raises:
        ValueError: ``weights`` do not fit the factors.
    """

    info_key = "factor_reward"

    def __init__(self, spec: FactorSpec, weights: ArrayLike) -> None:
        super().__init__("replace")
        self.weights: NDArray[np.float64] = np.asarray(weights, dtype=np.float64).reshape(-1)
        if (
            self.weights.shape != (len(spec.names),)
            or np.any(self.weights < 0)
            or not np.all(np.isfinite(self.weights))
        ):
            raise ValueError(f"weights must be {len(spec.names)} finite values >= 0 ({spec.names}), got {weights!r}")
        self._signed = self.weights * np.asarray(spec.signs, dtype=np.float64)

    def step(
        self,
        obs: Any,
        act: Any,
        next_obs: Any,
        reward: NDArray[np.float64],
        terminated: NDArray[np.bool_],
        truncated: NDArray[np.bool_],
        infos: Sequence[Mapping[str, Any]],
    ) -> NDArray[np.float64]:
        return stack_factors(infos) @ self._signed

    def step_one(
        self,
        obs: Any,
        act: Any,
        next_obs: Any,
        reward: float,
        terminated: bool,
        truncated: bool,
        info: Mapping[str, Any],
    ) -> float:
        return float(stack_factors((info,))[0] @ self._signed)


class FactorWeightedReward(DesignedReward):
    """A hand-weighted sum of the env's reward factors as the reward: ``sum_k w_k s_k f_k`` (``s_k`` the factor's sign).

    The env must publish its factors (:func:`factor_spec`). ``info["original_reward"]`` keeps the
    env's reward and ``info["factor_reward"]`` the weighted sum (:class:`FactorWeightsTerm`).

    Args:
        env: An env that publishes its reward factors.
        weights: One finite, non-negative weight per factor.

    Raises:
        ValueError: When the env publishes no factors or ``weights`` do not fit them.
    """

    term: FactorWeightsTerm

    def __init__(self, env: gym.Env, weights: ArrayLike) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, weights=weights)
        super().__init__(env, FactorWeightsTerm(require_factor_spec(env, "FactorWeightedReward"), weights))

    @property
    def weights(self) -> NDArray[np.float64]:
        """The weights, one per factor."""
        return self.term.weights
