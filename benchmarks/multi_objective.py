"""One direction-conditioned policy against one policy per direction (Directional Preference Alignment in control).

Reproduce (about 16 CPU-minutes; one process)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/multi_objective.py --seeds 10 --workers 1

Protocol (fixed before the first full run):

- Tasks: ``deep-sea-treasure-v0`` (MO-Gymnasium; objectives treasure and time, 2-D) and the
  project's factor env ``Pendulum-v1`` as a vector reward (:class:`~rewarddesign.multiobjective.VectorReward`
  of ``rewarddesign.envs.with_reward_factors``: minus angle^2, minus velocity^2, minus torque^2;
  3-D). Other MO-Gymnasium tasks worth running (four-room, resource gathering, mountain car, a MuJoCo
  task) do not fit the CPU budget at 10 seeds and are not run.
- Learners, all PPO (Stable-Baselines3 through ``rewarddesign.train.train``), the same total
  steps ``T`` per seed: ``conditioned`` (one policy on
  :class:`~rewarddesign.multiobjective.DirectionConditioned`, directions uniform on the positive
  part of the unit sphere, ``T`` steps), ``per_direction`` (one policy per grid direction on
  :class:`~rewarddesign.multiobjective.DirectionalReward`, ``T / D`` steps each) and the naive
  baseline ``random`` (uniform random actions, no training). The rewards are ``v . (r / scale)``
  with the per-task ``scale`` of :data:`TASKS`. MORL-Baselines does not install beside the
  project's stack (it would downgrade pillow), so no MORL-Baselines learner is run; its metric
  definitions are the ones :mod:`rewarddesign.multiobjective.pareto` computes.
- Budget: deep-sea-treasure ``T = 20,000``, ``D = 5`` directions (``unit_directions(2, 4)``);
  Pendulum ``T = 24,000``, ``D = 6`` (``unit_directions(3, 2)``). PPO settings in :data:`TASKS`.
- Evaluation: each direction of the grid steers the conditioned policy (``evaluate_directions``)
  or selects its own per-direction policy; deterministic actions; 1 episode per direction on
  deep-sea-treasure (deterministic env), 5 on Pendulum (evaluation seed ``10,000 + seed``); the
  random baseline runs 5 episodes per direction. A learner's front is its ``D`` mean return vectors.
- Metrics per seed: ``hv`` the hypervolume of the front normalised by the box between the
  reference point and the ideal point of :data:`TASKS` (deep-sea-treasure: reference ``(0, -25)``
  as MORL-Baselines uses, ideal ``(23.7, -1)``); ``eu`` the expected utility over
  ``simplex_weights(K, 10)`` of the returns normalised to that box; ``sparsity`` of the front;
  ``steering`` (conditioned and per-direction) the mean over objectives ``k`` of the Spearman
  correlation between ``v_k`` and the return of objective ``k`` across the grid, and
  ``monotone`` the share of objectives whose return never decreases as ``v_k`` grows.
- Seeds 0-9. Statistics: per task, the IQM and mean over seeds with stratified-bootstrap 95%
  intervals (``rewarddesign.bench.stats``, 2000 replicates, seed 0), the probability of improvement
  ``P(conditioned > per_direction)`` with its interval, and a two-sided Mann-Whitney test of the
  per-seed ``hv`` (alpha 0.05).
- Discrimination check: ``per_direction`` and ``conditioned`` beat ``random`` in ``hv`` with
  separated IQM intervals on each task.
- Targets (DPA's claims): (1) the conditioned policy's front matches the per-direction policies':
  the IQM intervals of ``hv`` and of ``eu`` overlap on each task; (2) steering is monotone: the
  conditioned policy's ``steering`` IQM interval lies above 0 on each task.

Runs go through ``rewarddesign.bench.run_experiment``: each run's record lands in
``benchmarks/results/multi_objective/runs/`` as it finishes (a rerun skips finished runs;
``--smoke`` runs a tiny experiment into a temporary directory). Writes
``benchmarks/results/multi_objective.md`` and ``multi_objective.png`` (the fronts).
"""

from __future__ import annotations

import argparse
import platform
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from scipy import stats as scipy_stats

