"""Aggregate statistics of a few runs per task, after Agarwal et al. (2021), "Deep RL at the edge of the
statistical precipice" (the rliable library).

Scores are normalised per task (``0`` a reference low score, ``1`` a reference high one) and
given as a list with one 1-D array of run scores per task; tasks may have different numbers of
runs. Aggregates pool all runs: the interquartile mean (IQM: the mean of the middle 50%), the
mean, the median and the optimality gap (the mean shortfall below 1). Confidence intervals come
from the stratified bootstrap: each replicate resamples runs with replacement *within* each
task, so the mix of tasks stays fixed; the interval is the percentile one. The probability of
improvement ``P(X > Y)`` is, per task, the Mann-Whitney statistic (ties count half), averaged
over tasks. Performance profiles give the share of runs above each threshold.

rliable itself did not import beside this project's stack (its ``arch`` dependency breaks on
pandas 3), so these few functions are implemented here and tested against hand-computed cases.

Example:
    >>> iqm([np.array([1.0, 2, 3, 4, 5, 6, 7, 8])])  # the mean of 3, 4, 5, 6
    4.5
    >>> probability_of_improvement([np.array([1.0, 2])], [np.array([0.0, 3])])
    0.5
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

__all__ = [
    "normalize",
    "iqm",
    "mean",
    "median",
    "optimality_gap",
    "AGGREGATES",
    "stratified_bootstrap",
    "interval_estimate",
    "probability_of_improvement",
    "improvement_estimate",
    "performance_profile",
    "mann_whitney",
    "Estimate",
    "SeedSummary",
    "summarize_seeds",
]

Scores = Sequence[np.ndarray]


def _check(scores: Scores) -> list[np.ndarray]:
    arrays = [np.asarray(task, dtype=np.float64).reshape(-1) for task in scores]
    if not arrays or any(a.size == 0 for a in arrays):
        raise ValueError("scores need at least one task and at least one run per task")
    if not all(np.isfinite(a).all() for a in arrays):
        raise ValueError("scores must be finite")
    return arrays


def normalize(returns: np.ndarray, low: float, high: float) -> np.ndarray:
    """``(returns - low) / (high - low)``: 0 at the low reference, 1 at the high one."""
    if not high > low:
        raise ValueError(f"the high reference must exceed the low one, got low={low}, high={high}")
    return (np.asarray(returns, dtype=np.float64) - low) / (high - low)


def iqm(scores: Scores) -> float:
    """Interquartile mean of all runs of all tasks: the mean after cutting 25% at each end."""
    return float(stats.trim_mean(np.concatenate(_check(scores)), 0.25))


def mean(scores: Scores) -> float:
    """Mean of all runs of all tasks."""
    return float(np.concatenate(_check(scores)).mean())


def median(scores: Scores) -> float:
    """Median of all runs of all tasks."""
    return float(np.median(np.concatenate(_check(scores))))


def optimality_gap(scores: Scores, threshold: float = 1.0) -> float:
    """Mean of ``max(threshold - score, 0)``: how far runs fall short of the threshold (lower is better)."""
    return float(np.maximum(threshold - np.concatenate(_check(scores)), 0.0).mean())


#: Aggregates by name, in the order reports show them.
AGGREGATES: dict[str, Callable[[Scores], float]] = {
    "IQM": iqm,
    "mean": mean,
    "median": median,
    "optimality gap": optimality_gap,
}


def stratified_bootstrap(
    scores: Sequence[Scores],
    statistic: Callable[..., float | np.ndarray],
    reps: int = 2000,
    rng: int | np.random.Generator = 0,
) -> np.ndarray:
    """``reps`` values of ``statistic(*resampled)`` (``[reps, ...]`` for a vector statistic), each replicate
    resampling runs within each task of each argument.

    Args:
        scores: One or more score lists (say, two designs for the probability of improvement);
            each is resampled independently.
        statistic: A function of as many score lists.
        reps: Bootstrap replicates.
        rng: Seed or generator.
    """
    if reps < 1:
        raise ValueError(f"reps must be positive, got {reps}")
    rng = np.random.default_rng(rng)
    checked = [_check(s) for s in scores]
    out = []
    for _ in range(reps):
        resampled = [[task[rng.integers(task.size, size=task.size)] for task in s] for s in checked]
        out.append(statistic(*resampled))
    return np.asarray(out, dtype=np.float64)


def _percentile_interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def interval_estimate(
    scores: Scores,
    statistic: Callable[[Scores], float] = iqm,
    reps: int = 2000,
    confidence: float = 0.95,
    rng: int | np.random.Generator = 0,
) -> tuple[float, float, float]:
    """The point estimate and the stratified-bootstrap percentile interval: ``(value, low, high)``."""
    samples = stratified_bootstrap([scores], statistic, reps, rng)
    return (statistic(scores), *_percentile_interval(samples, confidence))


def probability_of_improvement(x: Scores, y: Scores) -> float:
    """``P(X > Y)``: per task, the share of run pairs where ``x`` beats ``y`` (ties count half), averaged over tasks."""
    x, y = _check(x), _check(y)
    if len(x) != len(y):
        raise ValueError(f"x and y must cover the same tasks, got {len(x)} and {len(y)}")
    per_task = [
        np.mean((a[:, None] > b[None, :]) + 0.5 * (a[:, None] == b[None, :]), dtype=np.float64) for a, b in zip(x, y)
    ]
    return float(np.mean(per_task))


def improvement_estimate(
    x: Scores, y: Scores, reps: int = 2000, confidence: float = 0.95, rng: int | np.random.Generator = 0
) -> tuple[float, float, float]:
    """``P(X > Y)`` with its stratified-bootstrap percentile interval: ``(value, low, high)``."""
    samples = stratified_bootstrap([x, y], probability_of_improvement, reps, rng)
    return (probability_of_improvement(x, y), *_percentile_interval(samples, confidence))


def performance_profile(scores: Scores, thresholds: np.ndarray) -> np.ndarray:
    """The share of all runs whose score exceeds each threshold (a run-score distribution)."""
    pooled = np.concatenate(_check(scores))
    return (pooled[None, :] > np.asarray(thresholds, dtype=np.float64)[:, None]).mean(axis=1)


def mann_whitney(
    x: ArrayLike, y: ArrayLike, alternative: Literal["less", "greater", "two-sided"] = "two-sided"
) -> float:
    """The p-value of the Mann-Whitney U test of ``x`` against ``y`` (one task's runs each).

    ``alternative="less"`` tests whether ``x`` tends to lie below ``y``; a pre-registered test
    beside the interval estimates, not a replacement for them.

    Raises:
        ValueError: Empty or non-finite scores, or an unknown ``alternative``.
    """
    if alternative not in ("less", "greater", "two-sided"):
        raise ValueError(f"alternative must be 'less', 'greater' or 'two-sided', got {alternative!r}")
    (a,), (b,) = _check([np.asarray(x)]), _check([np.asarray(y)])
    return float(stats.mannwhitneyu(a, b, alternative=alternative).pvalue)


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its stratified-bootstrap percentile interval."""

    value: float
    low: float
    high: float

    def format(self, digits: int = 2) -> str:
        """``value [low, high]`` with ``digits`` decimals."""
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


@dataclass(frozen=True)
class SeedSummary:
    """One task's per-seed values summarised: their number, mean and IQM with bootstrap intervals."""

    n: int
    mean: Estimate
    iqm: Estimate
    median: float


def summarize_seeds(
    values: ArrayLike, reps: int = 2000, confidence: float = 0.95, rng: int | np.random.Generator = 0
) -> SeedSummary:
    """The mean and IQM of one task's per-seed values, each with its bootstrap percentile interval.

    Both intervals use the same replicates (the same seed), so the reported numbers do not depend
    on the order they are computed in.

    Example:
        >>> summary = summarize_seeds([1.0, 2.0, 3.0, 4.0])
        >>> summary.n, summary.mean.value, summary.iqm.value
        (4, 2.5, 2.5)
    """
    scores = [np.asarray(values, dtype=np.float64).reshape(-1)]
    mean_value, mean_low, mean_high = interval_estimate(scores, mean, reps, confidence, rng)
    iqm_value, iqm_low, iqm_high = interval_estimate(scores, iqm, reps, confidence, rng)
    return SeedSummary(
        scores[0].size,
        Estimate(mean_value, mean_low, mean_high),
        Estimate(iqm_value, iqm_low, iqm_high),
        median(scores),
    )
