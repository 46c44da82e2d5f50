"""Offline preference learning on mixed-quality data: OPPO against BC, top-fraction BC, PT + IQL and the oracle.

Protocol (fixed before the first full run; a change reruns every learner and the report keeps both):

- Task and data: Pendulum-v1. ``rewarddesign.offline.generate_datasets`` makes the ``mixed``
  dataset (``--generate-only`` makes it alone; ``DATASET``): 10,000 transitions (50 episodes of
  200 steps) each of a uniformly random policy, the SB3 SAC policy that first reaches a normalised
  score of 40 (checked every 250 steps; medium) and SAC after 6,000 steps (expert), stored as the
  Minari dataset ``rewarddesign/pendulum/mixed-v0`` under ``--root``. Scores are normalised with
  fixed reference returns: -1220.9 (score 0) and -149.7 (score 100), the mean returns of the
  random data and of SAC's policy after 20,000 steps in a first generation. That first generation
  took SAC after 4,000 steps as its medium policy, which already scored 99: the data held no
  medium episodes, so the dataset was made again before any learner's run finished; a second
  try with a target score of 50 stopped at 3,500 steps with a check scoring 98 (SAC's Pendulum
  policy jumps from below 50 to expert within 250 steps), so the target is 40, which the
  3,250-step check (46) meets.
- Labels as in the paper: 500 pairs of 20-step segments (the paper's ``K = 20``), drawn uniformly
  inside episodes and paired at random, labelled by the scripted teacher (the segment with the
  higher true return wins; ties 0.5). The paper's scripted code compares returns over 200 steps from
  a segment's start, cut at the episode's end; on Pendulum (200-step episodes, every reward
  negative) that cut would make late segments win, so the teacher judges the segment itself.
  OPPO, top-fraction BC and PT + IQL see the same pairs (seeded by the run's seed).
- Learners (``LEARNERS``): OPPO in the paper's configuration (context encoded from the reconstructed
  window, the policy reading past states, past actions and a timestep embedding, the norm term
  ``(|z| - 1)^2`` and tied pairs dropped as the scripted-teacher reference code does;
  ``OPPO_PAPER``; its transformers narrower and shallower than the paper's, with a larger step
  size, to fit the budget: ``OPPO_SCALE``); BC on all data; BC on the top 25% of segments by
  wins; IQL on a Bradley-Terry reward model of the labels (PT + IQL); IQL on the true reward (the
  oracle).
- Budget: ``STEPS`` = 1,000 gradient steps for every learner, sized by a pilot to fit about 50
  core-minutes for the dataset and 5 learners x 10 seeds on one process (``--workers 1``) on a
  shared two-core machine; evaluation: 10 episodes on the true reward per seed (deterministic
  actions). The pilot (``--out`` elsewhere, seeds 0-1, not part of the results; stopped once
  sized): BC scored 46.3 and 31.8, the oracle 82.0 (seed 0), OPPO 35.8 (seed 0); per seed about
  10 s of CPU for BC, 25 s for IQL and 20 s for OPPO, at about a quarter of a core.
- Seeds: 0-9 for every learner.
- Statistics (``rewarddesign.bench.stats``, 2000 replicates, seed 0): per learner the IQM and the
  mean with stratified-bootstrap 95% intervals and the per-seed values; probabilities of
  improvement with their intervals.
- Discrimination first: the benchmark counts only where the oracle's mean interval lies above
  BC's (non-overlapping 95% intervals); if not, the budget or the dataset is changed (never a
  learner) and the report says so.
- Target (the paper's claim): OPPO above BC (the interval of ``P(OPPO > BC)`` above 0.5) and at
  least PT + IQL (``P(OPPO > PT + IQL) >= 0.5``). Reported as met or not met with the numbers.

Reproduce (one process; resumable, finished runs are skipped)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/offline_preferences_mixed.py --workers 1

Writes ``benchmarks/results/offline_preferences_mixed.md`` (table and verdicts) and
``offline_preferences_mixed.png`` (per-seed scores); each run's record lands in
``benchmarks/results/offline_preferences_mixed/runs/`` as it finishes. The D4RL-style Hopper and
HalfCheetah benchmark at full scale (for a GPU or a cluster) stays in
``benchmarks/offline_preferences.py --scale full``.
"""

from __future__ import annotations

import argparse
import os
import platform
from dataclasses import asdict
from pathlib import Path

import gymnasium as gym
import numpy as np