from rewarddesign.bench import Experiment, RunOutput, RunRecord, run_experiment, stats
from rewarddesign.envs.reward_factors import with_reward_factors
from rewarddesign.multiobjective import (
    DirectionalReward,
    DirectionConditioned,
    VectorReward,
    evaluate_directions,
    expected_utility,
    hypervolume,
    pareto_front,
    require_mo_gymnasium,
    simplex_weights,
    sparsity,
    unit_directions,
    vector_returns,
)
from rewarddesign.train import train

RESULTS = Path(__file__).resolve().parent / "results"
LEARNERS = ("conditioned", "per_direction", "random")


@dataclass(frozen=True)
class Task:
    """One task's settings: budget, direction grid, reward scale, hypervolume box, PPO settings."""

    timesteps: int
    partitions: int
    n_objectives: int
    scale: tuple[float, ...]
    reference: tuple[float, ...]
    ideal: tuple[float, ...]
    eval_episodes: int
    gamma: float = 0.99
    ppo_kwargs: dict[str, Any] = field(default_factory=dict)


TASKS: dict[str, Task] = {
    # treasure (at most 23.7, once) and time (-1 per step); MORL-Baselines' reference point
    "deep-sea-treasure-v0": Task(
        20_000, 4, 2, (23.7, 19.0), (0.0, -25.0), (23.7, -1.0), 1,
        ppo_kwargs={"n_steps": 512, "batch_size": 64, "ent_coef": 0.05},
    ),
    # scale: each factor's mean per-step magnitude under random actions (4.25, 14.8, 1.29 in a pilot);
    # reference: the worst per-episode value of each factor (200 steps of pi^2, 8^2, 2^2)
    "Pendulum-v1": Task(
        24_000, 2, 3, (4.0, 15.0, 1.3), (-2000.0, -12_800.0, -800.0), (0.0, 0.0, 0.0), 5, gamma=0.9,
        ppo_kwargs={"n_steps": 1024, "gae_lambda": 0.95, "learning_rate": 1e-3, "use_sde": True, "sde_sample_freq": 4},
    ),
}  # fmt: skip


def vector_env(task: str) -> gym.Env:
    """The task as a vector-reward env."""
    if task == "Pendulum-v1":
        return VectorReward(with_reward_factors(gym.make(task)))
    require_mo_gymnasium()
    return gym.make(task)


def _conditioned_env(task: str) -> gym.Env:
    return DirectionConditioned(vector_env(task), scale=TASKS[task].scale)


def _directional_env(task: str, direction: list[float]) -> gym.Env:
    return DirectionalReward(vector_env(task), direction, scale=TASKS[task].scale)


def _register(task: str) -> tuple[str, str]:
    """Gymnasium ids of the task's conditioned and directional envs (``train`` takes an id)."""
    conditioned, directional = f"mo-bench/{task}-conditioned", f"mo-bench/{task}-directional"
    if conditioned not in gym.registry:
        gym.register(conditioned, entry_point=lambda: _conditioned_env(task))
        gym.register(directional, entry_point=lambda direction: _directional_env(task, direction))
    return conditioned, directional


def front_metrics(points: np.ndarray, task: str) -> dict[str, float]:
    """Normalised hypervolume, expected utility and sparsity of a front ``[D, K]``."""
    config = TASKS[task]
    ref, ideal = np.asarray(config.reference), np.asarray(config.ideal)
    box = ideal - ref
    normalised = (points - ref) / box
    return {
        "hv": hypervolume(normalised, np.zeros(len(box))),
        "eu": expected_utility(normalised, simplex_weights(config.n_objectives, 10)),
        "sparsity": sparsity(pareto_front(normalised)),
    }


def steering(directions: np.ndarray, points: np.ndarray) -> dict[str, float]:
    """Mean over ``k`` of the Spearman correlation of ``v_k`` with objective ``k``'s return; share of monotone ones."""
    correlations, monotone = [], []
    for k in range(directions.shape[1]):
        order = np.argsort(directions[:, k], kind="stable")
        returns = points[order, k]
        rho = scipy_stats.spearmanr(directions[:, k], points[:, k]).statistic
        correlations.append(0.0 if np.isnan(rho) else float(rho))
        monotone.append(float(np.all(np.diff(returns) >= -1e-9)))
    return {"steering": float(np.mean(correlations)), "monotone": float(np.mean(monotone))}


