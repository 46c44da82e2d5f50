"""Monotone submodular set functions with incremental marginal gains.

A set function ``F`` maps a set of items from a ground set ``{0, ..., n_items - 1}`` to a
number. Submodular RL rewards each step with the *marginal gain* ``F(S + x) - F(S)`` of the item
``x`` it visits, so every function here comes with an incremental :class:`SetState` that returns
that gain and absorbs ``x`` in time proportional to the cost of ``x`` alone, never by
recomputing ``F(S)``:

- :class:`WeightedCoverage`: each item covers a set of cells with weights; ``F`` sums the weights
  of the covered cells.
- :class:`FacilityLocation`: ``F(S) = sum_j max_{i in S} sim[i, j]``.
- :class:`CappedCollection`: ``F(S) = sum_k min(|S & items_k|, D_k)``.
- :class:`LogDetDesign`: D-optimal design ``1/2 logdet(I + sigma^-2 K_SS)``, with an incremental
  Cholesky factor.
- :class:`SetFunction`: any user-supplied ``F`` (recomputed for each gain), so that anything else
  still works.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, Literal, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import get_blas_funcs

from rewarddesign._validation import as_float_array, check_finite, check_positive_int, check_real

__all__ = [
    "BaseSetFunction",
    "SetState",
    "SetFunction",
    "WeightedCoverage",
    "FacilityLocation",
    "CappedCollection",
    "LogDetDesign",
]

#: An item of the ground set: a Python or numpy integer.
Item = int | np.integer
_Function = TypeVar("_Function", bound="BaseSetFunction", covariant=True)

# BLAS's triangular solve (scipy's solve_triangular costs more in checks than in flops at this size)
(_dtrsm,) = get_blas_funcs(("trsm",), dtype=np.float64)


class SetState(abc.ABC, Generic[_Function]):
    """A set ``S`` under construction, with ``F(S)`` and marginal gains of further items."""

    def __init__(self, function: _Function) -> None:
        self.function: _Function = function
        self.items: list[int] = []
        self._members: set[int] = set()
        self.value = function.empty_value

    @abc.abstractmethod
    def _gain(self, item: int) -> float:
        """``F(S + item) - F(S)`` for an item not in ``S``."""

    @abc.abstractmethod
    def _absorb(self, item: int, gain: float) -> None:
        """Add an item not in ``S``."""

    def gain(self, item: Item) -> float:
        """The marginal gain ``F(S + item) - F(S)`` (0 for an item already in ``S``)."""
        item = self.function.check_item(item)
        return 0.0 if item in self._members else self._gain(item)

    def gains(self, items: Iterable[Item]) -> NDArray[np.float64]:
        """Marginal gains of many candidate items at once, ``[C]`` (batched where the function allows)."""
        return np.array([self.gain(item) for item in items], dtype=np.float64)

    def add(self, item: Item) -> float:
        """Add ``item`` to ``S`` and return its marginal gain."""
        item = self.function.check_item(item)
        if item in self._members:
            return 0.0
        gain = self._gain(item)
        self._absorb(item, gain)
        self.items.append(item)
        self._members.add(item)
        self.value += gain
        return gain

    def __contains__(self, item: object) -> bool:
        return item in self._members


class BaseSetFunction(abc.ABC):
    """A set function on the ground set ``{0, ..., n_items - 1}``.

    Subclasses give :meth:`state`, the incremental form; :meth:`value` follows from it.
    """

    n_items: int
    #: ``F`` of the empty set.
    empty_value: float = 0.0

    @abc.abstractmethod
    def state(self) -> SetState[BaseSetFunction]:
        """An incremental state holding the empty set."""

    def value(self, items: Iterable[Item]) -> float:
        """``F(items)``; repeated items count once."""
        state = self.state()
        for item in items:
            state.add(item)
        return state.value

    def check_item(self, item: Item) -> int:
        """``item`` as an int of the ground set, or a ``ValueError`` naming it."""
        try:
            index = int(item)
        except (TypeError, ValueError):
            raise TypeError(f"items must be integers of the ground set, got {item!r}") from None
        if index != item or not 0 <= index < self.n_items:
            raise ValueError(f"item {item!r} lies outside the ground set {{0, ..., {self.n_items - 1}}}")
        return index


# ---------------------------------------------------------------- generic


class _RecomputingState(SetState["SetFunction"]):
    def _gain(self, item: int) -> float:
        return self.function.evaluate(self._members | {item}) - self.value

    def _absorb(self, item: int, gain: float) -> None:
        pass


class SetFunction(BaseSetFunction):
    """A user-supplied set function ``fn(frozenset) -> float``; each gain recomputes ``F``.

    Args:
        fn: ``F``, called on frozensets of ints. It should be monotone and submodular for the
            guarantees of submodular RL to hold; that is not checked.
        n_items: The size of the ground set.

    Example:
        >>> f = SetFunction(lambda s: float(len(s) ** 0.5), n_items=4)
        >>> state = f.state()
        >>> state.add(0), round(state.add(1), 4)
        (1.0, 0.4142)
    """

    def __init__(self, fn: Callable[[frozenset[int]], float], n_items: int) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        check_positive_int(n_items, "n_items")
        self.fn = fn
        self.n_items = int(n_items)
        self.empty_value = self.evaluate(frozenset())

    def evaluate(self, items: Iterable[int]) -> float:
        value = self.fn(frozenset(items))
        if not isinstance(value, (float, int, np.floating, np.integer)) or isinstance(value, bool):
            raise TypeError(f"fn must return a real number, got {type(value).__name__}")
        if not math.isfinite(value):
            raise ValueError(f"fn returned a non-finite value {value!r}")
        return float(value)

    def state(self) -> SetState[SetFunction]:
        return _RecomputingState(self)


# ---------------------------------------------------------------- weighted coverage


class _CoverageState(SetState["WeightedCoverage"]):
    def __init__(self, function: WeightedCoverage) -> None:
        super().__init__(function)
        self.covered = np.zeros(len(function.weights), dtype=bool)

    def _gain(self, item: int) -> float:
        cells = self.function.cover[item]
        return float(self.function.weights[cells[~self.covered[cells]]].sum())

    def _absorb(self, item: int, gain: float) -> None:
        self.covered[self.function.cover[item]] = True


class WeightedCoverage(BaseSetFunction):
    """``F(S) = sum of w(c) over the cells c covered by some item of S``.

    Args:
        cover: For each item, the cells it covers: a sequence of int arrays, or a boolean matrix
            ``[n_items, n_cells]``.
        weights: Non-negative finite cell weights ``[n_cells]``.

    Example:
        >>> f = WeightedCoverage([[0, 1], [1, 2]], weights=[1.0, 2.0, 3.0])
        >>> f.value([0]), f.value([0, 1])
        (3.0, 6.0)
    """

    def __init__(self, cover: Sequence[ArrayLike] | NDArray[np.bool_], weights: ArrayLike) -> None:
        weights = check_finite(as_float_array(weights, "weights"), "weights")
        if weights.ndim != 1 or np.any(weights < 0):
            raise ValueError(f"weights must be a non-negative array [n_cells], got shape {weights.shape}")
        if isinstance(cover, np.ndarray) and cover.dtype == bool:
            if cover.ndim != 2 or cover.shape[1] != len(weights):
                raise ValueError(f"cover must be a boolean matrix [n_items, {len(weights)}], got {cover.shape}")
            cover = [np.flatnonzero(row) for row in cover]
        cells = [np.unique(np.asarray(c, dtype=np.int64)) for c in cover]
        for item, c in enumerate(cells):
            if c.size and (c.min() < 0 or c.max() >= len(weights)):
                raise ValueError(f"item {item} covers cells outside [0, {len(weights)}): {c}")
        if not cells:
            raise ValueError("cover must name at least one item")
        self.cover = cells
        self.weights = weights
        self.n_items = len(cells)

    def state(self) -> SetState[WeightedCoverage]:
        return _CoverageState(self)

    @classmethod
    def on_grid(
        cls,
        shape: tuple[int, int],
        radius: int = 1,
        weights: Literal["constant", "bimodal", "gp"] | ArrayLike = "constant",
        rng: np.random.Generator | int | None = None,
        lengthscale: float = 3.0,
        footprint: ArrayLike | None = None,
    ) -> WeightedCoverage:
        """Items and cells are the cells of a grid; an item covers the cells within ``radius`` (Chebyshev).

        Args:
            shape: ``(rows, cols)``.
            radius: Cover radius in cells (a square of side ``2 radius + 1``).
            weights: ``"constant"`` (all 1), ``"bimodal"`` (two Gaussian bumps, 0 to 1),
                ``"gp"`` (a Gaussian-process sample with an RBF kernel of ``lengthscale``, shifted
                to be non-negative), or an array ``[rows * cols]``.
            rng: Seed or generator for random weights.
            lengthscale: The GP kernel's lengthscale in cells.
            footprint: Instead of ``radius``, the covered cells as ``(row, column)`` offsets from
                the item's cell ``[k, 2]``; cells off the grid are dropped.

        Example:
            >>> f = WeightedCoverage.on_grid((3, 3), footprint=[(0, 0), (0, 1)])  # a cell and its east neighbour
            >>> f.value([0]), f.value([2]), f.value([0, 1])
            (2.0, 1.0, 3.0)
        """
        rows, cols = shape
        coords = np.argwhere(np.ones(shape, dtype=bool))
        rng = np.random.default_rng(rng)
        if isinstance(weights, str):
            if weights == "constant":
                w = np.ones(rows * cols)
            elif weights == "bimodal":
                centres = np.array([[0.25 * rows, 0.3 * cols], [0.7 * rows, 0.75 * cols]]) + rng.normal(
                    scale=1.0, size=(2, 2)
                )
                spread = 0.15 * max(rows, cols)
                w = np.zeros(rows * cols)
                for c in centres:
                    w = w + np.exp(-((coords - c) ** 2).sum(1) / (2 * spread**2))
                w = w / w.max()
            elif weights == "gp":
                distance2 = ((coords[:, None, :] - coords[None, :, :]) ** 2).sum(-1)
                kernel = np.exp(-distance2 / (2 * lengthscale**2)) + 1e-6 * np.eye(len(coords))
                sample = np.linalg.cholesky(kernel) @ rng.normal(size=len(coords))
                w = sample - sample.min()
            else:
                raise ValueError(f"weights must be 'constant', 'bimodal', 'gp' or an array, got {weights!r}")
        else:
            w = weights
        if footprint is None:
            if not isinstance(radius, (int, np.integer)) or radius < 0:
                raise ValueError(f"radius must be a non-negative integer, got {radius!r}")
            span = np.arange(-radius, radius + 1)
            footprint = np.stack(np.meshgrid(span, span, indexing="ij"), -1).reshape(-1, 2)
        offsets = np.asarray(footprint)
        if offsets.ndim != 2 or offsets.shape[1] != 2 or not np.issubdtype(offsets.dtype, np.integer):
            raise ValueError(f"footprint must be integer (row, column) offsets [k, 2], got {offsets!r}")
        target = coords[:, None, :] + offsets[None, :, :]  # [cells, k, 2]
        inside = (target[..., 0] >= 0) & (target[..., 0] < rows) & (target[..., 1] >= 0) & (target[..., 1] < cols)
        index = target[..., 0] * cols + target[..., 1]
        cover = [index[i][inside[i]] for i in range(len(coords))]
        return cls(cover, w)


# ---------------------------------------------------------------- facility location


class _FacilityState(SetState["FacilityLocation"]):
    def __init__(self, function: FacilityLocation) -> None:
        super().__init__(function)
        self.best = np.zeros(function.similarity.shape[1])

    def _gain(self, item: int) -> float:
        return float(np.maximum(self.function.similarity[item] - self.best, 0.0).sum())

    def _absorb(self, item: int, gain: float) -> None:
        np.maximum(self.best, self.function.similarity[item], out=self.best)


class FacilityLocation(BaseSetFunction):
    """``F(S) = sum_j max_{i in S} sim[i, j]`` (0 for the empty set).

    Args:
        similarity: Non-negative finite ``[n_items, n_targets]``.

    Example:
        >>> f = FacilityLocation([[1.0, 0.0], [0.5, 2.0]])
        >>> f.value([0, 1])
        3.0
    """

    def __init__(self, similarity: ArrayLike) -> None:
        sim = check_finite(as_float_array(similarity, "similarity"), "similarity")
        if sim.ndim != 2 or np.any(sim < 0):
            raise ValueError(f"similarity must be a non-negative matrix [n_items, n_targets], got shape {sim.shape}")
        self.similarity = sim
        self.n_items = sim.shape[0]

    def state(self) -> SetState[FacilityLocation]:
        return _FacilityState(self)


# ---------------------------------------------------------------- capped collection


class _CappedState(SetState["CappedCollection"]):
    def __init__(self, function: CappedCollection) -> None:
        super().__init__(function)
        self.counts = np.zeros(len(function.caps), dtype=np.int64)

    def _gain(self, item: int) -> float:
        kind = self.function.kinds[item]
        return 1.0 if kind >= 0 and self.counts[kind] < self.function.caps[kind] else 0.0

    def _absorb(self, item: int, gain: float) -> None:
        kind = self.function.kinds[item]
        if kind >= 0:
            self.counts[kind] += 1


class CappedCollection(BaseSetFunction):
    """``F(S) = sum_k min(|S & items_k|, D_k)``: collect items of each kind up to a cap.

    Args:
        kinds: For each item, its kind ``k`` in ``[0, K)``, or -1 for an item of no kind ``[n_items]``.
        caps: ``D_k`` for each kind ``[K]``, non-negative integers.

    Example:
        >>> f = CappedCollection(kinds=[0, 0, 0, 1, -1], caps=[2, 1])
        >>> f.value([0, 1, 2, 3, 4])
        3.0
    """

    def __init__(self, kinds: ArrayLike, caps: ArrayLike) -> None:
        kinds, caps = np.asarray(kinds), np.asarray(caps)
        if kinds.ndim != 1 or not np.issubdtype(kinds.dtype, np.integer):
            raise ValueError(f"kinds must be an integer array [n_items], got {kinds.dtype} {kinds.shape}")
        if caps.ndim != 1 or not np.issubdtype(caps.dtype, np.integer) or np.any(caps < 0):
            raise ValueError(f"caps must be non-negative integers [K], got {caps!r}")
        if np.any((kinds < -1) | (kinds >= len(caps))):
            raise ValueError(f"kinds must lie in [-1, {len(caps)}), got {kinds!r}")
        self.kinds, self.caps = kinds.astype(np.int64), caps.astype(np.int64)
        self.n_items = len(kinds)

    def state(self) -> SetState[CappedCollection]:
        return _CappedState(self)


# ---------------------------------------------------------------- log-det experiment design


class _LogDetState(SetState["LogDetDesign"]):
    def __init__(self, function: LogDetDesign) -> None:
        super().__init__(function)
        self._capacity = 16
        self._factor = np.zeros((self._capacity, self._capacity))  # Cholesky factor of I + sigma^-2 K_SS
        self._index = np.zeros(self._capacity, dtype=np.int64)
        self._k = 0
        self._cached: tuple[int, NDArray[np.float64], float] | None = None

    def _schur(self, candidates: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """For candidates ``[C]``: ``L^-1 sigma^-2 K_{S,c}`` ``[k, C]`` and the Schur complements ``[C]``."""
        f, k = self.function, self._k
        scale = 1.0 / f.noise**2
        diagonal = 1.0 + scale * f.kernel[candidates, candidates]
        if k == 0:
            return np.zeros((0, len(candidates))), diagonal
        columns = scale * f.kernel[np.ix_(self._index[:k], candidates)]
        solved = _dtrsm(1.0, self._factor[:k, :k], columns, lower=1)
        return solved, diagonal - (solved * solved).sum(0)

    def gains(self, items: Iterable[Item]) -> NDArray[np.float64]:
        candidates = np.array([self.function.check_item(i) for i in items], dtype=np.int64)
        _, schur = self._schur(candidates)
        out = 0.5 * np.log(np.maximum(schur, 1e-300))
        out[[c in self._members for c in candidates.tolist()]] = 0.0
        return out

    def _column(self, item: int) -> tuple[NDArray[np.float64], float]:
        """``L^-1 sigma^-2 K_{S,item}`` and the Schur complement of ``item``, kept for :meth:`_absorb`."""
        solved, schur = self._schur(np.array([item]))
        self._cached = (item, solved[:, 0], float(schur[0]))
        return solved[:, 0], float(schur[0])

    def _gain(self, item: int) -> float:
        _, schur = self._column(item)
        return 0.5 * math.log(max(schur, 1e-300))

    def _absorb(self, item: int, gain: float) -> None:
        if self._cached is not None and self._cached[0] == item:
            _, solved, schur = self._cached
        else:
            solved, schur = self._column(item)
        k = self._k
        if k == self._capacity:  # grow by doubling: amortised O(1) copies per item
            self._capacity *= 2
            factor = np.zeros((self._capacity, self._capacity))
            factor[:k, :k] = self._factor[:k, :k]
            self._factor = factor
            self._index = np.resize(self._index, self._capacity)
        self._factor[k, :k] = solved
        self._factor[k, k] = math.sqrt(max(schur, 1e-300))
        self._index[k] = item
        self._k = k + 1
        self._cached = None


class LogDetDesign(BaseSetFunction):
    """D-optimal experiment design: ``F(S) = 1/2 logdet(I + sigma^-2 K_SS)``.

    The information gained about a Gaussian process with kernel ``K`` from noisy observations
    at ``S``. Gains come from an incremental Cholesky factor: ``O(|S|^2)`` per item instead of
    ``O(|S|^3)`` for a recomputation.

    Args:
        kernel: Positive semi-definite ``[n_items, n_items]``.
        noise: The observation noise ``sigma`` > 0.

    Example:
        >>> import numpy as np
        >>> f = LogDetDesign(np.eye(3), noise=1.0)
        >>> abs(f.value([0, 1]) - float(np.log(2.0))) < 1e-12  # two independent unit-variance experiments
        True
    """

    def __init__(self, kernel: ArrayLike, noise: float = 1.0) -> None:
        k = check_finite(as_float_array(kernel, "kernel"), "kernel")
        if k.ndim != 2 or k.shape[0] != k.shape[1]:
            raise ValueError(f"kernel must be a square matrix, got shape {k.shape}")
        if not np.allclose(k, k.T, atol=1e-10 * (1 + np.abs(k).max())):
            raise ValueError("kernel must be symmetric")
        smallest = float(np.linalg.eigvalsh(k).min())
        if smallest < -1e-8 * (1 + np.abs(k).max()):
            raise ValueError(f"kernel must be positive semi-definite, its smallest eigenvalue is {smallest:.3g}")
        self.kernel, self.noise, self.n_items = k, check_real(noise, "noise", low=0.0, low_open=True), k.shape[0]

    def state(self) -> SetState[LogDetDesign]:
        return _LogDetState(self)

    def recompute(self, items: Iterable[Item]) -> float:
        """``F(items)`` by a fresh log-determinant (the slow reference)."""
        index = sorted({self.check_item(i) for i in items})
        block = np.eye(len(index)) + self.kernel[np.ix_(index, index)] / self.noise**2
        return 0.5 * float(np.linalg.slogdet(block)[1])

    @classmethod
    def rbf(
        cls, points: ArrayLike, lengthscale: float = 1.0, variance: float = 1.0, noise: float = 1.0
    ) -> LogDetDesign:
        """With an RBF kernel ``variance * exp(-|x - y|^2 / (2 lengthscale^2))`` over ``points [n, d]``."""
        x = as_float_array(points, "points")
        distance2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
        return cls(variance * np.exp(-distance2 / (2 * lengthscale**2)), noise)
