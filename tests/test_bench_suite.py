"""The benchmark suite machinery: names checked, resumable sweeps, Ray, statistics and reports."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from rewarddesign import bench, cli
from rewarddesign.bench import Design, Suite, report, run_suite, stats
from rewarddesign.bench.report import per_env_table

TINY = Suite(
    name="tiny",
    env_ids=("CartPole-v1",),
    designs=(Design("original"), Design("upright", "cartpole_upright")),
    algos=("ppo",),
    seeds=(0,),
    timesteps=256,
    eval_freq=128,
    eval_episodes=2,
    algo_kwargs={"ppo": {"n_steps": 128, "batch_size": 64, "n_epochs": 1}},
)


# ---------------------------------------------------------------- suites as data


def test_unknown_names_are_refused_with_the_known_ones_listed():
    with pytest.raises(ValueError, match=r"unknown env 'HalfCheetah-v9'.*did you mean.*HalfCheetah-v5"):
        dataclasses.replace(TINY, env_ids=("HalfCheetah-v9",)).validate()
    with pytest.raises(ValueError, match=r"unknown algorithm 'ppo2'.*known: a2c, dqn, ppo, sac, td3"):
        dataclasses.replace(TINY, algos=("ppo2",)).validate()
    with pytest.raises(ValueError, match=r"unknown potential 'no_such'.*cartpole_upright"):
        dataclasses.replace(TINY, designs=(Design("x", "no_such"),)).validate()
    with pytest.raises(ValueError, match="unique"):
        dataclasses.replace(TINY, designs=(Design("a"), Design("a", "cartpole_upright"))).validate()
    with pytest.raises(ValueError, match=r"unknown design of suite 'tiny':.*'shaped'.*known: original, upright"):
        TINY.subset(designs=["shaped"])
    with pytest.raises(ValueError, match="positive"):
        dataclasses.replace(TINY, timesteps=0).validate()
    with pytest.raises(ValueError, match="unknown suite"):
        run_suite("no-such-suite", "unused")
    assert cli.main(["bench", "--suite", "tiny-not-there"]) == 2


def test_a_discount_per_env_reaches_each_run_and_only_its_own_fingerprint():
    two = dataclasses.replace(TINY, env_ids=("CartPole-v1", "Pendulum-v1"), designs=(Design("original"),))
    by_env = dataclasses.replace(two, gamma={"CartPole-v1": 0.99, "Pendulum-v1": 0.9}).validate()
    assert {spec.env_id: spec.gamma for spec in by_env.runs()} == {"CartPole-v1": 0.99, "Pendulum-v1": 0.9}
    # a run keeps its fingerprint when its own discount is unchanged, whatever the other envs' are
    same, other = (dataclasses.replace(two, gamma=g).runs() for g in (0.99, 0.9))
    prints = {spec.env_id: spec.fingerprint for spec in by_env.runs()}
    assert prints == {same[0].env_id: same[0].fingerprint, other[1].env_id: other[1].fingerprint}
    with pytest.raises(ValueError, match=r"each env of the suite: missing \['Pendulum-v1'\]"):
        dataclasses.replace(two, gamma={"CartPole-v1": 0.99}).validate()
    with pytest.raises(ValueError, match=r"unknown \['Acrobot-v1'\]"):
        dataclasses.replace(two, gamma={"CartPole-v1": 0.9, "Pendulum-v1": 0.9, "Acrobot-v1": 0.9}).validate()
    with pytest.raises(ValueError, match="gamma must lie in"):
        dataclasses.replace(two, gamma=1.5).validate()
    assert by_env.subset(envs=["Pendulum-v1"]).validate().gamma == {"Pendulum-v1": 0.9}
    loaded = bench.suite_from_dict({**dataclasses.asdict(by_env), "designs": ["original"]})
    assert loaded.gamma == {"CartPole-v1": 0.99, "Pendulum-v1": 0.9}


def test_the_control_full_suite_covers_mujoco_and_dm_control_with_a_posture_potential():
    suite = bench.SUITES["control-full"].validate()
    assert {spec.design.name for spec in suite.runs()} == {"original", "posture"}
    assert len(suite.runs()) == 7 * 2 * 10
    assert set(suite.env_ids) == set(suite.reference_scores)
    small = suite.subset(envs=["Hopper-v5"], designs=["posture"], seeds=[3])
    assert [spec.key for spec in small.runs()] == ["control-full__Hopper-v5__posture__sac__s3"]


def test_control_postures_read_the_right_observations():
    import gymnasium as gym
    import shimmy  # noqa: F401

    from rewarddesign.shaping import get_potential

    upright = {"position": np.array([0.3, 1.0, 0.0]), "velocity": np.zeros(2)}
    hanging = {"position": np.array([0.3, -1.0, 0.0]), "velocity": np.zeros(2)}
    phi = get_potential("control_posture", gym.make("dm_control/cartpole-swingup-v0"), 0.99)
    assert phi(upright) == 1.0 and phi(hanging) == -1.0
    reacher = get_potential("control_posture", gym.make("dm_control/reacher-easy-v0"), 0.99)
    assert reacher({"position": np.zeros(2), "to_target": np.array([0.06, 0.08]), "velocity": np.zeros(2)}) == (
        pytest.approx(-0.5)
    )
    # flattened as train() does: the same values from the vector
    flat_env = gym.wrappers.FlattenObservation(gym.make("dm_control/cartpole-swingup-v0"))
    flat = get_potential("control_posture", flat_env, 0.99)
    order = list(flat_env.env.observation_space.spaces)  # the flattening follows the dict's order
    vector = np.concatenate([upright[k] for k in order])
    assert flat(vector) == 1.0
    walker_env = gym.wrappers.FlattenObservation(gym.make("dm_control/walker-walk-v0"))
    walker = get_potential("control_posture", walker_env, 0.99)
    obs, _ = walker_env.reset(seed=0)
    height = gym.spaces.unflatten(walker_env.env.observation_space, obs)["height"]
    assert walker(obs) == pytest.approx(float(height)) and float(height) > 1.0  # a scalar entry of the dict
    hopper = get_potential("control_posture", gym.make("Hopper-v5"), 0.99)
    obs = np.zeros(11)
    obs[1] = 0.1  # torso pitch, half the tolerated 0.2
    assert hopper(obs) == pytest.approx(-0.25)
    with pytest.raises(ValueError, match="no control posture for 'CartPole-v1'"):
        get_potential("control_posture", gym.make("CartPole-v1"), 0.99)


TINY_TOML = """
name = "tiny"
env_ids = ["CartPole-v1"]
algos = ["ppo"]
seeds = [0]
timesteps = 256
eval_freq = 128
eval_episodes = 2
designs = ["original", { name = "upright", shaping = "cartpole_upright" }]