def run(seed: int, task: str, learner: str, timesteps: int, device: str = "cpu") -> RunOutput:
    """One learner on one task: its front over the direction grid and the front's metrics."""
    config = TASKS[task]
    conditioned_id, directional_id = _register(task)
    grid = unit_directions(config.n_objectives, config.partitions)
    eval_seed = 10_000 + seed
    kwargs = dict(device=device, gamma=config.gamma, algo_kwargs=config.ppo_kwargs)
    if learner == "conditioned":
        model = train(conditioned_id, "ppo", timesteps, seed=seed, **kwargs).model
        sweep = evaluate_directions(model, _conditioned_env(task), grid, config.eval_episodes, eval_seed)
        points = sweep.mean_returns
    elif learner == "per_direction":
        rows = []
        for d, v in enumerate(grid):
            model = train(
                directional_id, "ppo", timesteps // len(grid), seed=seed + 1000 * d,
                env_kwargs={"direction": v.tolist()}, **kwargs,
            ).model  # fmt: skip
            rows.append(vector_returns(model, _directional_env(task, v.tolist()), config.eval_episodes, eval_seed))
        points = np.stack([r.mean(axis=0) for r in rows])
    elif learner == "random":
        envs = [_directional_env(task, v.tolist()) for v in grid]
        points = np.stack([vector_returns(None, env, 5, eval_seed + d, False).mean(0) for d, env in enumerate(envs)])
    else:
        raise ValueError(f"learner must be one of {LEARNERS}, got {learner!r}")
    metrics = front_metrics(points, task)
    if learner != "random":
        metrics.update(steering(grid, points))
    return RunOutput(metrics, data={"directions": grid.tolist(), "front": points.tolist()})


def experiment(
    seeds: int, tasks: tuple[str, ...] = tuple(TASKS), timesteps: dict[str, int] | None = None
) -> Experiment:
    """The benchmark's runs; the fingerprint covers the task table and the metric definitions."""
    grid = tuple(
        {"task": task, "learner": learner, "timesteps": (timesteps or {}).get(task, TASKS[task].timesteps)}
        for task in tasks
        for learner in LEARNERS
    )
    return Experiment(
        "multi_objective", run, grid, tuple(range(seeds)), definition=(TASKS, Task, front_metrics, steering)
    )


def _values(records: list[RunRecord], task: str, learner: str, metric: str) -> np.ndarray:
    mine = [r for r in records if r.params["task"] == task and r.params["learner"] == learner]
    return np.array([r.metrics[metric] for r in mine if metric in r.metrics])


