"""Reward machines: counterfactual experience (CRM) and automatic shaping against plain product-MDP Q-learning.

Reproduce (about 15 CPU-minutes, one process)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reward_machines.py --workers 1

Protocol (fixed before the first full run)
------------------------------------------

Tasks (the paper's grid worlds, Toro Icarte et al., JAIR 2022; machines from LTLf with
``rewarddesign.machines.from_ltlf``, rewards only from the machine: 1 on completion):

- office world (``rewarddesign/OfficeWorld-v0``, 1000-step episodes): ``coffee``, ``mail``,
  ``patrol``, ``coffee_and_mail``; budget 150 000 steps, greedy evaluation every 1 000 steps;
- craft world (``rewarddesign/CraftWorld-v0``, first map, 1000-step episodes): ``t5`` (``a`` and
  ``f`` in either order, then ``e``); budget 1 000 000 steps, evaluation every 10 000 steps. One
  craft task only: the CPU budget (about 15 core-minutes) does not allow more at this length.

Learners (``rewarddesign.machines.q_learning``; all: gamma 0.9, learning rate 0.5, epsilon 0.1,
greedy ties broken at random): ``plain`` (Q-learning on the product MDP), ``CRM`` (one update per
non-terminal machine state per step), ``shaping`` (machine potential ``-v(u)`` from value iteration
on the machine over the label sets the world can produce, gamma 0.9), ``CRM+shaping``. Q-values start
at the largest return the learner's reward admits: 1 unshaped, ``1 + max v`` shaped (equal
optimism for every learner). 10 seeds (0-9) each.

Score: the greedy policy's discounted machine return from the start state, normalised by the
optimal one (``0.9 ** (d - 1)``, ``d`` the shortest completion in the product of grid and
machine, found by breadth-first search; deterministic worlds). Steps to 90%: the first evaluation
from which the normalised return stays >= 0.9 to the end of the budget; a run that never gets
there counts as the budget (censored; the number of such runs is reported).

Statistics (``rewarddesign.bench.stats``): per task and learner the IQM of steps to 90% with its
stratified-bootstrap 95% interval (2000 replicates, seed 0); the ratio IQM(learner) / IQM(plain)
with a bootstrap interval; the probability that the learner needs fewer steps than ``plain``
(ties half) with its interval, per task and over all tasks (stratified). Curves: IQM of the
normalised return against steps, per task (PNG).

Discrimination: the untrained greedy policy scores 0 and the optimal one 1 on every task; the
benchmark discriminates at this budget when ``plain`` reaches 90% in at least half of its runs on
a task (otherwise that task's ratios are lower bounds on the speed-up and are marked so).

Target (the paper's finding): CRM reaches 90% of optimal in a fraction of plain Q-learning's steps
on every task: the upper end of the interval of IQM(CRM) / IQM(plain) below 1 on each task.
Shaping has no pre-registered target (reported as measured).

Performance (same run, after the learners): the wrapper's overhead per step against the bare env
(``OfficeWorld``, 200 000 random steps, best of 3 repetitions): ``RewardMachineWrapper`` with a
``Dict`` observation, with a flat one, with counterfactual experiences; and the cost of one
``CounterfactualReplayBuffer.add`` (one row per machine state) against SB3's ``ReplayBuffer.add``.

DQN, SAC and TD3 with CRM are not part of the run: the CPU budget does not allow them (the replay
buffers are tested for their contents instead).

Runs go through ``rewarddesign.bench.run_experiment`` (records in
``benchmarks/results/reward_machines/runs/``, a rerun skips finished runs; ``--smoke`` runs four
tiny runs into a temporary directory); the report goes to ``benchmarks/results/reward_machines.md``
and the curves to ``benchmarks/results/reward_machines.png``.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import rewarddesign.envs  # noqa: F401  (registers the ids)
from rewarddesign.bench import Experiment, RunOutput, RunRecord, metric_values, run_experiment, stats
from rewarddesign.machines import RewardMachine, machine_values, q_learning

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "reward_machines"
GAMMA = 0.9
#: ``name -> (env id, task, steps, eval_every)``.
TASKS = {
    "office/coffee": ("rewarddesign/OfficeWorld-v0", "coffee", 150_000, 1_000),
    "office/mail": ("rewarddesign/OfficeWorld-v0", "mail", 150_000, 1_000),
    "office/patrol": ("rewarddesign/OfficeWorld-v0", "patrol", 150_000, 1_000),
    "office/coffee_and_mail": ("rewarddesign/OfficeWorld-v0", "coffee_and_mail", 150_000, 1_000),
    "craft/t5": ("rewarddesign/CraftWorld-v0", "t5", 1_000_000, 10_000),
}
METHODS = {"plain": (False, False), "CRM": (False, True), "shaping": (True, False), "CRM+shaping": (True, True)}


def shortest_completion(world: gym.Env, machine: RewardMachine) -> int:
    """The fewest steps from the start to the machine's reward (breadth-first search on the product)."""
    start = (int(world.start), machine.initial)  # type: ignore[attr-defined]
    moves, labels = world.next_state, world.state_labels  # type: ignore[attr-defined]
    dist = {start: 0}
    queue = deque([start])
    while queue:
        s, u = queue.popleft()
        for a in range(world.action_space.n):  # type: ignore[attr-defined]
            s2 = int(moves[s, a])
            u2, r = machine.step(u, labels[s2])
            if r > 0:
                return dist[(s, u)] + 1
            if u2 not in machine.terminal and (s2, u2) not in dist:
                dist[(s2, u2)] = dist[(s, u)] + 1
                queue.append((s2, u2))
    raise ValueError("the task cannot be completed")