[algo_kwargs.ppo]
n_steps = 128
batch_size = 64
n_epochs = 1
"""


def test_suites_parse_from_toml_and_json_files(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML)
    assert bench.load_suite(path) == TINY
    as_json = tmp_path / "tiny.json"
    as_json.write_text(
        json.dumps(
            {**dataclasses.asdict(TINY), "designs": ["original", {"name": "upright", "shaping": "cartpole_upright"}]}
        )
    )
    assert bench.load_suite(as_json) == TINY
    data = {"name": "x", "env_ids": ["CartPole-v1"], "designs": ["original"], "algos": ["ppo"], "seeds": [0]}
    with pytest.raises(ValueError, match=r"missing keys \['timesteps', 'eval_freq'\], unknown keys \['budget'\]"):
        bench.suite_from_dict({**data, "budget": 5})
    with pytest.raises(ValueError, match="seeds must be a list"):
        bench.suite_from_dict({**data, "seeds": 3, "timesteps": 10, "eval_freq": 5})
    with pytest.raises(ValueError, match=r"unknown design keys \['potential'\]"):
        bench.suite_from_dict({**data, "designs": [{"name": "a", "potential": "p"}], "timesteps": 10, "eval_freq": 5})
    with pytest.raises(ValueError, match="unknown env 'CartPole-v9'"):
        bench.suite_from_dict({**data, "env_ids": ["CartPole-v9"], "timesteps": 10, "eval_freq": 5})
    with pytest.raises(ValueError, match=".toml or .json"):
        bench.load_suite(tmp_path / "suite.yaml")


# ---------------------------------------------------------------- the runner


def test_a_results_directory_of_another_suite_or_version_is_refused(tmp_path):
    run_suite(TINY, tmp_path, progress=False, device="cpu")
    manifest = json.loads((tmp_path / "suite.json").read_text())
    assert manifest["suite"] == "tiny" and len(manifest["runs"]) == 2
    with pytest.raises(ValueError, match="another version of suite 'tiny'"):
        run_suite(dataclasses.replace(TINY, timesteps=512), tmp_path, progress=False, device="cpu")
    with pytest.raises(ValueError, match="results of suite 'tiny', not 'other'"):
        run_suite(dataclasses.replace(TINY, name="other"), tmp_path, progress=False, device="cpu")
    # more seeds extend the sweep in the same directory; finished runs are kept
    rows = run_suite(dataclasses.replace(TINY, seeds=(0, 1)), tmp_path, progress=False, device="cpu")
    assert {(r["design"], r["seed"]) for r in rows} == {(d, s) for d in ("original", "upright") for s in (0, 1)}


SWEEP = """
import sys
from rewarddesign.bench import Design, Suite, run_suite
suite = Suite(
    name="kill", env_ids=("CartPole-v1",), designs=(Design("original"),), algos=("ppo",),
    seeds=(0, 1, 2, 3), timesteps=4096, eval_freq=4096, eval_episodes=1,
    algo_kwargs={"ppo": {"n_steps": 256, "batch_size": 256, "n_epochs": 1}},
)
run_suite(suite, sys.argv[1], progress=False, device="cpu")
"""


@pytest.mark.slow
def test_a_sweep_killed_midway_resumes_without_losing_or_repeating_a_run(tmp_path):
    script = tmp_path / "sweep.py"
    script.write_text(textwrap.dedent(SWEEP))
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, str(script), str(out)], start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and len(list((out / "runs").glob("*.csv"))) < 1:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the sweep dies in the middle of its second run
    process.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.csv")}
    assert 1 <= len(finished) < 4
    recorded = set(json.loads((out / "suite.json").read_text())["runs"])
    assert recorded == {name.removesuffix(".csv") for name in finished}
    subprocess.run([sys.executable, str(script), str(out)], check=True)
    after = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.csv")}
    assert len(after) == 4 and all(after[name] == stamp for name, stamp in finished.items())  # none redone
    rows = bench.load_rows(out)
    assert sorted(r["seed"] for r in rows if r["step"] == 4096) == [0, 1, 2, 3]  # one final row per run


@pytest.mark.xdist_group("ray")
def test_a_ray_address_that_does_not_answer_fails_fast_or_falls_back_when_asked(tmp_path):
    pytest.importorskip("ray")
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match="no Ray cluster answers.*--ray-fallback"):
        bench.make_executor("ray", address=address)
    assert time.perf_counter() - start < 30
    with pytest.warns(RuntimeWarning, match="local processes instead"):
        executor = bench.make_executor("ray", address=address, fallback=True)
    rows = run_suite(dataclasses.replace(TINY, designs=TINY.designs[:1]), tmp_path, progress=False, executor=executor)
    assert {r["design"] for r in rows} == {"original"}
    with pytest.raises(ValueError, match="host:port"):
        bench.make_executor("ray", address="nowhere")
    with pytest.raises(ValueError, match="unknown executor 'slurm'; known: local, ray"):
        bench.make_executor("slurm")


# ---------------------------------------------------------------- statistics


def test_aggregates_on_hand_computed_cases():
    assert stats.iqm([np.arange(1.0, 9.0)]) == 4.5  # mean of 3, 4, 5, 6
    assert stats.iqm([np.array([0.0, 1, 2]), np.array([3.0, 100])]) == 2.0  # pooled; one cut at each end
    assert stats.mean([np.array([0.0, 1.0]), np.array([2.0])]) == 1.0
    assert stats.median([np.array([0.0, 5.0, 1.0])]) == 1.0
    assert stats.optimality_gap([np.array([0.5, 1.5, 0.2])]) == pytest.approx((0.5 + 0.0 + 0.8) / 3)
    assert stats.probability_of_improvement([np.array([1.0, 2.0])], [np.array([0.0, 3.0])]) == 0.5
    assert stats.probability_of_improvement([np.array([1.0])], [np.array([1.0])]) == 0.5  # ties count half
    # two tasks: x always wins on the first, never on the second
    assert stats.probability_of_improvement([np.array([2.0]), np.array([0.0])], [np.array([1.0]), np.array([1.0])]) == (
        0.5
    )
    np.testing.assert_allclose(
        stats.performance_profile([np.array([0.2, 0.5, 0.9])], np.array([0.0, 0.5, 1.0])), [1.0, 1 / 3, 0.0]
    )
    np.testing.assert_allclose(stats.normalize(np.array([-280.18, 12135.0]), -280.18, 12135.0), [0.0, 1.0])
    with pytest.raises(ValueError, match="at least one run"):
        stats.iqm([np.array([])])
    with pytest.raises(ValueError, match="finite"):
        stats.mean([np.array([np.nan])])
    with pytest.raises(ValueError, match="high reference"):
        stats.normalize(np.zeros(1), 1.0, 1.0)


def test_the_bootstrap_is_stratified_and_its_interval_matches_the_enumerated_distribution():
    # runs are resampled within each task: a task of zeros and a task of ones always average 0.5
    samples = stats.stratified_bootstrap([[np.zeros(2), np.ones(2)]], stats.mean, reps=500)
    assert np.all(samples == 0.5)
    # one task [0, 1]: resampled means are 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4
    samples = stats.stratified_bootstrap([[np.array([0.0, 1.0])]], stats.mean, reps=8000, rng=1)
    frequencies = [np.mean(samples == v) for v in (0.0, 0.5, 1.0)]
    np.testing.assert_allclose(frequencies, [0.25, 0.5, 0.25], atol=0.02)
    value, low, high = stats.interval_estimate([np.array([0.0, 1.0])], stats.mean, reps=8000, rng=1)
    assert (value, low, high) == (0.5, 0.0, 1.0)
    # a difference that is always there: the interval of P(X > Y) is [1, 1]
    assert stats.improvement_estimate([np.array([2.0, 3.0])], [np.array([0.0, 1.0])], reps=200) == (1.0, 1.0, 1.0)


def test_report_writes_tables_aggregates_and_plots_and_the_cli_prints_them(tmp_path, monkeypatch, capsys):
    run_suite(dataclasses.replace(TINY, seeds=(0, 1)), tmp_path, progress=False, device="cpu")
    text = report(tmp_path, reps=200)
    for name in ("README.md", "table.md", "aggregates.md", "per_env.md", "curves.png", "profiles.png"):
        assert (tmp_path / name).exists()
    assert "| design | envs | runs | IQM | mean | median | optimality gap |" in text
    assert "| env | design | runs | IQM [95% CI] |" in text and "| CartPole-v1 | upright | 2 | " in text
    assert (tmp_path / "per_env.md").read_text().strip() in text
    assert "| design | shared envs | P(design > original) |" in text
    assert "| upright | 1 | " in text and "(lowest and highest final return here)" in text
    scores, references = bench.final_scores(bench.load_rows(tmp_path))
    assert list(references) == ["CartPole-v1"] and set(scores) == {"original", "upright"}
    pooled = np.concatenate([scores["original"]["CartPole-v1"], scores["upright"]["CartPole-v1"]])
    assert pooled.min() == 0.0 and pooled.max() == 1.0  # min-max normalised without references
    assert cli.main(["bench", "report", str(tmp_path), "--reps", "100"]) == 0
    assert "P(design > original)" in capsys.readouterr().out
    with pytest.raises(ValueError, match="no run files"):
        report(tmp_path / "empty")


def test_the_per_env_table_gives_each_env_and_design_its_iqm_and_interval():
    scores = {
        "original": {"b": np.array([1.0, 1.0, 1.0, 1.0]), "a": np.arange(1.0, 9.0)},
        "upright": {"a": np.array([0.0, 0.0, 0.0, 4.0])},
    }
    lines = per_env_table(scores, reps=500).splitlines()
    assert lines[0] == "| env | design | runs | IQM [95% CI] |"
    assert [line.split(" | ")[:3] for line in lines[2:]] == [
        ["| a", "original", "8"],
        ["| a", "upright", "4"],
        ["| b", "original", "4"],
    ]
    value, low, high = stats.interval_estimate([np.arange(1.0, 9.0)], stats.iqm, reps=500, rng=0)
    assert value == 4.5 and lines[2] == f"| a | original | 8 | 4.500 [{low:.3f}, {high:.3f}] |"
    assert lines[3].startswith("| a | upright | 4 | 0.000 [0.000, ")  # the middle half of 0, 0, 0, 4: two zeros
    assert lines[4] == "| b | original | 4 | 1.000 [1.000, 1.000] |"  # a task every run solves: no spread


def test_the_cli_runs_a_subset_of_a_suite_with_the_report(tmp_path, capsys):
    suite_file = tmp_path / "tiny.toml"  # a suite file, as users declare their own
    suite_file.write_text(TINY_TOML)
    out = str(tmp_path / "out")
    args = ["bench", "--suite", str(suite_file), "--designs", "upright", "--out", out, "--no-progress", "--reps", "50"]
    assert cli.main(args + ["--device", "cpu", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "| CartPole-v1 | upright | ppo | 1 |" in out and "original" not in out
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cli.main(args + ["--designs", "nope"]) == 2


def test_a_tiny_control_sweep_trains_dm_control_with_the_posture_potential(tmp_path):
    suite = dataclasses.replace(
        bench.SUITES["control-full"].subset(envs=["dm_control/walker-walk-v0"], seeds=[0]),
        algos=("ppo",),
        timesteps=256,
        eval_freq=256,
        eval_episodes=1,
        algo_kwargs={"ppo": {"n_steps": 128, "batch_size": 64, "n_epochs": 1}},
    )
    rows = run_suite(suite, tmp_path, progress=False, device="cpu")
    last = {r["design"]: r for r in rows if r["step"] == 256}
    assert set(last) == {"original", "posture"}
    assert all(0.0 <= r["true_return"] <= 1000.0 for r in last.values())  # dm-control rewards lie in [0, 1]
    # same seed, same evaluation episode: only the shaped training reward can make the policies differ
    assert last["posture"]["true_return"] != last["original"]["true_return"]
