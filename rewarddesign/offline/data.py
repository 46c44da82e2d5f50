"""The offline dataset: transitions, episode after episode, with what labels and scores need.

:class:`OfflineData` holds ``[T, ...]`` arrays of transitions with their episode boundaries, the
reward factors of each step where the data has them (with the factors' names and signs, as the env
published them when the data was collected), the env id and D4RL-style reference scores. It is
built from :class:`~rewarddesign.rollouts.Trajectory` objects (:meth:`OfflineData.from_trajectories`)
or from arrays; :mod:`rewarddesign.offline.storage` keeps it as a Minari dataset.

Example:
    >>> import numpy as np
    >>> data = OfflineData(
    ...     observations=np.zeros((3, 2)), actions=np.zeros((3, 1)), rewards=np.array([1.0, 2.0, 3.0]),
    ...     next_observations=np.ones((3, 2)), terminations=np.array([False, True, False]),
    ...     truncations=np.array([False, False, True]), episode_lengths=np.array([2, 1]))
    >>> data.episode_returns().tolist()
    [3.0, 3.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rewarddesign._validation import check_finite
from rewarddesign.factors import stack_factors
from rewarddesign.rollouts import Trajectory

__all__ = ["OfflineData"]


def _as_float(name: str, value: ArrayLike, ndim: int | None = None) -> NDArray[np.float32]:
    array = np.asarray(value, dtype=np.float32)
    if ndim is not None and array.ndim == ndim - 1:
        array = array.reshape(-1, 1)
    return check_finite(array, name)


@dataclass
class OfflineData:
    """The transitions of a dataset, episode after episode.

    Attributes:
        observations: ``[T, obs_dim]``; next_observations: ``[T, obs_dim]`` (float32).
        actions: ``[T, act_dim]`` (float32).
        rewards: ``[T]`` the env's (true) reward (float32).
        terminations: ``[T]`` bool, the MDP's end; truncations: ``[T]`` bool, a time limit or the data's end.
        episode_lengths: ``[E]`` steps per episode, summing to ``T`` (int64).
        factors: ``[T, K]`` reward factors per step (float32), or None.
        env_id: The Gymnasium env the data came from, or None.
        ref_scores: ``(random, expert)`` returns for normalised scores, or None.
        factor_names: ``[K]`` the factors' names, as the env published them (or None).
        factor_signs: ``[K]`` +1 where more of a factor is better, -1 where less is (or None).
    """

    observations: NDArray[Any]
    actions: NDArray[Any]
    rewards: NDArray[Any]
    next_observations: NDArray[Any]
    terminations: NDArray[Any]
    truncations: NDArray[Any]
    episode_lengths: NDArray[Any]
    factors: NDArray[Any] | None = None
    env_id: str | None = None
    ref_scores: tuple[float, float] | None = None
    factor_names: tuple[str, ...] | None = None
    factor_signs: tuple[float, ...] | None = None
    _starts: NDArray[np.int64] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.observations = _as_float("observations", self.observations, 2)
        self.next_observations = _as_float("next_observations", self.next_observations, 2)
        self.actions = _as_float("actions", self.actions, 2)
        self.rewards = _as_float("rewards", self.rewards).reshape(-1)
        self.terminations = np.asarray(self.terminations, dtype=bool).reshape(-1)
        self.truncations = np.asarray(self.truncations, dtype=bool).reshape(-1)
        self.episode_lengths = np.asarray(self.episode_lengths, dtype=np.int64).reshape(-1)
        n = len(self.observations)
        lengths = {
            "next_observations": len(self.next_observations),
            "actions": len(self.actions),
            "rewards": len(self.rewards),
            "terminations": len(self.terminations),
            "truncations": len(self.truncations),
        }
        if self.factors is not None:
            self.factors = _as_float("factors", self.factors, 2)
            lengths["factors"] = len(self.factors)
        wrong = {name: size for name, size in lengths.items() if size != n}
        if wrong:
            raise ValueError(f"every array needs one row per transition ({n} observations); got {wrong}")
        if self.next_observations.shape != self.observations.shape:
            raise ValueError(
                f"next_observations {self.next_observations.shape} and observations {self.observations.shape} differ"
            )
        if np.any(self.episode_lengths < 1) or self.episode_lengths.sum() != n:
            raise ValueError(
                f"episode_lengths must be positive and sum to the {n} transitions, got sum {self.episode_lengths.sum()}"
            )
        self._starts = np.concatenate([[0], np.cumsum(self.episode_lengths)[:-1]]).astype(np.int64)
        if self.ref_scores is not None:
            low, high = (float(v) for v in self.ref_scores)
            if not high > low:
                raise ValueError(f"ref_scores must be (random, expert) with expert > random, got {self.ref_scores}")
            self.ref_scores = (low, high)
        self._check_factor_labels()

    def _check_factor_labels(self) -> None:
        k = None if self.factors is None else self.factors.shape[1]
        if self.factor_names is not None:
            self.factor_names = tuple(str(name) for name in self.factor_names)
            if len(self.factor_names) != k:
                raise ValueError(f"factor_names must name each of the {k} factors, got {self.factor_names!r}")
        if self.factor_signs is not None:
            self.factor_signs = tuple(float(sign) for sign in self.factor_signs)
            if len(self.factor_signs) != k or any(sign not in (-1.0, 1.0) for sign in self.factor_signs):
                raise ValueError(
                    f"factor_signs must be +1 or -1 for each of the {k} factors, got {self.factor_signs!r}"
                )

    def __len__(self) -> int:
        return len(self.observations)

    @property
    def n_episodes(self) -> int:
        """The number of episodes ``E``."""
        return len(self.episode_lengths)

    @property
    def episode_starts(self) -> NDArray[np.int64]:
        """``[E]`` index of each episode's first transition."""
        return self._starts

    def episode_of(self, rows: ArrayLike) -> NDArray[np.int64]:
        """The episode index of each of ``rows`` (transition indices)."""
        return np.searchsorted(self._starts, np.asarray(rows), side="right") - 1

    def episode_returns(self) -> NDArray[np.float64]:
        """``[E]`` undiscounted return of each episode."""
        return np.add.reduceat(self.rewards.astype(np.float64), self._starts)

    def episodes(self, index: ArrayLike) -> OfflineData:
        """The dataset of the given episodes only (in the given order)."""
        index = np.asarray(index, dtype=np.int64).reshape(-1)
        if len(index) == 0:
            raise ValueError("select at least one episode")
        rows = np.concatenate([np.arange(self._starts[i], self._starts[i] + self.episode_lengths[i]) for i in index])
        return OfflineData(
            self.observations[rows], self.actions[rows], self.rewards[rows], self.next_observations[rows],
            self.terminations[rows], self.truncations[rows], self.episode_lengths[index],
            None if self.factors is None else self.factors[rows], self.env_id, self.ref_scores,
            self.factor_names, self.factor_signs,
        )  # fmt: skip

    def normalized_score(self, returns: ArrayLike) -> NDArray[np.float64]:
        """``100 (R - random) / (expert - random)``: D4RL's normalised score of episode returns."""
        if self.ref_scores is None:
            raise ValueError("this dataset has no reference scores")
        low, high = self.ref_scores
        return 100.0 * (np.asarray(returns, dtype=np.float64) - low) / (high - low)

    @classmethod
    def from_trajectories(
        cls,
        trajectories: Sequence[Trajectory],
        *,
        env_id: str | None = None,
        ref_scores: tuple[float, float] | None = None,
        factor_names: Sequence[str] | None = None,
        factor_signs: Sequence[float] | None = None,
    ) -> OfflineData:
        """The dataset of ``trajectories``, in order (empty ones are skipped).

        Each step's reward factors are read from its ``info["reward_factors"]`` where every step of
        every trajectory has them (an env that publishes its factors,
        :class:`~rewarddesign.factors.RewardFactors`); otherwise the dataset has none.

        Args:
            trajectories: The episodes. One that neither terminated nor was truncated (still
                running when the data stops) is marked truncated: the data's end.
            env_id: The env they come from.
            ref_scores: ``(random, expert)`` reference returns.
            factor_names: The factors' names (the env's :class:`~rewarddesign.factors.FactorSpec`);
                only where the trajectories carry factors.
            factor_signs: The factors' signs (the env's :class:`~rewarddesign.factors.FactorSpec`);
                only where the trajectories carry factors.

        Raises:
            ValueError: No trajectory has a step.
        """
        trajectories = [t for t in trajectories if len(t) > 0]
        if not trajectories:
            raise ValueError("trajectories holds no step")
        with_factors = all(t.infos is not None and all("reward_factors" in i for i in t.infos) for t in trajectories)
        obs = [np.asarray(t.obs) for t in trajectories]
        ends = [np.zeros(len(t), dtype=bool) for t in trajectories]
        terminations, truncations = [e.copy() for e in ends], [e.copy() for e in ends]
        for t, term, trunc in zip(trajectories, terminations, truncations):
            term[-1], trunc[-1] = bool(t.terminated), bool(t.truncated) or not t.terminated
        factors = None
        if with_factors:
            factors = np.concatenate([stack_factors(t.infos or ()) for t in trajectories])
        return cls(
            observations=np.concatenate([o[:-1] for o in obs]),
            actions=np.concatenate([np.asarray(t.acts).reshape(len(t), -1) for t in trajectories]),
            rewards=np.concatenate([np.asarray(t.rews) for t in trajectories]),
            next_observations=np.concatenate([o[1:] for o in obs]),
            terminations=np.concatenate(terminations),
            truncations=np.concatenate(truncations),
            episode_lengths=np.array([len(t) for t in trajectories]),
            factors=factors,
            env_id=env_id,
            ref_scores=ref_scores,
            factor_names=None if factors is None or factor_names is None else tuple(factor_names),
            factor_signs=None if factors is None or factor_signs is None else tuple(factor_signs),
        )
