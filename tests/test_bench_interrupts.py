"""SIGINT and SIGTERM stop a sweep within seconds: workers stopped, finished runs kept, a rerun resumes."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rewarddesign.bench.interrupts import InterruptGuard, SweepInterrupted

# An experiment of four runs: seeds 0 and 1 finish at once, seeds 2 and 3 sleep for ``slow`` seconds.
# Each run writes the id of the process that computes it, so the test can check that none is left.
DRIVER = """
import os
import signal
import sys
import time
from pathlib import Path

from rewarddesign.bench import Experiment, RunOutput, SweepInterrupted, run_experiment


def run(seed, value, pids, slow):
    Path(pids, f"s{seed}").write_text(str(os.getpid()))
    time.sleep(slow if seed >= 2 else 0.0)
    return RunOutput({"score": value + seed})


if __name__ == "__main__":
    out, workers, executor, slow = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    pids = out / "pids"
    pids.mkdir(parents=True, exist_ok=True)
    context = {"pids": str(pids), "slow": slow}  # left out of fingerprints: the rerun resumes
    experiment = Experiment("sleepy", f"{__file__}:run", ({"value": 1.0},), (0, 1, 2, 3), context=context)
    try:
        run_experiment(experiment, out / "results", workers=workers, executor=executor, progress=False, device="cpu")
    except SweepInterrupted as stop:  # as the bench command does: further signals cannot cut the exit
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        print(stop, file=sys.stderr)
        sys.exit(stop.exit_code)
    print("finished")
"""


pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")


def stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state, parent, ...; user time at 11)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def alive(pid: int) -> bool:
    fields = stat(pid)
    return fields is not None and fields[0] != "Z"


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def children(pid: int, recursive: bool = True) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = stat(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    if recursive:
        found += [grandchild for child in list(found) for grandchild in children(child)]
    return found


def wait_for(condition, seconds: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the sweep ended early: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"timed out: {process.communicate()}")
        time.sleep(0.05)


def interrupt(tmp_path: Path, workers: int, executor: str, signals: list[int], start_within: float) -> tuple:
    """Start the sweep, wait until the quick runs are stored and the slow ones run, send ``signals``;
    return the exit code, seconds to exit, stderr, the run pids and the processes the sweep had started."""
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(DRIVER))
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, str(script), str(out), str(workers), executor, "600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    slow = ["s2", "s3"] if workers > 1 or executor == "ray" else ["s2"]
    runs, pids = out / "results" / "runs", out / "pids"
    wait_for(
        lambda: len(list(runs.glob("*.json"))) == 2 and all((pids / name).exists() for name in slow),
        start_within,
        process,
    )
    time.sleep(0.5)  # the slow runs are sleeping
    started = children(process.pid)
    run_pids = [int((pids / name).read_text()) for name in slow]
    start = time.monotonic()
    for signum in signals:
        process.send_signal(signum)
        time.sleep(0.2)
    try:
        _, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, time.monotonic() - start, err, run_pids, started


def check_kept_and_resume(tmp_path: Path, workers: int, executor: str) -> None:
    results = tmp_path / "out" / "results"
    kept = {p.name: p.stat().st_mtime_ns for p in (results / "runs").glob("*.json")}
    assert sorted(kept) == ["1.0__s0.json", "1.0__s1.json"]
    assert sorted(json.loads((results / "experiment.json").read_text())["runs"]) == ["1.0__s0", "1.0__s1"]
    script, out = tmp_path / "driver.py", tmp_path / "out"
    command = [sys.executable, str(script), str(out), str(workers), executor, "0"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    after = {p.name: p.stat().st_mtime_ns for p in (results / "runs").glob("*.json")}
    assert len(after) == 4 and all(after[name] == stamp for name, stamp in kept.items())  # none redone


@pytest.mark.slow
@pytest.mark.parametrize(
    ("workers", "signals", "code"),
    [
        (1, [signal.SIGINT], 130),
        (2, [signal.SIGINT, signal.SIGINT], 130),  # a second Ctrl-C while it stops
    ],  # SIGTERM with two workers: the bench command's test below (exit 143, workers gone)
    ids=["1-worker-sigint", "2-workers-sigint-twice"],
)
def test_a_signal_stops_the_local_sweep_keeps_finished_runs_and_a_rerun_resumes(tmp_path, workers, signals, code):
    returncode, seconds, err, run_pids, started = interrupt(tmp_path, workers, "local", signals, start_within=120)
    assert returncode == code, err
    assert seconds < 15
    name = signal.Signals(signals[0]).name
    assert f"experiment 'sleepy' stopped by {name}: 2 of 4 runs finished and kept" in err
    assert "Traceback" not in err
    time.sleep(0.5)
    assert not [pid for pid in run_pids + started if alive(pid)]  # no worker left running
    check_kept_and_resume(tmp_path, workers, "local")


@pytest.mark.slow
@pytest.mark.xdist_group("ray")  # under pytest -n, the Ray tests share one process (one local instance)
def test_a_signal_stops_a_ray_sweep_cancels_its_tasks_and_shuts_ray_down(tmp_path):
    pytest.importorskip("ray")
    returncode, seconds, err, run_pids, started = interrupt(tmp_path, 2, "ray", [signal.SIGINT], start_within=240)
    assert returncode == 130, err
    assert seconds < 45  # the Ray instance it started is shut down too
    assert "experiment 'sleepy' stopped by SIGINT: 2 of 4 runs finished and kept" in err
    time.sleep(2.0)
    assert not [pid for pid in run_pids if alive(pid)]  # the running tasks' workers are gone
    assert not [pid for pid in started if alive(pid)]  # and every process of the Ray instance
    # the kept runs are the store's files, whichever executor made them: resuming locally spares a
    # second Ray start (runs through Ray: test_bench_suite.py and test_bench_experiments.py)
    check_kept_and_resume(tmp_path, 2, "local")


SUITE = """
name = "long"
env_ids = ["CartPole-v1"]
designs = ["original", { name = "upright", shaping = "cartpole_upright" }]
algos = ["ppo"]
seeds = [0]
timesteps = 10000000
eval_freq = 10000000
eval_episodes = 1

