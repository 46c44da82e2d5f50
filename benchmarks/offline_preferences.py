"""Offline preference learning: OPPO against behaviour cloning, top-fraction BC and IQL, on datasets made here.

Reproduce (reduced CPU scale, about 160 minutes on 2 cores for every learner, the datasets' 30 included;
one OPPO variant with the baselines, ``--algos oppo-episode-unit bc bc-top iql-bt iql``, about 70;
``--algos`` picks learners, ``--envs`` datasets, ``--seeds`` how many, ``--label-horizon`` the labels;
resumable: finished runs are skipped; a new dataset needs its results directory cleared)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/offline_preferences.py --workers 2

The committed table adds seeds to that run (100-step labels): ``--seeds 5 --envs HalfCheetah-v5
--algos oppo-episode bc bc-top``, ``--seeds 5 --algos oppo oppo-episode bc-top iql-bt iql`` and
``--seeds 8 --algos oppo bc bc-top`` (about 40 minutes each); its 20-step rows come from
``--label-horizon 20`` (with ``--seeds 5 --envs Hopper-v5`` for Hopper).

Full scale (where a GPU is lent; the datasets of the reduced scale are not reused)::

    python benchmarks/offline_preferences.py --scale full --device cuda --workers 4

Datasets (made by ``rewarddesign.offline.generate_datasets`` on the first run, stored as Minari
datasets under ``--root``): Hopper-v5 ``medium-replay`` (every episode SAC saw while training to the
medium policy) and HalfCheetah-v5 ``medium`` (the medium policy's own episodes). For each dataset,
algorithm and seed, :func:`rewarddesign.offline.pipeline.train_offline` labels ``--pairs`` random
pairs of ``--segment-length``-step segments by their return over ``--label-horizon`` steps from the
segment's start (the scripted teacher; past a fall the reward is zero), trains, and evaluates on
the true reward. Learners: OPPO (the paper's context, encoded from the window itself; the context
of another window of the episode, with ``z*`` free or held on the unit sphere; the window before
or after: ``OPPO_VARIANTS``) and top-fraction BC see only the labels; BC sees neither labels nor
rewards; IQL (TorchRL) learns from the true reward (an oracle) and from a Bradley-Terry reward
model of the same labels. Scores are D4RL-normalised (0 random, 100 expert).

Runs go through ``rewarddesign.bench.run_experiment`` (the datasets too, as the experiment
``offline_datasets`` stored beside them under ``--root``): each run's record (scores, the
learner's result) lands in ``benchmarks/results/offline_preferences/runs/`` the moment it
finishes, and a rerun skips finished runs; ``train_offline``'s own files (policy, checkpoints) go
to ``runs/offline_preferences/<run>/`` beside the dataset root. Writes
``benchmarks/results/offline_preferences.md`` (table; every label horizon found) and
``offline_preferences.png`` (plot). Scores over seeds: the mean with its stratified-bootstrap 95%
interval; OPPO against BC and top-fraction BC: the probability of improvement ``P(OPPO > X)`` with
its interval (``rewarddesign.bench.stats``, 2000 replicates, seed 0). Target: OPPO above BC on both
datasets and not below top-fraction BC.
"""

from __future__ import annotations

import argparse
import os
import platform
from dataclasses import asdict
from pathlib import Path

import gymnasium as gym
import numpy as np
from scipy.stats import spearmanr

