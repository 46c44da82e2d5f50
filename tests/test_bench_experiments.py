"""The general experiment harness: runs as data, executors, resume, fingerprints of the code, statistics."""

import json

import numpy as np
import pytest

from rewarddesign.bench import (
    Experiment,
    RunOutput,
    RunRecord,
    load_records,
    metric_values,
    record_run,
    restamp,
    run_experiment,
    source_digest,
    stats,
)
from rewarddesign.bench.fingerprint import qualified_name, resolve

CONSTANT = "rewarddesign.bench.experiments:constant_run"


def tiny(**changes):
    fields = {"name": "tiny", "function": CONSTANT, "grid": ({"value": 1.0}, {"value": 10.0}), "seeds": (0, 1, 2)}
    return Experiment(**{**fields, **changes})


@pytest.mark.parametrize("workers", [1, 2])
def test_a_tiny_experiment_runs_through_the_local_executor(tmp_path, workers):
    records = run_experiment(tiny(), tmp_path, workers=workers, progress=False, device="cpu")
    assert all(isinstance(r, RunRecord) for r in records)
    assert [r.key for r in records] == [f"{v}__s{s}" for v in ("1.0", "10.0") for s in (0, 1, 2)]
    assert [r.metrics["score"] for r in records] == [1.0, 2.0, 3.0, 10.0, 11.0, 12.0]
    assert records[0].curves["score"] == pytest.approx([1 / 3, 2 / 3, 1.0]) and records[0].data == {"steps": 3}
    manifest = json.loads((tmp_path / "experiment.json").read_text())
    assert manifest["experiment"] == "tiny" and set(manifest["runs"]) == {r.key for r in records}
    assert load_records(tmp_path) == sorted(records, key=lambda r: r.key)
    values = metric_values(records, "score", by=["value"])
    assert values[(1.0,)].tolist() == [1.0, 2.0, 3.0] and values[(10.0,)].tolist() == [10.0, 11.0, 12.0]


def test_a_rerun_skips_finished_runs_and_extends_with_new_seeds(tmp_path):
    run_experiment(tiny(seeds=(0, 1)), tmp_path, progress=False)
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "runs").glob("*.json")}
    (tmp_path / "runs" / "1.0__s1.json").unlink()  # a run whose file is gone is redone
    records = run_experiment(tiny(seeds=(0, 1, 2)), tmp_path, progress=False)
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "runs").glob("*.json")}
    assert len(records) == 6 and len(after) == 6
    assert all(after[name] == stamp for name, stamp in stamps.items() if name != "1.0__s1.json")


SCRIPT = """
from rewarddesign.bench import RunOutput


def run(seed, value):
    return RunOutput({"score": value * OFFSET + seed})


OFFSET = 1
"""


