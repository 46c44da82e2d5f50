"""Reward machines in deep RL: DQN and SAC with counterfactual experience (CRM) and automatic shaping.

Reproduce::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reward_machines_deep.py --workers 2   # the runs, then the report
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reward_machines_deep.py --pilot 60000 --task dqn/office_coffee
    .venv/bin/python benchmarks/reward_machines_deep.py --report-only                    # tabulate finished runs

Each (task, method, seed) is a run of ``rewarddesign.bench.run_experiment``: its record lands in
``benchmarks/results/reward_machines_deep/runs/`` when it finishes and a rerun skips finished runs.
Writes ``benchmarks/results/reward_machines_deep.md`` and ``reward_machines_deep.png``.

Protocol v2 (fixed in this docstring after the pilots below, before the first full run)
-----------------------------------------------------------------------------------------

Tasks (rewards only from the machine, on completion; machines from LTLf; observation ``"flat"``:
the env observation flattened, then the machine state one-hot):

- ``dqn/office_coffee``: ``rewarddesign/OfficeWorld-v0`` task ``coffee`` (1000-step episodes; 15
  steps at best), cell one-hot. SB3 DQN, MLP (64, 64), lr 1e-3, gamma 0.9, buffer 100 000, 1 000
  learning starts, batch 32, one gradient step every 4 env steps, target update every 500 steps,
  epsilon from 1 to 0.1 over the first 10% of the budget. Budget 60 000 env steps (twice v1's),
  greedy evaluation every 1 000 steps (and at step 0). Score: the greedy policy's discounted
  machine return (gamma 0.9, horizon 200) normalised by the optimal one ``0.9 ** (d - 1)`` (``d``
  by breadth-first search on the product, as in the tabular benchmark). Seeds 0-9.
- ``dqn/craft_g_then_b``: ``rewarddesign/CraftWorld-v0`` (39 x 39 map, 1000-step episodes) with the
  task ``F(g & F b)``: reach a ``g`` cell, then a ``b`` cell, a three-state machine with two steps
  (16 env steps at best, the nearest two-object sequence to the start; the paper's craft tasks lie
  31 (``t5``) to 40 (``t2``) steps away, where ``0.9 ** 39`` leaves a return of 0.02, and tabular
  Q-learning needs 833 000 steps on ``t5``). Observation: the cell as (row, column) scaled to
  [0, 1] (an MLP generalises over coordinates, not over 1 681 one-hot cells), then the machine
  one-hot. The same DQN as above except epsilon decaying over the first 50% of the budget (the
  open 39 x 39 map needs longer exploration). Budget 60 000 env steps, evaluation and score as
  on the office task. Seeds 0-9.
- ``sac/point_a_then_b_fast``: ``LabelledPoint`` (discs ``a`` (0.8, 0.2) and ``b`` (0.8, 0.8) of
  radius 0.1, start (0.1, 0.1), 200-step episodes) with three task parameters changed from v1:
  the speed 0.15 (the longest move per step; 0.05 in the registered env), the task ``F(a & F b)``
  (reach ``a``, then ``b``; without v1's ``G !c``, since a random walk that ends at ``c`` scores as
  much as one that wanders, and most random episodes at the higher speed entered ``c``) and the
  machine's completion reward 100 instead of 1 (with reward 1, SAC's entropy bonus, summed over
  the steps a finished episode no longer earns, outweighed completing the task: in the pilot the
  share of successful training episodes fell from 60% to 0 while the entropy coefficient fell
  from 1 to 0.01). SB3 SAC, MLP (64, 64), lr 1e-3, gamma 0.99, buffer 100 000, 500 learning
  starts, batch 64, one gradient step every 2 env steps, automatic entropy coefficient (all as
  in v1). Budget 30 000 env steps, deterministic evaluation every 1 000 steps. Score: success (1
  if the deterministic episode completes the task within 200 steps, else 0). Seeds 0-4: five, not
  ten, because SAC costs about five times DQN's CPU per env step.

Methods (same networks, same number of gradient steps per env step):

- ``plain``: SB3's ``ReplayBuffer``, the real transition only;
- ``CRM``: ``CounterfactualReplayBuffer`` with the wrapper's ``counterfactual=True``: one
  transition per non-terminal machine state per env step;
- ``shaping``: the machine's automatic potential shaping, ``PotentialShaping(wrapper,
  MachinePotential(machine, gamma, labels), gamma)`` with the label sets the world can show (the
  grid's ``state_labels``; for the point: none, ``a``, ``b`` or ``c`` alone, the discs being
  disjoint), the real transition only;
- ``CRM+shaping``: both; each counterfactual row gets the same potential difference
  ``gamma * (0 if it ends else phi(u')) - phi(u)`` for its own machine states (the real row thus
  equals the shaped real transition; ``rewarddesign.machines.machine_shaping``, which applies
  both; the benchmark defined this wrapper itself until it moved to the library unchanged).

Every DQN task runs all four methods; SAC runs ``plain`` and ``CRM`` only: the four methods on the
three tasks at these budgets would need about 95 core-minutes, over the 90 of the full run (SAC's
two shaping arms alone about 17).

Measures per run: the score curve; ``steps_to_90``: the first evaluation from which the score
stays >= 0.9 to the end of the budget (for SAC: the first evaluation from which every evaluation
succeeds), the budget if none (censored; counted and reported); ``final``: the last score;
``auc``: the mean score over the evaluations.

Statistics (``rewarddesign.bench.stats``; 2000 bootstrap replicates, seed 0): per task and method
the IQM of steps to 90% and of the final score with stratified-bootstrap 95% intervals; for each
of CRM, shaping and CRM+shaping against plain: the ratio IQM(method) / IQM(plain) of steps with a
bootstrap interval, and P(method needs fewer steps than plain) (ties half) with its interval.
Curves: IQM of the score against steps with the interquartile band (PNG).

Discrimination (as in v1): the untrained greedy policy scores about 0; the benchmark discriminates
on a task when at least one method reaches 90% in at least half of its runs (otherwise the task is
reported as not learnt at this budget and its ratios are not interpreted).

Target (the paper's finding that CRM learns in a fraction of the baseline's steps): on each task,
P(CRM faster) with its interval above 0.5, and the upper end of the ratio's interval below 1.
Shaping and CRM+shaping against plain are reported with the same statistics and called faster by
the same criterion; they carry no target. Reported whatever comes out; no seeds are added and
nothing is changed after seeing results.

Pilots (seed 0, ``plain`` only, one process, before this protocol was committed; about 10
core-minutes): office ``coffee`` at 60 000 steps reached 90% at 30 000 (40 CPU-s). The craft task
at 60 000 steps never completed in a greedy evaluation, with the cell one-hot and epsilon over 10%
(66 CPU-s), with epsilon over 50% (70 CPU-s), and with coordinates and epsilon over 50% (47
CPU-s): the settings above are the last, and the task is expected not to be learnt by plain DQN
at this budget (a larger one does not fit the CPU budget); it is kept as the test of whether CRM
or shaping learn where plain DQN does not. SAC on the registered point (speed 0.05 in v1) with
speed 0.1 and ``a_then_b``: no success in 30 000 steps (109 CPU-s); speed 0.15, ``F(a & F b)``,
reward 1: none in 20 000 steps (70 CPU-s; the collapse described above); with reward 100:
successes in 8 of the 21 evaluations of 20 000 steps, not yet stable (65 CPU-s), hence 30 000
steps. A random walk with uniform actions completes ``F(a & F b)`` at speed 0.15 in about 32% of
200-step episodes, ``a_then_b`` at speed 0.05 in none of 300.

Protocol v1 (superseded, kept)
------------------------------

DQN on office ``coffee`` with 30 000 env steps (10 seeds) and SAC on the registered point's
``a_then_b`` (speed 0.05) with 15 000 steps (5 seeds), plain against CRM only, otherwise the
settings above (SAC evaluated every 500 steps). Its budgets were too small: DQN reached 90% in 4/10
(plain) and 3/10 (CRM) runs, SAC in 0/5 for both, so it did not discriminate. Its report is
``benchmarks/results/reward_machines_deep_v1.md``, its runs ``reward_machines_deep_v1/runs/``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from reward_machines import _ratio, iqm_band, shortest_completion, steps_to
from stable_baselines3 import DQN, SAC
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

import rewarddesign.envs  # noqa: F401  (registers the ids)
from rewarddesign.bench import Experiment, RunOutput, RunRecord, run_experiment, stats
from rewarddesign.envs.labelled_point import POINT_REGIONS, LabelledPoint
from rewarddesign.machines import (
    CounterfactualReplayBuffer,
    MachinePotential,
    RewardMachine,
    RewardMachineWrapper,
    ShapedCounterfactuals,
    from_ltlf,
    machine_shaping,
)

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "reward_machines_deep"
DQN_STEPS, DQN_EVERY = 60_000, 1_000
CRAFT_EXPLORATION = 0.5
SAC_STEPS, SAC_EVERY, SAC_SPEED, SAC_REWARD = 30_000, 1_000, 0.15, 100.0
#: ``task -> settings``: algorithm, world (``office``, ``craft``, ``point``), machine task (a name or
#: an LTLf formula), budget, evaluation interval, evaluation horizon, gamma, seeds, point speed.
TASKS: dict[str, dict[str, Any]] = {
    "dqn/office_coffee": {
        "algorithm": "dqn", "world": "office", "task": "coffee", "budget": DQN_STEPS, "every": DQN_EVERY,
        "horizon": 200, "gamma": 0.9, "seeds": 10, "exploration_fraction": 0.1,
    },
    "dqn/craft_g_then_b": {
        "algorithm": "dqn", "world": "craft", "task": "F(g & F b)", "budget": DQN_STEPS, "every": DQN_EVERY,
        "horizon": 200, "gamma": 0.9, "seeds": 10, "exploration_fraction": CRAFT_EXPLORATION,
        "observation": "coordinates",
    },
    "sac/point_a_then_b_fast": {
        "algorithm": "sac", "world": "point", "task": "F(a & F b)", "budget": SAC_STEPS, "every": SAC_EVERY,
        "horizon": 200, "gamma": 0.99, "seeds": 5, "speed": SAC_SPEED, "reward": SAC_REWARD,
    },
}  # fmt: skip
METHODS = ("plain", "CRM", "shaping", "CRM+shaping")
METHODS_SAC = ("plain", "CRM")
#: ``method -> (counterfactual experience, automatic shaping)``.
FLAGS = {"plain": (False, False), "CRM": (True, False), "shaping": (False, True), "CRM+shaping": (True, True)}
WORLDS = {"office": "rewarddesign/OfficeWorld-v0", "craft": "rewarddesign/CraftWorld-v0"}
DQN_KWARGS: dict[str, Any] = {
    "learning_rate": 1e-3,
    "buffer_size": 100_000,
    "learning_starts": 1_000,
    "batch_size": 32,
    "train_freq": 4,
    "gradient_steps": 1,
    "target_update_interval": 500,
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


def methods(task: str) -> tuple[str, ...]:
    """The methods a task runs (all four on DQN, :data:`METHODS_SAC` on SAC)."""
    return METHODS if TASKS[task]["algorithm"] == "dqn" else METHODS_SAC


class GridCoordinates(gym.ObservationWrapper):
    """A labelled grid's cell as its (row, column), each scaled to [0, 1] (float32 ``[2]``), for an MLP."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        height, width = env.unwrapped.shape  # type: ignore[attr-defined]
        self._width, self._scale = width, np.array([height - 1, width - 1], dtype=np.float32)
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)

    def observation(self, observation: Any) -> np.ndarray:
        return np.array(divmod(int(observation), self._width), dtype=np.float32) / self._scale


