"""Rewards from preferences on Pendulum: HERON against Bradley-Terry, the hand-weighted factor sum and the true reward.

Reproduce (about 20 minutes on 2 cores)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/preference_learning.py --workers 2

SAC, 6,000 steps, 5 seeds, on Pendulum-v1 with four rewards: ``heron`` (a reward model on
(obs, act) learned from HERON labels: angle, then angular velocity, then torque, all lower is
better, sigma 0.1; 400 comparisons of 25-step fragments over 4 rounds), ``bradley_terry`` (the
same loop with synthetic Bradley-Terry labels from the true reward, temperature 1, as many
comparisons), ``heuristic_sum`` (the factors hand-weighted 1, 0.5, 0.25) and ``ground_truth``
(the env's reward). The score is the true return of the final deterministic policy over 10
episodes. Target: HERON at least matches the heuristic sum and comes within 10% of the ground
truth. Runs are cached in ``benchmarks/results/preference_learning/``; writes
``benchmarks/results/preference_learning.md`` and ``.png``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "preference_learning"
METHODS = ("heron", "bradley_terry", "heuristic_sum", "ground_truth")
TIMESTEPS, COMPARISONS, ROUNDS = 6_000, 400, 4
SAC_KWARGS = {"learning_starts": 500}


def run(method: str, seed: int) -> dict:
    import torch
    from rewarddesign.envs.reward_factors import FactorWeightedReward

    from rewarddesign.preferences import HeronGatherer, PreferenceLearning, SyntheticGatherer
    from rewarddesign.train import evaluate, train

    torch.set_num_threads(1)
    path = OUT / f"{method}_s{seed}.json"
    if path.exists():
        return json.loads(path.read_text())
    start = time.perf_counter()
    curve: list[dict] = []
    if method in ("heron", "bradley_terry"):
        gatherer = (
            HeronGatherer(ranking=[0, 1, 2], signs=[-1, -1, -1], sigmas=[0.1, 0.1, 0.1])
            if method == "heron"
            else SyntheticGatherer(temperature=1.0, seed=seed)
        )
        learner = PreferenceLearning(
            "Pendulum-v1",
            gatherer,
            rounds=ROUNDS,
            episodes_per_round=8,
            device="cpu",
            seed=seed,
            algo_kwargs=SAC_KWARGS,
        ).train(TIMESTEPS, COMPARISONS)
        model, curve = learner.agent, learner.history
    else:
        wrappers = [lambda env: FactorWeightedReward(env, [1.0, 0.5, 0.25])] if method == "heuristic_sum" else []
        model = train(
            "Pendulum-v1", "sac", TIMESTEPS, seed=seed, device="cpu", wrappers=wrappers, algo_kwargs=SAC_KWARGS
        ).model
    mean, std = evaluate(model, "Pendulum-v1", n_episodes=10, seed=10_000 + seed)
    report = {"method": method, "seed": seed, "true_return": mean, "std": std, "seconds": time.perf_counter() - start}
    report["history"] = curve
    OUT.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report))
    return report


def main() -> None:
    from scipy import stats

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    jobs = [(m, s) for m in METHODS for s in range(args.seeds)]
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        reports = list(pool.map(run, *zip(*jobs)))
    lines = [
        "# Rewards from preferences on Pendulum",
        "",
        f"`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/preference_learning.py --workers {args.workers}` "
        f"({args.seeds} seeds; SAC, {TIMESTEPS:,} steps; {COMPARISONS} comparisons in {ROUNDS} rounds for the learned "
        f"rewards; {platform.processor() or platform.machine()}, CPU). True return of the final policy over 10 "
        "episodes; mean with a 95% t-interval over seeds.",
        "",
        "| reward | true return | per seed | wall time (s) |",
        "|---|---|---|---|",
    ]
    means = {}
    for method in METHODS:
        values = np.array([r["true_return"] for r in reports if r["method"] == method])
        half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
        means[method] = values.mean()
        seconds = np.mean([r["seconds"] for r in reports if r["method"] == method])
        per_seed = ", ".join(f"{v:.0f}" for v in values)
        lines.append(f"| {method} | {values.mean():.0f} ± {half:.0f} | {per_seed} | {seconds:.0f} |")
    gap = (means["heron"] - means["ground_truth"]) / abs(means["ground_truth"])
    lines += [
        "",
        f"HERON against the heuristic sum: {means['heron']:.0f} vs {means['heuristic_sum']:.0f}; HERON against the "
        f"ground truth: {100 * gap:+.0f}% of the ground truth's return magnitude (positive: HERON does better; "
        "target: no worse than -10%).",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "preference_learning.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for k, method in enumerate(("heron", "bradley_terry")):
        mine = [r for r in reports if r["method"] == method]
        x = [h["timesteps"] for h in mine[0]["history"]]
        y = np.array([[h["true_return"] for h in r["history"]] for r in mine])
        ax.plot(x, y.mean(0), color=f"C{k}", marker="o", label=method)
        ax.fill_between(x, y.min(0), y.max(0), color=f"C{k}", alpha=0.15)
    for k, method in enumerate(("heuristic_sum", "ground_truth"), start=2):
        ax.axhline(means[method], color=f"C{k}", linestyle="--", label=f"{method} (final)")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("true return")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "preference_learning.png", dpi=120)


if __name__ == "__main__":
    main()
