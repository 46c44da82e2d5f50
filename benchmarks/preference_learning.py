"""Rewards from preferences: HERON against Bradley-Terry, the hand-weighted factor sum and the true reward.

Reproduce (Pendulum about 20 minutes on 2 cores; MountainCarContinuous about 45 minutes)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/preference_learning.py --env Pendulum-v1 --workers 2
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/preference_learning.py --env MountainCarContinuous-v0 --workers 2

and, on a machine with a GPU and 16 cores (``--cuda-seeds 1``: seed 0 trains on CUDA, the others
on CPU cores, so the two devices are timed side by side)::

    OMP_NUM_THREADS=1 python3 \
        benchmarks/preference_learning.py --env HalfCheetah-v5 --seeds 3 --workers 12 --cuda-seeds 1

SAC on each env with four rewards: ``heron`` (a reward model on (obs, act) learned from HERON
labels: the env's factors ranked as in :data:`ENVS`, each with its own sign (signs indexed by
factor, see :func:`heron_gatherer`), sigma 0.1 each; 25-step fragments),
``bradley_terry`` (the same loop with synthetic Bradley-Terry labels from the true reward,
temperature 1, as many comparisons), ``heuristic_sum`` (the factors hand-weighted 1, 0.5, 0.25 by
rank) and ``ground_truth`` (the env's reward). The score is the true return of the final
deterministic policy over 10 episodes. Target (Pendulum): HERON at least matches the heuristic sum
and comes within 10% of the ground truth. Runs are cached in
``benchmarks/results/preference_learning/ENV/``; writes
``benchmarks/results/preference_learning_ENV.md`` and ``.png``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
METHODS = ("heron", "bradley_terry", "heuristic_sum", "ground_truth")


@dataclass(frozen=True)
class Config:
    """One env's benchmark settings: budget, HERON's ranking of the factors, SAC's settings."""

    timesteps: int
    comparisons: int
    rounds: int
    episodes_per_round: int
    ranking: tuple[int, ...]
    sac_kwargs: dict[str, Any] = field(default_factory=dict)


# SAC settings of MountainCarContinuous follow the RL Baselines3 Zoo (gSDE for exploration).
_MOUNTAIN_CAR_SAC = {
    "learning_rate": 3e-4,
    "buffer_size": 50_000,
    "batch_size": 512,
    "ent_coef": 0.1,
    "train_freq": 32,
    "gradient_steps": 32,
    "gamma": 0.9999,
    "tau": 0.01,
    "learning_starts": 0,
    "use_sde": True,
    "policy_kwargs": {"log_std_init": -3.67, "net_arch": [64, 64]},
}

ENVS: dict[str, Config] = {
    "Pendulum-v1": Config(6_000, 400, 4, 8, (0, 1, 2), {"learning_starts": 500}),
    "MountainCarContinuous-v0": Config(20_000, 400, 5, 4, (0, 1), _MOUNTAIN_CAR_SAC),
    "HalfCheetah-v5": Config(25_000, 1_000, 5, 4, (0, 1), {"learning_starts": 2_000}),
}


def heron_gatherer(env_id: str) -> Any:
    """HERON's labeller for ``env_id``: the factors ranked as in :data:`ENVS`, sigma 0.1 per level.

    The signs are the env's per-factor signs, indexed by factor as ``HeronGatherer`` takes them
    (not reordered by the ranking).
    """
    from rewarddesign.envs.reward_factors import REWARD_FACTORS

    from rewarddesign.preferences import HeronGatherer

    signs = REWARD_FACTORS[env_id].signs
    return HeronGatherer(ranking=list(ENVS[env_id].ranking), signs=list(signs), sigmas=[0.1] * len(signs))


