"""The benchmark scripts that run through rewarddesign.bench: a tiny run of each, into a temporary directory."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("bilevel_alignment.py", "smoke run: grid-bad__barfi__16__s0"),
        ("psro_driving.py", "smoke run: crash rate"),
        ("preference_learning.py", "smoke runs: Pendulum-v1__ground_truth__200__s0"),
    ],
)
def test_a_ported_benchmark_script_makes_a_smoke_run(script, expected):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--smoke"], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert expected in done.stdout
