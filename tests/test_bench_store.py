"""The results store meets bad input: unsafe names, damaged run files, repeated seeds, an unknown baseline."""

import dataclasses

import pytest

from rewarddesign import cli
from rewarddesign.bench import (
    COLUMNS,
    Design,
    Experiment,
    RunRecord,
    Suite,
    check_name,
    load_records,
    load_rows,
    report,
    run_experiment,
    run_suite,
    write_rows,
)

CONSTANT = "rewarddesign.bench.experiments:constant_run"

TINY = Suite(
    name="tiny",
    env_ids=("CartPole-v1",),
    designs=(Design("original"),),
    algos=("ppo",),
    seeds=(0, 1),
    timesteps=128,
    eval_freq=128,
    eval_episodes=1,
    algo_kwargs={"ppo": {"n_steps": 64, "batch_size": 64, "n_epochs": 1}},
)


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", ".hidden", "", "two words", "x\\y"])
def test_names_that_would_leave_the_results_directory_or_hide_a_file_are_refused(name):
    with pytest.raises(ValueError, match="letters, digits and _ . \\+ = -, starting with a letter or digit"):
        check_name(name, "suite name")
    with pytest.raises(ValueError, match="suite name must be"):
        dataclasses.replace(TINY, name=name)
    with pytest.raises(ValueError, match="design name must be"):
        Design(name)
    with pytest.raises(ValueError, match="name must be"):
        Experiment(name, CONSTANT, ({"value": 1.0},), (0,))
    with pytest.raises(TypeError, match="design name must be a string, got int 3"):
        Design(3)  # type: ignore[arg-type]
    assert check_name("maze_distance-v2.1+x=y", "design name") == "maze_distance-v2.1+x=y"


def test_a_suite_file_with_an_unsafe_name_writes_nothing_and_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the default results directory, benchmarks/results/<suite>, is relative
    (tmp_path / "escape.toml").write_text(
        'name = "../../escape"\nenv_ids = ["CartPole-v1"]\ndesigns = ["original"]\nalgos = ["ppo"]\n'
        "seeds = [0]\ntimesteps = 64\neval_freq = 64\n"
    )
    assert cli.main(["bench", "--suite", str(tmp_path / "escape.toml"), "--workers", "1"]) == 2
    assert "suite name must be letters" in capsys.readouterr().err
    assert not (tmp_path / "escape").exists() and not (tmp_path / "benchmarks").exists()


def test_a_parameter_value_never_makes_a_hidden_run_file(tmp_path):
    experiment = Experiment("hidden", CONSTANT, ({"value": 1.0, "steps": 2}, {"value": 2.0, "steps": 3}), (0,))
    assert all(not run.key.startswith(".") for run in experiment.runs())
    dotted = Experiment("dotted", "rewarddesign.bench.stats:iqm", ({"name": ".x"}, {"name": "../y"}), (0,))
    assert [run.key for run in dotted.runs()] == ["x__s0", "-y__s0"]


def test_repeated_seeds_env_ids_or_algorithms_are_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"seeds of suite 'tiny' must differ, got \[0\] more than once"):
        dataclasses.replace(TINY, seeds=(0, 1, 0))
    with pytest.raises(ValueError, match="seeds of suite 'tiny' must differ"):
        TINY.subset(seeds=[1, 1])
    with pytest.raises(ValueError, match=r"env_ids of suite 'tiny' must differ"):
        dataclasses.replace(TINY, env_ids=("CartPole-v1", "CartPole-v1"))
    with pytest.raises(ValueError, match=r"algos of suite 'tiny' must differ"):
        dataclasses.replace(TINY, algos=("ppo", "ppo"))
    with pytest.raises(TypeError, match="seeds of suite 'tiny' must be integers, got '0'"):
        dataclasses.replace(TINY, seeds=("0",))
    with pytest.raises(ValueError, match=r"seeds of experiment 'e' must differ, got \[2\] more than once"):
        Experiment("e", CONSTANT, ({"value": 1.0},), (2, 2))
    args = ["bench", "--suite", "quick", "--seeds", "0", "0", "--out", str(tmp_path / "out"), "--workers", "1"]
    assert cli.main(args) == 2
    assert "seeds of suite 'quick' must differ, got [0] more than once" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    suite_file = tmp_path / "strings.json"
    suite_file.write_text(
        '{"name": "s", "env_ids": ["CartPole-v1"], "designs": ["original"], "algos": ["ppo"], "seeds": ["0"], '
        '"timesteps": 64, "eval_freq": 64}'
    )
    assert cli.main(["bench", "--suite", str(suite_file), "--out", str(tmp_path / "out")]) == 2
    assert "suite data: seeds of suite 's' must be integers, got '0'" in capsys.readouterr().err


