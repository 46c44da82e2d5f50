"""Behaviour alignment (BARFI) against the naive sum, the primary reward alone and the heuristic as a potential.

Reproduce (about 40 minutes on 2 cores)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bilevel_alignment.py --workers 2

Cases: the continuous grid world (``rewarddesign/ContinuousGrid-v0``) with the bad heuristic (+50
a step in the centre box) and with the good one (minus the distance to the goal), features a
5 x 5 tile coding; CartPole-v1 with the bad heuristic (+1 for pushing against a PD controller on
the pole) and the good one (+1 for agreeing with it), features the observation. Methods, all with
the same REINFORCE learner (16 episodes an update): ``barfi`` (blend and discount learned, K = 5
Neumann terms), ``naive`` (primary + heuristic, gamma 0.99), ``primary`` (the env's reward alone),
``potential`` (the heuristic as a potential: state potential on the grid, look-ahead advice on
CartPole); the bad CartPole heuristic pays 5 for each push against the controller. 10 seeds
each (the ``primary`` runs are shared by an env's two cases); the score of a run is the mean
over its last 5 updates (80 episodes) of the success rate (grid) or the primary return
(CartPole, 500 at most). Runs are cached in
``benchmarks/results/bilevel_alignment/`` (a rerun skips finished runs). Writes
``benchmarks/results/bilevel_alignment.md`` and ``.png``.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "bilevel_alignment"
CASES = ("grid-bad", "cartpole-bad", "grid-good", "cartpole-good")
METHODS = ("barfi", "naive", "primary", "potential")
EPISODES = {"grid": 1200, "cartpole": 1600}
BAD_BONUS = 5.0


def make_case(case: str):
    """``(env id, aux rewards, features, shaping of the potential baseline)``."""
    from rewarddesign.envs import alignment as al

    from rewarddesign.bilevel import potential_shaping, tile_coding

    if case.startswith("grid"):
        aux, potential = {
            "grid-bad": (al.grid_centre_bonus, al.grid_centre_potential),
            "grid-good": (al.grid_goal_distance, al.grid_goal_potential),
        }[case]
        return "rewarddesign/ContinuousGrid-v0", [aux], tile_coding([0, 0], [1, 1], 5), potential_shaping(potential)
    aux = (
        functools.partial(al.cartpole_pd_disagreement, bonus=BAD_BONUS)
        if case == "cartpole-bad"
        else al.cartpole_pd_agreement
    )

    def advice(obs, act):  # the heuristic as an action potential
        return aux(obs, act, obs, np.zeros(len(obs), dtype=bool))

    return "CartPole-v1", [aux], None, potential_shaping(advice, action=True)


def run(case: str, method: str, seed: int) -> dict:
    import rewarddesign.envs  # noqa: F401  (registers the envs)
    import torch

    from rewarddesign.bilevel import BehaviorAlignment

    torch.set_num_threads(1)
    # the primary reward alone does not depend on the heuristic: one run per env serves both cases
    name = f"{case.split('-')[0]}_primary" if method == "primary" else f"{case}_{method}"
    path = OUT / f"{name}_s{seed}.json"
    if path.exists():
        return {**json.loads(path.read_text()), "case": case}
    env_id, aux, features, shaping = make_case(case)
    kwargs = {"features": features, "seed": seed, "device": "cpu"}
    if method == "barfi":
        kwargs |= {"aux_rewards": aux}
    elif method == "naive":
        kwargs |= {"aux_rewards": aux, "learn_blend": False}
    elif method == "primary":
        kwargs |= {"aux_rewards": [], "learn_blend": False}
    else:
        kwargs |= {"aux_rewards": [], "learn_blend": False, "shaping": shaping}
    start = time.perf_counter()
    learner = BehaviorAlignment(env_id, **kwargs).learn(EPISODES[case.split("-")[0]])
    report = {
        "case": case,
        "method": method,
        "seed": seed,
        "seconds": time.perf_counter() - start,
        "history": learner.history,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report))
    return report


def score(report: dict) -> float:
    rows = report["history"][-5:]
    key = "success_rate" if report["case"].startswith("grid") else "primary_return"
    return float(np.mean([r[key] for r in rows]))


def interval(values: list[float]) -> tuple[float, float]:
    from scipy import stats

    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    args = parser.parse_args()
    jobs = [(c, m, s) for c in args.cases for m in METHODS for s in range(args.seeds)]
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        reports = list(pool.map(run, *zip(*jobs)))

    lines = [
        "# Behaviour alignment: learning how to use heuristic rewards",
        "",
        f"`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bilevel_alignment.py --workers {args.workers}` "
        f"({args.seeds} seeds; {platform.processor() or platform.machine()}, CPU). REINFORCE, 16 episodes an update; "
        f"grid {EPISODES['grid']} episodes, CartPole {EPISODES['cartpole']}. Score: the last 80 episodes' success "
        "rate (grid) or primary return (CartPole); mean with a 95% t-interval over seeds.",
        "",
        "| case | " + " | ".join(METHODS) + " | BARFI outer step (ms) |",
        "|---|" + "---|" * (len(METHODS) + 1),
    ]
    for case in args.cases:
        cells = []
        for method in METHODS:
            mean, half = interval([score(r) for r in reports if r["case"] == case and r["method"] == method])
            cells.append(f"{mean:.2f} ± {half:.2f}" if case.startswith("grid") else f"{mean:.0f} ± {half:.0f}")
        outer = [
            1e3 * np.mean([h["outer_seconds"] for h in r["history"]])
            for r in reports
            if r["case"] == case and r["method"] == "barfi"
        ]
        lines.append(f"| {case} | " + " | ".join(cells) + f" | {np.mean(outer):.0f} |")
    lines += ["", "Learned blend at the end (BARFI; mean over seeds of the batch-mean heuristic weight, discount):", ""]
    for case in args.cases:
        mine = [r for r in reports if r["case"] == case and r["method"] == "barfi"]
        weight = np.mean([r["history"][-1]["aux_weights"][0] for r in mine])
        gamma = np.mean([r["history"][-1]["gamma"] for r in mine])
        lines.append(f"- {case}: heuristic weight {weight:.2f} (from 1), discount {gamma:.3f} (from 0.99)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bilevel_alignment.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(args.cases), figsize=(4 * len(args.cases), 3.2), squeeze=False)
    for ax, case in zip(axes[0], args.cases):
        key = "success_rate" if case.startswith("grid") else "primary_return"
        for k, method in enumerate(METHODS):
            mine = [r for r in reports if r["case"] == case and r["method"] == method]
            x = [h["episodes"] for h in mine[0]["history"]]
            y = np.array([[h[key] for h in r["history"]] for r in mine])
            kernel = np.ones(5) / 5  # a trailing mean over 5 updates
            smooth = np.array([np.convolve(row, kernel, mode="valid") for row in y])
            x = x[len(kernel) - 1 :]
            ax.plot(x, smooth.mean(0), color=f"C{k}", label=method)
            ax.fill_between(x, np.percentile(smooth, 25, 0), np.percentile(smooth, 75, 0), color=f"C{k}", alpha=0.15)
        ax.set_title(case)
        ax.set_xlabel("episodes")
        ax.set_ylabel("success rate" if case.startswith("grid") else "return")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "bilevel_alignment.png", dpi=120)


if __name__ == "__main__":
    main()
