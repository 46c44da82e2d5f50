"""The demo (benchmarks/demo.py): its fast sections show their effect on one seed; it writes a table and a picture."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from rewarddesign.bench import run_experiment

DEMO = Path(__file__).resolve().parent.parent / "benchmarks" / "demo.py"


@pytest.fixture(scope="module")
def demo():
    sys.path.insert(0, str(DEMO.parent))  # as when the script runs: it imports its sibling scripts
    spec = importlib.util.spec_from_file_location("demo", DEMO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["demo"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("section", ["shaping", "learned_reward", "starc", "rae"])
def test_each_fast_section_beats_its_baseline_on_one_seed(demo, section):
    method, *_, baseline = demo.SECTIONS[section]
    ours, theirs = demo.run(0, section, method), demo.run(0, section, baseline)
    assert ours.metrics["score"] > theirs.metrics["score"] + 0.1
    assert ours.metrics["score"] <= 1.0 + 1e-9  # normalised: 1 is the reference's best


def test_the_demo_writes_a_table_with_references_and_a_picture(demo, tmp_path):
    records = run_experiment(demo.experiment(["rae"]), tmp_path / "demo", progress=False, device="cpu")
    assert len(records) == 2 * len(demo.SEEDS)
    table = demo.write_report(records, tmp_path / "demo", coverage_low=26.0)
    assert "| rae | rae | 1.00 [1.00, 1.00]" in table and "| rae | payoff_dominant_nash |" in table
    assert "no payoff risk" in table and "| yes |" in table
    assert (tmp_path / "demo.md").read_text() == table
    assert (tmp_path / "demo.png").stat().st_size > 0
    assert np.isfinite([r.metrics["score"] for r in records]).all()