def test_damaged_experiment_run_files_run_again_with_a_warning(tmp_path):
    experiment = Experiment("tiny", CONSTANT, ({"value": 1.0},), (0, 1, 2, 3))
    run_experiment(experiment, tmp_path, progress=False)
    runs = tmp_path / "runs"
    (runs / "1.0__s0.json").write_text("")  # zero bytes
    (runs / "1.0__s1.json").write_bytes(b"\x00\xff garbage")
    (runs / "1.0__s2.json").write_text('{"key": "1.0__s2"')  # cut short
    kept = (runs / "1.0__s3.json").stat().st_mtime_ns
    with pytest.raises(ValueError, match=r"1.0__s0.json is not a whole run file of an experiment"):
        load_records(tmp_path)
    with pytest.warns(RuntimeWarning, match=r"1.0__s\d.json is not a whole run file.*running 1.0__s\d again") as caught:
        records = run_experiment(experiment, tmp_path, progress=False)
    assert len(caught) == 3
    assert [r.metrics["score"] for r in records] == [1.0, 2.0, 3.0, 4.0]
    assert (runs / "1.0__s3.json").stat().st_mtime_ns == kept
    # a file of another run under this run's name is not this run's result either
    (runs / "1.0__s0.json").write_text((runs / "1.0__s1.json").read_text())
    with pytest.warns(RuntimeWarning, match=r"holds run 1.0__s1 .*not 1.0__s0"):
        records = run_experiment(experiment, tmp_path, progress=False)
    assert RunRecord.read(runs / "1.0__s0.json").seed == 0


def test_damaged_suite_run_files_run_again_and_are_named_by_the_report(tmp_path):
    run_suite(TINY, tmp_path, progress=False, device="cpu")
    first, second = sorted((tmp_path / "runs").glob("*.csv"))
    kept = second.stat().st_mtime_ns
    first.write_text("")
    with pytest.raises(ValueError, match=f"{first.name} is not a whole run file of a suite \\(empty\\)"):
        load_rows(tmp_path)
    with pytest.raises(ValueError, match=f"{first.name} is not a whole run file"):
        report(tmp_path, reps=10)
    first.write_text(",".join(COLUMNS) + "\n")  # a header and nothing else
    with pytest.raises(ValueError, match=r"\(no rows\)"):
        load_rows(first)
    with pytest.warns(RuntimeWarning, match=f"{first.name} is not a whole run file of a suite.*running"):
        rows = run_suite(TINY, tmp_path, progress=False, device="cpu")
    assert sorted({row["seed"] for row in rows}) == [0, 1] and second.stat().st_mtime_ns == kept
    first.write_text("suite,env\nnot,a run\n")
    with pytest.raises(ValueError, match=r"no column \['design'"):
        load_rows(first)


def fake_rows(design: str, seed: int) -> list[dict]:
    return [
        {"suite": "s", "env": "E", "design": design, "algo": "ppo", "seed": seed, "step": step, "true_return": value}
        | {"designed_return": value, "wall_time": 1.0, "device": "cpu"}
        for step, value in ((0, 0.0), (10, float(seed + (design == "shaped"))))
    ]


def test_an_unknown_baseline_is_an_error_that_lists_the_designs(tmp_path, capsys):
    for design in ("plain", "shaped"):
        for seed in (0, 1):
            write_rows(tmp_path / "runs" / f"s__E__{design}__ppo__s{seed}.csv", fake_rows(design, seed))
    with pytest.raises(ValueError, match=r"unknown baseline 'original': the designs in .* are plain, shaped"):
        report(tmp_path, baseline="original", reps=10)
    assert "P(design > plain)" in report(tmp_path, baseline="plain", reps=10)
    assert "P(design >" not in report(tmp_path, reps=10)  # no 'original' here: no comparison by default
    assert cli.main(["bench", "report", str(tmp_path), "--baseline", "nope", "--reps", "10"]) == 2
    assert "unknown baseline 'nope': the designs in" in capsys.readouterr().err
    run_experiment(Experiment("e", CONSTANT, ({"value": 1.0},), (0,)), tmp_path / "experiment", progress=False)
    assert cli.main(["bench", "report", str(tmp_path / "experiment"), "--baseline", "plain"]) == 2
    assert "--baseline compares designs of a suite's results" in capsys.readouterr().err
