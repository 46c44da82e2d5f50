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

Overhead = min(runner - evaluations) / min(SB3 alone) - 1 (noise only adds time); the last column is the part
inside ``learn`` (the reward-design callback on every step). Target: below 2%. Writes
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


def bare(env_id: str) -> tuple[float, float]:
    """SB3 alone: (env and model construction plus learn, learn alone) in seconds."""
    torch.set_num_threads(1)
    start = time.perf_counter()
    wrap = gym.wrappers.FlattenObservation if env_id.startswith("dm_control/") else (lambda env: env)
    venv = DummyVecEnv([lambda: Monitor(wrap(gym.make(env_id)))])
    venv.seed(0)
    model = PPO("MlpPolicy", venv, seed=0, device="cpu", verbose=0)
    learn_start = time.perf_counter()
    model.learn(STEPS)
    end = time.perf_counter()
    return end - start, end - learn_start


def runner(env_id: str) -> tuple[float, dict]:
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
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        run_suite(suite, out, progress=False, device="cpu")
        total = time.perf_counter() - start
        seconds = json.loads((Path(out) / "suite.json").read_text())["seconds"]
    return total, next(iter(seconds.values()))


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
        "| overhead beyond SB3 | of which in learn (the per-step callback) |",
        "|---|---|---|---|---|---|",
    ]
    context = multiprocessing.get_context("spawn")
    for env_id in ENVS:
        bare_times, bare_learn, runner_times, eval_times, runner_learn = [], [], [], [], []
        for repeat in range(REPEATS):
            # each measurement in a fresh process (as the runner's workers are), the order alternating
            for which in ("bare", "runner") if repeat % 2 == 0 else ("runner", "bare"):
                with context.Pool(1) as pool:
                    if which == "bare":
                        whole, learn = pool.apply(bare, (env_id,))
                        bare_times.append(whole)
                        bare_learn.append(learn)
                    else:
                        total, seconds = pool.apply(runner, (env_id,))
                        runner_times.append(total - seconds["eval_time"])
                        eval_times.append(seconds["eval_time"])
                        runner_learn.append(seconds["train_time"] - seconds["eval_time"])
        # noise on a shared machine only adds time, so the fastest of the repeats is the estimate
        b, r, e = np.min(bare_times), np.min(runner_times), np.median(eval_times)
        in_learn = np.min(runner_learn) / np.min(bare_learn) - 1
        lines.append(
            f"| {env_id} | {b:.2f} | {r + e:.2f} | {e:.2f} | {100 * (r / b - 1):+.2f}% | {100 * in_learn:+.2f}% |"
        )
        print(lines[-1], flush=True)
    lines += ["", "Target: overhead below 2%."]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_runner_overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
