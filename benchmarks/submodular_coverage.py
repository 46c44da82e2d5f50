"""SubPO against modular RL and the greedy planner on the submodular grid worlds.

Reproduce (about 10 minutes on 2 cores)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/submodular_coverage.py --workers 2

For each env (``rewarddesign/CoverageGrid-v0`` with constant and with bimodal weights,
``TwoRoomCoverage-v0``, ``ItemCollection-v0``, ``ExperimentDesign-v0``; all with horizon H = 40)
and each of 5 seeds:

- **SubPO**: the Markovian (state, time) tabular softmax policy, natural policy gradient on the
  marginal gains (``rewarddesign.submodular.SubPO``);
- **modular RL**: the same learner on the modular reward ``F({s_t})`` per step, which counts
  repeat visits (``credit="modular"``);
- **greedy**: the planner that takes the action with the largest marginal gain, with the model;
- **random**: the uniform policy.

The score is ``F`` of the visited set (mean of 64 episodes after training); the table gives its
mean over seeds with the stratified-bootstrap 95% interval (``rewarddesign.bench.stats``, 2000
replicates, seed 0). With constant weights each visited cell covers itself and its east
neighbour, so ``F <= 2 (H + 1) = 82``; the target is SubPO at 90% of that or more. Runs go
through ``rewarddesign.bench.run_experiment``: each run's record (final score, learning curve)
lands in ``benchmarks/results/submodular_coverage/runs/`` the moment it finishes (a rerun skips
finished runs; ``--smoke`` runs two tiny runs into a temporary directory); the table goes to
``benchmarks/results/submodular_coverage.md`` and the learning curves to
``benchmarks/results/submodular_coverage.png``.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from rewarddesign.bench import Experiment, RunOutput, RunRecord, metric_values, run_experiment, stats
from rewarddesign.submodular import SubPO, greedy_plan

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "submodular_coverage"
ENVS = {
    "coverage (constant)": ("rewarddesign/CoverageGrid-v0", {}),
    "coverage (bimodal)": ("rewarddesign/CoverageGrid-v0", {"weights": "bimodal"}),
    "two rooms": ("rewarddesign/TwoRoomCoverage-v0", {}),
    "item collection": ("rewarddesign/ItemCollection-v0", {}),
    "experiment design": ("rewarddesign/ExperimentDesign-v0", {}),
}
METHODS = ("SubPO", "modular RL")
BOUND = 82.0  # 2 (H + 1) for the constant-weight coverage grid


def make(name: str) -> gym.Env:
    """The task ``name`` (unwrapped: the learners use its base MDP, objective and horizon)."""
    env_id, kwargs = ENVS[name]
    return gym.make(env_id, observation=None, **kwargs).unwrapped


def coverage_agent(task: Any, credit: Literal["marginal", "modular"], seed: int) -> SubPO:
    """The benchmark's learner on a coverage task: ``credit="marginal"`` is SubPO, ``"modular"`` modular RL.

    A tabular softmax policy (no hidden layer) with natural-gradient steps of KL 0.05 and 32 episodes
    per update, on the CPU; the demo's submodular section uses the same learner.
    """
    return SubPO(
        task.base,
        task.objective,
        task.horizon,
        credit=credit,
        hidden_sizes=(),
        natural=True,
        max_kl=0.05,
        episodes_per_update=32,
        seed=seed,
        device="cpu",
    )


def run(seed: int, env: str, method: str, iterations: int) -> RunOutput:
    """Train one learner; its final score (mean F of 64 episodes) and its curve (mean F per iteration)."""
    task = make(env)
    agent = coverage_agent(task, "marginal" if method == "SubPO" else "modular", seed)
    agent.learn(iterations)
    final = float(np.mean([e.value for e in agent.rollouts(64)]))
    return RunOutput({"final": final}, {"F": list(agent.log.mean_value)})


def experiment(seeds: int, iterations: int, envs: list[str] | None = None) -> Experiment:
    """The benchmark's runs; the fingerprint covers the tasks' definitions."""
    grid = tuple(
        {"env": name, "method": method, "iterations": iterations} for name in envs or ENVS for method in METHODS
    )
    return Experiment("submodular_coverage", run, grid, tuple(range(seeds)), definition=(make, ENVS))


def baselines(name: str, seeds: int) -> dict[str, np.ndarray]:
    """Greedy planner (deterministic model: one value) and the uniform random policy (per seed)."""
    task = make(name)
    greedy = greedy_plan(task.model(), task.objective, task.horizon).value
    rng = np.random.default_rng(0)
    rand = []
    for seed in range(seeds):
        values = []
        for episode in range(64):
            task.reset(seed=seed * 1000 + episode)
            for _ in range(task.horizon):
                task.step(int(rng.integers(task.action_space.n)))
            values.append(task.visited.value)
        rand.append(float(np.mean(values)))
    return {"greedy": np.full(seeds, greedy), "random": np.array(rand)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=300, help="natural-gradient steps of 32 episodes")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="two 2-iteration runs into a temporary directory")
    args = parser.parse_args()
    if args.smoke:
        with tempfile.TemporaryDirectory() as out:
            records = run_experiment(experiment(1, 2, ["coverage (constant)"]), out, workers=2, progress=False)
        print("smoke runs:", ", ".join(f"{r.key}: F {r.metrics['final']:.1f}" for r in records))
        return

    records = run_experiment(experiment(args.seeds, args.iterations), OUT, workers=args.workers, device="cpu")
    scores: dict[str, dict[str, np.ndarray]] = {name: baselines(name, args.seeds) for name in ENVS}
    for (name, method), values in metric_values(records, "final", by=["env", "method"]).items():
        scores[name][method] = values
    write_report(records, scores, args)


def write_report(records: list[RunRecord], scores: dict[str, dict[str, np.ndarray]], args: argparse.Namespace) -> None:
    """The table (mean over seeds with its bootstrap interval) and the learning curves."""

    lines = [
        "# Submodular coverage: SubPO against modular RL and greedy planning",
        "",
        f"`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/submodular_coverage.py --workers {args.workers}` "
        f"({args.seeds} seeds, {args.iterations} natural-gradient steps of 32 episodes, H = 40; "
        f"{platform.processor() or platform.machine()}, CPU).",
        "",
        "F of the visited set, mean of 64 episodes per seed; mean over seeds with its stratified-bootstrap 95% "
        "interval (`rewarddesign.bench.stats`, 2000 replicates). "
        f"For the constant-weight coverage grid, F <= 2 (H + 1) = {BOUND:.0f}.",
        "",
        "| env | SubPO | modular RL | greedy (model) | random |",
        "|---|---|---|---|---|",
    ]
    for name, by_method in scores.items():
        cells = []
        for method in ("SubPO", "modular RL", "greedy", "random"):
            v = np.asarray(by_method[method])
            cell = stats.summarize_seeds(v).mean.format(2) if method != "greedy" else f"{v[0]:.2f}"
            if name == "coverage (constant)":
                cell += f" ({100 * v.mean() / BOUND:.0f}%)"
            cells.append(cell)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    subpo = np.mean(scores["coverage (constant)"]["SubPO"])
    lines += [
        "",
        f"Target: SubPO >= 90% of {BOUND:.0f} on the constant-weight grid: "
        f"{'met' if subpo >= 0.9 * BOUND else 'NOT met'} ({subpo:.1f}).",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "submodular_coverage.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(ENVS), figsize=(4 * len(ENVS), 3.4))
    for ax, name in zip(axes, ENVS, strict=True):
        for method, colour in zip(METHODS, ("C0", "C3"), strict=True):
            curves = np.array(
                [r.curves["F"] for r in records if r.params["env"] == name and r.params["method"] == method]
            )
            x = np.arange(1, curves.shape[1] + 1) * 32
            ax.plot(x, curves.mean(0), color=colour, label=method)
            ax.fill_between(x, curves.min(0), curves.max(0), color=colour, alpha=0.2)
        ax.axhline(scores[name]["greedy"][0], color="k", ls="--", lw=1, label="greedy (model)")
        ax.axhline(np.mean(scores[name]["random"]), color="gray", ls=":", lw=1, label="random")
        ax.set_title(name)
        ax.set_xlabel("episodes")
    axes[0].set_ylabel("F(visited)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "submodular_coverage.png", dpi=120)


if __name__ == "__main__":
    main()
