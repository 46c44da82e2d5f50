"""Risk-averse equilibria of random games: fictitious-play time, residual and exploitability against size.

Reproduce (about 4 minutes)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/games_solvers.py

For n = 2, 5, 10, 20, 50, 100, 200 and two classes of random n x n games (three games each,
standard normal payoffs): zero-sum games, where fictitious play provably converges, and
general-sum games, where it may cycle. ``risk_averse_equilibrium(game, risk_aversion=1,
tol=1e-3)`` with a budget of 1000 iterations: wall time, iterations, the final RAE residual
(summed mean-variance gains of best-responding; 0 at an RAE), whether it converged, and the
NashConv of the profile. Beside it, one risk-averse best response against a random opponent
strategy by the active-set method and by cvxpy (OSQP, compilation included), and the Nash solver
(Gambit's vertex enumeration up to n = 8, one Lemke-Howson path above; up to n = 100).
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
BUDGET = 1000
TOL = 1e-3


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def main() -> None:
    rng = np.random.default_rng(0)
    lines = [
        "# Risk-averse equilibria of random games",
        "",
        "`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/games_solvers.py` "
        f"({platform.processor() or platform.machine()}, CPU). Three random n x n games per size and class, "
        f"lambda = 1, fictitious play to residual {TOL:g} with a budget of {BUDGET} iterations. Medians over the "
        "three games; converged: how many reached the tolerance.",
        "",
        "| n | class | RAE time (s) | iterations | residual | converged | NashConv | best response: active set (ms) "
        "| cvxpy OSQP (ms) | Nash solver (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in SIZES:
        for kind in ("zero-sum", "general-sum"):
            rows: dict[str, list[float]] = {k: [] for k in ("time", "iter", "res", "conv", "nc", "br", "cvx", "nash")}
            for _ in range(3):
                payoffs = rng.normal(size=(2, n, n))
                if kind == "zero-sum":
                    payoffs[1] = -payoffs[0]
                game = NormalFormGame(payoffs)
                result, seconds = timed(risk_averse_equilibrium, game, 1.0, iterations=BUDGET, tol=TOL, warn=False)
                rows["time"].append(seconds)
                rows["iter"].append(result.iterations)
                rows["res"].append(result.residual)
                rows["conv"].append(result.converged)
                rows["nc"].append(result.nash_conv)
                profile = [np.full(n, 1 / n), rng.dirichlet(np.ones(n))]
                mu, sigma = game.action_values(0, profile), game.payoff_covariance(0, profile)
                rows["br"].append(1e3 * timed(risk_averse_best_response, mu, sigma, 1.0)[1])
                rows["cvx"].append(1e3 * timed(risk_averse_best_response, mu, sigma, 1.0, solver="OSQP")[1])
                if n <= 100 and kind == "general-sum":
                    rows["nash"].append(timed(nash_equilibria, game)[1])
            med = {k: float(np.median(v)) if v else float("nan") for k, v in rows.items()}
            nash = f"{med['nash']:.3f}" if rows["nash"] else "-"
            lines.append(
                f"| {n} | {kind} | {med['time']:.3f} | {int(med['iter'])} | {med['res']:.1e} | "
                f"{int(sum(rows['conv']))}/3 | {med['nc']:.3f} | {med['br']:.2f} | {med['cvx']:.1f} | {nash} |"
            )
            print(lines[-1], flush=True)
    lines += [
        "",
        "On random zero-sum games fictitious play converges (the residual falls about as 1/t); on random "
        "general-sum games it cycles, and the residual after the budget is reported, not assumed zero. The best "
        "responses are exact (active-set, warm-started from the player's previous response during fictitious "
        "play); the cvxpy column solves the same QP once, compilation included.",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "games_solvers.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
