"""Gatherers: label pairs of fragments, from a ground-truth reward or from a ranking of reward factors.

- :class:`SyntheticGatherer`: the Bradley-Terry model of a simulated annotator,
  ``P(i preferred) = sigmoid((R_i - R_j) / temperature)`` on (discounted) true returns, with label
  noise (Christiano et al. 2017).
- :class:`HeronGatherer`: HERON's hierarchical comparison (Bukharin et al.): the reward factors are
  ranked by importance, each with a sign; the most important factor decides a pair when the two
  fragments differ in it by more than its margin ``delta_k = sigma_k std(z_k)``, otherwise the next
  factor decides, and pairs no factor decides are dropped. :func:`hierarchical_labels` is the pure,
  vectorised core: one pass over ``[P, K]`` arrays, however many pairs.

Conventions of the hierarchy (everywhere a ``ranking`` comes with ``signs``):

- ``ranking``: factor indices from the most to the least important, a permutation of ``0..K-1``;
- ``signs``: indexed by factor, not by level: ``signs[k]`` is +1 if more of factor ``k`` is
  better, -1 if less is, wherever ``k`` stands in the ranking (so the per-factor signs an env
  publishes, ``rewarddesign.factors.factor_spec(env).signs``, pass unchanged whatever the ranking);
- ``margins`` (and the gatherer's ``sigmas``): indexed by level, in ranking order: entry ``l``
  belongs to factor ``ranking[l]``.

HERON's reference code ranks the factors in their stored order in its experiments, where the two
readings of a sign list coincide; with any other ranking, signs given in ranking order must be
put back in factor order (``signs_by_factor[ranking] = signs_by_level``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rewarddesign._validation import check_finite, check_gamma, check_real
from rewarddesign.preferences.data import Fragments, PreferenceDataset, fragment_indices

__all__ = ["hierarchical_labels", "HeronGatherer", "SyntheticGatherer", "random_pairs"]


def _check_hierarchy(
    ranking: ArrayLike, signs: ArrayLike, margins: ArrayLike, n_factors: int
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    order = np.asarray(ranking, dtype=np.int64).reshape(-1)
    if sorted(order.tolist()) != list(range(n_factors)):
        raise ValueError(f"ranking must be a permutation of the {n_factors} factor indices, got {order.tolist()}")
    sign = np.broadcast_to(np.asarray(signs, dtype=np.float64), (n_factors,)).copy()
    if not np.all(np.isin(sign, (-1.0, 1.0))):
        raise ValueError(
            f"signs must be +1 (more is better) or -1 (less is better) per factor (indexed by factor), got {signs!r}"
        )
    margin = np.asarray(margins, dtype=np.float64).reshape(-1)
    if margin.shape != (n_factors,) or not np.all(np.isfinite(margin)) or np.any(margin < 0):
        raise ValueError(f"margins must be {n_factors} finite values >= 0, one per level, got {margins!r}")
    return order, sign, margin


def hierarchical_labels(
    factors_i: ArrayLike, factors_j: ArrayLike, ranking: ArrayLike, signs: ArrayLike, margins: ArrayLike
) -> NDArray[np.int64]:
    """HERON labels of pairs: 1 where ``i`` is preferred, 0 where ``j`` is, -1 where no level decides.

    Args:
        factors_i: ``[P, K]`` reward factors of each pair's first fragment.
        factors_j: ``[P, K]`` of its second.
        ranking: The factor indices from most to least important (a permutation of ``0..K-1``).
        signs: Indexed by factor, not by level: ``signs[k]`` is +1 if more of factor ``k`` is
            better, -1 if less is, wherever ``k`` stands in ``ranking``. A scalar applies to every factor.
        margins: ``delta`` per level (in ranking order): level ``l`` (factor ``ranking[l]``) decides
            when the signed factors differ by more than ``margins[l]``.

    Example:
        >>> zi = np.array([[1.0, 5.0], [1.0, 5.0], [1.0, 5.0]])
        >>> zj = np.array([[1.2, 0.0], [3.0, 9.0], [1.1, 5.05]])
        >>> hierarchical_labels(zi, zj, ranking=[0, 1], signs=[-1, 1], margins=[0.5, 0.1])
        array([ 1,  1, -1])

        Ranking factor 1 first keeps each factor's sign (``signs`` is not reordered):

        >>> hierarchical_labels(zi, zj, ranking=[1, 0], signs=[-1, 1], margins=[0.1, 0.5])
        array([ 1,  0, -1])
    """
    zi = np.asarray(factors_i, dtype=np.float64)
    zj = np.asarray(factors_j, dtype=np.float64)
    if zi.ndim != 2 or zi.shape != zj.shape:
        raise ValueError(f"factors_i and factors_j must both be [P, K], got {zi.shape} and {zj.shape}")
    check_finite(zi, "factors_i")
    check_finite(zj, "factors_j")
    order, sign, margin = _check_hierarchy(ranking, signs, margins, zi.shape[1])
    diff = ((zi - zj) * sign)[:, order]  # [P, K] in ranking order
    i_wins, j_wins = diff > margin, diff < -margin
    decided = i_wins | j_wins
    level = decided.argmax(axis=1)  # the first level that decides (0 where none does)
    rows = np.arange(len(diff))
    return np.where(decided.any(axis=1), i_wins[rows, level].astype(np.int64), -1)


def random_pairs(
    n_fragments: int, n_pairs: int, rng: np.random.Generator
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``n_pairs`` random pairs of distinct fragment indices.

    Raises:
        ValueError: ``n_fragments`` is not an integer >= 2 or ``n_pairs`` not an integer >= 0.
    """
    if isinstance(n_fragments, bool) or not isinstance(n_fragments, (int, np.integer)) or n_fragments < 2:
        raise ValueError(f"n_fragments must be an integer >= 2 (a pair needs two fragments), got {n_fragments!r}")
    if isinstance(n_pairs, bool) or not isinstance(n_pairs, (int, np.integer)) or n_pairs < 0:
        raise ValueError(f"n_pairs must be an integer >= 0, got {n_pairs!r}")
    first = rng.integers(n_fragments, size=n_pairs)
    second = (first + rng.integers(1, n_fragments, size=n_pairs)) % n_fragments
    return first, second