def world(task: str, horizon: int | None = None) -> gym.Env:
    """The labelled env of a task (no machine), with its episode limit or ``horizon`` steps."""
    settings = TASKS[task]
    if settings["world"] == "point":
        return gym.wrappers.TimeLimit(LabelledPoint(speed=settings["speed"]), horizon or 200)
    env = gym.make(WORLDS[settings["world"]], max_episode_steps=horizon)  # None: the registered limit
    return GridCoordinates(env) if settings.get("observation") == "coordinates" else env


def machine_of(task: str) -> RewardMachine:
    """The task's machine (its completion paying ``reward`` where the task sets one, else 1)."""
    settings = TASKS[task]
    base = world(task).unwrapped
    if "reward" in settings:
        return from_ltlf(base.tasks.get(settings["task"], settings["task"]), reward=settings["reward"])  # type: ignore[attr-defined]
    return base.machine(settings["task"])  # type: ignore[attr-defined]


def label_sets(env: gym.Env) -> list[frozenset[str]]:
    """The label sets ``env`` can show: a grid's ``state_labels``; for the point, each disjoint disc alone or none."""
    base = env.unwrapped
    if isinstance(base, LabelledPoint):
        return [frozenset(), *(frozenset({name}) for name in POINT_REGIONS)]
    return sorted(set(base.state_labels), key=sorted)  # type: ignore[attr-defined]