[algo_kwargs.ppo]
n_steps = 128
batch_size = 64
n_epochs = 1
"""


@pytest.mark.slow
def test_the_bench_command_stops_on_sigterm_with_its_workers_and_exits_143(tmp_path):
    (tmp_path / "long.toml").write_text(SUITE)
    command = ["bench", "--suite", str(tmp_path / "long.toml"), "--out", str(tmp_path / "out"), "--workers", "2"]
    process = subprocess.Popen(
        [sys.executable, "-m", "rewarddesign.cli", *command, "--no-progress", "--device", "cpu"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )

    def training() -> bool:  # two worker processes, each past its imports
        pids = [pid for pid in children(process.pid, False) if b"resource_tracker" not in cmdline(pid)]
        ticks = [stat(pid) for pid in pids]
        return len(pids) == 2 and all(fields is not None and int(fields[11]) > 300 for fields in ticks)

    wait_for(training, 180, process)
    started = children(process.pid)
    start = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert time.monotonic() - start < 15
    assert "rewarddesign bench: suite 'long' stopped by SIGTERM: 0 of 2 runs finished and kept" in err
    time.sleep(0.5)
    assert not [pid for pid in started if alive(pid)]


def test_a_signal_during_a_deferred_block_takes_effect_after_it():
    guard = InterruptGuard()
    with guard:
        with pytest.raises(SweepInterrupted) as stop:
            with guard.deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)  # the handler runs here and only records the signal
                finished = True
        assert finished and stop.value.exit_code == 143 and stop.value.signal_name == "SIGTERM"
        guard.hold()  # stopping: later signals are noted, not raised
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the previous handlers are back


@pytest.mark.slow
def test_worker_processes_exit_when_the_sweep_process_is_killed(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(DRIVER))
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, str(script), str(out), "2", "local", "600"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    wait_for(lambda: all((out / "pids" / name).exists() for name in ("s2", "s3")), 120, process)
    time.sleep(0.5)
    run_pids = [int((out / "pids" / name).read_text()) for name in ("s2", "s3")]
    process.kill()  # SIGKILL: no handler runs; the workers notice that their parent is gone
    process.wait()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in run_pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in run_pids if alive(pid)]