class HeronGatherer:
    """HERON labels from reward factors ranked by importance.

    Args:
        ranking: Factor indices from most to least important.
        signs: Indexed by factor, not by level: ``signs[k]`` is +1 if more of factor ``k`` is
            better, -1 if less is, wherever ``k`` stands in ``ranking`` (the signs an env publishes,
            ``rewarddesign.factors.factor_spec(env).signs``, pass as they are).
        sigmas: ``sigma_l`` per level (in ranking order): the margin of level ``l`` is ``sigma_l``
            times the standard deviation of factor ``ranking[l]`` over the fragments being compared.
        discount: Discount of the factor sums over a fragment's steps, in (0, 1].

    Raises:
        ValueError: ``ranking`` is not a permutation of the factor indices, a sign is not +1 or -1,
            a sigma is negative or not finite, or ``discount`` lies outside (0, 1].
        TypeError: ``discount`` is not a real number.
    """

    def __init__(self, ranking: Sequence[int], signs: Sequence[float], sigmas: Sequence[float], discount: float = 1.0):
        k = len(ranking)
        self.ranking, self.signs, self.sigmas = _check_hierarchy(ranking, signs, sigmas, k)
        self.discount = check_gamma(discount, "discount")

    def margins(self, sums: NDArray[np.float64]) -> NDArray[np.float64]:
        """``delta_k = sigma_k std(z_k)`` in ranking order, from factor sums ``[N, K]``."""
        return self.sigmas * sums.std(axis=0)[self.ranking]

    def __call__(self, fragments: Fragments, first: ArrayLike, second: ArrayLike) -> PreferenceDataset:
        """Label the given pairs (fragment indices ``first [P]``, ``second [P]``); undecided pairs are dropped."""
        n = len(fragments)
        first, second = fragment_indices(first, "first", n), fragment_indices(second, "second", n)
        sums = fragments.factor_sums(self.discount)
        if sums.shape[1] != len(self.ranking):
            raise ValueError(f"the fragments have {sums.shape[1]} factors, the ranking {len(self.ranking)}")
        labels = hierarchical_labels(sums[first], sums[second], self.ranking, self.signs, self.margins(sums))
        keep = labels >= 0
        return PreferenceDataset(fragments, first[keep], second[keep], labels[keep].astype(np.float64))

    def all_pairs(self, fragments: Fragments) -> PreferenceDataset:
        """Label every pair ``i < j`` of the fragments (``N (N - 1) / 2`` pairs, in one vectorised pass)."""
        first, second = np.triu_indices(len(fragments), k=1)
        return self(fragments, first, second)


class SyntheticGatherer:
    """Bradley-Terry labels of a simulated annotator who knows the true reward.

    Args:
        temperature: ``P(i) = sigmoid((R_i - R_j) / temperature)``, finite and >= 0; 0 gives the
            better fragment.
        noise: Probability of flipping a label, in [0, 1].
        discount: Discount of the returns over a fragment's steps, in (0, 1].
        seed: Seeds the draws.

    Raises:
        ValueError: ``temperature`` is negative or not finite, ``noise`` lies outside [0, 1], or
            ``discount`` outside (0, 1].
        TypeError: One of them is not a real number.
    """

    def __init__(self, temperature: float = 1.0, noise: float = 0.0, discount: float = 1.0, seed: int = 0) -> None:
        self.temperature = check_real(temperature, "temperature", low=0.0)
        self.noise = check_real(noise, "noise", low=0.0, high=1.0)
        self.discount = check_gamma(discount, "discount")
        self.rng = np.random.default_rng(seed)

    def __call__(self, fragments: Fragments, first: ArrayLike, second: ArrayLike) -> PreferenceDataset:
        n = len(fragments)
        first, second = fragment_indices(first, "first", n), fragment_indices(second, "second", n)
        returns = fragments.returns(self.discount)
        gap = returns[first] - returns[second]
        if self.temperature == 0:
            labels = np.where(gap > 0, 1.0, np.where(gap < 0, 0.0, 0.5))
        else:
            probability = 1.0 / (1.0 + np.exp(-np.clip(gap / self.temperature, -50, 50)))
            labels = (self.rng.random(len(gap)) < probability).astype(np.float64)
        flip = self.rng.random(len(labels)) < self.noise
        labels[flip] = 1.0 - labels[flip]
        return PreferenceDataset(fragments, first, second, labels)
