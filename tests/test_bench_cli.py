import subprocess
import sys

import pytest

from rewarddesign import bench, cli
from rewarddesign.bench import Design, Suite, format_table, load_rows, plot_curves, run_suite, summarize

TINY = Suite(
    name="tiny",
    env_ids=("CartPole-v1",),
    designs=(Design("original"), Design("upright", "cartpole_upright")),
    algos=("ppo",),
    seeds=(0, 1),
    timesteps=256,
    eval_freq=128,
    eval_episodes=2,
    solved_at=30.0,
    algo_kwargs={"ppo": {"n_steps": 128, "batch_size": 64, "n_epochs": 1}},
)


def test_run_suite_writes_a_file_per_run_and_resumes(tmp_path):
    rows = run_suite(TINY, tmp_path, progress=False, device="cpu")
    files = sorted((tmp_path / "runs").glob("*.csv"))
    assert len(files) == 4
    assert {(r["design"], r["seed"]) for r in rows} == {
        ("original", 0),
        ("original", 1),
        ("upright", 0),
        ("upright", 1),
    }
    assert {r["step"] for r in rows} == {0, 128, 256}
    # an interrupted sweep: one run is missing; only that one runs again
    stamps = {f.name: f.stat().st_mtime_ns for f in files}
    files[0].unlink()
    again = run_suite(TINY, tmp_path, progress=False, device="cpu")
    assert len(again) == len(rows)
    for f in sorted((tmp_path / "runs").glob("*.csv")):
        if f.name != files[0].name:
            assert f.stat().st_mtime_ns == stamps[f.name]
    assert len(load_rows(tmp_path)) == len(rows)  # the directory form reads every run file


