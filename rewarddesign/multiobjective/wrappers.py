"""Vector rewards and the wrappers that scalarise them.

A *vector-reward env* follows MO-Gymnasium: ``step`` returns a float reward vector ``[K]`` and the
env has a ``reward_space`` (a ``Box`` of shape ``(K,)``). MO-Gymnasium's envs are taken as they
are; :class:`VectorReward` turns an env that publishes reward factors
(:func:`rewarddesign.factors.factor_spec`, or a :class:`~rewarddesign.factors.FactorSpec` given
here) into one, each objective signed so that more is better.

The scalarising wrappers are reward terms of :mod:`rewarddesign.rewards.wrappers` (they replace
the reward), so they run as a Gymnasium wrapper and, through
:class:`~rewarddesign.rewards.wrappers.VectorDesignedReward`, on a vector env whose rewards are
``[B, K]``. Each keeps the vector in ``info["original_reward"]`` and ``info["vector_reward"]``
(MO-Gymnasium's key) and its own value in ``info[term.info_key]``:

=============================  ==========================  =========================================
wrapper                        ``info_key``                reward
=============================  ==========================  =========================================
:class:`LinearScalarization`   ``"scalarized_reward"``     ``w . r``
:class:`ChebyshevScalarization` ``"scalarized_reward"``    ``-max_k w_k |r_k - z_k|``
:class:`DirectionalReward`     ``"directional_reward"``    ``v . (r / scale)``, ``|v| = 1`` (DPA)
:class:`DirectionConditioned`  ``"directional_reward"``    as above, ``v`` drawn per episode
=============================  ==========================  =========================================

:class:`DirectionConditioned` is Directional Preference Alignment (Wang et al., 2024) moved to
control: each episode draws a unit direction ``v`` (by default uniformly on the positive part of
the unit sphere), appends it to the observation and rewards ``v . r``; one policy trained on it is
then steered at run time by fixing ``v`` (:meth:`DirectionConditioned.set_direction`).

Example:
    >>> import gymnasium as gym
    >>> from rewarddesign.factors import FactorSpec
    >>> spec = FactorSpec(("upright", "centre"), (1.0, -1.0),
    ...                   lambda env, obs, act, next_obs, r, term, info: [r, abs(next_obs[0])])
    >>> env = VectorReward(gym.make("CartPole-v1"), spec)
    >>> env.reward_space.shape
    (2,)
    >>> env = LinearScalarization(env, weights=[1.0, 2.0])
    >>> _ = env.reset(seed=0)
    >>> _, reward, *_, info = env.step(0)
    >>> bool(np.isclose(reward, info["vector_reward"] @ [1.0, 2.0]))
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import ArrayLike, NDArray

from rewarddesign._validation import as_float_array, check_finite, check_rng
from rewarddesign.factors import FactorSpec, RewardFactors, require_factor_spec
from rewarddesign.rewards.wrappers import Bools, DesignedReward, Floats, Infos, RewardTerm

__all__ = [
    "DirectionSampler",
    "reward_dim",
    "positive_sphere",
    "VectorReward",
    "LinearTerm",
    "ChebyshevTerm",
    "DirectionalTerm",
    "LinearScalarization",
    "ChebyshevScalarization",
    "DirectionalReward",
    "DirectionConditioned",
    "require_mo_gymnasium",
]

#: Draws one direction ``[K]`` from a numpy Generator (normalised to length 1 by the wrapper).
DirectionSampler = Callable[[np.random.Generator], ArrayLike]


def require_mo_gymnasium() -> Any:
    """Import and return ``mo_gymnasium``, or raise an ImportError naming the extra that installs it."""
    try:
        import mo_gymnasium
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise ImportError(
            "MO-Gymnasium is not installed: pip install 'rewarddesign[multiobjective]' (or mo-gymnasium)"
        ) from error
    return mo_gymnasium


def reward_dim(env: gym.Env) -> int:
    """The number of objectives ``K`` of a vector-reward env (its ``reward_space`` of shape ``(K,)``).

    Raises:
        TypeError: The env has no ``reward_space`` of shape ``(K,)`` (it gives a scalar reward).
    """
    try:
        space = env.get_wrapper_attr("reward_space")
    except AttributeError:
        space = None
    shape = getattr(space, "shape", None)
    if shape is None or len(shape) != 1 or shape[0] < 1:
        name = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
        raise TypeError(
            f"env {name!r} gives no vector reward (no reward_space of shape (K,)): use an MO-Gymnasium env "
            "or wrap it in VectorReward"
        )
    return int(shape[0])


def _vector(value: ArrayLike, name: str, k: int) -> NDArray[np.float64]:
    array = check_finite(as_float_array(value, name).reshape(-1), name)
    if array.shape != (k,):
        raise ValueError(f"{name} must hold {k} values, one per objective, got shape {np.shape(value)}")
    return array


def _unit(value: ArrayLike, name: str, k: int) -> NDArray[np.float64]:
    array = _vector(value, name, k)
    norm = float(np.linalg.norm(array))
    if norm == 0.0:
        raise ValueError(f"{name} must be a non-zero vector (it is scaled to length 1), got {value!r}")
    return array / norm


def _scale(value: ArrayLike | None, k: int) -> NDArray[np.float64]:
    if value is None:
        return np.ones(k)
    array = _vector(value, "scale", k)
    if np.any(array <= 0):
        raise ValueError(f"scale must be > 0 per objective, got {value!r}")
    return array


def positive_sphere(n_objectives: int) -> DirectionSampler:
    """A sampler of directions uniform on the positive part of the unit sphere in ``n_objectives`` dimensions.

    Example:
        >>> v = np.asarray(positive_sphere(3)(np.random.default_rng(0)))
        >>> bool(np.isclose(np.linalg.norm(v), 1.0) and np.all(v >= 0))
        True
    """
    if isinstance(n_objectives, bool) or not isinstance(n_objectives, (int, np.integer)) or n_objectives < 1:
        raise ValueError(f"n_objectives must be an integer >= 1, got {n_objectives!r}")

    def sample(rng: np.random.Generator) -> NDArray[np.float64]:
        v = np.abs(rng.standard_normal(int(n_objectives)))
        return v / max(float(np.linalg.norm(v)), 1e-12)

    return sample


class VectorReward(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """An env with reward factors as a vector-reward env: ``r_k = s_k f_k`` (``s_k`` the factor's sign).

    Each objective is signed so that more is better, as Pareto tools maximise.
    ``info["original_reward"]`` keeps the env's scalar reward and ``info["reward_factors"]`` the
    unsigned factors. The ``reward_space`` is an unbounded ``Box`` of shape ``(K,)``.

    Args:
        env: An env that publishes its factors, or any env when ``spec`` is given.
        spec: The factors to publish (the env is wrapped in :class:`~rewarddesign.factors.RewardFactors`
            first); ``None`` reads the env's own.

    Raises:
        ValueError: ``spec`` is None and the env publishes no factors.
        TypeError: ``spec`` is not a ``FactorSpec``.
    """

    def __init__(self, env: gym.Env, spec: FactorSpec | None = None) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, spec=spec)
        if spec is not None:
            env = RewardFactors(env, spec)
        gym.Wrapper.__init__(self, env)
        self.factor_names = require_factor_spec(env, "VectorReward").names
        self._signs = np.asarray(require_factor_spec(env).signs, dtype=np.float64)
        self.reward_space = gym.spaces.Box(-np.inf, np.inf, shape=(len(self._signs),), dtype=np.float64)

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        vector = self._signs * np.asarray(info["reward_factors"], dtype=np.float64)
        info["original_reward"] = reward
        return obs, vector, terminated, truncated, info


class _VectorTerm(RewardTerm):
    """A term of the reward vector ``[B, K]`` (the env's reward) that replaces it by a scalar."""

    def __init__(self, n_objectives: int) -> None:
        super().__init__("replace")
        self.n_objectives = n_objectives

    def _rows(self, reward: Any) -> NDArray[np.float64]:
        r = np.asarray(reward, dtype=np.float64)
        if r.ndim != 2 or r.shape[1] != self.n_objectives:
            raise ValueError(
                f"the env's reward must be a vector of {self.n_objectives} objectives per env, got shape {r.shape[1:]}"
            )
        return r

    def value(self, r: NDArray[np.float64]) -> NDArray[np.float64]:
        """The scalar values ``[B]`` of reward vectors ``r [B, K]``."""
        raise NotImplementedError

    def step(
        self, obs: Any, act: Any, next_obs: Any, reward: Floats, terminated: Bools, truncated: Bools, infos: Infos
    ) -> Floats:
        return self.value(self._rows(reward))

    def step_one(
        self, obs: Any, act: Any, next_obs: Any, reward: Any, terminated: bool, truncated: bool, info: Any
    ) -> float:
        return float(self.value(self._rows(np.asarray(reward, dtype=np.float64).reshape(1, -1)))[0])


class LinearTerm(_VectorTerm):
    """``w . r`` of the reward vector.

    Args:
        weights: ``[K]`` finite weights.
    """

    info_key = "scalarized_reward"

    def __init__(self, weights: ArrayLike) -> None:
        w = check_finite(as_float_array(weights, "weights").reshape(-1), "weights")
        if w.size == 0:
            raise ValueError(f"weights must hold one value per objective, got {weights!r}")
        super().__init__(w.size)
        self.weights = w

    def value(self, r: NDArray[np.float64]) -> NDArray[np.float64]:
        return r @ self.weights


class ChebyshevTerm(_VectorTerm):
    """``-max_k w_k |r_k - z_k|``: the weighted Chebyshev distance to a reference ``z``, negated (maximised).

    Args:
        weights: ``[K]`` finite weights ``>= 0``.
        reference: ``[K]`` the reference (utopia) point ``z``.
    """

    info_key = "scalarized_reward"

    def __init__(self, weights: ArrayLike, reference: ArrayLike) -> None:
        w = check_finite(as_float_array(weights, "weights").reshape(-1), "weights")
        if w.size == 0 or np.any(w < 0):
            raise ValueError(f"weights must hold one value >= 0 per objective, got {weights!r}")
        super().__init__(w.size)
        self.weights = w
        self.reference = _vector(reference, "reference", w.size)

    def value(self, r: NDArray[np.float64]) -> NDArray[np.float64]:
        return -np.max(self.weights * np.abs(r - self.reference), axis=1)


class DirectionalTerm(_VectorTerm):
    """``v . (r / scale)`` with ``v`` a unit direction (DPA's directional reward).

    Args:
        direction: ``[K]``, non-zero; scaled to length 1.
        scale: ``[K]`` positive divisors of the objectives (their typical magnitudes), or None.

    Attributes:
        direction: The unit direction; :class:`DirectionConditioned` sets it per episode.
    """

    info_key = "directional_reward"

    def __init__(self, direction: ArrayLike, scale: ArrayLike | None = None) -> None:
        v = check_finite(as_float_array(direction, "direction").reshape(-1), "direction")
        if v.size == 0:
            raise ValueError(f"direction must hold one value per objective, got {direction!r}")
        super().__init__(v.size)
        self.direction = _unit(v, "direction", v.size)
        self.scale = _scale(scale, v.size)

    def value(self, r: NDArray[np.float64]) -> NDArray[np.float64]:
        return (r / self.scale) @ self.direction


class _Scalarized(DesignedReward):
    """A :class:`DesignedReward` of a vector-reward env that also writes ``info["vector_reward"]``."""

    term: _VectorTerm

    def __init__(self, env: gym.Env, term: _VectorTerm) -> None:
        k = reward_dim(env)
        if term.n_objectives != k:
            raise ValueError(f"the env has {k} objectives, the {type(self).__name__} arguments {term.n_objectives}")
        super().__init__(env, term)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        info["vector_reward"] = np.asarray(info["original_reward"], dtype=np.float64)
        return obs, reward, terminated, truncated, info


class LinearScalarization(_Scalarized):
    """A vector-reward env rewarded by ``w . r`` (:class:`LinearTerm`).

    Args:
        env: A vector-reward env (MO-Gymnasium, or :class:`VectorReward`).
        weights: ``[K]`` finite weights.

    Raises:
        TypeError: The env gives a scalar reward.
        ValueError: ``weights`` do not fit the objectives, or are not finite.
    """

    def __init__(self, env: gym.Env, weights: ArrayLike) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, weights=weights)
        super().__init__(env, LinearTerm(weights))


class ChebyshevScalarization(_Scalarized):
    """A vector-reward env rewarded by ``-max_k w_k |r_k - z_k|`` (:class:`ChebyshevTerm`), step by step.

    The scalarisation is applied to each step's reward vector (what the env gives); it is not
    linear, so the sum of the step values is not the Chebyshev utility of the return.

    Args:
        env: A vector-reward env.
        weights: ``[K]`` finite weights ``>= 0``.
        reference: ``[K]`` the reference point ``z``.
    """

    def __init__(self, env: gym.Env, weights: ArrayLike, reference: ArrayLike) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, weights=weights, reference=reference)
        super().__init__(env, ChebyshevTerm(weights, reference))


