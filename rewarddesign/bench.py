"""Benchmark suites: reward designs compared over seeds, with resumable runs, a table and a plot.

A :class:`Suite` is data: env ids x reward designs x algorithms x seeds, a budget and an
evaluation schedule. :func:`run_suite` trains each run with :func:`rewarddesign.train.train`,
evaluates it on the *true* reward at fixed intervals, and writes the run's rows to its own CSV
file the moment it finishes; rerunning skips finished runs, so an interrupted sweep resumes and
loses nothing. :func:`summarize` aggregates across seeds and :func:`plot_curves` draws learning
curves (mean and range over seeds).

Rows are tidy: ``suite, env, design, algo, seed, step, true_return, designed_return, wall_time, device``.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "Design",
    "DESIGN_WRAPPERS",
    "Suite",
    "RunSpec",
    "SUITES",
    "run_suite",
    "run_one",
    "load_rows",
    "summarize",
    "format_table",
    "plot_curves",
]

COLUMNS = ("suite", "env", "design", "algo", "seed", "step", "true_return", "designed_return", "wall_time", "device")


@dataclass(frozen=True)
class Design:
    """A named reward design: the env reward (``shaping=None``), a registered potential, or env options.

    Args:
        name: The design's name in results.
        shaping: A registered potential (see :data:`rewarddesign.shaping.POTENTIALS`).
        env_kwargs: ``gym.make`` options of the training envs that select a reward the env itself
            offers (``{"credit": "modular"}`` on the submodular envs); evaluation never uses them.
        envs: The env ids the design applies to; None for all of the suite's envs.
        wrapper: A name in :data:`DESIGN_WRAPPERS`: a reward-design wrapper of the training envs
            (a blend of the env reward with heuristics, for instance).
    """

    name: str
    shaping: str | None = None
    env_kwargs: tuple[tuple[str, Any], ...] = ()
    envs: tuple[str, ...] | None = None
    wrapper: str | None = None

    def __post_init__(self) -> None:
        if self.wrapper is not None and self.wrapper not in DESIGN_WRAPPERS:
            raise ValueError(f"unknown design wrapper {self.wrapper!r}; known: {', '.join(sorted(DESIGN_WRAPPERS))}")


def _grid_centre_blend(learn: bool) -> Callable[[str, int], Callable[[Any], Any]]:
    """The continuous grid's distractor heuristic, blended naively or as BARFI learns to blend it."""

    def factory(env_id: str, seed: int) -> Callable[[Any], Any]:
        from rewarddesign.bilevel import BehaviorAlignment, BlendedReward, tile_coding
        from rewarddesign.envs.alignment import grid_centre_bonus

        features = tile_coding([0, 0], [1, 1], 5)
        if learn:
            blend = BehaviorAlignment(env_id, [grid_centre_bonus], features, seed=seed, device="cpu").learn(960).blend
        else:
            blend = BlendedReward(features.size, 1)  # type: ignore[attr-defined]
        from rewarddesign.bilevel import BehaviorAlignedReward

        return lambda env: BehaviorAlignedReward(env, blend, [grid_centre_bonus], features)

    return factory


def _pendulum_heron(env_id: str, seed: int) -> Callable[[Any], Any]:
    """A reward model from HERON labels on random-action fragments of Pendulum (angle, then speed, then torque)."""
    import gymnasium as gym

    from rewarddesign.envs.reward_factors import with_reward_factors
    from rewarddesign.preferences import (
        HeronGatherer,
        LearnedReward,
        RewardModel,
        rollout_fragments,
        train_reward_model,
    )

    rng = np.random.default_rng(seed)
    env = with_reward_factors(gym.make(env_id))
    fragments, _ = rollout_fragments(env, None, 20, 25, rng)
    data = HeronGatherer(ranking=[0, 1, 2], signs=[-1, -1, -1], sigmas=[0.1, 0.1, 0.1]).all_pairs(fragments)
    model = RewardModel(env.observation_space, env.action_space, device="cpu")
    train_reward_model(model, data, epochs=5, seed=seed)
    return lambda inner: LearnedReward(inner, model)


