"""The typed surface: the py.typed marker ships, and each Literal option type names exactly what is accepted."""

from importlib import resources
from typing import Literal, get_args, get_origin, get_type_hints

import numpy as np
import pytest

from rewarddesign.distances import (
    CANONICALIZATIONS,
    Canonicalization,
    DistanceKind,
    NormOrder,
    canonicalize,
    distance_matrix,
    norm,
)
from rewarddesign.mdp import random_mdp
from rewarddesign.submodular import WeightedCoverage


def test_py_typed_marker_is_in_the_package():
    assert resources.files("rewarddesign").joinpath("py.typed").is_file()


def _literal_options(annotation: object) -> tuple[str, ...]:
    """The options of the Literal in ``annotation`` (itself a Literal, or a Union holding one)."""
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    return next(get_args(arg) for arg in get_args(annotation) if get_origin(arg) is Literal)


def test_canonicalizations_are_the_literal_and_all_accepted():
    assert CANONICALIZATIONS == get_args(Canonicalization)
    mdp = random_mdp(3, 2, rng=0)
    reward = np.random.default_rng(0).normal(size=(3, 2, 3))
    for method in CANONICALIZATIONS:
        assert canonicalize(reward, mdp, method).shape == (3, 2, 3)
    with pytest.raises(ValueError, match="method must be one of"):
        canonicalize(reward, mdp, "l2")  # type: ignore[arg-type]


def test_norm_names_are_accepted_and_others_refused():
    names = _literal_options(NormOrder)
    assert sorted(names) == ["inf", "l1", "l2", "linf"]
    x = np.random.default_rng(0).normal(size=(2, 3, 2, 3))
    for name in names:
        assert norm(x, name).shape == (2,)
    with pytest.raises(ValueError, match="p must be one of"):
        norm(x, "l3")  # type: ignore[arg-type]


def test_distance_kinds_are_accepted_and_others_refused():
    mdp = random_mdp(3, 2, rng=0)
    batch = np.random.default_rng(1).normal(size=(3, 3, 2, 3))
    for kind in _literal_options(DistanceKind):
        assert distance_matrix(batch, mdp, kind).shape == (3, 3)
    with pytest.raises(ValueError, match="kind must be one of"):
        distance_matrix(batch, mdp, "pearson")  # type: ignore[arg-type]


def test_grid_weight_names_are_accepted():
    options = _literal_options(get_type_hints(WeightedCoverage.on_grid)["weights"])
    assert options == ("constant", "bimodal", "gp")
    for weights in options:
        assert WeightedCoverage.on_grid((3, 3), weights=weights, rng=0).n_items == 9
    with pytest.raises(ValueError, match="weights must be"):
        WeightedCoverage.on_grid((3, 3), weights="uniform")  # type: ignore[arg-type]