class DirectionalReward(_Scalarized):
    """A vector-reward env rewarded by ``v . (r / scale)``, ``v`` a unit direction (:class:`DirectionalTerm`).

    Args:
        env: A vector-reward env.
        direction: ``[K]`` non-zero; scaled to length 1.
        scale: ``[K]`` positive divisors of the objectives, or None.
    """

    term: DirectionalTerm

    def __init__(self, env: gym.Env, direction: ArrayLike, scale: ArrayLike | None = None) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, direction=direction, scale=scale)
        super().__init__(env, DirectionalTerm(direction, scale))

    @property
    def direction(self) -> NDArray[np.float64]:
        """The unit direction."""
        return self.term.direction


class DirectionConditioned(_Scalarized):
    """One direction ``v`` per episode, appended to the observation; the reward is ``v . (r / scale)``.

    The observation is the env's (flattened to float32) followed by the ``K`` entries of ``v``:
    ``[*flatten(obs), v_1, ..., v_K]``, in a ``Box`` whose last ``K`` bounds are ``[-1, 1]``. At
    each reset ``v`` is the fixed direction if one is set (:meth:`set_direction`, or
    ``reset(options={"direction": v})`` for that episode), else a draw of ``sampler`` from the
    wrapper's own generator (seeded by ``reset(seed=...)``), scaled to length 1.
    ``info["direction"]`` holds the episode's ``v``.

    Args:
        env: A vector-reward env.
        sampler: ``rng -> [K]``; by default :func:`positive_sphere`.
        scale: ``[K]`` positive divisors of the objectives, or None.
        rng: A Generator or seed for the draws before the first seeded reset (None: fresh entropy).

    Raises:
        TypeError: The env gives a scalar reward, or ``sampler`` is not callable.
    """

    term: DirectionalTerm

    def __init__(
        self,
        env: gym.Env,
        sampler: DirectionSampler | None = None,
        scale: ArrayLike | None = None,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, sampler=sampler, scale=scale)
        k = reward_dim(env)
        if sampler is not None and not callable(sampler):
            raise TypeError(f"sampler must be callable (rng -> direction), got {type(sampler).__name__}")
        self.sampler: DirectionSampler = sampler if sampler is not None else positive_sphere(k)
        super().__init__(env, DirectionalTerm(np.ones(k), scale))
        self._rng = check_rng(rng)
        self._fixed: NDArray[np.float64] | None = None
        inner = env.observation_space
        self._inner_space = inner
        flat = gym.spaces.flatten_space(inner)
        if not isinstance(flat, gym.spaces.Box):
            raise TypeError(f"env's observation space must flatten to a Box, got {inner}")
        ones = np.ones(k, np.float32)
        low = np.concatenate([np.asarray(flat.low, np.float32), -ones])
        high = np.concatenate([np.asarray(flat.high, np.float32), ones])
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.n_objectives = k

    @property
    def direction(self) -> NDArray[np.float64]:
        """The current episode's unit direction."""
        return self.term.direction

    def set_direction(self, direction: ArrayLike | None) -> None:
        """Fix the direction of every following episode (steering), or go back to sampling with None."""
        self._fixed = None if direction is None else _unit(direction, "direction", self.n_objectives)

    def _observe(self, obs: Any) -> NDArray[np.float32]:
        flat = np.asarray(gym.spaces.flatten(self._inner_space, obs), dtype=np.float32)
        return np.concatenate([flat, self.term.direction.astype(np.float32)])

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        if seed is not None:
            self._rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
        options = dict(options) if options else {}
        given = options.pop("direction", None)
        if given is not None:
            v = _unit(given, "options['direction']", self.n_objectives)
        elif self._fixed is not None:
            v = self._fixed
        else:
            v = _unit(self.sampler(self._rng), "the sampler's direction", self.n_objectives)
        self.term.direction = v
        obs, info = super().reset(seed=seed, options=options or None)
        info["direction"] = v.copy()
        return self._observe(obs), info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        info["direction"] = self.term.direction.copy()
        return self._observe(obs), reward, terminated, truncated, info