#: Reward-design wrappers by name: ``factory(env_id, seed) -> (env -> wrapped env)``, called once per run.
DESIGN_WRAPPERS: dict[str, Callable[[str, int], Callable[[Any], Any]]] = {
    "grid_centre_naive": _grid_centre_blend(learn=False),
    "grid_centre_barfi": _grid_centre_blend(learn=True),
    "pendulum_heron": _pendulum_heron,
}


@dataclass(frozen=True)
class Suite:
    """A grid of runs. ``solved_at`` is the true return that counts as solving the task: one number,
    or a mapping from env id to number (envs left out have no threshold)."""

    name: str
    env_ids: tuple[str, ...]
    designs: tuple[Design, ...]
    algos: tuple[str, ...]
    seeds: tuple[int, ...]
    timesteps: int
    eval_freq: int
    eval_episodes: int = 5
    n_envs: int = 1
    gamma: float = 0.99
    solved_at: float | dict[str, float] | None = None
    algo_kwargs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def runs(self) -> list[RunSpec]:
        return [
            RunSpec(self, env_id, design, algo, seed)
            for env_id in self.env_ids
            for design in self.designs
            if design.envs is None or env_id in design.envs
            for algo in self.algos
            for seed in self.seeds
        ]


@dataclass(frozen=True)
class RunSpec:
    """One run of a suite."""

    suite: Suite
    env_id: str
    design: Design
    algo: str
    seed: int

    @property
    def key(self) -> str:
        env = self.env_id.replace("/", "-")
        return f"{self.suite.name}__{env}__{self.design.name}__{self.algo}__s{self.seed}"


_MAZE_PPO = {"n_steps": 128, "batch_size": 128, "n_epochs": 4, "ent_coef": 0.01}
_MAZE = ("rewarddesign/GridMaze-v0",)
_COVERAGE = ("rewarddesign/CoverageGrid-v0",)
_TRUST = ("rewarddesign/TrustDilemma-v0",)
_GRID = ("rewarddesign/ContinuousGrid-v0",)
_PENDULUM = ("Pendulum-v1",)

#: Built-in suites by name.
SUITES: dict[str, Suite] = {
    "quick": Suite(
        name="quick",
        env_ids=_MAZE + _COVERAGE + _TRUST + _GRID + _PENDULUM,
        designs=(
            Design("original"),
            Design("maze_distance", "maze_distance", envs=_MAZE),
            Design("modular", env_kwargs=(("credit", "modular"),), envs=_COVERAGE),
            Design("risk_averse", env_kwargs=(("risk_aversion", 0.5),), envs=_TRUST),
            Design("naive_heuristic", wrapper="grid_centre_naive", envs=_GRID),
            Design("barfi", wrapper="grid_centre_barfi", envs=_GRID),
            Design("heron", wrapper="pendulum_heron", envs=_PENDULUM),
        ),
        algos=("ppo",),
        seeds=(0, 1, 2),
        timesteps=20_000,
        eval_freq=2_000,
        eval_episodes=1,
        n_envs=4,
        solved_at={_MAZE[0]: 1.0, _GRID[0]: 90.0},
        algo_kwargs={"ppo": _MAZE_PPO},
    ),
    "shaping": Suite(
        name="shaping",
        env_ids=("rewarddesign/GridMaze-v0",),
        designs=(
            Design("original"),
            Design("maze_distance", "maze_distance"),
            Design("maze_manhattan", "maze_manhattan"),
            Design("optimal_value", "optimal_value"),
        ),
        algos=("ppo",),
        seeds=(0, 1, 2, 3, 4),
        timesteps=40_000,
        eval_freq=2_000,
        eval_episodes=1,
        n_envs=4,
        solved_at=1.0,
        algo_kwargs={"ppo": _MAZE_PPO},
    ),
}


