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
and comes within 10% of the ground truth. The table gives the mean over seeds with its
stratified-bootstrap 95% interval (``rewarddesign.bench.stats``, 2000 replicates, seed 0). Runs go
through ``rewarddesign.bench.run_experiment``: each run's record lands in
``benchmarks/results/preference_learning/ENV/runs/`` the moment it finishes (a rerun skips
finished runs; ``--smoke`` runs two tiny runs into a temporary directory); writes
``benchmarks/results/preference_learning_ENV.md`` and ``.png``. With ``--cuda-seeds N`` the first
N seeds run on CUDA first, then the others on CPU processes.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rewarddesign.bench import Experiment, RunOutput, RunRecord, run_experiment, stats
from rewarddesign.envs.reward_factors import REWARD_FACTORS, with_reward_factors
from rewarddesign.factors import FactorWeightedReward
from rewarddesign.preferences import HeronGatherer, PreferenceLearning, SyntheticGatherer
from rewarddesign.train import evaluate, train

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
MOUNTAIN_CAR_SAC = {
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
    "MountainCarContinuous-v0": Config(20_000, 400, 5, 4, (0, 1), MOUNTAIN_CAR_SAC),
    "HalfCheetah-v5": Config(25_000, 1_000, 5, 4, (0, 1), {"learning_starts": 2_000}),
}


def heron_gatherer(env_id: str) -> HeronGatherer:
    """HERON's labeller for ``env_id``: the factors ranked as in :data:`ENVS`, sigma 0.1 per level.

    The signs are the env's per-factor signs, indexed by factor as ``HeronGatherer`` takes them
    (not reordered by the ranking).
    """
    signs = REWARD_FACTORS[env_id].signs
    return HeronGatherer(ranking=list(ENVS[env_id].ranking), signs=list(signs), sigmas=[0.1] * len(signs))


def run(seed: int, env: str, method: str, timesteps: int, device: str = "cpu") -> RunOutput:
    """One SAC run on ``method``'s reward: the final policy's true return and, for the learned
    rewards, the history of the preference-learning rounds."""
    config = ENVS[env]
    signs = REWARD_FACTORS[env].signs
    curve: list[dict] = []
    if method in ("heron", "bradley_terry"):
        gatherer = heron_gatherer(env) if method == "heron" else SyntheticGatherer(temperature=1.0, seed=seed)
        learner = PreferenceLearning(
            lambda: with_reward_factors(gym.make(env)),
            gatherer,
            reward_inputs="obs_act",
            fragment_length=25,
            rounds=config.rounds,
            episodes_per_round=config.episodes_per_round,
            device=device,
            seed=seed,
            algo_kwargs=config.sac_kwargs,
        ).train(timesteps, config.comparisons)
        model, curve = learner.agent, [asdict(row) for row in learner.history]
    else:
        weights = np.zeros(len(signs))
        weights[list(config.ranking)] = 0.5 ** np.arange(len(signs))  # 1, 0.5, 0.25 by rank
        wrappers = (
            [lambda e: FactorWeightedReward(with_reward_factors(e), weights.tolist())]
            if method == "heuristic_sum"
            else []
        )
        model = train(
            env, "sac", timesteps, seed=seed, device=device, wrappers=wrappers, algo_kwargs=config.sac_kwargs
        ).model
    evaluation = evaluate(model, env, n_episodes=10, seed=10_000 + seed)
    return RunOutput(
        {"true_return": evaluation.mean, "std": evaluation.std}, data={"device": str(model.device), "history": curve}
    )


def experiment(env: str, seeds: int, timesteps: int, methods: tuple[str, ...] = METHODS) -> Experiment:
    """The benchmark's runs on ``env``; the fingerprint covers the env's configuration and the rewards' definitions."""
    grid = tuple({"env": env, "method": method, "timesteps": timesteps} for method in methods)
    return Experiment(
        "preference_learning", run, grid, tuple(range(seeds)), definition=(heron_gatherer, ENVS[env], Config)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--env", default="Pendulum-v1", choices=sorted(ENVS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timesteps", type=int, default=None, help="override the env's budget")
    parser.add_argument("--cuda-seeds", type=int, default=0, help="train the first N seeds on CUDA, the rest on CPU")
    parser.add_argument("--report-only", action="store_true", help="tabulate the finished runs, train nothing")
    parser.add_argument("--smoke", action="store_true", help="two 200-step Pendulum runs into a temporary directory")
    args = parser.parse_args()
    if args.smoke:
        tiny = experiment("Pendulum-v1", 1, 200, ("ground_truth", "heuristic_sum"))
        with tempfile.TemporaryDirectory() as out:
            records = run_experiment(tiny, out, progress=False, device="cpu")
        print("smoke runs:", ", ".join(f"{r.key}: {r.metrics['true_return']:.0f}" for r in records))
        return
    env_id, config = args.env, ENVS[args.env]
    timesteps = args.timesteps or config.timesteps
    full = experiment(env_id, args.seeds, timesteps)
    out = RESULTS / "preference_learning" / env_id
    if args.report_only:  # the table of the runs that finished (a sweep cut short on a lent machine, say)
        paths = [out / "runs" / f"{run.key}.json" for run in full.runs()]
        reports = [as_report(RunRecord.from_json(path.read_text()), timesteps) for path in paths if path.exists()]
    else:
        cuda = [s for s in range(args.seeds) if s < args.cuda_seeds]
        if cuda:
            run_experiment(full.subset(seeds=cuda), out, device="cuda")
        reports = [as_report(r, timesteps) for r in run_experiment(full, out, workers=args.workers, device="cpu")]
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
        "True return of the final policy over 10 episodes; mean over seeds with its stratified-bootstrap 95% "
        "interval (`rewarddesign.bench.stats`, 2000 replicates).",
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
        means[method] = values.mean()
        seconds = np.mean([r["seconds"] for r in mine])
        per_seed = ", ".join(f"{v:.0f}" for v in values)
        speed = ", ".join(
            f"{d}: {np.mean([r['timesteps'] / r['seconds'] for r in mine if r['device'] == d]):.0f}"
            for d in sorted({r["device"] for r in mine})
        )
        lines.append(
            f"| {method} | {stats.summarize_seeds(values).mean.format(0)} | {per_seed} | {seconds:.0f} | {speed} |"
        )
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


def as_report(record: RunRecord, timesteps: int) -> dict[str, Any]:
    """A run record as the table and plot read it."""
    return {
        "method": record.params["method"],
        "seed": record.seed,
        "true_return": record.metrics["true_return"],
        "seconds": record.seconds,
        "timesteps": timesteps,
        "device": record.data["device"],
        "history": record.data["history"],
    }


if __name__ == "__main__":
    main()
