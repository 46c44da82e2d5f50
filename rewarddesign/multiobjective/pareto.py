"""Pareto tools: non-dominated sets, hypervolume, expected utility, sparsity, weight grids.

Every function maximises: a point ``p`` dominates ``q`` when ``p >= q`` in every objective and
``p > q`` in one. The definitions follow MORL-Baselines (Felten et al., 2023) so numbers can be
compared with published ones:

- :func:`hypervolume`: the measure of the region dominated by the points and bounded below by
  ``reference`` (points that do not exceed the reference in every objective add nothing). Exact:
  a sweep in ``O(n log n)`` in two dimensions, slices of two-dimensional sweeps in three, and the
  WFG algorithm (While, Bradstreet and Barone, 2012) beyond.
- :func:`expected_utility`: the mean, over a set of weight vectors, of the best linear utility
  ``max_p w . p`` a point of the set reaches (Zintgraf et al., 2015).
- :func:`sparsity`: PGMORL's (Xu et al., 2020) mean squared gap between neighbouring points,
  objective by objective.

Example:
    >>> points = [[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [1.0, 1.0]]
    >>> pareto_front(points).tolist()
    [[3.0, 1.0], [2.0, 2.0], [1.0, 3.0]]
    >>> hypervolume(points, reference=[0.0, 0.0])
    6.0
    >>> expected_utility(points, weights=[[1.0, 0.0], [0.0, 1.0]])
    3.0
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rewarddesign._validation import as_float_array, check_finite, check_positive_int

__all__ = [
    "pareto_mask",
    "pareto_front",
    "hypervolume",
    "expected_utility",
    "sparsity",
    "simplex_weights",
    "unit_directions",
]


def _points(points: ArrayLike, name: str = "points") -> NDArray[np.float64]:
    array = as_float_array(points, name)
    if array.ndim == 1 and array.size == 0:
        array = array.reshape(0, 1)
    if array.ndim != 2 or array.shape[1] < 1:
        raise ValueError(f"{name} must be a 2-D array [N, K] with K >= 1, got shape {array.shape}")
    return check_finite(array, name)


def pareto_mask(points: ArrayLike) -> NDArray[np.bool_]:
    """Which points no other point dominates (maximisation); of equal points only the first is kept.

    Args:
        points: float ``[N, K]``.

    Returns:
        bool ``[N]``.

    Raises:
        ValueError: ``points`` is not ``[N, K]`` or holds NaN or inf.

    Example:
        >>> pareto_mask([[1, 2], [2, 1], [0, 0], [1, 2]]).tolist()
        [True, True, False, False]
    """
    p = _points(points)
    n = len(p)
    keep = np.ones(n, dtype=bool)
    # sort lexicographically, best first: a point can be dominated or duplicated only by points before it
    order = np.lexsort(p.T[::-1] * -1)
    if p.shape[1] == 2 and n:  # one sweep, O(n log n): kept where the second objective beats all before it
        second = p[order, 1]
        best_before = np.concatenate([[-np.inf], np.maximum.accumulate(second)[:-1]])
        keep[order] = second > best_before
        return keep
    kept: list[int] = []
    for i in order:
        row = p[i]
        if kept:
            ahead = p[kept]
            if np.any(np.all(ahead >= row, axis=1)):  # dominated by, or equal to, a kept point
                keep[i] = False
                continue
        kept.append(int(i))
    return keep


def pareto_front(points: ArrayLike) -> NDArray[np.float64]:
    """The non-dominated points, without duplicates, sorted by decreasing first objective.

    Args:
        points: float ``[N, K]``.

    Returns:
        float ``[M, K]``, ``M <= N``.

    Example:
        >>> pareto_front([[0, 1], [1, 0], [0.5, 0.5], [0.2, 0.2]]).tolist()
        [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    """
    p = _points(points)
    front = p[pareto_mask(p)]
    return front[np.lexsort(front.T[::-1] * -1)]


def _hv2(p: NDArray[np.float64], ref: NDArray[np.float64]) -> float:
    """Exact 2-D hypervolume by one sweep: sort by the first objective (decreasing), add new strips."""
    if len(p) == 0:
        return 0.0
    order = np.lexsort((-p[:, 1], -p[:, 0]))  # first objective descending, ties: best second first
    volume, best_y = 0.0, ref[1]
    for i in order:
        x, y = p[i]
        if y > best_y:
            volume += (x - ref[0]) * (y - best_y)
            best_y = y
    return float(volume)


def _hv3(p: NDArray[np.float64], ref: NDArray[np.float64]) -> float:
    """Exact 3-D hypervolume: slabs between the sorted third coordinates, each a 2-D sweep."""
    order = np.argsort(-p[:, 2], kind="stable")
    p = p[order]
    volume = 0.0
    for i in range(len(p)):
        low = p[i + 1, 2] if i + 1 < len(p) else ref[2]
        height = p[i, 2] - low
        if height > 0:
            volume += _hv2(p[: i + 1, :2], ref[:2]) * height
    return float(volume)


def _wfg(p: NDArray[np.float64], ref: NDArray[np.float64]) -> float:
    """WFG: the sum of the points' exclusive hypervolumes, each the box minus the limited rest."""
    k = p.shape[1]
    if len(p) == 0:
        return 0.0
    if k == 2:
        return _hv2(p, ref)
    if k == 3:
        return _hv3(p, ref)
    p = p[np.argsort(-p[:, -1], kind="stable")]  # sorting on one objective keeps the limited sets small
    volume = 0.0
    for i in range(len(p)):
        box = float(np.prod(p[i] - ref))
        rest = np.minimum(p[i + 1 :], p[i])
        if len(rest):
            rest = rest[pareto_mask(rest)]
            box -= _wfg(rest, ref)
        volume += box
    return volume


def hypervolume(points: ArrayLike, reference: ArrayLike) -> float:
    """The hypervolume the points dominate above ``reference`` (maximisation), exactly.

    Points that do not exceed ``reference`` in every objective are ignored (their dominated box
    beyond the reference is empty), as MORL-Baselines' indicator (pymoo's) ignores them.

    Args:
        points: float ``[N, K]``.
        reference: float ``[K]``, a point every useful point should dominate (a worst value per objective).

    Returns:
        The hypervolume (0.0 for no point above the reference).

    Raises:
        ValueError: ``points`` is not ``[N, K]``, ``reference`` is not ``[K]``, or either holds NaN or inf.

    Example:
        >>> hypervolume([[1, 2, 1], [2, 1, 1]], reference=[0, 0, 0])
        3.0
    """
    p = _points(points)
    ref = check_finite(as_float_array(reference, "reference"), "reference")
    if ref.shape != (p.shape[1],):
        raise ValueError(f"reference must have shape ({p.shape[1]},) to match points [N, K], got {ref.shape}")
    p = p[np.all(p > ref, axis=1)]
    if len(p) == 0:
        return 0.0
    if p.shape[1] == 1:
        return float(p[:, 0].max() - ref[0])
    if p.shape[1] > 3:  # the sweeps of 2 and 3 objectives skip dominated points themselves
        p = p[pareto_mask(p)]
    return float(_wfg(p, ref))


def expected_utility(points: ArrayLike, weights: ArrayLike) -> float:
    """The mean over ``weights`` of the best linear utility of the set: ``mean_w max_p w . p``.

    Args:
        points: float ``[N, K]``, ``N >= 1``.
        weights: float ``[W, K]`` (for instance :func:`simplex_weights`).

    Raises:
        ValueError: Shapes that do not match, no point or no weight, NaN or inf.

    Example:
        >>> expected_utility([[1.0, 0.0], [0.0, 1.0]], [[0.5, 0.5], [1.0, 0.0]])
        0.75
    """
    p = _points(points)
    w = _points(weights, "weights")
    if len(p) == 0 or len(w) == 0:
        raise ValueError(f"points and weights must be non-empty, got {len(p)} points and {len(w)} weights")
    if w.shape[1] != p.shape[1]:
        raise ValueError(f"weights must be [W, {p.shape[1]}] to match points, got {w.shape}")
    return float(np.mean(np.max(w @ p.T, axis=1)))


def sparsity(points: ArrayLike) -> float:
    """PGMORL's sparsity: per objective, the squared gaps between sorted neighbours, summed, over ``N - 1``.

    Lower is denser. A set of fewer than two points has sparsity 0. Apply it to a front
    (:func:`pareto_front`), as MORL-Baselines does.

    Example:
        >>> sparsity([[0.0, 2.0], [1.0, 1.0], [2.0, 0.0]])
        2.0
    """
    p = _points(points)
    if len(p) < 2:
        return 0.0
    gaps = np.diff(np.sort(p, axis=0), axis=0)
    return float(np.sum(gaps**2) / (len(p) - 1))


def simplex_weights(n_objectives: int, n_partitions: int) -> NDArray[np.float64]:
    """Equally spaced weights on the simplex (Das and Dennis): ``w >= 0``, ``sum w = 1``, steps of ``1 / n_partitions``.

    Returns:
        float ``[C(n_partitions + K - 1, K - 1), K]``, the first objective's weight descending.

    Example:
        >>> simplex_weights(2, 2).tolist()
        [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    """
    k = check_positive_int(n_objectives, "n_objectives")
    m = check_positive_int(n_partitions, "n_partitions")
    rows: list[list[int]] = []

    def fill(prefix: list[int], left: int, slots: int) -> None:
        if slots == 1:
            rows.append([*prefix, left])
            return
        for first in range(left, -1, -1):
            fill([*prefix, first], left - first, slots - 1)

    fill([], m, k)
    return np.asarray(rows, dtype=np.float64) / m


def unit_directions(n_objectives: int, n_partitions: int) -> NDArray[np.float64]:
    """Directions on the positive part of the unit sphere: the :func:`simplex_weights` grid, each row scaled to norm 1.

    In two objectives the directions are not equally spaced in angle; for an angle grid use
    ``[cos t, sin t]``.

    Example:
        >>> np.round(unit_directions(2, 2), 4).tolist()
        [[1.0, 0.0], [0.7071, 0.7071], [0.0, 1.0]]
    """
    w = simplex_weights(n_objectives, n_partitions)
    return w / np.linalg.norm(w, axis=1, keepdims=True)
