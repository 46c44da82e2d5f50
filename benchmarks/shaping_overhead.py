"""Cost of potential-based shaping: per-step wrapper overhead and SB3 PPO throughput.

Reproduce (about 2 minutes on 2 cores)::

    .venv/bin/python benchmarks/shaping_overhead.py

Measures, side by side in one run and interleaved so that machine noise hits both alike:

1. the time per ``env.step`` of ``gym.make(ENV)`` with and without :class:`PotentialShaping`
   (numpy potentials, one observation at a time), on CartPole-v1 and HalfCheetah-v5, and on a
   constant-time stub env that isolates the wrapper's own cost;
2. SB3 PPO training throughput (env steps per second) on CartPole-v1 with and without shaping.

Targets: at most 1 us added per step for a numpy potential; PPO throughput with shaping at least
97% of without. Writes ``benchmarks/results/shaping_overhead.md`` and ``shaping_overhead.png``.
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from rewarddesign.shaping import PotentialShaping  # noqa: E402
from rewarddesign.train import train  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Args:
    steps: int = 20_000  # env steps per timed block
    repeats: int = 25  # interleaved block pairs (raw, shaped) per env
    ppo_steps: int = 16_384
    ppo_repeats: int = 3


def cartpole_potential(obs: np.ndarray) -> float:
    return -abs(float(obs[2]))  # pole angle


def cheetah_potential(obs: np.ndarray) -> float:
    return float(obs[8])  # forward velocity of the torso


class StubEnv(gym.Env):
    """A constant-time env (returns a fixed transition): isolates the wrapper's own cost."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self) -> None:
        self._obs = np.zeros(4, dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return self._obs, {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        return self._obs, 1.0, False, False, {}


ENVS = {
    "stub (wrapper alone)": cartpole_potential,
    "CartPole-v1": cartpole_potential,
    "HalfCheetah-v5": cheetah_potential,
}


def make(env_id: str) -> gym.Env:
    return StubEnv() if env_id.startswith("stub") else gym.make(env_id)


def time_steps(env: gym.Env, actions: np.ndarray) -> float:
    """Seconds per step over ``len(actions)`` steps, resets included (they are part of use)."""
    env.reset(seed=0)
    step = env.step
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = step(action)
        if terminated or truncated:
            env.reset()
    return (time.perf_counter() - start) / len(actions)


def step_overhead(args: Args) -> list[dict]:
    rows = []
    for env_id, potential in ENVS.items():
        raw = make(env_id)
        shaped = PotentialShaping(make(env_id), potential, gamma=0.99)
        raw.action_space.seed(0)
        actions = np.array([raw.action_space.sample() for _ in range(args.steps)])
        time_steps(raw, actions[:2000]), time_steps(shaped, actions[:2000])  # warm up
        raw_times, shaped_times = [], []
        for repeat in range(args.repeats):  # alternate the order, so drift hits both alike
            pair = (raw, shaped) if repeat % 2 == 0 else (shaped, raw)
            times = {id(env): time_steps(env, actions) for env in pair}
            raw_times.append(times[id(raw)])
            shaped_times.append(times[id(shaped)])
        raw_times, shaped_times = np.array(raw_times) * 1e6, np.array(shaped_times) * 1e6
        added = shaped_times - raw_times
        rows.append(
            {
                "env": env_id,
                "raw_us": np.median(raw_times),
                "shaped_us": np.median(shaped_times),
                "added_us": np.median(added),
                "added_iqr": np.percentile(added, [25, 75]),
                "added_best_us": shaped_times.min() - raw_times.min(),
            }
        )
        print(
            f"{env_id}: raw {rows[-1]['raw_us']:.2f} us/step, shaped {rows[-1]['shaped_us']:.2f} us/step, "
            f"added {rows[-1]['added_us']:.2f} us (median of paired differences)",
            flush=True,
        )
    return rows


def ppo_throughput(args: Args) -> dict:
    torch.set_num_threads(1)
    kwargs = {"n_steps": 1024, "batch_size": 256, "n_epochs": 4}
    fps = {"original": [], "shaped": []}
    for repeat in range(args.ppo_repeats):
        for name, shaping in (("original", None), ("shaped", cartpole_potential)):
            result = train(
                "CartPole-v1",
                "ppo",
                args.ppo_steps,
                seed=repeat,
                shaping=shaping,
                n_envs=4,
                algo_kwargs=kwargs,
                device="cpu",
            )
            fps[name].append(args.ppo_steps / result.wall_time)
            print(f"PPO {name} repeat {repeat}: {fps[name][-1]:.0f} steps/s", flush=True)
    original, shaped = float(np.median(fps["original"])), float(np.median(fps["shaped"]))
    return {"original_fps": original, "shaped_fps": shaped, "ratio": shaped / original, "all": fps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=Args.steps)
    parser.add_argument("--repeats", type=int, default=Args.repeats)
    parser.add_argument("--ppo-steps", type=int, default=Args.ppo_steps)
    parser.add_argument("--ppo-repeats", type=int, default=Args.ppo_repeats)
    args = Args(**{k.replace("-", "_"): v for k, v in vars(parser.parse_args()).items()})

    steps = step_overhead(args)
    ppo = ppo_throughput(args)

    lines = [
        "# Shaping overhead",
        "",
        f"Command: `.venv/bin/python benchmarks/shaping_overhead.py` ({platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__}, CPU).",
        "",
        f"Per-step time of `env.step` on `gym.make(env)`, {args.repeats} interleaved pairs of blocks of {args.steps:,} "
        "steps (numpy potential evaluated on one observation per step). 'Added' is the median of the paired "
        "differences, with their interquartile range, and the difference of the fastest blocks. The stub env "
        "returns a fixed transition, so its row is the wrapper's own cost without the noise of a real "
        "simulator. Target: at most 1 us added.",
        "",
        "| env | raw (us/step) | shaped (us/step) | added, median (us/step) | added, IQR (us/step) "
        "| added, fastest blocks (us/step) |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['env']} | {r['raw_us']:.2f} | {r['shaped_us']:.2f} | {r['added_us']:.2f} | "
        f"{r['added_iqr'][0]:.2f} to {r['added_iqr'][1]:.2f} | {r['added_best_us']:.2f} |"
        for r in steps
    ]
    lines += [
        "",
        f"SB3 PPO on CartPole-v1 (4 envs, {args.ppo_steps:,} steps, median of {args.ppo_repeats} interleaved runs). "
        "Target: shaped throughput at least 97% of original.",
        "",
        "| variant | env steps/s |",
        "|---|---|",
        f"| original | {ppo['original_fps']:.0f} |",
        f"| shaped | {ppo['shaped_fps']:.0f} |",
        f"| ratio shaped/original | {ppo['ratio']:.3f} |",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "shaping_overhead.md").write_text("\n".join(lines) + "\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    x = np.arange(len(steps))
    left.bar(x - 0.2, [r["raw_us"] for r in steps], 0.4, label="raw")
    left.bar(x + 0.2, [r["shaped_us"] for r in steps], 0.4, label="shaped")
    left.set_xticks(x, [r["env"].split(" ")[0] for r in steps])
    left.set_yscale("log")
    left.set_ylabel("us per env.step (log scale)")
    left.set_title("per-step cost")
    left.legend()
    right.bar(["original", "shaped"], [ppo["original_fps"], ppo["shaped_fps"]], color=["C0", "C1"])
    right.set_ylabel("env steps / s")
    right.set_title(f"SB3 PPO on CartPole-v1 (ratio {ppo['ratio']:.3f})")
    fig.tight_layout()
    fig.savefig(RESULTS / "shaping_overhead.png", dpi=120)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
