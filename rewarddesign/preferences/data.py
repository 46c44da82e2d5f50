"""Fragments of trajectories and datasets of preferences between them.

A :class:`Fragments` store holds ``N`` fragments of ``L`` steps each: observations, actions,
reward factors (a vector per step, for hierarchical comparisons) and the true reward when it is
known. A :class:`PreferenceDataset` holds pairs of fragment indices with labels in
``{0, 0.5, 1}`` (1: the first fragment is preferred; 0.5: a tie). Both save to ``.npz`` (arrays
only, loaded with ``allow_pickle=False``), so a file from elsewhere cannot run code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rewarddesign._validation import check_finite
from rewarddesign.factors import stack_factors
from rewarddesign.rollouts import Trajectory

__all__ = ["Fragments", "PreferenceDataset"]


def fragment_indices(value: ArrayLike, name: str, n_fragments: int) -> NDArray[np.int64]:
    """``value`` as a flat int64 array of fragment indices in ``0..n_fragments-1``, naming ``name`` when it is not.

    Integer dtypes pass; floats pass only when every entry is a whole number (0.7 is refused, not
    truncated to 0); bools and other dtypes are refused.
    """
    try:
        array = np.asarray(value).reshape(-1)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of fragment indices, got {type(value).__name__}: {err}") from None
    if array.dtype.kind == "b" or array.dtype.kind not in "iuf" and len(array):
        raise TypeError(f"{name} must hold integer fragment indices, got dtype {array.dtype}")
    if array.dtype.kind == "f":
        whole = np.isfinite(array) & (array == np.round(array))
        if not np.all(whole):
            raise ValueError(f"{name} must hold integer fragment indices, got {array[~whole][0]!r}")
    if len(array) and (array.min() < 0 or array.max() >= n_fragments):
        bad = array[(array < 0) | (array >= n_fragments)][0]
        raise ValueError(f"{name} indexes fragments outside 0..{n_fragments - 1}, got {bad!r}")
    return array.astype(np.int64)


@dataclass
class Fragments:
    """``N`` fragments of ``L`` steps.

    Attributes:
        obs: ``[N, L, ...]`` observations.
        acts: ``[N, L, ...]`` actions.
        factors: ``[N, L, K]`` reward factors, or None.
        rewards: ``[N, L]`` true rewards, or None.
    """

    obs: NDArray[np.float32]
    acts: NDArray[Any]
    factors: NDArray[np.float64] | None = None
    rewards: NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        self.obs = check_finite(np.asarray(self.obs, dtype=np.float32), "obs")
        self.acts = np.asarray(self.acts)
        if self.obs.ndim < 2 or self.acts.shape[:2] != self.obs.shape[:2]:
            raise ValueError(
                f"obs [N, L, ...] and acts [N, L, ...] must share N and L, got {self.obs.shape} and {self.acts.shape}"
            )
        if self.factors is not None:
            self.factors = check_finite(np.asarray(self.factors, dtype=np.float64), "factors")
            if self.factors.ndim != 3 or self.factors.shape[:2] != self.obs.shape[:2]:
                raise ValueError(
                    f"factors must be [N, L, K] with N, L = {self.obs.shape[:2]}, got {self.factors.shape}"
                )
        if self.rewards is not None:
            self.rewards = check_finite(np.asarray(self.rewards, dtype=np.float64), "rewards")
            if self.rewards.shape != self.obs.shape[:2]:
                raise ValueError(f"rewards must be [N, L] = {self.obs.shape[:2]}, got {self.rewards.shape}")

    @classmethod
    def from_trajectories(cls, trajectories: Sequence[Trajectory], length: int, rng: np.random.Generator) -> Fragments:
        """Fragments of ``length`` steps cut at random offsets, ``max(1, T // length)`` from each trajectory.

        With ``length=1`` (single-transition comparisons, as HERON's reference compares steps)
        every step of every trajectory is a fragment, once each, in order.

        The observations are those the actions were taken in (``obs[:-1]``), the rewards the
        trajectories' (the env's) rewards. Reward factors come from the steps'
        ``info["reward_factors"]`` when every step of every trajectory has them (an env that
        publishes its factors, :func:`rewarddesign.factors.factor_spec`); otherwise the fragments
        hold none.

        Args:
            trajectories: Episodes of :func:`rewarddesign.rollouts.rollout`.
            length: Steps per fragment (``L``).
            rng: Draws the offsets.

        Raises:
            ValueError: No trajectories, ``length`` below 1, or a trajectory shorter than ``length``.
        """
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
            raise ValueError(f"length must be an int >= 1, got {length!r}")
        if len(trajectories) == 0:
            raise ValueError("trajectories must hold at least one trajectory, got none")
        with_factors = all(
            t.infos is not None and all("reward_factors" in info for info in t.infos) for t in trajectories
        )
        obs, acts, factors, rewards = [], [], [], []
        for t in trajectories:
            total = len(t)
            if total < length:
                raise ValueError(f"an episode of {total} steps is shorter than the fragment length {length}")
            steps = stack_factors(t.infos) if with_factors and t.infos is not None else None
            starts = (
                range(total) if length == 1 else [int(rng.integers(total - length + 1)) for _ in range(total // length)]
            )
            for start in starts:
                window = slice(start, start + length)
                obs.append(t.obs[window])
                acts.append(t.acts[window])
                rewards.append(t.rews[window])
                if steps is not None:
                    factors.append(steps[window])
        return cls(np.stack(obs), np.stack(acts), np.stack(factors) if with_factors else None, np.stack(rewards))

    def __len__(self) -> int:
        return self.obs.shape[0]

    @property
    def length(self) -> int:
        return self.obs.shape[1]

    def factor_sums(self, discount: float = 1.0) -> NDArray[np.float64]:
        """``[N, K]``: each fragment's factors summed over its steps (discounted from its start)."""
        if self.factors is None:
            raise ValueError("these fragments hold no reward factors")
        weights = discount ** np.arange(self.length)
        return np.einsum("nlk,l->nk", self.factors, weights)

    def returns(self, discount: float = 1.0) -> NDArray[np.float64]:
        """``[N]``: each fragment's true return (discounted from its start)."""
        if self.rewards is None:
            raise ValueError("these fragments hold no true rewards")
        return self.rewards @ (discount ** np.arange(self.length))

    def concat(self, other: Fragments) -> Fragments:
        """Both stores, this one first."""

        def join(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
            return None if a is None or b is None else np.concatenate([a, b])

        return Fragments(
            np.concatenate([self.obs, other.obs]),
            np.concatenate([self.acts, other.acts]),
            join(self.factors, other.factors),
            join(self.rewards, other.rewards),
        )


@dataclass
class PreferenceDataset:
    """Labelled pairs of fragments.

    Attributes:
        fragments: The store the indices point into.
        first: ``[P]`` index of each pair's first fragment; second: ``[P]`` of its second.
        labels: ``[P]`` in ``{0, 0.5, 1}``: 1 if the first is preferred, 0 if the second, 0.5 a tie.

    Raises:
        ValueError: An index is not a whole number or lies outside the store, a label is not 0,
            0.5 or 1, or first, second and labels differ in length.
        TypeError: ``first`` or ``second`` is not an array of numbers.
    """

    fragments: Fragments
    first: NDArray[np.int64]
    second: NDArray[np.int64]
    labels: NDArray[np.float64]

    def __post_init__(self) -> None:
        n = len(self.fragments)
        self.first = fragment_indices(self.first, "first", n)
        self.second = fragment_indices(self.second, "second", n)
        self.labels = np.asarray(self.labels, dtype=np.float64).reshape(-1)
        if not len(self.first) == len(self.second) == len(self.labels):
            raise ValueError(
                f"first, second and labels must have one entry per pair, got {len(self.first)}, "
                f"{len(self.second)}, {len(self.labels)}"
            )
        bad = ~np.isin(self.labels, (0.0, 0.5, 1.0))
        if np.any(bad):
            raise ValueError(f"labels must be 0, 0.5 or 1, got {self.labels[bad][:5]}")

    def __len__(self) -> int:
        return len(self.labels)

    def split(self, fraction: float, rng: np.random.Generator) -> tuple[PreferenceDataset, PreferenceDataset]:
        """A random ``(1 - fraction, fraction)`` split of the pairs (held-out pairs for accuracy)."""
        order = rng.permutation(len(self))
        cut = len(self) - int(round(fraction * len(self)))
        parts = order[:cut], order[cut:]
        return tuple(  # type: ignore[return-value]
            PreferenceDataset(self.fragments, self.first[p], self.second[p], self.labels[p]) for p in parts
        )

    def extend(self, other: PreferenceDataset) -> PreferenceDataset:
        """Both datasets over the concatenation of their fragment stores."""
        offset = len(self.fragments)
        return PreferenceDataset(
            self.fragments.concat(other.fragments),
            np.concatenate([self.first, other.first + offset]),
            np.concatenate([self.second, other.second + offset]),
            np.concatenate([self.labels, other.labels]),
        )

    def save(self, path: str | Path) -> None:
        arrays: dict[str, Any] = {
            "obs": self.fragments.obs,
            "acts": self.fragments.acts,
            "first": self.first,
            "second": self.second,
            "labels": self.labels,
        }
        if self.fragments.factors is not None:
            arrays["factors"] = self.fragments.factors
        if self.fragments.rewards is not None:
            arrays["rewards"] = self.fragments.rewards
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> PreferenceDataset:
        """Read what :meth:`save` wrote (arrays only, ``allow_pickle=False``).

        Raises:
            FileNotFoundError: No file at ``path``.
            ValueError: The file is not a ``.npz`` archive of a preference dataset (numpy's advice
                to allow pickles is not passed on: a pickle could run code from the file).
        """
        try:
            archive = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            if isinstance(err, FileNotFoundError):
                raise
            raise ValueError(
                f"path {str(path)!r} is not a preference dataset written by PreferenceDataset.save "
                "(an .npz archive of arrays); it was not loaded"
            ) from None
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError(f"path {str(path)!r} holds one array, not a preference dataset's .npz archive")
        with archive as data:
            missing = {"obs", "acts", "first", "second", "labels"} - set(data.files)
            if missing:
                raise ValueError(f"{path} is not a preference dataset: it lacks {sorted(missing)}")
            fragments = Fragments(
                data["obs"], data["acts"], data["factors"] if "factors" in data.files else None,
                data["rewards"] if "rewards" in data.files else None,
            )  # fmt: skip
            return cls(fragments, data["first"], data["second"], data["labels"])