def training_env(task: str, method: str, machine: RewardMachine) -> gym.Env:
    """The env a learner trains on: the world, the machine and, for the shaping methods, the shaping."""
    settings = TASKS[task]
    crm, shaping = FLAGS[method]
    base = world(task)
    env: gym.Env = RewardMachineWrapper(base, machine, observation="flat", counterfactual=crm)
    if shaping:
        potential = MachinePotential(machine, settings["gamma"], label_sets(base))
        # PotentialShaping, and each counterfactual row shaped the same way (without rows: no change)
        env = machine_shaping(env, potential, settings["gamma"])
    return env


class _Evaluate(BaseCallback):
    """Every ``every`` env steps (and at step 0): the discounted machine return of one deterministic episode."""

    def __init__(self, env: gym.Env, every: int, gamma: float) -> None:
        super().__init__()
        self.env, self.every, self.gamma = env, every, gamma
        self.steps: list[int] = []
        self.returns: list[float] = []

    def evaluate(self) -> None:
        obs, _ = self.env.reset(seed=0)
        total, discount, done = 0.0, 1.0, False
        while not done:
            action, _ = self.model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, _ = self.env.step(action)
            total += discount * float(reward)
            discount *= self.gamma
            done = terminated or truncated
        self.steps.append(int(self.num_timesteps))
        self.returns.append(total)

    def _on_training_start(self) -> None:
        self.evaluate()

    def _on_step(self) -> bool:
        if self.num_timesteps % self.every == 0:
            self.evaluate()
        return True


