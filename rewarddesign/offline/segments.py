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
  (:class:`~rewarddesign.preferences.HeronGatherer`);
- or a gatherer object.

:func:`window_index` builds the left-padded windows that the sequence models read.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rewarddesign._validation import check_positive_int
from rewarddesign.offline.datasets import OfflineData
from rewarddesign.preferences import Fragments, HeronGatherer, PreferenceDataset, SyntheticGatherer, random_pairs

__all__ = ["segment_starts", "sample_segments", "preference_pairs", "make_gatherer", "window_index", "GATHERERS"]

#: Gatherer names :func:`make_gatherer` knows.
GATHERERS = ("return", "bradley-terry", "heron")


def _check_length(data: OfflineData, length: int) -> np.ndarray:
    check_positive_int(length, "segment length")
    eligible = np.flatnonzero(data.episode_lengths >= length)
    if len(eligible) == 0:
        raise ValueError(
            f"segment length {length} is longer than every episode of the dataset (longest: "
            f"{data.episode_lengths.max()} steps)"
        )
    return eligible


def segment_starts(data: OfflineData, length: int, n: int, rng: np.random.Generator) -> np.ndarray:
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
    starts = segment_starts(data, length, n, rng)
    rows = starts[:, None] + np.arange(length)[None, :]
    return Fragments(
        data.observations[rows],
        data.actions[rows],
        None if data.factors is None else data.factors[rows],
        data.rewards[rows],
    )


def make_gatherer(name: str, data: OfflineData | None = None, seed: int = 0, **kwargs: Any) -> Any:
    """A gatherer by name (see :data:`GATHERERS`).

    ``"heron"`` ranks the factors in their stored order with their signs from
    :data:`rewarddesign.envs.reward_factors.REWARD_FACTORS` (pass ``ranking``, ``signs``,
    ``sigmas`` to choose); ``"bradley-terry"`` takes ``temperature`` and ``noise``.
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
            from rewarddesign.envs.reward_factors import REWARD_FACTORS

            spec = REWARD_FACTORS.get(data.env_id or "")
            signs = spec.signs if spec is not None and len(spec.signs) == k else (1.0,) * k
        return HeronGatherer(kwargs.pop("ranking", tuple(range(k))), signs, kwargs.pop("sigmas", (0.1,) * k), **kwargs)
    raise ValueError(f"unknown gatherer {name!r}; known: {', '.join(GATHERERS)}")


def preference_pairs(
    data: OfflineData,
    length: int,
    n_pairs: int,
    gatherer: Any = "return",
    seed: int = 0,
) -> PreferenceDataset:
    """Labelled pairs of segments of ``data``: ``2 n_pairs`` segments, paired at random.

    Args:
        data: The dataset.
        length: Steps per segment (the horizon of the comparison).
        n_pairs: Pairs to label (a gatherer may drop undecided ones, as HERON does).
        gatherer: A name from :data:`GATHERERS` or a gatherer ``(fragments, first, second) -> PreferenceDataset``.
        seed: Seeds the segments, the pairing and the gatherer.
    """
    rng = np.random.default_rng(seed)
    check_positive_int(n_pairs, "n_pairs")
    fragments = sample_segments(data, length, 2 * n_pairs, rng)
    if isinstance(gatherer, str):
        gatherer = make_gatherer(gatherer, data, seed=seed)
    first, second = random_pairs(len(fragments), n_pairs, rng)
    return gatherer(fragments, first, second)


def window_index(ends: np.ndarray, episode_starts: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the ``length``-step windows that end at ``ends``, left-padded at episode starts.

    Args:
        ends: ``[B]`` the last row of each window.
        episode_starts: ``[B]`` the first row of each window's episode.
        length: Window length.

    Returns:
        ``rows [B, length]`` (padded positions repeat the episode's first row) and ``valid [B, length]`` (bool).
    """
    rows = ends[:, None] - np.arange(length - 1, -1, -1)[None, :]
    valid = rows >= episode_starts[:, None]
    return np.where(valid, rows, episode_starts[:, None]), valid
