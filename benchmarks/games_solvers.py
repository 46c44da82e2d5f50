"""Risk-averse equilibria of random general-sum games: the homotopy solver beside fictitious play.

Reproduce (about 10 minutes on one core)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/games_solvers.py

Protocol (fixed before the first run of this version):

- Games: random n x n two-player general-sum games with independent standard normal payoffs, for
  n = 10, 20, 50, 100; 20 games per size, game ``g`` of size ``n`` drawn with
  ``numpy.random.default_rng(1000 * n + g)``.
- Setting: ``lambda = 1`` for both players, tolerance 1e-3 on the RAE residual
  (:func:`rewarddesign.games.rae_residual`: the summed mean-variance gains of best-responding, 0 at
  an RAE).
- Solvers: ``risk_averse_equilibrium(game, 1, tol=1e-3, method="homotopy")`` (budget 2000 path
  steps) and ``method="fictitious-play"`` (budget 1000 iterations), each timed on one core.
- A game counts as solved when the residual of the returned profile, recomputed by
  ``rae_residual``, is below 1e-3 (the solver's own ``converged`` flag is checked to agree).
- Reported per size and solver: games solved, median and maximum wall time, median residual,
  median path steps / iterations, median NashConv of the profile.
- Targets: the homotopy solves at least 90% of the games of every size (and of all 80), and a
  100 x 100 game in under 1 s (median over the 20).

Writes ``benchmarks/results/games_solvers.md``.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

import numpy as np

from rewarddesign.games import NormalFormGame, rae_residual, risk_averse_equilibrium

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = (10, 20, 50, 100)
GAMES = 20
TOL = 1e-3
BUDGETS = {"homotopy": 2000, "fictitious-play": 1000}


def main() -> None:
    lines = [
        "# Risk-averse equilibria of random general-sum games",
        "",
        "`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/games_solvers.py` "
        f"({platform.processor() or platform.machine()}, CPU, one core, on a shared machine). {GAMES} random n x n "
        "general-sum games per size (standard normal "
        f"payoffs, seeds 1000 n + g), lambda = 1, tolerance {TOL:g} on the RAE residual; homotopy budget "
        f"{BUDGETS['homotopy']} path steps, fictitious play {BUDGETS['fictitious-play']} iterations. Solved: residual "
        "of the returned profile, recomputed by `rae_residual`, below the tolerance.",
        "",
        "| n | solver | solved | time median (s) | time max (s) | residual median | steps / iterations median "
        "| NashConv median |",
        "|---|---|---|---|---|---|---|---|",
    ]
    totals = {method: 0 for method in BUDGETS}
    for n in SIZES:
        for method, budget in BUDGETS.items():
            times, residuals, steps, nash_conv, solved = [], [], [], [], 0
            for g in range(GAMES):
                game = NormalFormGame(np.random.default_rng(1000 * n + g).normal(size=(2, n, n)))
                start = time.perf_counter()
                result = risk_averse_equilibrium(game, 1.0, tol=TOL, iterations=budget, method=method, warn=False)
                times.append(time.perf_counter() - start)
                residual = rae_residual(game, result.strategies, 1.0)
                if (residual < TOL) != result.converged:
                    raise RuntimeError(f"converged={result.converged} disagrees with the residual {residual:.3g}")
                solved += residual < TOL
                residuals.append(residual)
                steps.append(result.iterations)
                nash_conv.append(result.nash_conv)
            totals[method] += solved
            lines.append(
                f"| {n} | {method} | {solved}/{GAMES} | {np.median(times):.3f} | {max(times):.3f} | "
                f"{np.median(residuals):.1e} | {int(np.median(steps))} | {np.median(nash_conv):.3f} |"
            )
            print(lines[-1], flush=True)
    total = GAMES * len(SIZES)
    lines += [
        "",
        f"All sizes: homotopy {totals['homotopy']}/{total}, fictitious play {totals['fictitious-play']}/{total} "
        "solved.",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "games_solvers.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