from rewarddesign.bench import Experiment, RunOutput, RunRecord, load_records, run_experiment, stats
from rewarddesign.envs import with_reward_factors
from rewarddesign.offline import (
    OfflineData,
    OPPOConfig,
    dataset_id,
    generate_datasets,
    horizon_segments,
    load_dataset,
    segment_starts,
    train_offline,
)

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "offline_preferences"
ALGOS = ("oppo", "oppo-episode", "oppo-episode-unit", "oppo-adjacent", "bc", "bc-top", "iql-bt", "iql")
#: OPPO's variants: the benchmark's learner name -> settings of :class:`OPPOConfig` beyond the scale's.
OPPO_VARIANTS = {
    "oppo": {"context": "window"},
    "oppo-episode": {"context": "episode"},
    "oppo-episode-unit": {"context": "episode", "z_star_norm": 1.0},
    "oppo-adjacent": {"context": "adjacent"},
}
#: How the hand-written reading at the end of the report starts (kept when the report is rewritten).
READING = "Reading it (written by hand"
#: Learners that see the labels (their results depend on the label horizon).
LABELLED = (*OPPO_VARIANTS, "bc-top", "iql-bt")
LABELS = {
    "oppo": "OPPO (paper: context of the window itself)",
    "oppo-episode": "OPPO, context of another window of the episode",
    "oppo-episode-unit": "OPPO, episode context, z* on the unit sphere",
    "oppo-adjacent": "OPPO, context of the window before or after",
    "bc": "BC (all data)",
    "bc-top": "BC (top 25% preferred)",
    "iql-bt": "IQL, Bradley-Terry reward",
    "iql": "IQL, true reward (oracle)",
}
SHORT = {
    "oppo": "OPPO",
    "oppo-episode": "OPPO (ep. ctx)",
    "oppo-episode-unit": "OPPO (ep. ctx, |z*|=1)",
    "oppo-adjacent": "OPPO (adj. ctx)",
    "bc": "BC",
    "bc-top": "BC top 25%",
    "iql-bt": "IQL (BT)",
    "iql": "IQL (true r)",
}
#: (env, dataset kind) pairs of the benchmark.
DATASETS = (("Hopper-v5", "medium-replay"), ("HalfCheetah-v5", "medium"))
#: Per scale: how SAC makes each dataset's medium policy (``medium_score``: the normalised score it
#: must reach, SAC stopping at the first check that does, D4RL's medium policies scoring about a
#: third of the expert's; ``medium_steps``: the most SAC steps, or the fixed budget without a score),
#: transitions of the rolled-out data, gradient steps per learner (the same for all), OPPO settings
#: beyond the defaults (the reduced scale uses a 10x larger step size and no dropout, which CPU pays
#: 20% of a step for; a probe on Hopper reached a lower reconstruction loss with it and the same score).
#: On two CPU cores SAC makes ~45 steps/s with two runs side by side: HalfCheetah's medium level lies
#: beyond 150,000 steps (score 2.3 after 30,000), so the reduced scale keeps its 40,000-step policy.
SCALES = {
    "reduced": {
        "medium": {
            "Hopper-v5": {"medium_score": 33.0, "medium_steps": 150_000},
            "HalfCheetah-v5": {"medium_score": None, "medium_steps": 40_000},
        },
        "n_transitions": 40_000,
        "steps": {"default": 5_000},
        "oppo": {"lr": 1e-3, "dropout": 0.0},
    },
    "full": {
        "medium": {env_id: {"medium_score": 33.0, "medium_steps": 1_000_000} for env_id, _ in DATASETS},
        "n_transitions": 1_000_000,
        "steps": {"oppo": 100_000, "default": 500_000},  # OPPO: the paper's 100,000
        "oppo": {},
    },
}


def generate(seed: int, env: str, kind: str, scale: str, root: str, device: str = "cpu") -> RunOutput:
    """Make one dataset under ``root`` (its medium policy by SAC, then the rolled-out data)."""
    settings = SCALES[scale]
    generate_datasets(
        lambda: with_reward_factors(gym.make(env)),  # the datasets keep the reward factors for HERON labels
        kinds=(kind,),
        **settings["medium"][env],
        n_transitions=settings["n_transitions"],
        seed=seed,
        root=root,
        device=device,
        overwrite=True,
        verbose=True,
    )
    return RunOutput({}, data={"dataset": dataset_id(env, kind)})


