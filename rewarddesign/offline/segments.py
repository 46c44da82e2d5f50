"""Segments of an offline dataset and scripted preferences between them.

Offline preference learning compares fixed-length segments cut from the dataset's episodes.
:func:`sample_segments` cuts them (:class:`~rewarddesign.preferences.Fragments` with the true
rewards and, where the dataset has them, the reward factors); :func:`preference_pairs` labels
random pairs with any gatherer of :mod:`rewarddesign.preferences`:

- ``"return"``: the scripted teacher of offline preference benchmarks: the segment with the higher
  return over the horizon wins (ties are 0.5) - :class:`~rewarddesign.preferences.SyntheticGatherer`
  at temperature 0;
- ``"bradley-terry"``: a noisy annotator, ``P(first) = sigmoid(R_1 - R_2)``;
- ``"heron"``: hierarchical comparison of the reward factors, most important first
  (:class:`~rewarddesign.preferences.HeronGatherer`), with the factors' signs stored with the
  dataset (as the env published them when the data was collected);
- or a gatherer object.

The teacher may judge a segment by what follows it: with ``horizon`` longer than the segment, it
compares the returns over ``horizon`` steps from each segment's start, while the learner sees the
segment alone. Past the end of an episode that terminated (a fall) the rewards and factors count
as zero, so a segment that leads to a fall loses to one that does not; past the end of a truncated
episode (a time limit, or data that stops) the rest of the horizon is estimated by the mean step of
its observed part.

:func:`window_index` builds the left-padded windows that the sequence models read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeAlias, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rewarddesign._validation import check_positive_int
from rewarddesign.offline.data import OfflineData
from rewarddesign.preferences import Fragments, HeronGatherer, PreferenceDataset, SyntheticGatherer, random_pairs

__all__ = [
    "segment_starts",
    "sample_segments",
    "segments_at",
    "horizon_segments",
    "preference_pairs",
    "make_gatherer",
    "window_index",
    "GATHERERS",
    "GathererName",
    "Gatherer",
]

#: A gatherer name :func:`make_gatherer` knows.
GathererName = Literal["return", "bradley-terry", "heron"]

#: Gatherer names :func:`make_gatherer` knows.
GATHERERS: tuple[GathererName, ...] = ("return", "bradley-terry", "heron")

#: A gatherer: ``(fragments, first [P], second [P]) -> PreferenceDataset``.
Gatherer: TypeAlias = Callable[[Fragments, NDArray[np.int64], NDArray[np.int64]], PreferenceDataset]


def _check_length(data: OfflineData, length: int) -> np.ndarray:
    check_positive_int(length, "segment length")
    eligible = np.flatnonzero(data.episode_lengths >= length)
    if len(eligible) == 0:
        raise ValueError(
            f"segment length {length} is longer than every episode of the dataset (longest: "
            f"{data.episode_lengths.max()} steps)"
        )
    return eligible


def segment_starts(data: OfflineData, length: int, n: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """``[n]`` first rows of segments of ``length`` consecutive steps, each inside one episode.

    Every start in every long-enough episode is equally likely. Raises ``ValueError`` when
    ``length`` exceeds every episode.
    """
    eligible = _check_length(data, length)
    check_positive_int(n, "n")
    starts_per_episode = data.episode_lengths[eligible] - length + 1
    choice = rng.choice(len(eligible), size=n, p=starts_per_episode / starts_per_episode.sum())
    offsets = (rng.random(n) * starts_per_episode[choice]).astype(np.int64)
    return data.episode_starts[eligible[choice]] + offsets


def sample_segments(data: OfflineData, length: int, n: int, rng: np.random.Generator) -> Fragments:
    """``n`` segments of ``length`` consecutive steps, each inside one episode, drawn uniformly.

    Every start in every long-enough episode is equally likely (:func:`segment_starts`). Raises
    ``ValueError`` when ``length`` exceeds every episode.
    """
    return segments_at(data, segment_starts(data, length, n, rng), length)


def segments_at(data: OfflineData, starts: ArrayLike, length: int) -> Fragments:
    """The segments of ``length`` steps that begin at rows ``starts [N]`` (each must fit in its episode)."""
    rows = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(length)[None, :]
    return Fragments(
        data.observations[rows],
        data.actions[rows],
        None if data.factors is None else data.factors[rows],
        data.rewards[rows],
    )


def horizon_segments(data: OfflineData, starts: ArrayLike, horizon: int) -> Fragments:
    """What a teacher judges: ``horizon`` steps from each of ``starts [N]``, running past episode ends.

    Past the end of a terminated episode the rewards and factors are zero; past the end of a
    truncated one they are the mean of the steps observed from the start (the rest of the horizon
    estimated at the observed rate). Observations and actions past the end repeat the episode's
    last step (reward-reading gatherers ignore them).
    """
    check_positive_int(horizon, "horizon")
    starts = np.asarray(starts, dtype=np.int64)
    episode = data.episode_of(starts)
    ends = data.episode_starts[episode] + data.episode_lengths[episode]  # one past each episode's last row
    rows = starts[:, None] + np.arange(horizon)[None, :]
    inside = rows < ends[:, None]
    rows = np.minimum(rows, ends[:, None] - 1)
    terminated = data.terminations[ends - 1].astype(bool)[:, None]

    def extend(values: np.ndarray) -> np.ndarray:
        observed = np.where(inside[..., None], values, 0.0)
        rate = observed.sum(1, keepdims=True) / inside.sum(1)[:, None, None]
        return np.where(inside[..., None], values, np.where(terminated[..., None], 0.0, rate))

    factors = None if data.factors is None else extend(data.factors[rows].astype(np.float64))
    rewards = extend(data.rewards[rows].astype(np.float64)[..., None])[..., 0]
    return Fragments(data.observations[rows], data.actions[rows], factors, rewards)


def make_gatherer(name: GathererName, data: OfflineData | None = None, seed: int = 0, **kwargs: Any) -> Gatherer:
    """A gatherer by name (see :data:`GATHERERS`).

    ``"heron"`` ranks the factors of ``data`` in their stored order with the signs stored with the
    data (:attr:`OfflineData.factor_signs`, the env's published signs; +1 for every factor where the
    data has none); pass ``ranking``, ``signs``, ``sigmas`` to choose (``signs`` indexed by factor,
    ``sigmas`` by level, as :class:`~rewarddesign.preferences.HeronGatherer` takes them).
    ``"bradley-terry"`` takes ``temperature`` and ``noise``.

    Raises:
        ValueError: An unknown name, or ``"heron"`` for data without reward factors.
    """
    if name == "return":
        return SyntheticGatherer(temperature=0.0, seed=seed, **kwargs)
    if name == "bradley-terry":
        return SyntheticGatherer(**{"temperature": 1.0, **kwargs}, seed=seed)
    if name == "heron":
        if data is None or data.factors is None:
            raise ValueError("HERON labels need reward factors, and this dataset has none")
        k = data.factors.shape[1]
        signs = kwargs.pop("signs", None)
        if signs is None:
            signs = data.factor_signs if data.factor_signs is not None else (1.0,) * k
        return HeronGatherer(kwargs.pop("ranking", tuple(range(k))), signs, kwargs.pop("sigmas", (0.1,) * k), **kwargs)
    raise ValueError(f"unknown gatherer {name!r}; known: {', '.join(GATHERERS)}")


def preference_pairs(
    data: OfflineData,
    length: int,
    n_pairs: int,
    gatherer: GathererName | Gatherer = "return",
    seed: int = 0,
    horizon: int | None = None,
) -> PreferenceDataset:
    """Labelled pairs of segments of ``data``: ``2 n_pairs`` segments, paired at random.

    Args:
        data: The dataset.
        length: Steps per segment (what the learner sees).
        n_pairs: Pairs to label (a gatherer may drop undecided ones, as HERON does).
        gatherer: A name from :data:`GATHERERS` or a gatherer ``(fragments, first, second) -> PreferenceDataset``.
        seed: Seeds the segments, the pairing and the gatherer.
        horizon: Steps from a segment's start the gatherer judges (default ``length``); a longer
            horizon runs past the segment and past episode ends (:func:`horizon_segments`).

    Returns:
        The labelled pairs, whose fragments are the ``length``-step segments.
    """
    rng = np.random.default_rng(seed)
    check_positive_int(n_pairs, "n_pairs")
    horizon = length if horizon is None else horizon
    check_positive_int(horizon, "horizon")
    if horizon < length:
        raise ValueError(f"the horizon ({horizon}) must be at least the segment length ({length})")
    starts = segment_starts(data, length, 2 * n_pairs, rng)
    fragments = segments_at(data, starts, length)
    if isinstance(gatherer, str):
        gatherer = make_gatherer(cast(GathererName, gatherer), data, seed=seed)
    first, second = random_pairs(len(fragments), n_pairs, rng)
    if horizon == length:
        return gatherer(fragments, first, second)
    judged = gatherer(horizon_segments(data, starts, horizon), first, second)
    return PreferenceDataset(fragments, judged.first, judged.second, judged.labels)


def window_index(
    ends: ArrayLike, episode_starts: ArrayLike, length: int
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Rows of the ``length``-step windows that end at ``ends``, left-padded at episode starts.

    Args:
        ends: ``[B]`` the last row of each window.
        episode_starts: ``[B]`` the first row of each window's episode.
        length: Window length.

    Returns:
        ``rows [B, length]`` (padded positions repeat the episode's first row) and ``valid [B, length]`` (bool).
    """
    ends, episode_starts = np.asarray(ends, dtype=np.int64), np.asarray(episode_starts, dtype=np.int64)
    rows = ends[:, None] - np.arange(length - 1, -1, -1)[None, :]
    valid = rows >= episode_starts[:, None]
    return np.where(valid, rows, episode_starts[:, None]), valid