def steps_to(curve: np.ndarray, steps: np.ndarray, level: float, budget: int) -> tuple[int, bool]:
    """The first evaluation step from which ``curve`` stays >= ``level``; ``(budget, False)`` if none."""
    above = curve >= level
    if not above[-1]:
        return budget, False
    below = np.flatnonzero(~above)
    first = 0 if below.size == 0 else int(below[-1]) + 1
    return int(steps[first]), True


def run(seed: int, task: str, method: str) -> RunOutput:
    """One learner on one task: steps to 90% of optimal, and the normalised learning curve."""
    env_id, name, budget, every = TASKS[task]
    shaping, crm = METHODS[method]
    env, eval_env = gym.make(env_id), gym.make(env_id)
    world = env.unwrapped
    machine = world.machine(name)  # type: ignore[attr-defined]
    labels = set(world.state_labels)  # type: ignore[attr-defined]
    optimum = GAMMA ** (shortest_completion(world, machine) - 1)
    q_init = 1.0 + (float(machine_values(machine, GAMMA, labels).max()) if shaping else 0.0)
    result = q_learning(
        env,
        machine,
        steps=budget,
        crm=crm,
        shaping=shaping,
        gamma=GAMMA,
        lr=0.5,
        epsilon=0.1,
        q_init=q_init,
        shaping_labels=labels,
        eval_env=eval_env,
        eval_every=every,
        eval_horizon=1000,
        rng=seed,
    )
    curve = result.eval_returns / optimum
    at, reached = steps_to(curve, result.eval_steps, 0.9, budget)
    return RunOutput(
        {"steps_to_90": float(at), "reached": float(reached), "final": float(curve[-1])},
        {"normalised": [round(float(v), 6) for v in curve]},
        {"eval_steps": result.eval_steps.tolist(), "optimum": optimum, "updates": result.updates},
    )


def experiment(seeds: int, tasks: list[str] | None = None) -> Experiment:
    """The benchmark's runs; the fingerprint covers the task table and the optimum's search."""
    grid = tuple({"task": task, "method": method} for task in tasks or TASKS for method in METHODS)
    return Experiment(
        "reward_machines", run, grid, tuple(range(seeds)), definition=(TASKS, METHODS, shortest_completion, steps_to)
    )


def overhead(steps: int = 200_000, repeats: int = 3) -> dict[str, float]:
    """Microseconds per step: bare office world, and the machine wrappers around it (best of ``repeats``)."""
    from rewarddesign.envs.office_world import OfficeWorld
    from rewarddesign.machines import RewardMachineWrapper

    actions = np.random.default_rng(0).integers(4, size=steps).tolist()
    machine = OfficeWorld().machine("coffee_and_mail")

    def timed(make: object) -> float:
        best = np.inf
        for _ in range(repeats):
            env = make()  # type: ignore[operator]
            env.reset(seed=0)
            start = time.perf_counter()
            for a in actions:
                _, _, terminated, truncated, _ = env.step(a)
                if terminated or truncated:
                    env.reset()
            best = min(best, time.perf_counter() - start)
        return 1e6 * best / steps

    out = {
        "bare env": timed(OfficeWorld),
        "dict observation": timed(lambda: RewardMachineWrapper(OfficeWorld(), machine)),
        "flat observation": timed(lambda: RewardMachineWrapper(OfficeWorld(), machine, observation="flat")),
        "flat + counterfactual": timed(
            lambda: RewardMachineWrapper(OfficeWorld(), machine, observation="flat", counterfactual=True)
        ),
    }
    out.update(replay_cost(machine))
    return out