from rewarddesign.bench import Experiment, RunOutput, RunRecord, load_records, run_experiment, stats
from rewarddesign.offline import OPPOConfig, dataset_id, generate_datasets, load_dataset, train_offline

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "offline_preferences_mixed"
ENV_ID = "Pendulum-v1"
KIND = "mixed"
#: How the dataset is made (``generate_datasets``'s arguments).
DATASET = {
    "medium_score": 40.0,
    "check_every": 250,
    "medium_steps": 4_000,
    "expert_steps": 6_000,
    "n_transitions": 10_000,
    "ref_scores": (-1220.9, -149.7),
    "seed": 0,
}
#: Gradient steps of every learner (sized by the pilot, fixed before the full run).
STEPS = 1_000
SEGMENT_LENGTH = 20
PAIRS = 500
EVAL_EPISODES = 10
SEEDS = 10
#: OPPO as in the paper's scripted-teacher code: the context of the window itself, a policy reading past
#: states, actions and timesteps, the squared norm term, tied pairs dropped, ``z*`` free, ``z_dim`` 8.
OPPO_PAPER = {
    "context": "window",
    "policy_inputs": "history",
    "norm": "squared",
    "ties": "drop",
    "z_star_norm": None,
    "z_dim": 8,
    "max_timestep": 200,
}
#: OPPO's size and step size at this CPU scale (the paper: width 128, 3 layers, batch 64, step size 1e-4
#: with 10,000 warm-up steps, dropout 0.1, 100,000 steps on a GPU).
OPPO_SCALE = {"embed_dim": 32, "n_layers": 1, "n_heads": 1, "batch_size": 32, "lr": 1e-3, "dropout": 0.0}
LEARNERS = ("oppo", "bc", "bc-top", "iql-bt", "iql")
LABELS = {
    "oppo": "OPPO (paper configuration)",
    "bc": "BC (all data)",
    "bc-top": "BC (top 25% preferred)",
    "iql-bt": "PT + IQL (Bradley-Terry reward)",
    "iql": "IQL, true reward (oracle)",
}
SHORT = {"oppo": "OPPO", "bc": "BC", "bc-top": "BC top 25%", "iql-bt": "PT+IQL", "iql": "oracle"}


def generate(seed: int, root: str, device: str = "cpu") -> RunOutput:
    """Make the mixed dataset under ``root``."""
    generate_datasets(
        ENV_ID, kinds=(KIND,), **{**DATASET, "seed": seed}, root=root, device=device, overwrite=True, verbose=True
    )
    return RunOutput({}, data={"dataset": dataset_id(ENV_ID, KIND)})


def run(seed: int, algo: str, steps: int, root: str, work: str, device: str = "cpu") -> RunOutput:
    """Train ``algo`` on the mixed dataset with ``train_offline`` and evaluate it on the true reward."""
    identifier = dataset_id(ENV_ID, KIND)
    data = load_dataset(identifier, root=root)
    result = train_offline(
        algo,  # type: ignore[arg-type]
        data,
        steps=steps,
        n_pairs=PAIRS,
        segment_length=SEGMENT_LENGTH,
        label_horizon=SEGMENT_LENGTH,
        eval_episodes=EVAL_EPISODES,
        seed=seed,
        device=device,
        out=Path(work) / f"{algo}__{steps}__s{seed}",
        oppo_config=OPPOConfig(context_length=SEGMENT_LENGTH, **OPPO_PAPER, **OPPO_SCALE),  # type: ignore[arg-type]
        dataset=identifier,
    )
    return RunOutput({"score_mean": result.score_mean, "return_mean": result.return_mean}, data=asdict(result))


def experiment(args: argparse.Namespace, seeds: tuple[int, ...]) -> Experiment:
    """The runs of ``args.algos`` over ``seeds``."""
    root = Path(args.root)
    grid = tuple({"algo": algo, "steps": args.steps} for algo in args.algos)
    context = {"root": str(root), "work": str(root.parent / Path(args.out).name)}
    return Experiment(
        "offline_preferences_mixed",
        run,
        grid,
        seeds,
        definition=(DATASET, OPPO_PAPER, OPPO_SCALE, SEGMENT_LENGTH, PAIRS, EVAL_EPISODES),
        context=context,
    )


