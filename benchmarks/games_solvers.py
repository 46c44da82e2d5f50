"""Risk-averse equilibria of random games: fictitious-play time, residual and exploitability against size.

Reproduce (about 3 minutes)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/games_solvers.py

For n = 2, 5, 10, 20, 50, 100, 200: three random n x n general-sum games (standard normal
payoffs), ``risk_averse_equilibrium(game, risk_aversion=1)`` with a budget of 200
fictitious-play iterations (stopping early at residual 1e-4): wall time, iterations, the RAE
residual (summed mean-variance gains of best-responding; 0 at an RAE) and NashConv; beside it,
one risk-averse best response (a cvxpy QP) and the Nash solver (Gambit's vertex enumeration up to
n = 8, one Lemke-Howson path above; up to n = 100) on the same games.
Target: an RAE in under 1 s for n = 100.
Writes ``benchmarks/results/games_solvers.md``.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

import numpy as np

from rewarddesign.games import NormalFormGame, nash_equilibria, risk_averse_best_response, risk_averse_equilibrium

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = (2, 5, 10, 20, 50, 100, 200)
BUDGET = 200


def main() -> None:
    rng = np.random.default_rng(0)
    lines = [
        "# Risk-averse equilibria of random games",
        "",
        "`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/games_solvers.py` "
        f"({platform.processor() or platform.machine()}, CPU). Three random n x n games per size, lambda = 1, "
        f"at most {BUDGET} fictitious-play iterations (stop at residual 1e-4). Medians over the three games.",
        "",
        "| n | RAE time (s) | iterations | RAE residual | NashConv of the RAE | one best response (ms) "
        "| Nash solver (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in SIZES:
        times, iters, residuals, convs, br_times, nash_times = [], [], [], [], [], []
        for _ in range(3):
            game = NormalFormGame(rng.normal(size=(2, n, n)))
            start = time.perf_counter()
            result = risk_averse_equilibrium(game, 1.0, iterations=BUDGET, warn=False)
            times.append(time.perf_counter() - start)
            iters.append(result.iterations)
            residuals.append(result.residual)
            convs.append(result.nash_conv)
            y = rng.dirichlet(np.ones(n))
            mu, sigma = game.action_values(0, [np.full(n, 1 / n), y]), game.payoff_covariance(0, [np.full(n, 1 / n), y])
            start = time.perf_counter()
            risk_averse_best_response(mu, sigma, 1.0)
            br_times.append(1e3 * (time.perf_counter() - start))
            if n <= 100:
                start = time.perf_counter()
                nash_equilibria(game)
                nash_times.append(time.perf_counter() - start)
        nash = f"{np.median(nash_times):.3f}" if nash_times else "-"
        lines.append(
            f"| {n} | {np.median(times):.3f} | {int(np.median(iters))} | {np.median(residuals):.2e} | "
            f"{np.median(convs):.3f} | {np.median(br_times):.1f} | {nash} |"
        )
        print(lines[-1], flush=True)
    lines += [
        "",
        "Fictitious play converges in zero-sum and potential games; on random general-sum games it may cycle, "
        "so the residual after the budget is reported rather than assumed zero. Each best response of more than "
        "two actions is a cvxpy QP (OSQP; compiled once per player, then re-solved with new parameters); "
        "one standalone best response includes the compilation.",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "games_solvers.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
