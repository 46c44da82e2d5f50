"""Vector returns of policies, and a direction-conditioned policy evaluated over a grid of directions.

The episodes run through :func:`rewarddesign.rollouts.rollout` on a scalarised env (any wrapper of
:mod:`rewarddesign.multiobjective.wrappers`), whose steps keep the reward vector in
``info["vector_reward"]``; a return vector is the sum of those vectors over an episode.

Example:
    >>> import gymnasium as gym
    >>> from rewarddesign.factors import FactorSpec
    >>> from rewarddesign.multiobjective import DirectionConditioned, VectorReward
    >>> spec = FactorSpec(("alive", "left"), (1.0, 1.0),
    ...                   lambda env, obs, act, next_obs, r, term, info: [r, float(act == 0)])
    >>> env = DirectionConditioned(VectorReward(gym.make("CartPole-v1"), spec))
    >>> sweep = evaluate_directions(lambda obs: np.zeros(len(obs), dtype=int), env, [[1, 0], [0, 1]], n_episodes=2)
    >>> sweep.returns.shape
    (2, 2, 2)
    >>> bool(np.all(sweep.returns[:, :, 0] == sweep.returns[:, :, 1]))  # always left: one point per step in each
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import ArrayLike, NDArray

from rewarddesign._validation import as_float_array, check_finite
from rewarddesign.multiobjective.wrappers import DirectionConditioned
from rewarddesign.rollouts import PolicyLike, Trajectory, rollout

__all__ = ["DirectionSweep", "trajectory_vector_returns", "vector_returns", "evaluate_directions"]


@dataclass(frozen=True)
class DirectionSweep:
    """Return vectors of one policy steered by each direction of a grid.

    Attributes:
        directions: float ``[D, K]``, unit rows.
        returns: float ``[D, E, K]``: the undiscounted return vector of each episode.
    """

    directions: NDArray[np.float64]
    returns: NDArray[np.float64]

    @property
    def mean_returns(self) -> NDArray[np.float64]:
        """float ``[D, K]``: the mean return vector per direction (the points of the policy's front)."""
        return self.returns.mean(axis=1)


def trajectory_vector_returns(trajectories: list[Trajectory[Any]]) -> NDArray[np.float64]:
    """float ``[E, K]``: each trajectory's sum of ``info["vector_reward"]``.

    Raises:
        ValueError: The trajectories hold no infos, or a step's info has no ``"vector_reward"``.
    """
    out = []
    for t in trajectories:
        if t.infos is None or len(t.infos) == 0 or any("vector_reward" not in info for info in t.infos):
            raise ValueError(
                "trajectories must record infos with 'vector_reward' (a scalarising wrapper of "
                "rewarddesign.multiobjective, rollout(record_infos=True))"
            )
        out.append(np.sum([np.asarray(info["vector_reward"], dtype=np.float64) for info in t.infos], axis=0))
    return np.asarray(out, dtype=np.float64)


def vector_returns(
    policy: PolicyLike, env: gym.Env, n_episodes: int = 10, seed: int | None = 0, deterministic: bool = True
) -> NDArray[np.float64]:
    """float ``[n_episodes, K]``: return vectors of ``policy`` on a scalarised env (one rollout per call).

    Args:
        policy: Any policy form :func:`~rewarddesign.rollouts.rollout` runs (an SB3 model, ...).
        env: A scalarised vector-reward env (its steps' infos hold ``"vector_reward"``).
        n_episodes: Episodes to run.
        seed: Resets the env once with it (:func:`~rewarddesign.rollouts.rollout`'s seeding).
        deterministic: Passed to the policy's ``predict``.
    """
    trajectories = rollout(policy, env, n_episodes=n_episodes, seed=seed, deterministic=deterministic)
    return trajectory_vector_returns(trajectories)


def _conditioned(env: gym.Env) -> DirectionConditioned:
    layer: Any = env
    while layer is not None:
        if isinstance(layer, DirectionConditioned):
            return layer
        layer = getattr(layer, "env", None)
    raise TypeError(f"env must be or wrap a DirectionConditioned env, got {type(env).__name__}")


def evaluate_directions(
    policy: PolicyLike,
    env: gym.Env,
    directions: ArrayLike,
    n_episodes: int = 1,
    seed: int | None = 0,
    deterministic: bool = True,
) -> DirectionSweep:
    """Steer a direction-conditioned policy by each direction of a grid and record its return vectors.

    Each direction is fixed on the env (:meth:`DirectionConditioned.set_direction`) for
    ``n_episodes`` episodes, all run from the same ``seed`` so that directions are compared on the
    same start states; the env goes back to sampling afterwards.

    Args:
        policy: A policy trained on a :class:`DirectionConditioned` env.
        env: That env (or an env stack that holds one).
        directions: float ``[D, K]``, non-zero rows (scaled to length 1), for instance
            :func:`rewarddesign.multiobjective.unit_directions`.
        n_episodes: Episodes per direction.
        seed: Seed of each direction's episodes.
        deterministic: Passed to the policy's ``predict``.

    Raises:
        TypeError: ``env`` holds no :class:`DirectionConditioned`.
        ValueError: ``directions`` is not ``[D, K]`` with a non-zero, finite row each.
    """
    conditioned = _conditioned(env)
    grid = check_finite(as_float_array(directions, "directions"), "directions")
    if grid.ndim != 2 or grid.shape[1] != conditioned.n_objectives or len(grid) == 0:
        raise ValueError(f"directions must be [D, {conditioned.n_objectives}] with D >= 1, got shape {grid.shape}")
    norms = np.linalg.norm(grid, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError(f"directions must have non-zero rows, row {int(np.flatnonzero(norms[:, 0] == 0)[0])} is zero")
    grid = grid / norms
    rows = []
    try:
        for v in grid:
            conditioned.set_direction(v)
            rows.append(vector_returns(policy, env, n_episodes, seed, deterministic))
    finally:
        conditioned.set_direction(None)
    return DirectionSweep(grid, np.stack(rows))