def report(args: argparse.Namespace, records: list[RunRecord]) -> None:
    """Table, verdicts and plot of the finished runs (those at ``args.steps``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores: dict[str, dict[int, float]] = {}
    seconds: dict[str, list[float]] = {}
    for r in sorted(records, key=lambda r: r.seed):
        if r.params["steps"] != args.steps:
            continue
        scores.setdefault(r.params["algo"], {})[r.seed] = r.metrics["score_mean"]
        seconds.setdefault(r.params["algo"], []).append(r.data["train_seconds"])
    present = [a for a in LEARNERS if a in scores]
    data_line = f"- {ENV_ID} {KIND}: not on this machine."
    try:
        data = load_dataset(dataset_id(ENV_ID, KIND), root=args.root)
        returns = data.episode_returns()
        episode_scores = data.normalized_score(returns)
        low, high = data.ref_scores or (float("nan"), float("nan"))
        data_line = (
            f"- {ENV_ID} {KIND}: {data.n_episodes} episodes, {len(data):,} transitions; reference returns "
            f"{low:.1f} (random, score 0) and {high:.1f} (expert, score 100); episode scores: random "
            f"{episode_scores[:50].mean():.1f}, medium {episode_scores[50:100].mean():.1f}, expert "
            f"{episode_scores[100:].mean():.1f}, all {episode_scores.mean():.1f}."
        )
    except FileNotFoundError:
        pass
    summaries = {a: stats.summarize_seeds(np.array(list(scores[a].values()))) for a in present}
    rows = [
        f"| {LABELS[a]} | {summaries[a].iqm.format(1)} | {summaries[a].mean.format(1)} | "
        f"{', '.join(f'{v:.1f}' for v in scores[a].values())} | {np.mean(seconds[a]):.0f} |"
        for a in present
    ]
    lines = [
        "# Offline preference learning on mixed-quality data (Pendulum-v1)",
        "",
        f"`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/offline_preferences_mixed.py --workers 1` "
        f"({platform.processor() or platform.machine()}, CPU). Protocol: the script's docstring. {args.steps:,} "
        f"gradient steps per learner; {PAIRS} pairs of {SEGMENT_LENGTH}-step segments labelled by their return "
        f"(scripted teacher); {EVAL_EPISODES} evaluation episodes per seed on the true reward. Scores normalised "
        "(0 random, 100 expert); IQM and mean over the seeds with stratified-bootstrap 95% intervals "
        "(`rewarddesign.bench.stats`, 2000 replicates).",
        "",
        data_line,
        "",
        "| learner | IQM | mean | per seed | train s |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ]

    def common(a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
        seeds = sorted(set(scores[a]) & set(scores[b]))
        return np.array([scores[a][s] for s in seeds]), np.array([scores[b][s] for s in seeds])

    def improvement(a: str, b: str) -> stats.Estimate:
        x, y = common(a, b)
        return stats.Estimate(*stats.improvement_estimate([x], [y], rng=0))

    if "iql" in present and "bc" in present:
        separated = summaries["iql"].mean.low > summaries["bc"].mean.high
        lines.append(
            f"Discrimination (oracle's mean interval above BC's): {'shown' if separated else 'not shown'}: "
            f"oracle {summaries['iql'].mean.format(1)}, BC {summaries['bc'].mean.format(1)}; "
            f"P(oracle > BC) = {improvement('iql', 'bc').format(2)}."
        )
        lines.append("")
    if all(a in present for a in ("oppo", "bc", "iql-bt")):
        over_bc, over_pt = improvement("oppo", "bc"), improvement("oppo", "iql-bt")
        met = over_bc.low > 0.5 and over_pt.value >= 0.5
        lines.append(
            f"Target (P(OPPO > BC) interval above 0.5 and P(OPPO > PT+IQL) >= 0.5): {'met' if met else 'not met'}: "
            f"P(OPPO > BC) = {over_bc.format(2)}, P(OPPO > PT+IQL) = {over_pt.format(2)}."
        )
        lines.append("")
    for a, b in (("oppo", "bc-top"), ("bc-top", "bc"), ("iql-bt", "bc"), ("iql", "iql-bt"), ("iql", "oppo")):
        if a in present and b in present:
            lines.append(f"- P({SHORT[a]} > {SHORT[b]}) = {improvement(a, b).format(2)}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "offline_preferences_mixed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, a in enumerate(present):
        values = np.array(list(scores[a].values()))
        summary = summaries[a].iqm
        ax.bar(i, summary.value, color="C0" if a == "oppo" else "C7", alpha=0.8)
        ax.errorbar(i, summary.value, [[summary.value - summary.low], [summary.high - summary.value]], color="k")
        ax.scatter(np.full(len(values), i) + 0.15, values, color="k", s=10, zorder=3)
    ax.set_xticks(range(len(present)), [SHORT[a] for a in present])
    ax.set_ylabel("normalised score (IQM, 95% CI; dots: seeds)")
    ax.set_title(f"{ENV_ID} mixed data, {args.steps:,} gradient steps, {args.seeds} seeds")
    fig.tight_layout()
    fig.savefig(RESULTS / "offline_preferences_mixed.png", dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--root", default=str(Path("runs") / "offline_datasets" / "mixed"), help="Minari dataset root")
    parser.add_argument("--algos", nargs="+", default=list(LEARNERS), choices=LEARNERS)
    parser.add_argument("--out", default=str(OUT), help="results directory of the runs")
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if not args.report_only:
        datasets = Experiment("offline_datasets_mixed", generate, ({},), (DATASET["seed"],), definition=(DATASET,),
                              context={"root": args.root})  # fmt: skip
        run_experiment(datasets, Path(args.root) / "generated", workers=1, device=args.device)
        if args.generate_only:
            return
        for seed in range(args.seeds):  # seed by seed, so that an interrupted run has every learner on its seeds
            run_experiment(experiment(args, (seed,)), args.out, workers=args.workers, device=args.device)
    report(args, load_records(args.out))


if __name__ == "__main__":
    os.environ.setdefault("MUJOCO_GL", "egl")
    gym.logger.min_level = 40
    main()
