"""Run the ``Example:`` sections of the public modules' docstrings."""

import doctest
import importlib

import pytest

MODULES = [
    "rewarddesign._validation",
    "rewarddesign.mdp._tabular",
    "rewarddesign.mdp._solve",
    "rewarddesign.mdp._gym",
    "rewarddesign.rewards.functions",
    "rewarddesign.rewards.wrappers",
    "rewarddesign.factors",
    "rewarddesign.shaping.potentials",
    "rewarddesign.shaping.wrappers",
    "rewarddesign.shaping.vector",
    "rewarddesign.train",
    "rewarddesign.envs.grid_maze",
    "rewarddesign.distances._distances",
    "rewarddesign.submodular._functions",
    "rewarddesign.submodular.wrappers",
    "rewarddesign.envs.submodular_grids",
    "rewarddesign.bilevel.blend",
    "rewarddesign.bilevel.hypergradient",
    "rewarddesign.envs.alignment",
    "rewarddesign.envs.reward_factors",
    "rewarddesign.preferences.gatherers",
    "rewarddesign.offline.data",
    "rewarddesign.offline.recording",
    "rewarddesign.offline.acting",
    "rewarddesign.offline.oppo",
    "rewarddesign.games._normal_form",
    "rewarddesign.games._solvers",
    "rewarddesign.games._rae",
    "rewarddesign.bench.stats",
    "rewarddesign.bench.experiments",
    "rewarddesign.bench.fingerprint",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