def test_summary_table_and_plot_from_known_rows(tmp_path):
    def row(design, seed, step, value):
        return {"env": "E", "design": design, "algo": "ppo", "seed": seed, "step": step, "true_return": value}

    rows = [row("a", 0, 0, 0.0), row("a", 0, 10, 1.0), row("a", 1, 0, 0.0), row("a", 1, 10, 0.0)]
    rows += [row("b", 0, 0, 1.0), row("b", 0, 10, 1.0)]
    summary = summarize(rows, solved_at=1.0)
    a, b = summary
    assert (a["design"], a["final_mean"], a["final_std"], a["solved"]) == ("a", 0.5, 0.5, 1)
    assert a["auc_mean"] == pytest.approx(0.25)
    assert a["steps_to_solve"] == float("inf")  # median of (10, inf)
    assert b["steps_to_solve"] == 0.0
    table = format_table(summary)
    assert "| E | a | ppo | 2 | 0.500 ± 0.500 | 0.250 | 1/2 | not solved |" in table
    png = plot_curves(rows, tmp_path / "curves.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # per-env thresholds: an env left out of the mapping has none
    other = [{**r, "env": "F"} for r in rows]
    per_env = {e["env"]: e for e in summarize(rows + other, solved_at={"E": 1.0}) if e["design"] == "a"}
    assert per_env["E"]["steps_to_solve"] == float("inf") and per_env["F"]["solved"] == 0
    assert "| F | a | ppo | 2 | 0.500 ± 0.500 | 0.250 | - | - |" in format_table(summarize(other, {"E": 1.0}))


def test_quick_suite_has_the_coverage_case_with_designs_limited_to_their_envs():
    runs = bench.SUITES["quick"].runs()
    pairs = {(spec.env_id, spec.design.name) for spec in runs}
    assert pairs == {
        ("rewarddesign/GridMaze-v0", "original"),
        ("rewarddesign/GridMaze-v0", "maze_distance"),
        ("rewarddesign/CoverageGrid-v0", "original"),
        ("rewarddesign/CoverageGrid-v0", "modular"),
        ("rewarddesign/TrustDilemma-v0", "original"),
        ("rewarddesign/TrustDilemma-v0", "risk_averse"),
        ("rewarddesign/ContinuousGrid-v0", "original"),
        ("rewarddesign/ContinuousGrid-v0", "naive_heuristic"),
        ("rewarddesign/ContinuousGrid-v0", "barfi"),
        ("Pendulum-v1", "original"),
        ("Pendulum-v1", "heron"),
    }
    assert len(runs) == 33


def test_design_wrappers_train_on_the_blend_and_evaluate_on_the_primary_reward(tmp_path):
    suite = Suite(
        name="grid",
        env_ids=("rewarddesign/ContinuousGrid-v0",),
        designs=(Design("naive", wrapper="grid_centre_naive"),),
        algos=("ppo",),
        seeds=(0,),
        timesteps=256,
        eval_freq=256,
        eval_episodes=1,
        algo_kwargs={"ppo": {"n_steps": 64, "batch_size": 64, "n_epochs": 1}},
    )
    last = run_suite(suite, tmp_path, progress=False, device="cpu")[-1]
    # the primary return is at most 100 - 0.1 and at least -0.1 x 50; the blend pays +50 more a step in the centre
    assert -5.0 - 1e-9 <= last["true_return"] <= 99.9
    assert last["designed_return"] >= last["true_return"] - 5.0  # training episodes: the bonus is never negative
    with pytest.raises(ValueError, match="design wrapper"):
        Design("x", wrapper="no-such-wrapper")


def test_design_env_options_train_on_the_designed_reward_and_evaluate_on_the_true_one(tmp_path):
    suite = Suite(
        name="cover",
        env_ids=("rewarddesign/CoverageGrid-v0",),
        designs=(Design("modular", env_kwargs=(("credit", "modular"),)),),
        algos=("ppo",),
        seeds=(0,),
        timesteps=64,
        eval_freq=64,
        eval_episodes=1,
        algo_kwargs={"ppo": {"n_steps": 64, "batch_size": 64, "n_epochs": 1}},
    )
    rows = run_suite(suite, tmp_path, progress=False, device="cpu")
    # the modular reward pays 2 per step whatever the path (4 for the first), 41 x 2 in all over H = 40;
    # the evaluation env keeps the true reward, F of the visited cells, which is less unless no cell repeats
    last = rows[-1]
    assert last["designed_return"] == pytest.approx(82.0)
    assert last["true_return"] <= 82.0


def test_cli_bench_prints_the_table_and_writes_the_plot(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(bench.SUITES, "tiny", TINY)
    assert (
        cli.main(
            ["bench", "--suite", "tiny", "--out", str(tmp_path), "--workers", "1", "--no-progress", "--device", "cpu"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "| CartPole-v1 | upright | ppo | 2 |" in out
    assert (tmp_path / "curves.png").exists() and (tmp_path / "table.md").read_text().strip() in out


def test_cli_train_reports_true_and_designed_returns(tmp_path, capsys):
    code = cli.main(
        [
            "train",
            "--env",
            "CartPole-v1",
            "--algo",
            "ppo",
            "--shaping",
            "cartpole_upright",
            "--timesteps",
            "256",
            "--seed",
            "3",
            "--device",
            "cpu",
            "--no-progress",
            "--eval-episodes",
            "2",
            "--log-dir",
            str(tmp_path / "log"),
            "--algo-kwargs",
            '{"n_steps": 128, "batch_size": 64}',
            "--save",
            str(tmp_path / "policy"),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "true return" in out and "designed return" in out and "evaluation on the true reward" in out
    assert (tmp_path / "policy" / "policy.pt").exists() and (tmp_path / "log" / "progress.csv").exists()


def test_cli_rejects_bad_input(capsys):
    assert cli.main(["train", "--env", "CartPole-v1", "--shaping", "nope", "--timesteps", "10"]) == 2
    assert "unknown potential 'nope'" in capsys.readouterr().err
    assert cli.main(["bench", "--suite", "nope"]) == 2


def test_console_entry_point_lists_potentials():
    out = subprocess.run(
        [sys.executable, "-m", "rewarddesign.cli", "potentials"], capture_output=True, text=True, check=True
    ).stdout
    assert {"optimal_value", "maze_distance", "cartpole_upright", "mountaincar_energy"} <= set(out.split())


def test_cli_distance_prints_the_matrix_and_writes_a_heatmap(tmp_path, capsys):
    import numpy as np

    rng = np.random.default_rng(0)
    goal = np.zeros((16, 4, 16))
    goal[:, :, 15] = 1.0
    np.savez(tmp_path / "rewards.npz", goal=goal, scaled=3 * goal, negated=-goal, noise=rng.normal(size=(16, 4)))
    heatmap = tmp_path / "d.png"
    args = ["distance", str(tmp_path / "rewards.npz"), "--env", "FrozenLake-v1", "--metric", "starc-val-l2"]
    assert cli.main(args + ["--heatmap", str(heatmap)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in lines[2:6]}
    assert lines[1].split() == ["goal", "negated", "noise", "scaled"]
    assert rows["goal"][0] == 0.0 and rows["goal"][1] == 2.0 and rows["goal"][3] == 0.0
    assert heatmap.read_bytes()[:4] == b"\x89PNG"
    assert cli.main(args[:-1] + ["starc-val-l7"]) == 2
    assert (
        cli.main(["distance", str(tmp_path / "rewards.npz"), "--env", "Taxi-v4", "--metric", "epic"]) == 2
    )  # wrong shapes
