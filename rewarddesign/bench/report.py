"""Reports of a sweep: per-task tables, aggregates with bootstrap intervals, learning curves and profiles.

:func:`report` reads a results directory (``runs/*.csv``) and writes ``table.md`` (per env and
design: final true return, area under the curve, steps to solve), ``aggregates.md`` (across envs,
on normalised scores: IQM, mean, median and optimality gap with stratified-bootstrap 95%
intervals, and the probability that each design improves on the baseline), ``per_env.md`` (per
env and design: the interquartile mean of the normalised final score with its bootstrap 95%
interval, so that a baseline's level can be read task by task), ``curves.png`` (learning curves)
and ``profiles.png`` (performance profiles). Scores are normalised per env by
the suite's reference scores where it has them, else by the lowest and highest final return
found in the results for that env.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rewarddesign.bench import stats
from rewarddesign.bench.catalogue import SUITES
from rewarddesign.bench.experiments import RunRecord, metric_values
from rewarddesign.bench.runner import load_rows

__all__ = [
    "summarize",
    "format_table",
    "plot_curves",
    "final_scores",
    "aggregate_table",
    "per_env_table",
    "plot_profiles",
    "report",
    "experiment_summary",
]


def _groups(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str, str], dict[int, list[tuple[int, float]]]]:
    groups: dict[tuple[str, str, str], dict[int, list[tuple[int, float]]]] = {}
    for row in rows:
        key = (row["env"], row["design"], row["algo"])
        groups.setdefault(key, {}).setdefault(row["seed"], []).append((row["step"], row["true_return"]))
    for seeds in groups.values():
        for curve in seeds.values():
            curve.sort()
    return groups


def summarize(
    rows: Sequence[dict[str, Any]], solved_at: float | dict[str, float] | None = None
) -> list[dict[str, Any]]:
    """Per (env, design, algo): seeds, final true return (mean, std), area under the curve and steps to solve.

    ``steps_to_solve`` is the median over seeds of the first evaluation step whose true return
    reaches ``solved_at`` (unsolved seeds count as infinity), ``solved`` the number of seeds that
    got there; ``solved_at`` may map env ids to thresholds.
    """
    summary = []
    for (env, design, algo), seeds in sorted(_groups(rows).items()):
        finals = np.array([curve[-1][1] for curve in seeds.values()])
        auc = np.array([np.mean([value for _, value in curve]) for curve in seeds.values()])
        entry: dict[str, Any] = {
            "env": env,
            "design": design,
            "algo": algo,
            "seeds": len(seeds),
            "final_mean": float(finals.mean()),
            "final_std": float(finals.std()),
            "auc_mean": float(auc.mean()),
        }
        if solved_at is not None:
            threshold = solved_at.get(env) if isinstance(solved_at, dict) else solved_at
            if threshold is None:  # an env without a threshold: nothing counts as solved
                entry["solved"], entry["steps_to_solve"] = 0, math.nan
            else:
                first = [next((s for s, value in curve if value >= threshold), math.inf) for curve in seeds.values()]
                entry["solved"] = int(np.isfinite(first).sum())
                entry["steps_to_solve"] = float(np.median(first))
        summary.append(entry)
    return summary


def format_table(summary: Sequence[dict[str, Any]]) -> str:
    """A markdown table of :func:`summarize`'s output."""
    solve = bool(summary) and "steps_to_solve" in summary[0]
    header = ["env", "design", "algo", "seeds", "final true return", "mean over curve"]
    if solve:
        header += ["solved", "median steps to solve"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for entry in summary:
        cells = [
            entry["env"],
            entry["design"],
            entry["algo"],
            str(entry["seeds"]),
            f"{entry['final_mean']:.3f} ± {entry['final_std']:.3f}",
            f"{entry['auc_mean']:.3f}",
        ]
        if solve:
            steps = entry["steps_to_solve"]
            if math.isnan(steps):
                cells += ["-", "-"]
            else:
                cells += [f"{entry['solved']}/{entry['seeds']}", "not solved" if math.isinf(steps) else f"{steps:,.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_curves(rows: Sequence[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Learning curves of the true return: mean over seeds, shaded between min and max; one panel per env."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = _groups(rows)
    envs = sorted({env for env, _, _ in groups})
    cols = min(4, len(envs))  # panels wrap after four envs
    rows_ = math.ceil(len(envs) / cols)
    fig, axes = plt.subplots(rows_, cols, figsize=(5.0 * cols, 3.6 * rows_), squeeze=False)
    for ax in axes.flat[len(envs) :]:
        ax.set_visible(False)
    for ax, env in zip(axes.flat, envs):
        for (group_env, design, algo), seeds in sorted(groups.items()):
            if group_env != env:
                continue
            steps = sorted({step for curve in seeds.values() for step, _ in curve})
            values = np.array(
                [np.interp(steps, [s for s, _ in curve], [v for _, v in curve]) for curve in seeds.values()]
            )
            label = f"{design} ({algo}, {len(seeds)} seeds)"
            line = ax.plot(steps, values.mean(axis=0), label=label)[0]
            ax.fill_between(steps, values.min(axis=0), values.max(axis=0), color=line.get_color(), alpha=0.2)
        ax.set_title(env)
        ax.set_xlabel("env steps")
        ax.set_ylabel("true return (evaluation)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def _save(fig: Any, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def final_scores(
    rows: Sequence[dict[str, Any]], reference_scores: dict[str, tuple[float, float]] | None = None
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, tuple[float, float]]]:
    """Normalised final true returns ``{design: {env: runs}}`` and the references ``{env: (low, high)}``.

    Each run's score is its last evaluation; an env without a reference is normalised by the
    lowest and highest final return of any design on it (so 0 is the worst run, 1 the best).
    With several algorithms in the rows, the labels are ``"design (algo)"``.
    """
    groups = _groups(rows)
    one_algo = len({algo for _, _, algo in groups}) == 1
    finals: dict[str, dict[str, list[float]]] = {}
    for (env, design, algo), seeds in sorted(groups.items()):
        label = design if one_algo else f"{design} ({algo})"
        finals.setdefault(label, {})[env] = [curve[-1][1] for curve in seeds.values()]
    envs = sorted({env for per_env in finals.values() for env in per_env})
    known = reference_scores or {}
    references = {env: tuple(known[env]) for env in envs if env in known}
    for env in envs:
        if env not in references:
            values = [v for per_env in finals.values() for v in per_env.get(env, [])]
            low, high = min(values), max(values)
            references[env] = (low, high if high > low else low + 1.0)
    scores = {
        label: {env: stats.normalize(np.array(runs), *references[env]) for env, runs in sorted(per_env.items())}
        for label, per_env in sorted(finals.items())
    }
    return scores, {env: references[env] for env in envs}  # type: ignore[misc]


def aggregate_table(
    scores: dict[str, dict[str, np.ndarray]], baseline: str | None = None, reps: int = 2000, seed: int = 0
) -> str:
    """Markdown: per design the aggregates with 95% intervals, then ``P(design > baseline)``.

    Aggregates pool a design's runs over the envs it ran on (the ``envs`` column says how many);
    compare designs on the same envs. The probability of improvement uses the envs that the
    design and the baseline share.
    """
    lines = [
        "| design | envs | runs | " + " | ".join(stats.AGGREGATES) + " |",
        "|---|---|---|" + "---|" * len(stats.AGGREGATES),
    ]
    for label, per_env in scores.items():
        cells = []
        for fn in stats.AGGREGATES.values():
            value, low, high = stats.interval_estimate(list(per_env.values()), fn, reps=reps, rng=seed)
            cells.append(f"{value:.3f} [{low:.3f}, {high:.3f}]")
        runs = sum(a.size for a in per_env.values())
        lines.append(f"| {label} | {len(per_env)} | {runs} | " + " | ".join(cells) + " |")
    if baseline is not None:
        if baseline not in scores:
            raise ValueError(f"baseline {baseline!r} is not among the designs: {', '.join(scores)}")
        lines += ["", f"| design | shared envs | P(design > {baseline}) |", "|---|---|---|"]
        for label, per_env in scores.items():
            shared = [env for env in per_env if env in scores[baseline]]
            if label != baseline and shared:
                x, y = [per_env[e] for e in shared], [scores[baseline][e] for e in shared]
                value, low, high = stats.improvement_estimate(x, y, reps=reps, rng=seed)
                lines.append(f"| {label} | {len(shared)} | {value:.3f} [{low:.3f}, {high:.3f}] |")
    return "\n".join(lines)


def per_env_table(scores: dict[str, dict[str, np.ndarray]], reps: int = 2000, seed: int = 0) -> str:
    """Markdown: per env and design, the runs and the IQM of their normalised final scores with its 95% interval.

    The interval is the stratified bootstrap's (:func:`rewarddesign.bench.stats.interval_estimate`)
    on that env's runs alone, so a score of 1 (the high reference) can be checked task by task.
    """
    lines = ["| env | design | runs | IQM [95% CI] |", "|---|---|---|---|"]
    cells = [(env, label, runs) for label, per_env in scores.items() for env, runs in per_env.items()]
    for env, label, runs in sorted(cells, key=lambda cell: (cell[0], cell[1])):
        value, low, high = stats.interval_estimate([runs], stats.iqm, reps=reps, rng=seed)
        lines.append(f"| {env} | {label} | {runs.size} | {value:.3f} [{low:.3f}, {high:.3f}] |")
    return "\n".join(lines)


def plot_profiles(scores: dict[str, dict[str, np.ndarray]], path: str | Path, reps: int = 500, seed: int = 0) -> Path:
    """Performance profiles: the share of runs above each normalised score, with bootstrap 95% bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pooled = np.concatenate([a for per_env in scores.values() for a in per_env.values()])
    taus = np.linspace(min(0.0, pooled.min()), max(1.0, pooled.max()), 101)
    total = len({env for per_env in scores.values() for env in per_env})
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for label, per_env in scores.items():
        arrays = list(per_env.values())
        samples = stats.stratified_bootstrap([arrays], lambda s: stats.performance_profile(s, taus), reps, seed)
        name = label if len(per_env) == total else f"{label} ({len(per_env)} of {total} envs)"
        line = ax.plot(taus, stats.performance_profile(arrays, taus), label=name)[0]
        low, high = np.percentile(samples, [2.5, 97.5], axis=0)
        ax.fill_between(taus, low, high, color=line.get_color(), alpha=0.2)
    ax.set_xlabel("normalised score τ")
    ax.set_ylabel("fraction of runs with score > τ")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def report(
    results_dir: str | Path,
    *,
    reference_scores: dict[str, tuple[float, float]] | None = None,
    baseline: str | None = None,
    reps: int = 2000,
    seed: int = 0,
) -> str:
    """Write the tables and plots of a results directory; return the markdown (also in ``README.md`` there).

    Args:
        results_dir: A directory the runner wrote (``runs/*.csv``).
        reference_scores: ``env id -> (low, high)``; by default those of the built-in suite named in
            the directory's manifest.
        baseline: The design the others are compared with (``P(design > baseline)``); None compares
            with ``original`` when the results have it, and with nothing otherwise.
        reps: Bootstrap replicates.
        seed: Seeds the bootstrap.

    Raises:
        ValueError: No run files, a damaged one (named), or a ``baseline`` that is not among the
            designs of the results (they are listed).
    """
    results_dir = Path(results_dir)
    rows = load_rows(results_dir) if results_dir.is_dir() else []
    if not rows:
        raise ValueError(f"no run files in {results_dir / 'runs'}")
    suite = None
    manifest = results_dir / "suite.json"
    if manifest.exists():
        suite = SUITES.get(json.loads(manifest.read_text()).get("suite"))
    if reference_scores is None:
        reference_scores = suite.reference_scores if suite is not None else {}
    table = format_table(summarize(rows, suite.solved_at if suite is not None else None))
    scores, references = final_scores(rows, reference_scores)
    envs = list(references)
    algos = sorted({row["algo"] for row in rows})
    designs = sorted({row["design"] for row in rows})
    if baseline is not None and baseline not in designs:
        raise ValueError(f"unknown baseline {baseline!r}: the designs in {results_dir} are {', '.join(designs)}")
    wanted = baseline if baseline is not None else "original"
    base = next((label for label in scores if label.split(" (")[0] == wanted), None)
    aggregates = aggregate_table(scores, base, reps=reps, seed=seed)
    per_env = per_env_table(scores, reps=reps, seed=seed)
    ref_lines = [
        f"- {env}: {low:g} to {high:g}" + ("" if env in reference_scores else " (lowest and highest final return here)")
        for env, (low, high) in references.items()
    ]
    seeds = sorted({row["seed"] for row in rows})
    text = "\n".join(
        [
            f"# Results in {results_dir.name}",
            "",
            f"{len({(r['env'], r['design'], r['algo'], r['seed']) for r in rows})} runs: {len(envs)} envs, "
            f"algorithms {', '.join(algos)}, seeds {', '.join(map(str, seeds))}.",
            "",
            "## Per env",
            "",
            "Final true return (mean ± std over seeds), mean over the learning curve.",
            "",
            table,
            "",
            "Normalised final score (0 and 1 at the references below): interquartile mean over seeds with its "
            f"bootstrap 95% interval ({reps} replicates), per env.",
            "",
            per_env,
            "",
            "## Across envs",
            "",
            "Normalised final scores (0 and 1 at the references below); interquartile mean, mean, median and "
            "optimality gap over each design's runs on the envs it ran on, with stratified-bootstrap 95% "
            f"intervals ({reps} replicates). Designs are comparable in these aggregates only on the same envs; "
            "the probability of improvement uses the envs a design shares with the baseline.",
            "",
            aggregates,
            "",
            "References:",
            "",
            *ref_lines,
        ]
    )
    (results_dir / "table.md").write_text(table + "\n")
    (results_dir / "aggregates.md").write_text(aggregates + "\n")
    (results_dir / "per_env.md").write_text(per_env + "\n")
    (results_dir / "README.md").write_text(text + "\n")
    plot_curves(rows, results_dir / "curves.png", title=results_dir.name)
    plot_profiles(scores, results_dir / "profiles.png", seed=seed)
    return text


def experiment_summary(
    records: Sequence[RunRecord],
    metrics: Sequence[str] | None = None,
    by: Sequence[str] | None = None,
    reps: int = 2000,
    seed: int = 0,
) -> str:
    """A Markdown table of an experiment's runs: per parameter set and metric, the seeds, and the mean
    and IQM over seeds with stratified-bootstrap 95% intervals.

    Args:
        records: Run records (see :func:`~rewarddesign.bench.experiments.load_records`).
        metrics: The metrics shown; by default every metric all records have.
        by: The parameters that group runs; by default every parameter whose value varies.
        reps: Bootstrap replicates.
        seed: Seeds the bootstrap.

    Raises:
        ValueError: No records, or a metric or parameter some record lacks.
    """
    if not records:
        raise ValueError("experiment_summary needs at least one run record")
    if metrics is None:
        metrics = [m for m in records[0].metrics if all(m in r.metrics for r in records)]
    if by is None:
        names = list(dict.fromkeys(name for r in records for name in r.params))
        by = [n for n in names if len({json.dumps(r.params.get(n), sort_keys=True) for r in records}) > 1]
    lines = [
        "| " + " | ".join([*by, "metric", "seeds", "mean [95% CI]", "IQM [95% CI]"]) + " |",
        "|" + "---|" * (len(by) + 4),
    ]
    for metric in metrics:
        groups = metric_values(records, metric, by)
        for group, values in groups.items():
            finite = values[np.isfinite(values)]
            if finite.size == 0:
                cells = ["-", "-"]
            else:
                summary = stats.summarize_seeds(finite, reps=reps, rng=seed)
                cells = [summary.mean.format(3), summary.iqm.format(3)]
            lines.append("| " + " | ".join([*map(str, group), metric, str(values.size), *cells]) + " |")
    return "\n".join(lines)
