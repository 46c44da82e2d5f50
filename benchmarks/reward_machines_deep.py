"""Reward machines in deep RL: DQN and SAC with counterfactual experience (CRM) against plain replay.

Reproduce (one process)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reward_machines_deep.py            # the runs, then the report
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reward_machines_deep.py --pilot    # one short run each, timed
    .venv/bin/python benchmarks/reward_machines_deep.py --report-only                # tabulate finished runs

Each (task, method, seed) is a run of ``rewarddesign.bench.run_experiment``: its record lands in
``benchmarks/results/reward_machines_deep/runs/`` when it finishes and a rerun skips finished runs.
Writes ``benchmarks/results/reward_machines_deep.md`` and ``reward_machines_deep.png``.

Protocol (fixed in this docstring before the first full run)
-------------------------------------------------------------

Tasks (rewards only from the machine: 1 on completion, machines from LTLf):

- ``dqn/office_coffee``: ``rewarddesign/OfficeWorld-v0`` task ``coffee`` (1000-step episodes),
  observation ``"flat"`` (grid cell one-hot, then machine state one-hot); SB3 DQN, MLP (64, 64),
  lr 1e-3, gamma 0.9, buffer 100 000, 1 000 learning starts, batch 32, one gradient step every 4
  env steps, target update every 500 steps, epsilon from 1 to 0.1 over the first 10% of the
  budget. Budget 30 000 env steps, greedy evaluation every 1 000 steps (and at step 0).
  Score: the greedy policy's discounted machine return (gamma 0.9, horizon 200) normalised by the
  optimal one ``0.9 ** (d - 1)`` (``d`` by breadth-first search on the product, as in the tabular
  benchmark). Seeds 0-9.
- ``sac/point_a_then_b``: ``rewarddesign/LabelledPoint-v0`` task ``a_then_b`` (reach ``a``, then
  ``b``, never ``c``; 200-step episodes), flat observation; SB3 SAC, MLP (64, 64), lr 1e-3, gamma
  0.99, buffer 100 000, 500 learning starts, batch 64, one gradient step every 2 env steps,
  automatic entropy coefficient. Budget 15 000 env steps, deterministic evaluation every 500
  steps. Score: success (1 if the deterministic episode completes the task within 200 steps,
  else 0; the continuous task's optimum is not computed exactly). Seeds 0-4 (the CPU budget,
  about 25 core-minutes for the whole benchmark, allows five).

CPU budget and pilot: about 25 core-minutes in all. Pilot (seed 0, 3 000 steps, one gradient
step per env step, before this protocol was committed): DQN about 1.5 ms and SAC about 5 ms of CPU
per env step, neither method scoring above 0 at 3 000 steps (no other result was seen). From
this: DQN trains every 4 steps (SB3's default) and SAC every 2, and the budgets above fit 20 DQN
and 10 SAC runs in about 13 CPU-minutes.

Methods: ``plain`` (SB3's ``ReplayBuffer``: the real transition only) and ``CRM``
(``CounterfactualReplayBuffer`` with ``counterfactual=True``: one transition per non-terminal
machine state per env step). Same networks, same number of gradient steps per env step.

Measures per run: the score curve; ``steps_to_90``: the first evaluation from which the score
stays >= 0.9 to the end of the budget (for SAC: the first evaluation from which every evaluation
succeeds), the budget if none (censored; counted and reported); ``final``: the last score;
``auc``: the mean score over the evaluations.

Statistics (``rewarddesign.bench.stats``; 2000 bootstrap replicates, seed 0): per task and method
the IQM of steps to 90% and of the final score with stratified-bootstrap 95% intervals; the ratio
IQM(CRM) / IQM(plain) of steps with a bootstrap interval; P(CRM needs fewer steps than plain)
(ties half) with its interval. Curves: IQM of the score against steps with the interquartile
band (PNG).

Discrimination: the untrained greedy policy scores about 0; the benchmark discriminates on a task
when at least one method reaches 90% in at least half of its runs (otherwise the task is reported
as not learnt at this budget and its ratio is not interpreted).

Target (the paper's finding that CRM learns in a fraction of the baseline's steps): on each task,
P(CRM faster) with its interval above 0.5, and the upper end of the ratio's interval below 1.
Reported whatever comes out; no seeds are added and nothing is changed after seeing results.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from reward_machines import _ratio, shortest_completion, steps_to
from stable_baselines3 import DQN, SAC
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback

import rewarddesign.envs  # noqa: F401  (registers the ids)
from rewarddesign.bench import Experiment, RunOutput, RunRecord, run_experiment, stats
from rewarddesign.machines import CounterfactualReplayBuffer, RewardMachineWrapper, machine_wrapper
from rewarddesign.rollouts import rollout
from rewarddesign.train import make_vec_env

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "reward_machines_deep"
DQN_STEPS, DQN_EVERY = 30_000, 1_000
SAC_STEPS, SAC_EVERY = 15_000, 500
#: ``task -> (algorithm, env id, machine task, budget, eval every, eval horizon, gamma, seeds)``.
TASKS: dict[str, tuple[str, str, str, int, int, int, float, int]] = {
    "dqn/office_coffee": ("dqn", "rewarddesign/OfficeWorld-v0", "coffee", DQN_STEPS, DQN_EVERY, 200, 0.9, 10),
    "sac/point_a_then_b": ("sac", "rewarddesign/LabelledPoint-v0", "a_then_b", SAC_STEPS, SAC_EVERY, 200, 0.99, 5),
}
METHODS = ("plain", "CRM")
DQN_KWARGS: dict[str, Any] = {
    "learning_rate": 1e-3,
    "buffer_size": 100_000,
    "learning_starts": 1_000,
    "batch_size": 32,
    "train_freq": 4,
    "gradient_steps": 1,
    "target_update_interval": 500,
    "exploration_fraction": 0.1,
    "exploration_final_eps": 0.1,
    "policy_kwargs": {"net_arch": [64, 64]},
}
SAC_KWARGS: dict[str, Any] = {
    "learning_rate": 1e-3,
    "buffer_size": 100_000,
    "learning_starts": 500,
    "batch_size": 64,
    "train_freq": 2,
    "gradient_steps": 1,
    "policy_kwargs": {"net_arch": [64, 64]},
}


class _Evaluate(BaseCallback):
    """Every ``every`` env steps (and at step 0): the discounted machine return of one deterministic episode."""

    def __init__(self, env: gym.Env, every: int, gamma: float) -> None:
        super().__init__()
        self.env, self.every, self.gamma = env, every, gamma
        self.steps: list[int] = []
        self.returns: list[float] = []

    def evaluate(self) -> None:
        (trajectory,) = rollout(self.model, self.env, n_episodes=1, seed=0, deterministic=True, record_infos=False)
        rewards = np.asarray(trajectory.rews, dtype=float)
        self.steps.append(int(self.num_timesteps))
        self.returns.append(float(np.sum(rewards * self.gamma ** np.arange(rewards.size))))

    def _on_training_start(self) -> None:
        self.evaluate()

    def _on_step(self) -> bool:
        if self.num_timesteps % self.every == 0:
            self.evaluate()
        return True


def run(seed: int, task: str, method: str, steps: int | None = None) -> RunOutput:
    """One learner on one task: the score curve, steps to 90%, the final score."""
    start = time.process_time()
    algorithm, env_id, name, budget, every, horizon, gamma, _ = TASKS[task]
    budget = steps or budget
    crm = method == "CRM"
    world = gym.make(env_id).unwrapped
    machine = world.machine(name)  # type: ignore[attr-defined]
    venv = make_vec_env(env_id, 1, seed, wrappers=[machine_wrapper(machine, observation="flat", counterfactual=crm)])
    eval_env = RewardMachineWrapper(gym.make(env_id, max_episode_steps=horizon), machine, observation="flat")
    buffer = CounterfactualReplayBuffer if crm else ReplayBuffer
    if algorithm == "dqn":
        optimum = gamma ** (shortest_completion(world, machine) - 1)
        model: Any = DQN(
            "MlpPolicy", venv, gamma=gamma, replay_buffer_class=buffer, seed=seed, device="cpu", **DQN_KWARGS
        )
    else:
        optimum = None
        model = SAC("MlpPolicy", venv, gamma=gamma, replay_buffer_class=buffer, seed=seed, device="cpu", **SAC_KWARGS)
    callback = _Evaluate(eval_env, every, gamma)
    model.learn(total_timesteps=budget, callback=callback)
    venv.close()
    returns = np.array(callback.returns)
    score = returns / optimum if optimum is not None else (returns > 0).astype(float)
    at, reached = steps_to(score, np.array(callback.steps), 0.9, budget)
    metrics = {
        "steps_to_90": float(at),
        "reached": float(reached),
        "final": float(score[-1]),
        "auc": float(score.mean()),
        "cpu_seconds": time.process_time() - start,
    }
    return RunOutput(
        metrics,
        {"score": [round(float(v), 6) for v in score], "discounted_return": [round(float(v), 6) for v in returns]},
        {"eval_steps": callback.steps, "optimum": optimum},
    )


def experiment() -> Experiment:
    """The benchmark's runs (each task with its own seeds); the fingerprint covers the settings."""
    seeds = max(task[-1] for task in TASKS.values())
    grid = tuple({"task": task, "method": method} for task in TASKS for method in METHODS)
    definition = (TASKS, METHODS, DQN_KWARGS, SAC_KWARGS, _Evaluate, shortest_completion, steps_to)
    return Experiment("reward_machines_deep", run, grid, tuple(range(seeds)), definition=definition)