def run(seed: int, task: str, method: str, steps: int | None = None) -> RunOutput:
    """One learner on one task: the score curve, steps to 90%, the final score."""
    start = time.process_time()
    settings = TASKS[task]
    budget, every, gamma = steps or settings["budget"], settings["every"], settings["gamma"]
    crm = FLAGS[method][0]
    base = world(task).unwrapped
    machine = machine_of(task)
    venv = make_vec_env(lambda: training_env(task, method, machine), n_envs=1, seed=seed)
    eval_env = RewardMachineWrapper(world(task, settings["horizon"]), machine, observation="flat")
    buffer = CounterfactualReplayBuffer if crm else ReplayBuffer
    if settings["algorithm"] == "dqn":
        optimum = gamma ** (shortest_completion(base, machine) - 1)
        model: Any = DQN(
            "MlpPolicy",
            venv,
            gamma=gamma,
            exploration_fraction=settings["exploration_fraction"],
            replay_buffer_class=buffer,
            seed=seed,
            device="cpu",
            **DQN_KWARGS,
        )
    else:
        optimum = None
        model = SAC("MlpPolicy", venv, gamma=gamma, replay_buffer_class=buffer, seed=seed, device="cpu", **SAC_KWARGS)
    callback = _Evaluate(eval_env, every, gamma)
    model.learn(total_timesteps=budget, callback=callback)
    venv.close()
    returns = np.array(callback.returns)
    score = returns / optimum if optimum is not None else (returns > 0).astype(float)  # optimum: reward 1
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
    """The benchmark's runs (each task with its own seeds and methods); the fingerprint covers the settings."""
    seeds = max(settings["seeds"] for settings in TASKS.values())
    grid = tuple({"task": task, "method": method} for task in TASKS for method in METHODS)
    definition = (
        TASKS,
        METHODS_SAC,
        FLAGS,
        DQN_KWARGS,
        SAC_KWARGS,
        GridCoordinates,
        world,
        machine_of,
        label_sets,
        ShapedCounterfactuals,
        machine_shaping,
        training_env,
        _Evaluate,
        shortest_completion,
        steps_to,
    )
    return Experiment("reward_machines_deep", run, grid, tuple(range(seeds)), definition=definition)


