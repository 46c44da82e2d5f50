"""Incremental marginal gains against recomputing F, and the marginal-gain wrapper's speed.

Reproduce (under a minute)::

    .venv/bin/python benchmarks/submodular_speed.py

1. D-optimal design ``F(S) = 1/2 logdet(I + sigma^-2 K_SS)`` over a 30 x 30 grid with an RBF kernel,
   an episode of H = 80 visited cells: marginal gains by the incremental Cholesky state against
   recomputing ``F(S + x) - F(S)`` from scratch, for the visited cells one at a time and for a
   greedy scan of 225 candidates per step (target: at least 10x faster).
2. Steps per second of ``SubmodularReward`` on a 30 x 30 grid walk with weighted coverage and with
   log-det design, against the bare env.

Writes ``benchmarks/results/submodular_speed.md``.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

from rewarddesign.mdp import TabularEnv, TabularMDP
from rewarddesign.submodular import LogDetDesign, SubmodularReward, WeightedCoverage

RESULTS = Path(__file__).resolve().parent / "results"
SIDE, H = 30, 80


def grid_walk() -> TabularEnv:
    """A deterministic 30 x 30 grid walk with 5 actions (stay, up, right, down, left), reward 0."""
    n = SIDE * SIDE
    transitions = np.zeros((n, 5, n))
    for s in range(n):
        r, c = divmod(s, SIDE)
        for a, (dr, dc) in enumerate(((0, 0), (-1, 0), (0, 1), (1, 0), (0, -1))):
            rr, cc = min(max(r + dr, 0), SIDE - 1), min(max(c + dc, 0), SIDE - 1)
            transitions[s, a, rr * SIDE + cc] = 1.0
    initial = np.zeros(n)
    initial[n // 2 + SIDE // 2] = 1.0
    return TabularEnv(TabularMDP(transitions, initial, 0.99), np.zeros(n), horizon=H)


def best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def time_gains(design: LogDetDesign, path: np.ndarray, candidates: np.ndarray) -> dict[str, float]:
    """Seconds per episode of H steps: adding the path's items, and a greedy step's gains of all candidates."""

    def incremental_add() -> None:
        state = design.state()
        for x in path:
            state.add(x)

    def recompute_add() -> None:
        items: list[int] = []
        value = design.recompute(items)
        for x in path:
            new = design.recompute(items + [int(x)])
            _gain, value, items = new - value, new, items + [int(x)]

    def incremental_scan() -> None:
        state = design.state()
        for x in path:
            state.gains(candidates)
            state.add(x)

    def recompute_scan() -> None:
        items: list[int] = []
        for x in path:
            value = design.recompute(items)
            [design.recompute(items + [int(c)]) - value for c in candidates]
            items.append(int(x))

    return {
        "add": best_of(incremental_add, 5),
        "add_recompute": best_of(recompute_add, 5),
        "scan": best_of(incremental_scan, 3),
        "scan_recompute": best_of(recompute_scan, 1),
    }


def steps_per_second(env: gym.Env, steps: int = 20_000) -> float:
    rng = np.random.default_rng(0)
    actions = rng.integers(5, size=steps)
    env.reset(seed=0)
    start = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = env.step(int(a))
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def main() -> None:
    coords = np.argwhere(np.ones((SIDE, SIDE), dtype=bool)).astype(float)
    design = LogDetDesign.rbf(coords, lengthscale=2.0, noise=0.5)
    rng = np.random.default_rng(0)
    path = rng.choice(SIDE * SIDE, size=H, replace=False)
    candidates = np.arange(0, SIDE * SIDE, 4)  # every fourth cell, 225 candidates
    times = time_gains(design, path, candidates)
    coverage = WeightedCoverage.on_grid((SIDE, SIDE), radius=1)
    rates = {
        "bare grid walk": steps_per_second(grid_walk()),
        "SubmodularReward, weighted coverage": steps_per_second(SubmodularReward(grid_walk(), coverage)),
        "SubmodularReward, log-det design": steps_per_second(SubmodularReward(grid_walk(), design)),
    }
    lines = [
        "# Submodular rewards: speed",
        "",
        f"Command: `.venv/bin/python benchmarks/submodular_speed.py` ({platform.machine()}).",
        "",
        f"Log-det design on a {SIDE} x {SIDE} grid (RBF kernel), an episode of H = {H} distinct cells. "
        "'add': the marginal gain of each visited cell in turn (what the reward wrapper does); 'greedy scan': "
        f"at each of the {H} steps the gains of {len(candidates)} candidate cells (what a greedy planner does).",
        "",
        "| work per episode | incremental Cholesky (s) | recompute F(S + x) - F(S) (s) | speed-up |",
        "|---|---|---|---|",
        f"| add | {times['add']:.5f} | {times['add_recompute']:.5f} | {times['add_recompute'] / times['add']:.1f}x |",
        f"| greedy scan | {times['scan']:.5f} | {times['scan_recompute']:.5f} | "
        f"{times['scan_recompute'] / times['scan']:.1f}x |",
        "",
        f"Wrapper throughput on a {SIDE} x {SIDE} grid walk (horizon {H}, random actions):",
        "",
        "| env | steps per second |",
        "|---|---|",
    ]
    lines += [f"| {name} | {rate:,.0f} |" for name, rate in rates.items()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "submodular_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