def _runs(experiment: Experiment) -> list[Any]:
    """The runs of the protocol: each task only with its own number of seeds."""
    return [r for r in experiment.runs() if r.seed < TASKS[r.params["task"]][-1]]


def _values(records: list[RunRecord], key: str, task: str, method: str) -> np.ndarray:
    mine = [r for r in records if r.params["task"] == task and r.params["method"] == method]
    return np.array([r.metrics[key] for r in sorted(mine, key=lambda r: r.seed)], dtype=float)


def report(records: list[RunRecord]) -> list[str]:
    """Write the tables and the curves; return the table's lines."""
    lines = [
        "# Reward machines in deep RL: CRM against plain replay (DQN, SAC)",
        "",
        "`OMP_NUM_THREADS=1 python benchmarks/reward_machines_deep.py` (one process, CPU; protocol in the script's "
        "docstring). IQM over seeds [stratified-bootstrap 95% interval]; runs that never reached 90% count as the "
        "budget (reached: runs that did, of all).",
        "",
        "| task | budget | method | seeds | steps to 90% | reached | final score | mean score over training "
        "| CPU s/run |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for task, (_, _, _, budget, *_rest) in TASKS.items():
        for method in METHODS:
            v = _values(records, "steps_to_90", task, method)
            if not v.size:
                continue
            lines.append(
                f"| {task} | {budget:,} | {method} | {v.size} | {stats.summarize_seeds(v).iqm.format(0)} | "
                f"{int(_values(records, 'reached', task, method).sum())}/{v.size} | "
                f"{stats.summarize_seeds(_values(records, 'final', task, method)).iqm.format(2)} | "
                f"{stats.summarize_seeds(_values(records, 'auc', task, method)).iqm.format(2)} | "
                f"{_values(records, 'cpu_seconds', task, method).mean():.0f} |"
            )
    lines += ["", "## CRM against plain replay (target fixed before the run)", ""]
    for task in TASKS:
        plain, crm = _values(records, "steps_to_90", task, "plain"), _values(records, "steps_to_90", task, "CRM")
        if not (plain.size and crm.size):
            continue
        learnt = max(_values(records, "reached", task, m).mean() for m in METHODS) >= 0.5
        ratio = _ratio(crm, plain)
        p = stats.improvement_estimate([-crm], [-plain])
        met = learnt and p[1] > 0.5 and ratio.high < 1.0
        lines.append(
            f"- {task}: ratio IQM(CRM) / IQM(plain) of steps to 90% = {ratio.format(3)}; P(CRM faster) = "
            f"{p[0]:.2f} [{p[1]:.2f}, {p[2]:.2f}]; discriminates: {'yes' if learnt else 'no (not learnt)'}; "
            f"target **{'met' if met else 'not met'}**."
        )
    lines += ["", "Per seed (steps to 90%; final score):", ""]
    for task in TASKS:
        for method in METHODS:
            steps, final = _values(records, "steps_to_90", task, method), _values(records, "final", task, method)
            if steps.size:
                lines.append(
                    f"- {task}, {method}: " + ", ".join(f"{s:.0f} ({f:.2f})" for s, f in zip(steps, final, strict=True))
                )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reward_machines_deep.md").write_text("\n".join(lines) + "\n")
    _plot(records)
    return lines


def _plot(records: list[RunRecord]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(TASKS), figsize=(5 * len(TASKS), 3.6))
    for ax, task in zip(axes, TASKS, strict=True):
        for method, colour in zip(METHODS, ("C7", "C0"), strict=True):
            runs = [r for r in records if r.params["task"] == task and r.params["method"] == method]
            if not runs:
                continue
            curves = np.array([r.curves["score"] for r in runs])
            x = np.array(runs[0].data["eval_steps"])
            middle = np.array([stats.iqm([curves[:, i]]) for i in range(curves.shape[1])])
            ax.plot(x, middle, color=colour, label=f"{method} ({len(runs)} seeds)")
            ax.fill_between(
                x, np.percentile(curves, 25, axis=0), np.percentile(curves, 75, axis=0), color=colour, alpha=0.15
            )
        ax.axhline(0.9, color="k", ls=":", lw=1)
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("env steps")
        ax.set_ylim(-0.05, 1.05)
    axes[0].set_ylabel("normalised return / success (IQM, IQR band)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "reward_machines_deep.png", dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pilot", type=int, default=0, help="seed 0 of each task and method for this many steps")
    parser.add_argument("--report-only", action="store_true", help="tabulate the finished runs, train nothing")
    args = parser.parse_args()
    if args.pilot:
        for task in TASKS:
            for method in METHODS:
                out = run(0, task, method, steps=args.pilot)
                print(f"pilot {task} {method}: {out.metrics} score {out.curves['score']}")
        return
    full = experiment()
    keep = {r.key for r in _runs(full)}
    if args.report_only:
        paths = [OUT / "runs" / f"{key}.json" for key in sorted(keep)]
        records = [RunRecord.read(path) for path in paths if path.exists()]
    else:
        records = []
        for task in TASKS:
            part = full.subset(seeds=range(TASKS[task][-1]), task=[task])
            records += run_experiment(part, OUT, workers=1, device="cpu", progress=False)
    print("\n".join(report(records)))


if __name__ == "__main__":
    main()
