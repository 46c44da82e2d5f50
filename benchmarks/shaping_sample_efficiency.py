"""Sample efficiency of potential-based shaping on a sparse-reward maze.

Reproduce (about 6 minutes on 2 cores)::

    .venv/bin/python benchmarks/shaping_sample_efficiency.py

SB3 PPO on ``rewarddesign/GridMaze-v0`` (a 36-cell maze, 17 moves from start to goal, reward 1
only at the goal, time limit 100) with four reward designs, 5 seeds each, 40k env steps, evaluated
every 2k steps on the true reward (one deterministic episode; the maze is deterministic):

- ``original``: the sparse reward alone,
- ``maze_distance``: potential = minus the shortest-path distance to the goal (knows the walls),
- ``maze_manhattan``: potential = minus the Manhattan distance (ignores walls; misleads in dead ends),
- ``optimal_value``: potential = ``V*`` of the true reward (the best case).

Writes the rows of each run (resumable) under ``benchmarks/results/shaping_sample_efficiency/``,
and ``table.md`` (steps to solve, final return, mean over the curve) and ``curves.png`` there.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rewarddesign.bench import SUITES, format_table, plot_curves, run_suite, summarize

OUT = Path(__file__).resolve().parent / "results" / "shaping_sample_efficiency"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    suite = SUITES["shaping"]
    rows = run_suite(suite, args.out, workers=args.workers, device="cpu")
    table = format_table(summarize(rows, suite.solved_at))
    header = (
        "# Shaping sample efficiency\n\n"
        "Command: `.venv/bin/python benchmarks/shaping_sample_efficiency.py`. SB3 PPO on `rewarddesign/GridMaze-v0`, "
        f"{len(suite.seeds)} seeds, {suite.timesteps:,} env steps, "
        f"true return evaluated every {suite.eval_freq:,} steps "
        "(1 = goal reached). 'Steps to solve': median over seeds of the first evaluation that reaches the goal.\n\n"
    )
    (args.out / "table.md").write_text(header + table + "\n")
    plot_curves(rows, args.out / "curves.png", title="PPO: shaping potentials against the sparse reward")
    print(table)


if __name__ == "__main__":
    main()
