"""Overhead of the benchmark runner: its time beyond SB3's own training, side by side in one run.

Reproduce (about 10 minutes; run it alone on the machine)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_runner_overhead.py

For each env (Gymnasium ``HalfCheetah-v5`` and dm-control ``cartpole-swingup`` through shimmy),
PPO trains for 20,480 steps on one env and one thread, each measurement in a fresh process, in
alternating order (five times each):

- **SB3 alone**: ``PPO("MlpPolicy", DummyVecEnv([Monitor(gym.make(env))]), seed=0).learn(steps)``
  (dm-control observations flattened, as the runner does), timed from making the env to the end
  of ``learn``;
- **runner**: ``run_suite`` of a one-run suite with the same settings, timed around the whole
  call (suite checks, env and model construction, the reward-design callback on every step,
  result files and manifest), less the time of its evaluations on the true reward (one episode
  at the start and one at the end, which the bare run does not do; reported apart).

Overhead = min(runner - evaluations) / min(SB3 alone) - 1 (noise only adds time), in wall time;
the next column is the part inside ``learn`` (the reward-design callback on every step), the last
the same overhead in the process's CPU time (``time.process_time``), which time spent waiting for
a core on a busy machine does not inflate. The side-by-side differences carry this machine's noise
(a few percent between identical runs), so the runner's own work is also counted directly: the
time inside the reward-design callback (its evaluations excluded) and the driver's time around the
run (suite checks, executor, result files and manifest), as a share of SB3's time. Target: below 2%. Writes
``benchmarks/results/bench_runner_overhead.md``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym
import numpy as np
import shimmy  # noqa: F401  (registers dm_control/...)
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

from rewarddesign.bench import Design, Suite, run_suite

RESULTS = Path(__file__).resolve().parent / "results"
ENVS = ("HalfCheetah-v5", "dm_control/cartpole-swingup-v0")
STEPS, REPEATS = 20_480, 5


def bare(env_id: str) -> tuple[float, float, float]:
    """SB3 alone: (construction plus learn, learn alone, CPU time of construction plus learn) in seconds."""
    torch.set_num_threads(1)
    start, cpu_start = time.perf_counter(), time.process_time()
    wrap = gym.wrappers.FlattenObservation if env_id.startswith("dm_control/") else (lambda env: env)
    venv = DummyVecEnv([lambda: Monitor(wrap(gym.make(env_id)))])
    venv.seed(0)
    model = PPO("MlpPolicy", venv, seed=0, device="cpu", verbose=0)
    learn_start = time.perf_counter()
    model.learn(STEPS)
    end = time.perf_counter()
    return end - start, end - learn_start, time.process_time() - cpu_start


def runner(env_id: str) -> tuple[float, dict, float, float]:
    suite = Suite(
        name="overhead",
        env_ids=(env_id,),
        designs=(Design("original"),),
        algos=("ppo",),
        seeds=(0,),
        timesteps=STEPS,
        eval_freq=STEPS,
        eval_episodes=1,
    )
    from rewarddesign.train import RewardDesignCallback

    in_callback = [0.0]
    on_step = RewardDesignCallback._on_step

    def timed(self: RewardDesignCallback) -> bool:  # the callback's own time, its evaluations excluded
        begin, evaluated = time.perf_counter(), self.eval_time
        result = on_step(self)
        in_callback[0] += time.perf_counter() - begin - (self.eval_time - evaluated)
        return result

    RewardDesignCallback._on_step = timed
    with tempfile.TemporaryDirectory() as out:
        start, cpu_start = time.perf_counter(), time.process_time()
        run_suite(suite, out, progress=False, device="cpu")
        total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        seconds = json.loads((Path(out) / "suite.json").read_text())["seconds"]
    return total, next(iter(seconds.values())), cpu, in_callback[0]


def main() -> None:
    torch.set_num_threads(1)
    lines = [
        "# Benchmark runner overhead",
        "",
        f"`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_runner_overhead.py` (PPO, {STEPS:,} steps, one env, "
        f"one thread, CPU {platform.processor() or platform.machine()}; fastest of {REPEATS} alternating repeats, "
        "each in a fresh process).",
        "",
        "| env | SB3 alone: construction + learn (s) | runner: whole run_suite (s) | its evaluations (s) "
        "| overhead beyond SB3 (wall) | of which in learn (the per-step callback) | overhead in CPU time "
        "| counted: callback s + driver s = share of SB3's time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    context = multiprocessing.get_context("spawn")
    for env_id in ENVS:
        bare_times, bare_learn, bare_cpu, runner_times, eval_times, runner_learn, runner_cpu = ([] for _ in range(7))
        callback_times, outside_run = [], []
        for repeat in range(REPEATS):
            # each measurement in a fresh process (as the runner's workers are), the order alternating
            for which in ("bare", "runner") if repeat % 2 == 0 else ("runner", "bare"):
                with context.Pool(1) as pool:
                    if which == "bare":
                        whole, learn, cpu = pool.apply(bare, (env_id,))
                        bare_times.append(whole)
                        bare_learn.append(learn)
                        bare_cpu.append(cpu)
                    else:
                        total, seconds, cpu, in_callback = pool.apply(runner, (env_id,))
                        callback_times.append(in_callback)
                        outside_run.append(total - seconds["total_time"])
                        runner_times.append(total - seconds["eval_time"])
                        runner_cpu.append(cpu - seconds["eval_time"])
                        eval_times.append(seconds["eval_time"])
                        runner_learn.append(seconds["train_time"] - seconds["eval_time"])
        # noise on a shared machine only adds time, so the fastest of the repeats is the estimate
        b, r, e = np.min(bare_times), np.min(runner_times), np.median(eval_times)
        in_learn = np.min(runner_learn) / np.min(bare_learn) - 1
        on_cpu = np.min(runner_cpu) / np.min(bare_cpu) - 1
        # counted directly, not as a difference of two noisy totals: the callback's time per run and the
        # driver's time around run_one (suite checks, executor, result files, manifest)
        direct = (np.median(callback_times) + np.median(outside_run)) / b
        lines.append(
            f"| {env_id} | {b:.2f} | {r + e:.2f} | {e:.2f} | {100 * (r / b - 1):+.2f}% | {100 * in_learn:+.2f}% "
            f"| {100 * on_cpu:+.2f}% | {np.median(callback_times):.3f} + {np.median(outside_run):.3f} "
            f"= {100 * direct:.2f}% |"
        )
        print(lines[-1], flush=True)
    lines += ["", "Target: overhead below 2%."]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_runner_overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