def run(
    seed: int,
    dataset: str,
    algo: str,
    label_horizon: int | None,
    segment_length: int,
    pairs: int,
    eval_episodes: int,
    scale: str,
    root: str,
    work: str,
    device: str = "cpu",
) -> RunOutput:
    """Train ``algo`` on ``dataset`` (``<env>-<kind>``) with ``train_offline`` and evaluate it on the true reward.

    ``label_horizon`` is None for learners that see no labels.
    """
    env_id, kind = next((e, k) for e, k in DATASETS if f"{e}-{k}" == dataset)
    identifier = dataset_id(env_id, kind)
    data = load_dataset(identifier, root=root)
    steps = SCALES[scale]["steps"]
    variant = OPPO_VARIANTS.get(algo, {})
    oppo_config = OPPOConfig(context_length=segment_length, **SCALES[scale]["oppo"], **variant)
    horizon = label_horizon or segment_length
    result = train_offline(
        "oppo" if algo in OPPO_VARIANTS else algo,
        data,
        steps=steps.get(algo, steps["default"]),
        n_pairs=pairs,
        segment_length=segment_length,
        label_horizon=horizon,
        eval_episodes=eval_episodes,
        seed=seed,
        device=device,
        out=work_dir(work, dataset, algo, horizon, seed),
        oppo_config=oppo_config,
        dataset=identifier,
    )
    metrics = {"score_mean": result.score_mean, "return_mean": result.return_mean}
    return RunOutput(metrics, data=asdict(result))


def work_dir(work: str | Path, dataset: str, algo: str, horizon: int, seed: int) -> Path:
    """Where ``train_offline`` keeps a run's own files (its policy, checkpoints) under ``work``."""
    return Path(work) / f"{dataset}__{algo}__h{horizon}__s{seed}"


#: ``train_offline``'s working directories of the reduced scale (beside the default dataset root).
WORK = Path("runs") / "offline_preferences" / "reduced"


def experiment(args: argparse.Namespace, envs: list[str], algos: list[str], seeds: int) -> Experiment:
    """The runs of ``algos`` on the datasets of ``envs`` at ``args.label_horizon``; the fingerprint covers the
    scales' settings and OPPO's variants."""
    grid = tuple(
        {
            "dataset": f"{env}-{kind}",
            "algo": algo,
            "label_horizon": args.label_horizon if algo in LABELLED else None,
            "segment_length": args.segment_length,
            "pairs": args.pairs,
            "eval_episodes": args.eval_episodes,
            "scale": args.scale,
        }
        for env, kind in DATASETS
        if env in envs
        for algo in algos
    )
    root = Path(args.root)
    context = {"root": str(root / args.scale), "work": str(root.parent / "offline_preferences" / args.scale)}
    return Experiment(
        "offline_preferences", run, grid, tuple(range(seeds)), definition=(SCALES, OPPO_VARIANTS), context=context
    )


def dataset_lines(args: argparse.Namespace, previous: str = "") -> list[str]:
    """One line per dataset: how its medium policy was made, and what the data holds (for a dataset
    not on this machine, its line in ``previous``, the report being rewritten)."""
    lines = []
    for env_id, kind in DATASETS:
        medium = SCALES[args.scale]["medium"][env_id]
        how = f"SAC {medium['medium_steps']:,} steps"
        if medium["medium_score"] is not None:
            how = f"SAC to a normalised score of {medium['medium_score']:g}, at most {medium['medium_steps']:,} steps"
        try:
            data = load_dataset(dataset_id(env_id, kind), root=Path(args.root) / args.scale)
        except FileNotFoundError:  # not on this machine: the line of the committed report, if it has one
            kept = [line for line in previous.splitlines() if line.startswith(f"- {env_id} {kind}: ")]
            lines.append(kept[0] if kept else f"- {env_id} {kind}: {how}; not made yet.")
            continue
        scores = data.normalized_score(data.episode_returns())
        seen = []
        for horizon in sorted({args.segment_length, args.label_horizon}):
            rho, top, every = label_alignment(data, args.segment_length, horizon)
            seen.append(
                f"over {horizon} steps, Spearman {rho:.2f}, the top quarter of segments from episodes scoring "
                f"{top:.1f} (all segments: {every:.1f})"
            )
        lines.append(
            f"- {env_id} {kind}: {how}; {data.n_episodes} episodes, {len(data):,} transitions, "
            f"episode scores mean {scores.mean():.1f}, best {scores.max():.1f}. What the labels see, a "
            f"segment's return against its episode's score: {'; '.join(seen)}."
        )
    return lines