def test_a_changed_run_function_changes_the_fingerprint_and_is_refused(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    first = Experiment("scripted", f"{script}:run", ({"value": 2.0},), (0,))
    records = run_experiment(first, tmp_path / "out", progress=False)
    assert records[0].metrics == {"score": 2.0}
    # docstrings, comments and formatting do not count
    script.write_text(SCRIPT.replace("def run(seed, value):", 'def run(seed,  value):  # note\n    """Doc."""'))
    assert source_digest(f"{script}:run") == first.code_digest
    # the body does
    script.write_text(SCRIPT.replace("value * OFFSET", "value * OFFSET * 2"))
    changed = Experiment("scripted", f"{script}:run", ({"value": 2.0},), (0,))
    assert changed.runs()[0].fingerprint != first.runs()[0].fingerprint
    with pytest.raises(ValueError, match="another version of experiment 'scripted'"):
        run_experiment(changed, tmp_path / "out", progress=False)
    # a change declared result-preserving is restamped, and the kept run is resumed from
    assert restamp(changed, tmp_path / "out") == ["2.0__s0"]
    assert run_experiment(changed, tmp_path / "out", progress=False)[0].metrics == {"score": 2.0}
    # so does a definition the runs use, named beside the run function
    defined = Experiment("scripted", f"{script}:run", ({"value": 2.0},), (0,), definition=(stats.iqm,))
    assert defined.runs()[0].fingerprint != changed.runs()[0].fingerprint
    with pytest.raises(ValueError, match="holds results of experiment 'scripted', not 'other'"):
        run_experiment(tiny(name="other"), tmp_path / "out", progress=False)


def test_runs_are_checked_and_named_by_importable_strings():
    assert qualified_name(resolve(CONSTANT)) == CONSTANT
    with pytest.raises(ValueError, match="module-level function"):
        tiny(function=lambda seed: RunOutput({}))
    with pytest.raises(ValueError, match="cannot load"):
        tiny(function="rewarddesign.bench.experiments:nothing_here")
    with pytest.raises(ValueError, match="differ in their values"):
        tiny(grid=({"value": 1.0}, {"value": 1.0}))
    with pytest.raises(ValueError, match="seed goes in seeds"):
        tiny(grid=({"seed": 1},))
    assert [r.key for r in tiny().subset(seeds=[2], value=[10.0]).runs()] == ["10.0__s2"]
    # context reaches the run function but neither its key nor its fingerprint
    with_context = tiny(grid=({"value": 1.0},), context={"steps": 5})
    (run, *_) = with_context.runs()
    assert run.key == "1.0__s0" and run.fingerprint == tiny(grid=({"value": 1.0},)).runs()[0].fingerprint
    with pytest.raises(ValueError, match="both parameters and context"):
        tiny(context={"value": 2.0})


def test_context_reaches_the_run_function(tmp_path):
    (record,) = run_experiment(tiny(grid=({"value": 1.0},), seeds=(0,), context={"steps": 5}), tmp_path, progress=False)
    assert record.data == {"steps": 5} and len(record.curves["score"]) == 5


def test_kept_raw_results_import_into_the_store_and_resume(tmp_path):
    experiment = tiny(seeds=(0,))
    for run in experiment.runs():
        record_run(tmp_path, run, RunOutput({"score": -1.0}))
    records = run_experiment(experiment, tmp_path, progress=False)  # nothing left to run
    assert [r.metrics["score"] for r in records] == [-1.0, -1.0]


def test_seed_summaries_on_known_inputs():
    summary = stats.summarize_seeds([1.0, 2.0, 3.0, 4.0, 100.0], reps=500)
    assert summary.n == 5 and summary.mean.value == pytest.approx(22.0) and summary.median == 3.0
    assert summary.iqm.value == pytest.approx(3.0)  # trim_mean(0.25) of five values: the middle three
    assert summary.mean.low <= summary.mean.value <= summary.mean.high
    assert summary.iqm.low >= 1.0 and summary.iqm.high <= 100.0
    constant = stats.summarize_seeds(np.full(4, 2.5), reps=100)
    assert (constant.mean.low, constant.mean.high) == (2.5, 2.5)
    assert constant.mean.format(1) == "2.5 [2.5, 2.5]"
    assert stats.probability_of_improvement([np.array([3.0, 4])], [np.array([1.0, 2])]) == 1.0


def test_the_mann_whitney_test_on_separated_samples():
    assert stats.mann_whitney([1.0, 2, 3], [4.0, 5, 6], alternative="less") == pytest.approx(0.05)  # 1 / C(6, 3)
    assert stats.mann_whitney([4.0, 5, 6], [1.0, 2, 3], alternative="less") > 0.9
    with pytest.raises(ValueError, match="alternative"):
        stats.mann_whitney([1.0], [2.0], alternative="below")


def test_the_summary_of_an_experiment_and_the_cli_report_of_its_directory(tmp_path, capsys):
    from rewarddesign import cli
    from rewarddesign.bench import experiment_summary

    records = run_experiment(tiny(seeds=(0, 1, 2, 3)), tmp_path, progress=False)
    table = experiment_summary(records, reps=200).splitlines()
    assert table[0] == "| value | metric | seeds | mean [95% CI] | IQM [95% CI] |"
    assert table[2].startswith("| 1.0 | score | 4 | 2.500 [") and "| 2.500 [" in table[2]  # seeds 0-3: 1, 2, 3, 4
    assert cli.main(["bench", "report", str(tmp_path), "--metrics", "score", "--reps", "200"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[3].startswith("| 10.0 | score | 4 | 11.500 [")


@pytest.mark.slow
@pytest.mark.xdist_group("ray")  # under pytest -n, the Ray tests share one process (one local instance)
def test_an_experiment_and_a_suite_run_through_one_local_ray_instance(tmp_path):
    pytest.importorskip("ray")
    from rewarddesign.bench import Design, RayExecutor, Suite, run_suite

    suite = Suite(
        name="tiny", env_ids=("CartPole-v1",), designs=(Design("original"), Design("upright", "cartpole_upright")),
        algos=("ppo",), seeds=(0,), timesteps=256, eval_freq=128, eval_episodes=2,
        algo_kwargs={"ppo": {"n_steps": 128, "batch_size": 64, "n_epochs": 1}},
    )  # fmt: skip
    executor = RayExecutor(num_cpus=1)  # one instance for both: a sweep leaves a given executor open
    try:
        assert executor.name.startswith("ray")
        records = run_experiment(tiny(seeds=(0,)), tmp_path / "experiment", progress=False, executor=executor)
        rows = run_suite(suite, tmp_path / "suite", progress=False, device="cpu", executor=executor)
    finally:
        executor.close()
    assert [r.metrics["score"] for r in records] == [1.0, 10.0]
    assert len(list((tmp_path / "suite" / "runs").glob("*.csv"))) == 2
    assert {r["design"] for r in rows} == {"original", "upright"} and {r["step"] for r in rows} == {0, 128, 256}
