"""Set functions: monotone, diminishing returns, and incremental gains equal to recomputed ones."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewarddesign.submodular import CappedCollection, FacilityLocation, LogDetDesign, SetFunction, WeightedCoverage


def direct_value(function, items):
    """F recomputed from its definition, without the incremental state."""
    items = sorted(set(items))
    if isinstance(function, WeightedCoverage):
        cells = set().union(*(set(function.cover[i].tolist()) for i in items)) if items else set()
        return float(function.weights[list(cells)].sum()) if cells else 0.0
    if isinstance(function, FacilityLocation):
        return float(function.similarity[items].max(0).sum()) if items else 0.0
    if isinstance(function, CappedCollection):
        kinds = function.kinds[items]
        return float(sum(min(int((kinds == k).sum()), int(function.caps[k])) for k in range(len(function.caps))))
    if isinstance(function, LogDetDesign):
        return function.recompute(items)
    return function.evaluate(items)


def make(kind, rng):
    n = 12
    if kind == "coverage":
        return WeightedCoverage(
            [rng.choice(20, size=rng.integers(0, 6), replace=False) for _ in range(n)], rng.random(20)
        )
    if kind == "coverage_grid":
        return WeightedCoverage.on_grid(
            (4, 3), radius=1, weights=str(rng.choice(["constant", "bimodal", "gp"])), rng=rng
        )
    if kind == "facility":
        return FacilityLocation(rng.random((n, 7)))
    if kind == "capped":
        return CappedCollection(rng.integers(-1, 3, size=n), rng.integers(0, 4, size=3))
    if kind == "logdet":
        return LogDetDesign.rbf(
            rng.normal(size=(n, 2)), lengthscale=float(rng.uniform(0.3, 2)), noise=float(rng.uniform(0.2, 2))
        )
    return SetFunction(lambda s: float(np.sqrt(sum(i + 1 for i in s))), n)


KINDS = ["coverage", "coverage_grid", "facility", "capped", "logdet", "generic"]


@given(seed=st.integers(0, 2**31 - 1), kind=st.sampled_from(KINDS))
def test_monotone_with_diminishing_returns(seed, kind):
    rng = np.random.default_rng(seed)
    f = make(kind, rng)
    n = f.n_items
    big = rng.choice(n, size=rng.integers(0, n), replace=False)
    small = big[: rng.integers(0, len(big) + 1)]
    outside = [x for x in range(n) if x not in set(big.tolist())]
    a, b = f.state(), f.state()
    for item in small:
        a.add(item)
    for item in big:
        b.add(item)
    for x in outside:
        assert b.gain(x) >= -1e-12  # monotone
        assert a.gain(x) >= b.gain(x) - 1e-9  # diminishing returns: A subset of B
    assert f.value(small) <= f.value(big) + 1e-9


@given(seed=st.integers(0, 2**31 - 1), kind=st.sampled_from(KINDS))
def test_incremental_gains_equal_recomputed_ones(seed, kind):
    rng = np.random.default_rng(seed)
    f = make(kind, rng)
    state = f.state()
    sequence = rng.integers(f.n_items, size=2 * f.n_items)  # repeats included: they gain 0
    for item in sequence:
        before = direct_value(f, state.items)
        expected = direct_value(f, state.items + [int(item)]) - before
        assert state.gain(item) == pytest.approx(expected, abs=1e-9)
        assert state.add(item) == pytest.approx(expected, abs=1e-9)
        assert state.value == pytest.approx(direct_value(f, state.items), abs=1e-9)
    assert f.value(sequence) == pytest.approx(direct_value(f, sequence.tolist()), abs=1e-9)


def test_known_values():
    grid = WeightedCoverage.on_grid((5, 5), radius=1)
    assert grid.value([12]) == 9.0 and grid.value([0]) == 4.0 and grid.value([0, 24]) == 8.0
    design = LogDetDesign(2.0 * np.eye(2), noise=1.0)
    assert design.value([0, 1]) == pytest.approx(np.log(3.0))


def test_bad_input_raises():
    grid = WeightedCoverage.on_grid((3, 3))
    with pytest.raises(ValueError, match="outside the ground set"):
        grid.value([9])
    with pytest.raises(TypeError, match="integers"):
        grid.state().add("a")
    with pytest.raises(ValueError, match="positive semi-definite"):
        LogDetDesign(np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="finite"):
        WeightedCoverage([[0]], [np.nan])
    with pytest.raises(ValueError, match="non-negative"):
        FacilityLocation([[-1.0]])
    with pytest.raises(TypeError, match="real number"):
        SetFunction(lambda s: "many", 3)
    with pytest.raises(ValueError, match="covers cells outside"):
        WeightedCoverage([[0, 5]], [1.0, 1.0])