def label_alignment(
    data: OfflineData, length: int, horizon: int, n: int = 4000, seed: int = 0
) -> tuple[float, float, float]:
    """How well a segment's return over the label horizon (what the scripted teacher compares) tracks
    its episode's score.

    Returns the Spearman correlation of the two over ``n`` segments drawn as the benchmark draws
    them, and the mean episode score of the top quarter of segments by return and of all of them.
    """
    first = segment_starts(data, length, n, np.random.default_rng(seed))
    episodes = data.episode_of(first)
    returns = horizon_segments(data, first, horizon).returns()
    episode_scores = data.normalized_score(data.episode_returns()[episodes])
    top = returns >= np.quantile(returns, 0.75)
    return float(spearmanr(returns, episode_scores)[0]), float(episode_scores[top].mean()), float(episode_scores.mean())


def report(args: argparse.Namespace, records: list[RunRecord]) -> None:
    """The table, the verdicts and the plot of the finished runs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [r for r in records if r.params["segment_length"] == args.segment_length]

    def group(record: RunRecord) -> tuple[str, str, int | None]:
        horizon = record.params["label_horizon"]
        return record.params["dataset"], record.params["algo"], horizon

    by_seed: dict[tuple[str, str, int | None], dict[int, float]] = {}
    by_group: dict[tuple[str, str, int | None], list[RunRecord]] = {}
    for r in sorted(records, key=lambda r: r.seed):
        by_seed.setdefault(group(r), {})[r.seed] = r.metrics["score_mean"]
        by_group.setdefault(group(r), []).append(r)
    order = {(f"{e}-{k}", a): i for i, ((e, k), a) in enumerate((d, a) for d in DATASETS for a in ALGOS)}
    ordered = sorted(by_seed, key=lambda key: (order[key[:2]], key[2] or 0))
    rows = []
    for key in ordered:
        name, algo, horizon = key
        mine = by_group[key]
        values = np.array(list(by_seed[key].values()))
        seconds = np.mean([r.data["train_seconds"] for r in mine])
        labels = f"{horizon}" if algo in LABELLED else "-"
        rows.append(
            f"| {name} | {LABELS[algo]} | {labels} | {stats.summarize_seeds(values).mean.format(1)} | "
            f"{', '.join(f'{v:.1f}' for v in values)} | {mine[0].data['steps']:,} | {seconds:.0f} | "
            f"{mine[0].data['device']} |"
        )
    scale = SCALES[args.scale]
    lines = [
        "# Offline preference learning: OPPO and baselines",
        "",
        f"`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/offline_preferences.py --scale {args.scale}` "
        f"({platform.processor() or platform.machine()}). {args.pairs} segment pairs "
        f"of {args.segment_length} steps labelled by their return (scripted teacher) over the label horizon (steps "
        "from the segment's start, past its end and past a fall, which counts as zero reward: column 'labels'); "
        "evaluation "
        f"{args.eval_episodes} episodes on the true reward per seed. Scores: D4RL-normalised (0 random, 100 expert), "
        "mean over the seeds run with its stratified-bootstrap 95% interval (`rewarddesign.bench.stats`; the "
        "per-seed column; verdicts compare the seeds three learners share).",
        "",
        f"Datasets made here by `generate_datasets` (SB3 SAC; medium data {scale['n_transitions']:,} transitions):",
        "",
        *dataset_lines(
            args,
            (RESULTS / "offline_preferences.md").read_text() if (RESULTS / "offline_preferences.md").exists() else "",
        ),
        "",
        "| dataset | learner | labels | score | per seed | gradient steps | train s | device |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    for env_id, kind in DATASETS:
        name = f"{env_id}-{kind}"
        for variant in OPPO_VARIANTS:
            for horizon in sorted(h for d, a, h in by_seed if d == name and a == variant):
                keys = ((variant, horizon), ("bc", None), ("bc-top", horizon))
                if not all((name, *key) in by_seed for key in keys):
                    continue
                # compared on the seeds all three have
                seeds = sorted(set.intersection(*(set(by_seed[(name, *key)]) for key in keys)))
                oppo, bc, top = (np.array([by_seed[(name, *key)][s] for s in seeds]) for key in keys)
                verdict = "met" if oppo.mean() > bc.mean() and oppo.mean() >= top.mean() else "not met"
                over_bc = stats.Estimate(*stats.improvement_estimate([oppo], [bc], rng=0)).format(2)
                over_top = stats.Estimate(*stats.improvement_estimate([oppo], [top], rng=0)).format(2)
                lines.append("")
                lines.append(
                    f"{name}, {horizon}-step labels, {len(seeds)} seeds: {SHORT[variant]} {oppo.mean():.1f}, BC "
                    f"{bc.mean():.1f}, top-fraction BC {top.mean():.1f}: target (OPPO > BC and >= top-fraction "
                    f"BC) {verdict} (P(OPPO > BC) = {over_bc}, P(OPPO > top-fraction BC) = {over_top})."
                )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "offline_preferences.md"
    # a hand-written reading at the end of the report survives its regeneration
    old = out.read_text() if out.exists() else ""
    reading = old[old.find(READING) :] if READING in old else ""
    out.write_text("\n".join(lines) + "\n" + (f"\n{reading}" if reading else ""))
    print("\n".join(lines))

    fig, axes = plt.subplots(1, len(DATASETS), figsize=(7 * len(DATASETS), 4.2), squeeze=False)
    for ax, (env_id, kind) in zip(axes[0], DATASETS):
        name = f"{env_id}-{kind}"
        present = [key[1:] for key in ordered if key[0] == name]
        for i, (algo, horizon) in enumerate(present):
            values = np.array(list(by_seed[name, algo, horizon].values()))
            ax.bar(i, values.mean(), color="C0" if algo in OPPO_VARIANTS else "C7", alpha=0.8)
            ax.scatter(np.full(len(values), i), values, color="k", s=12, zorder=3)
        ticks = [SHORT[a] + (f"\n{h}-step" if a in LABELLED else "") for a, h in present]
        ax.set_xticks(range(len(present)), ticks, fontsize=6, rotation=60)
        ax.set_title(name)
        ax.set_ylabel("normalised score")
    fig.tight_layout()
    fig.savefig(RESULTS / "offline_preferences.png", dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="reduced")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--segment-length", type=int, default=20)
    parser.add_argument("--label-horizon", type=int, default=100, help="steps from a segment's start its label judges")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--root", default=str(Path("runs") / "offline_datasets"), help="Minari dataset root")
    parser.add_argument("--algos", nargs="+", default=list(ALGOS), choices=ALGOS)
    parser.add_argument("--envs", nargs="+", default=[e for e, _ in DATASETS], choices=[e for e, _ in DATASETS])
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if not args.report_only:
        root = Path(args.root) / args.scale
        datasets = Experiment(
            "offline_datasets",
            generate,
            tuple({"env": e, "kind": k, "scale": args.scale} for e, k in DATASETS),
            (0,),
            definition=(SCALES,),
            context={"root": str(root)},
        )
        run_experiment(datasets, root / "generated", workers=args.workers, device=args.device)
        run_experiment(
            experiment(args, args.envs, args.algos, args.seeds), OUT, workers=args.workers, device=args.device
        )
    report(args, load_records(OUT))


if __name__ == "__main__":
    os.environ.setdefault("MUJOCO_GL", "egl")
    main()