def _runs(experiment: Experiment) -> list[Any]:
    """The runs of the protocol: each task only with its own seeds and methods."""
    return [
        r
        for r in experiment.runs()
        if r.seed < TASKS[r.params["task"]]["seeds"] and r.params["method"] in methods(r.params["task"])
    ]


def _values(records: list[RunRecord], key: str, task: str, method: str) -> np.ndarray:
    mine = [r for r in records if r.params["task"] == task and r.params["method"] == method]
    return np.array([r.metrics[key] for r in sorted(mine, key=lambda r: r.seed)], dtype=float)


def report(records: list[RunRecord], command: str) -> list[str]:
    """Write the tables and the curves; return the table's lines."""
    lines = [
        "# Reward machines in deep RL: CRM and automatic shaping against plain replay (DQN, SAC), protocol v2",
        "",
        f"`{command}` (CPU; protocol v2 in the script's docstring, fixed before the run). IQM over seeds "
        "[stratified-bootstrap 95% interval]; runs that never reached 90% count as the budget (reached: runs that "
        "did, of all).",
        "",
        "| task | budget | method | seeds | steps to 90% | reached | final score | mean score over training "
        "| CPU s/run |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for task, settings in TASKS.items():
        for method in methods(task):
            v = _values(records, "steps_to_90", task, method)
            if not v.size:
                continue
            lines.append(
                f"| {task} | {settings['budget']:,} | {method} | {v.size} | {stats.summarize_seeds(v).iqm.format(0)} | "
                f"{int(_values(records, 'reached', task, method).sum())}/{v.size} | "
                f"{stats.summarize_seeds(_values(records, 'final', task, method)).iqm.format(2)} | "
                f"{stats.summarize_seeds(_values(records, 'auc', task, method)).iqm.format(2)} | "
                f"{_values(records, 'cpu_seconds', task, method).mean():.0f} |"
            )
    lines += [
        "",
        "## Against plain replay (target fixed before the run: CRM; shaping and CRM+shaping by the same criterion)",
        "",
    ]
    for task in TASKS:
        plain = _values(records, "steps_to_90", task, "plain")
        present = [m for m in methods(task) if _values(records, "steps_to_90", task, m).size]
        if not plain.size:
            continue
        learnt = max(_values(records, "reached", task, m).mean() for m in present) >= 0.5
        lines.append(f"- {task} (discriminates: {'yes' if learnt else 'no (not learnt)'}):")
        for method in present[1:] if present[0] == "plain" else present:
            other = _values(records, "steps_to_90", task, method)
            ratio = _ratio(other, plain)
            p = stats.improvement_estimate([-other], [-plain])
            faster = learnt and p[1] > 0.5 and ratio.high < 1.0
            verdict = (
                ("target **met**" if faster else "target **not met**")
                if method == "CRM"
                else ("faster by the criterion: yes" if faster else "faster by the criterion: no")
            )
            lines.append(
                f"  - {method}: ratio IQM({method}) / IQM(plain) of steps to 90% = {ratio.format(3)}; "
                f"P({method} faster) = {p[0]:.2f} [{p[1]:.2f}, {p[2]:.2f}]; {verdict}."
            )
    done = {r.key for r in records}
    missing: dict[tuple[str, str], list[int]] = {}
    for r in _runs(experiment()):
        if r.key not in done:
            missing.setdefault((r.params["task"], r.params["method"]), []).append(r.seed)
    if missing:
        lines += [
            "",
            "Runs of the protocol not run (the CPU budget and the time available ran out before them; the protocol "
            "is unchanged and a rerun of the command completes them): "
            + "; ".join(f"{task} {method} seeds {', '.join(map(str, s))}" for (task, method), s in missing.items())
            + ".",
        ]
    lines += ["", "Per seed (steps to 90%; final score):", ""]
    for task in TASKS:
        for method in methods(task):
            steps, final = _values(records, "steps_to_90", task, method), _values(records, "final", task, method)
            if steps.size:
                lines.append(
                    f"- {task}, {method}: " + ", ".join(f"{s:.0f} ({f:.2f})" for s, f in zip(steps, final, strict=True))
                )
    lines += [
        "",
        "Protocol v1 (superseded, kept): DQN on office `coffee` with 30 000 steps and SAC on the registered point's "
        "`a_then_b` with 15 000 steps, plain against CRM; its budgets were too small and it did not discriminate "
        "(DQN reached 90% in 4/10 plain and 3/10 CRM runs, SAC in 0/5 for both). Report: "
        "[reward_machines_deep_v1.md](reward_machines_deep_v1.md).",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reward_machines_deep.md").write_text("\n".join(lines) + "\n")
    _plot(records)
    return lines


def _plot(records: list[RunRecord]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(TASKS), figsize=(4.6 * len(TASKS), 3.6))
    for ax, task in zip(axes, TASKS, strict=True):
        for method, colour in zip(METHODS, ("C7", "C0", "C2", "C3"), strict=True):
            runs = [r for r in records if r.params["task"] == task and r.params["method"] == method]
            if not runs:
                continue
            curves = np.array([r.curves["score"] for r in runs])
            label = f"{method} ({len(runs)} seeds)"
            iqm_band(ax, np.array(runs[0].data["eval_steps"]), curves, colour, label, alpha=0.12)
        ax.axhline(0.9, color="k", ls=":", lw=1)
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("env steps")
        ax.set_ylim(-0.05, 1.05)
    axes[0].set_ylabel("normalised return / success (IQM, IQR band)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / "reward_machines_deep.png", dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pilot", type=int, default=0, help="seed 0 for this many steps (of --task, --method)")
    parser.add_argument("--task", action="append", choices=list(TASKS), help="pilot: the tasks (default all)")
    parser.add_argument("--method", action="append", choices=list(METHODS), help="pilot: the methods (default all)")
    parser.add_argument("--workers", type=int, default=1, help="parallel runs (processes)")
    parser.add_argument("--report-only", action="store_true", help="tabulate the finished runs, train nothing")
    args = parser.parse_args()
    if args.pilot:
        for task in args.task or TASKS:
            for method in args.method or methods(task):
                out = run(0, task, method, steps=args.pilot)
                print(f"pilot {task} {method}: {out.metrics} score {out.curves['score']}", flush=True)
        return
    full = experiment()
    keep = {r.key for r in _runs(full)}
    if args.report_only:
        paths = [OUT / "runs" / f"{key}.json" for key in sorted(keep)]
        records = [RunRecord.read(path) for path in paths if path.exists()]
    else:
        records = []
        for task in sorted(TASKS, key=lambda task: TASKS[task]["algorithm"] != "sac"):  # the longest runs first
            part = full.subset(seeds=range(TASKS[task]["seeds"]), task=[task], method=list(methods(task)))
            records += run_experiment(part, OUT, workers=args.workers, device="cpu", progress=False)
    command = "OMP_NUM_THREADS=1 python benchmarks/reward_machines_deep.py --workers 2"
    print("\n".join(report(records, command)))


if __name__ == "__main__":
    main()