def plot(records: list[RunRecord], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = sorted({r.params["task"] for r in records}, key=list(TASKS).index)
    fig, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks), 4.5), squeeze=False)
    colours = {"conditioned": "tab:blue", "per_direction": "tab:orange", "random": "tab:gray"}
    for ax, task in zip(axes[0], tasks):
        pick = (0, 2) if TASKS[task].n_objectives == 3 else (0, 1)  # Pendulum: angle^2 against torque^2
        names = {"deep-sea-treasure-v0": ("treasure", "time"), "Pendulum-v1": ("-angle^2", "-torque^2")}[task]
        for learner in LEARNERS:
            mine = [
                np.asarray(r.data["front"])
                for r in records
                if r.params["task"] == task and r.params["learner"] == learner
            ]
            for i, front in enumerate(mine):
                ax.scatter(front[:, pick[0]], front[:, pick[1]], s=12, alpha=0.35, color=colours[learner],
                           label=learner if i == 0 else None)  # fmt: skip
            if mine:
                mean = np.mean(mine, axis=0)
                style = "-o" if TASKS[task].n_objectives == 2 else "D"  # a 3-D front's projection: no path
                ax.plot(mean[:, pick[0]], mean[:, pick[1]], style, color=colours[learner], lw=2, ms=6)
        ax.set_title(f"{task}: per seed (dots), mean over seeds (large)", fontsize=10)
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report(records: list[RunRecord], seeds: int, workers: int) -> str:
    tasks = sorted({r.params["task"] for r in records}, key=list(TASKS).index)
    lines = [
        "# Direction-conditioned policy against one policy per direction",
        "",
        f"`OMP_NUM_THREADS=1 python benchmarks/multi_objective.py --seeds {seeds} --workers {workers}` "
        f"({platform.processor() or platform.machine()}; PPO; protocol in the script's docstring). "
        "IQM and mean over seeds with stratified-bootstrap 95% intervals (`rewarddesign.bench.stats`, "
        "2000 replicates); `hv` is normalised to the box between the reference and the ideal point.",
        "",
    ]
    for task in tasks:
        config = TASKS[task]
        grid_size = len(unit_directions(config.n_objectives, config.partitions))
        steps = max(int(r.params["timesteps"]) for r in records if r.params["task"] == task)
        lines += [
            f"## {task} ({steps:,} steps per learner and seed; {grid_size} directions)",
            "",
            "| learner | hv IQM | hv mean | eu IQM | sparsity mean | steering IQM | monotone mean | seconds |",
            "|---|---|---|---|---|---|---|---|",
        ]
        summary: dict[str, dict[str, stats.SeedSummary]] = {}
        for learner in LEARNERS:
            values = {m: _values(records, task, learner, m) for m in ("hv", "eu", "sparsity", "steering", "monotone")}
            if len(values["hv"]) == 0:
                continue
            summary[learner] = {m: stats.summarize_seeds(v) for m, v in values.items() if len(v)}
            seconds = np.mean(
                [r.seconds for r in records if r.params["task"] == task and r.params["learner"] == learner]
            )
            s = summary[learner]
            steer = f"{s['steering'].iqm.format(2)} | {s['monotone'].mean.value:.2f}" if "steering" in s else "- | -"
            lines.append(
                f"| {learner} | {s['hv'].iqm.format(3)} | {s['hv'].mean.format(3)} | {s['eu'].iqm.format(3)} | "
                f"{s['sparsity'].mean.value:.4f} | {steer} | {seconds:.0f} |"
            )
        lines.append("")
        for learner in LEARNERS:
            hv = _values(records, task, learner, "hv")
            if len(hv):
                lines.append(f"- per-seed hv, {learner}: " + ", ".join(f"{v:.3f}" for v in hv))
        if {"conditioned", "per_direction", "random"} <= set(summary):
            c, p, r = (summary[name] for name in ("conditioned", "per_direction", "random"))
            hv_c, hv_p = _values(records, task, "conditioned", "hv"), _values(records, task, "per_direction", "hv")
            poi = stats.improvement_estimate([hv_c], [hv_p])
            pvalue = stats.mann_whitney(hv_c, hv_p)

            def overlap(a: stats.Estimate, b: stats.Estimate) -> bool:
                return a.low <= b.high and b.low <= a.high

            discriminates = c["hv"].iqm.low > r["hv"].iqm.high and p["hv"].iqm.low > r["hv"].iqm.high
            matches = overlap(c["hv"].iqm, p["hv"].iqm) and overlap(c["eu"].iqm, p["eu"].iqm)
            monotone = c["steering"].iqm.low > 0
            lines += [
                f"- P(conditioned > per_direction) in hv: {poi[0]:.2f} [{poi[1]:.2f}, {poi[2]:.2f}]; "
                f"Mann-Whitney two-sided p = {pvalue:.3g}",
                f"- discrimination (both learners above random, separated hv IQM intervals): "
                f"{'holds' if discriminates else 'does NOT hold'}",
                f"- target 1, the conditioned front matches the per-direction front (hv and eu IQM intervals overlap): "
                f"{'met' if matches else 'NOT met'}",
                f"- target 2, steering is monotone (conditioned steering IQM interval above 0): "
                f"{'met' if monotone else 'NOT met'}",
                "",
            ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--report-only", action="store_true", help="tabulate the finished runs, train nothing")
    parser.add_argument("--smoke", action="store_true", help="one seed of 2,000-step runs into a temporary directory")
    args = parser.parse_args()
    if args.smoke:
        tiny = experiment(1, tuple(args.tasks), {task: 2_000 for task in args.tasks})
        with tempfile.TemporaryDirectory() as out:
            records = run_experiment(tiny, out, progress=False, device="cpu")
        print(report(records, 1, 1))
        return
    full = experiment(args.seeds, tuple(args.tasks))
    out = RESULTS / "multi_objective"
    if args.report_only:
        paths = [out / "runs" / f"{r.key}.json" for r in full.runs()]
        records = [RunRecord.from_json(path.read_text()) for path in paths if path.exists()]
    else:
        records = run_experiment(full, out, workers=args.workers, device="cpu")
    (RESULTS / "multi_objective.md").write_text(report(records, args.seeds, args.workers))
    plot(records, RESULTS / "multi_objective.png")
    print((RESULTS / "multi_objective.md").read_text())


if __name__ == "__main__":
    main()