def replay_cost(machine: RewardMachine, steps: int = 20_000) -> dict[str, float]:
    """Microseconds per ``add``: SB3's ReplayBuffer against the CRM buffer (one env, flat observations)."""
    from stable_baselines3.common.buffers import ReplayBuffer

    from rewarddesign.envs.office_world import OfficeWorld
    from rewarddesign.machines import CounterfactualReplayBuffer, RewardMachineWrapper

    env = RewardMachineWrapper(OfficeWorld(), machine, observation="flat", counterfactual=True)
    obs, _ = env.reset(seed=0)
    records = []
    for a in np.random.default_rng(1).integers(4, size=steps).tolist():
        next_obs, r, terminated, truncated, info = env.step(a)
        records.append((obs[None], next_obs[None], np.array([a]), np.array([r]), np.array([terminated]), [info]))
        obs = env.reset()[0] if terminated or truncated else next_obs
    out = {}
    for name, cls in (
        ("ReplayBuffer.add", ReplayBuffer),
        ("CounterfactualReplayBuffer.add", CounterfactualReplayBuffer),
    ):
        buffer = cls(steps * 8, env.observation_space, env.action_space, device="cpu")
        start = time.perf_counter()
        for record in records:
            buffer.add(*record)
        out[name] = 1e6 * (time.perf_counter() - start) / steps
    out["machine states (rows per CRM add)"] = float(len([u for u in machine.states if u not in machine.terminal]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="four short runs into a temporary directory")
    args = parser.parse_args()
    if args.smoke:
        global TASKS
        TASKS = {"office/coffee": ("rewarddesign/OfficeWorld-v0", "coffee", 5_000, 1_000)}
        with tempfile.TemporaryDirectory() as out:
            records = run_experiment(experiment(1, ["office/coffee"]), out, workers=1, progress=False)
        print("smoke runs:", ", ".join(f"{r.key}: {r.metrics['steps_to_90']:.0f}" for r in records))
        return
    records = run_experiment(experiment(args.seeds), OUT, workers=args.workers, device="cpu")
    timings = overhead()
    write_report(records, timings, args)


def _ratio(x: np.ndarray, y: np.ndarray) -> stats.Estimate:
    samples = stats.stratified_bootstrap([[x], [y]], lambda a, b: stats.iqm(a) / stats.iqm(b), reps=2000, rng=0)
    low, high = np.percentile(samples, [2.5, 97.5])
    return stats.Estimate(stats.iqm([x]) / stats.iqm([y]), float(low), float(high))


def write_report(records: list[RunRecord], timings: dict[str, float], args: argparse.Namespace) -> None:
    """The tables (steps to 90%, ratios, probabilities of improvement, overhead) and the curves."""
    steps = metric_values(records, "steps_to_90", by=["task", "method"])
    reached = metric_values(records, "reached", by=["task", "method"])
    lines = [
        "# Reward machines: CRM and automatic shaping against plain Q-learning",
        "",
        f"`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reward_machines.py --workers {args.workers}` "
        f"({args.seeds} seeds; {platform.processor() or platform.machine()}, CPU). Protocol: the script's docstring.",
        "",
        "## Steps to 90% of the optimal discounted return (greedy policy)",
        "",
        "IQM over seeds [stratified-bootstrap 95% interval]; runs that never reached 90% count as the budget "
        "(reached: runs that did, of all).",
        "",
        "| task | budget | " + " | ".join(METHODS) + " |",
        "|---|---|" + "---|" * len(METHODS),
    ]
    for task, (_, _, budget, _) in TASKS.items():
        cells = []
        for method in METHODS:
            v = steps[(task, method)]
            done = int(reached[(task, method)].sum())
            cells.append(f"{stats.summarize_seeds(v).iqm.format(0)} ({done}/{v.size})")
        lines.append(f"| {task} | {budget:,} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Against plain Q-learning",
        "",
        "Ratio IQM(learner) / IQM(plain) of steps to 90% [bootstrap 95%], and P(learner needs fewer steps than plain) "
        "[95%]. `<=` marks tasks where plain reached 90% in fewer than half of its runs (its steps are censored: "
        "the ratio then overstates the learner's steps relative to plain's).",
        "",
        "| task | " + " | ".join(f"{m} ratio | {m} P(faster)" for m in METHODS if m != "plain") + " |",
        "|---|" + "---|---|" * (len(METHODS) - 1),
    ]
    target_met = True
    for task in TASKS:
        plain = steps[(task, "plain")]
        censored = reached[(task, "plain")].mean() < 0.5
        cells = []
        for method in METHODS:
            if method == "plain":
                continue
            x = steps[(task, method)]
            ratio = _ratio(x, plain)
            p = stats.improvement_estimate([-x], [-plain])
            cells.append(("<= " if censored else "") + ratio.format(3))
            cells.append(f"{p[0]:.2f} [{p[1]:.2f}, {p[2]:.2f}]")
            if method == "CRM" and not ratio.high < 1.0:
                target_met = False
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    overall = []
    for method in METHODS:
        if method == "plain":
            continue
        xs = [-steps[(t, method)] / TASKS[t][2] for t in TASKS]
        ys = [-steps[(t, "plain")] / TASKS[t][2] for t in TASKS]
        p = stats.improvement_estimate(xs, ys)
        overall.append(f"{method}: {p[0]:.2f} [{p[1]:.2f}, {p[2]:.2f}]")
    lines += [
        "",
        "P(faster than plain) over all tasks (stratified by task): " + "; ".join(overall) + ".",
        "",
        "Target (CRM's ratio interval below 1 on every task): " + ("**met**." if target_met else "**NOT met**."),
        "",
        "## Overhead per step (office world, 200 000 random steps, best of 3)",
        "",
        "| | microseconds |",
        "|---|---|",
    ]
    bare = timings["bare env"]
    for name, value in timings.items():
        if name.startswith("machine states"):
            continue
        extra = f" (+{value - bare:.2f} over the bare env)" if name in ("dict observation", "flat observation") else ""
        extra = f" (+{value - bare:.2f})" if name == "flat + counterfactual" else extra
        lines.append(f"| {name} | {value:.2f}{extra} |")
    lines += [
        "",
        f"A CRM add stores {timings['machine states (rows per CRM add)']:.0f} rows (one per non-terminal "
        "machine state of `coffee_and_mail`).",
        "",
        "## Per-seed steps to 90%",
        "",
    ]
    for (task, method), v in steps.items():
        lines.append(f"- {task}, {method}: " + ", ".join(f"{x:.0f}" for x in v))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reward_machines.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    plot(records)


def iqm_band(ax: Any, x: np.ndarray, curves: np.ndarray, colour: str, label: str, alpha: float = 0.15) -> None:
    """Draw on ``ax`` the IQM over runs of ``curves [runs, points]`` against ``x``, with the interquartile band."""
    middle = np.array([stats.iqm([curves[:, i]]) for i in range(curves.shape[1])])
    ax.plot(x, middle, color=colour, label=label)
    ax.fill_between(x, np.percentile(curves, 25, axis=0), np.percentile(curves, 75, axis=0), color=colour, alpha=alpha)


def plot(records: list[RunRecord]) -> None:
    """IQM of the normalised return against steps, per task and learner."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(TASKS), figsize=(4 * len(TASKS), 3.4))
    for ax, task in zip(axes, TASKS, strict=True):
        for method, colour in zip(METHODS, ("C7", "C0", "C2", "C3"), strict=True):
            runs = [r for r in records if r.params["task"] == task and r.params["method"] == method]
            curves = np.array([r.curves["normalised"] for r in runs])
            iqm_band(ax, np.array(runs[0].data["eval_steps"]), curves, colour, method)
        ax.axhline(0.9, color="k", ls=":", lw=1)
        ax.set_title(task)
        ax.set_xlabel("steps")
        ax.set_ylim(-0.05, 1.05)
    axes[0].set_ylabel("normalised greedy return (IQM, IQR band)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "reward_machines.png", dpi=110)


if __name__ == "__main__":
    main()