def run(env_id: str, method: str, seed: int, device: str, timesteps: int) -> dict:
    import gymnasium as gym
    import torch
    from rewarddesign.envs.reward_factors import REWARD_FACTORS, with_reward_factors

    from rewarddesign.factors import FactorWeightedReward
    from rewarddesign.preferences import PreferenceLearning, SyntheticGatherer
    from rewarddesign.train import evaluate, train

    torch.set_num_threads(1)
    config = ENVS[env_id]
    path = RESULTS / "preference_learning" / env_id / f"{method}_s{seed}.json"
    if path.exists():
        cached = json.loads(path.read_text())
        return {"device": "cpu", "timesteps": timesteps, **cached}  # the first Pendulum runs lack these keys
    signs = REWARD_FACTORS[env_id].signs
    start = time.perf_counter()
    curve: list[dict] = []
    if method in ("heron", "bradley_terry"):
        gatherer = heron_gatherer(env_id) if method == "heron" else SyntheticGatherer(temperature=1.0, seed=seed)
        learner = PreferenceLearning(
            lambda: with_reward_factors(gym.make(env_id)),
            gatherer,
            rounds=config.rounds,
            episodes_per_round=config.episodes_per_round,
            device=device,
            seed=seed,
            algo_kwargs=config.sac_kwargs,
        ).train(timesteps, config.comparisons)
        model, curve = learner.agent, learner.history
    else:
        weights = np.zeros(len(signs))
        weights[list(config.ranking)] = 0.5 ** np.arange(len(signs))  # 1, 0.5, 0.25 by rank
        wrappers = (
            [lambda env: FactorWeightedReward(with_reward_factors(env), weights.tolist())]
            if method == "heuristic_sum"
            else []
        )
        model = train(
            env_id, "sac", timesteps, seed=seed, device=device, wrappers=wrappers, algo_kwargs=config.sac_kwargs
        ).model
    seconds = time.perf_counter() - start
    mean, std = evaluate(model, env_id, n_episodes=10, seed=10_000 + seed)
    report = {
        "env": env_id,
        "method": method,
        "seed": seed,
        "true_return": mean,
        "std": std,
        "seconds": seconds,
        "timesteps": timesteps,
        "device": str(model.device),
        "history": curve,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report))
    return report


def main() -> None:
    from scipy import stats

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="Pendulum-v1", choices=sorted(ENVS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timesteps", type=int, default=None, help="override the env's budget")
    parser.add_argument("--cuda-seeds", type=int, default=0, help="train the first N seeds on CUDA, the rest on CPU")
    parser.add_argument("--report-only", action="store_true", help="tabulate the finished runs, train nothing")
    args = parser.parse_args()
    env_id, config = args.env, ENVS[args.env]
    timesteps = args.timesteps or config.timesteps
    jobs = [
        (env_id, m, s, "cuda" if s < args.cuda_seeds else "cpu", timesteps) for s in range(args.seeds) for m in METHODS
    ]
    if args.report_only:  # the table of the runs that finished (a sweep cut short on a lent machine, say)
        found = [RESULTS / "preference_learning" / env_id / f"{m}_s{s}.json" for _, m, s, _, _ in jobs]
        reports = [json.loads(path.read_text()) for path in found if path.exists()]
        reports = [{"device": "cpu", "timesteps": timesteps, **r} for r in reports]
    else:
        with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            reports = list(pool.map(run, *zip(*jobs)))
    devices = sorted({r["device"] for r in reports})
    lines = [
        f"# Rewards from preferences on {env_id}",
        "",
        f"`OMP_NUM_THREADS=1 python benchmarks/preference_learning.py --env {env_id} --seeds {args.seeds} "
        f"--workers {args.workers}"
        + (f" --cuda-seeds {args.cuda_seeds}" if args.cuda_seeds else "")
        + (" --report-only" if args.report_only else "")
        + f"` ({len({r['seed'] for r in reports})} seeds finished; SAC, {timesteps:,} steps; "
        f"{config.comparisons} comparisons in {config.rounds} rounds for the learned rewards; "
        f"{platform.processor() or platform.machine()}; devices: {', '.join(devices)}). "
        "True return of the final policy over 10 episodes; mean with a 95% t-interval over seeds.",
        "",
        "| reward | true return | per seed | wall time (s) | steps/s by device |",
        "|---|---|---|---|---|",
    ]
    means = {}
    for method in METHODS:
        mine = [r for r in reports if r["method"] == method]
        if not mine:
            continue
        values = np.array([r["true_return"] for r in mine])
        half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0
        means[method] = values.mean()
        seconds = np.mean([r["seconds"] for r in mine])
        per_seed = ", ".join(f"{v:.0f}" for v in values)
        speed = ", ".join(
            f"{d}: {np.mean([r['timesteps'] / r['seconds'] for r in mine if r['device'] == d]):.0f}"
            for d in sorted({r["device"] for r in mine})
        )
        lines.append(f"| {method} | {values.mean():.0f} ± {half:.0f} | {per_seed} | {seconds:.0f} | {speed} |")
    gap = (means["heron"] - means["ground_truth"]) / abs(means["ground_truth"])
    lines += [
        "",
        f"HERON against the heuristic sum: {means['heron']:.0f} vs {means['heuristic_sum']:.0f}; HERON against the "
        f"ground truth: {100 * gap:+.0f}% of the ground truth's return magnitude (positive: HERON does better).",
        "Steps/s count the agent's training steps over the run's wall time (reward learning and its rollouts "
        "included).",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"preference_learning_{env_id}.md").write_text("\n".join(lines) + "\n")
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
    ax.set_title(env_id)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("true return")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / f"preference_learning_{env_id}.png", dpi=120)


if __name__ == "__main__":
    main()