def run_one(spec: RunSpec, out_dir: str | Path, device: str = "auto") -> Path:
    """Train one run and write its rows to ``out_dir/runs/<key>.csv`` (atomically); return that path."""
    import torch

    from rewarddesign.train import train

    torch.set_num_threads(1)  # runs go in parallel processes; one thread each avoids oversubscription
    suite = spec.suite
    result = train(
        spec.env_id,
        spec.algo,
        suite.timesteps,
        seed=spec.seed,
        shaping=spec.design.shaping,
        design_kwargs=dict(spec.design.env_kwargs),
        wrappers=[] if spec.design.wrapper is None else [DESIGN_WRAPPERS[spec.design.wrapper](spec.env_id, spec.seed)],
        gamma=suite.gamma,
        n_envs=suite.n_envs,
        device=device,
        eval_freq=suite.eval_freq,
        eval_episodes=suite.eval_episodes,
        algo_kwargs=suite.algo_kwargs.get(spec.algo),
    )
    path = Path(out_dir) / "runs" / f"{spec.key}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for step, mean, _, designed in result.evaluations:
            writer.writerow(
                [
                    suite.name,
                    spec.env_id,
                    spec.design.name,
                    spec.algo,
                    spec.seed,
                    step,
                    mean,
                    designed,
                    round(result.wall_time, 3),
                    result.device,
                ]
            )
    os.replace(tmp, path)
    return path


def run_suite(
    suite: Suite | str,
    out_dir: str | Path,
    *,
    workers: int = 1,
    device: str = "auto",
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run every unfinished run of ``suite`` and return all of its rows.

    Args:
        suite: A :class:`Suite` or the name of a built-in one.
        out_dir: Results directory; finished runs found there are skipped.
        workers: Parallel processes (runs are independent).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"`` for every run.
        progress: Show a progress bar of finished runs (rich).
    """
    if isinstance(suite, str):
        if suite not in SUITES:
            raise ValueError(f"unknown suite {suite!r}; built in: {', '.join(sorted(SUITES))}")
        suite = SUITES[suite]
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    out_dir = Path(out_dir)
    runs = suite.runs()
    pending = [spec for spec in runs if not (out_dir / "runs" / f"{spec.key}.csv").exists()]
    total = len(runs)
    if pending:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, disable=not progress) as bar:
            task = bar.add_task(f"suite {suite.name}", total=total, completed=total - len(pending))
            if workers == 1:
                for spec in pending:
                    run_one(spec, out_dir, device)
                    bar.advance(task)
            else:
                import multiprocessing

                with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                    for _ in pool.map(run_one, pending, [out_dir] * len(pending), [device] * len(pending)):
                        bar.advance(task)
    keys = {spec.key for spec in runs}
    return [row for path in sorted((out_dir / "runs").glob("*.csv")) if path.stem in keys for row in load_rows(path)]


def load_rows(path: str | Path) -> list[dict[str, Any]]:
    """Rows of one run file (or of every run file under a directory), with numbers parsed."""
    path = Path(path)
    files = sorted(path.glob("runs/*.csv")) if path.is_dir() else [path]
    rows = []
    for file in files:
        with file.open(newline="") as handle:
            for row in csv.DictReader(handle):
                for key in ("seed", "step"):
                    row[key] = int(row[key])
                for key in ("true_return", "designed_return", "wall_time"):
                    row[key] = float(row[key])
                rows.append(row)
    return rows


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
    fig, axes = plt.subplots(1, len(envs), figsize=(5.5 * len(envs), 3.8), squeeze=False)
    for ax, env in zip(axes[0], envs):
        for (group_env, design, algo), seeds in sorted(groups.items()):
            if group_env != env:
                continue
            steps = sorted({step for curve in seeds.values() for step, _ in curve})
            values = np.array([np.interp(steps, *zip(*curve)) for curve in seeds.values()])
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
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
