"""A demo that teaches: one clear effect of each capability of the library, in a few minutes on 2 cores.

Run (``make demo``; under 5 minutes on 2 cores)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/demo.py --workers 2

which writes the run records under ``runs/demo/`` and the table and picture beside them
(``runs/demo.md``, ``runs/demo.png``). The committed ones (``benchmarks/results/demo.md``,
``demo.png``) come from ``--workers 1 --out benchmarks/results/demo``. Each section's runs go through
``rewarddesign.bench.run_experiment`` (one record per run, written the moment it finishes; a
rerun skips finished runs), and every interval is the stratified-bootstrap 95% interval of the
interquartile mean over seeds (``rewarddesign.bench.stats``, 2000 replicates, seed 0).

Protocol (fixed before the first full run). Seeds 0-9 for every row. Every score is normalised
by two references stated in the table (0 at the first, 1 at the second), never by the run's own
range. An effect is shown when the IQM interval of the method lies wholly above the baseline's
(the last column says whether it does).

1. **Shaping speeds up a sparse task.** ``rewarddesign/GridMaze-v0`` (36 cells, 17 moves to the
   goal, reward 1 only there). Tabular Q-learning (step size 0.5, epsilon-greedy 0.1 with random
   tie-breaks, discount 0.99) for 1,500 env steps on the env reward (``original``, the baseline)
   or shaped by the ``optimal_value`` potential (``PotentialShaping`` with ``V*`` of the true
   reward: the best case of shaping; the ``maze_distance`` heuristic, which speeds up PPO in
   ``benchmarks/shaping_sample_efficiency.py``, does not help this Q-learner at discount 0.99,
   whose zero start pays for bumping into walls under it). Score: the exact discounted
   true return of the greedy policy after training, normalised between the uniform random policy
   (0) and the optimal policy (1), both exact (``from_gymnasium``, ``policy_return``).
2. **The submodular reward covers more than the modular one.** ``rewarddesign/CoverageGrid-v0``
   (constant weights, horizon 40). ``SubPO`` with the marginal-gain credit against the same
   learner with the modular credit (the baseline), tabular softmax policy, 40 natural-gradient
   steps of 32 episodes. Score: F of the visited set (mean of 64 episodes), normalised between the
   uniform random policy (0; its mean F over 640 episodes, seed 0) and the bound 2 (H + 1) = 82 (1).
3. **BARFI recovers from a bad heuristic.** ``rewarddesign/ContinuousGrid-v0`` with the bad
   heuristic ``grid_centre_bonus`` (+50 a step in the centre box, worth more than the goal),
   features a 5 x 5 tile coding, REINFORCE with 16 episodes an update, 1,200 episodes (the setting
   of ``benchmarks/bilevel_alignment.py``'s ``grid-bad`` case):
   ``barfi`` (blend learned), ``naive`` (env reward + heuristic: the baseline) and ``primary`` (the
   env reward alone, for reference). Score: the success rate of the last 5 updates (80 episodes);
   references 0 (never reaches the goal) and 1 (always).
4. **A learned reward reaches the true reward's level.** Random MDPs (16 states, 4 actions,
   discount 0.9, uniform start, one per seed) with a random reward ``N(0, 1)`` per (s, a). 80
   uniform-random episodes of 20 steps cut into fragments of 5 steps; 1,500 random pairs labelled
   by the true return (``SyntheticGatherer``, temperature 1); a ``RewardModel`` on (state, action)
   with one hidden layer of 32, trained 50 epochs at step size 0.01. ``learned``: the optimal
   policy of the learned reward (value iteration); ``uniform``: the uniform random policy (the
   baseline). Score: the exact true return of the
   policy, normalised between the uniform policy (0) and the optimal policy of the true reward (1).
5. **STARC ranks a set of rewards.** Random MDPs (16 states, 4 actions, discount 0.9, one per
   seed), a true reward ``N(0, 1)`` per (s, a, s') and 8 others: it shaped by a random potential
   and scaled by 5 (same order of policies), it plus noise of scale 0.25, 0.5, 1, 2 and 4, an
   independent reward and its negation. Regret of each: the true return lost by its optimal policy,
   normalised by the true reward's optimal-minus-worst span. Score: the Spearman correlation of the
   distance to the true reward with the regret, over the 8 (1: a perfect ranking; 0: none).
   ``starc`` (VAL canonicalisation, L2) against ``no canonicalisation`` (the same distance with
   ``canonicalization="none"``: scale-invariant, not shaping-invariant; the baseline).
6. **The RAE picks the safe equilibrium.** The stag hunt (``stag_hunt()``): (stag, stag) pays
   more, (hare, hare) is safe. Each seed draws a partner's trembling rate ``e`` uniformly in
   [0.05, 0.3]; against a partner who plays the other action with probability ``e``, the standard
   deviation of the round's payoff of each pure equilibrium is exact. ``rae``: the equilibrium
   ``risk_averse_equilibrium(game, 1.0)`` returns; ``payoff-dominant Nash``: (stag, stag), the
   baseline. Score: 1 minus the payoff's standard deviation over the largest standard deviation of
   the two equilibria (1: no risk). The equilibrium each picks does not depend on the seed, so
   these rows' intervals are points.
"""

from __future__ import annotations

import argparse
import os
import platform
import textwrap
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from scipy import stats as scipy_stats
from submodular_coverage import coverage_agent

import rewarddesign.envs  # noqa: F401  (registers the rewarddesign/ env ids)
from rewarddesign.bench import Experiment, RunOutput, RunRecord, run_experiment, stats
from rewarddesign.bilevel import BehaviorAlignment, tile_coding
from rewarddesign.distances import starc_distance
from rewarddesign.envs.alignment import grid_centre_bonus
from rewarddesign.games import risk_averse_equilibrium, stag_hunt
from rewarddesign.mdp import TabularEnv, from_gymnasium, policy_return, random_mdp, value_iteration
from rewarddesign.preferences import Fragments, RewardModel, SyntheticGatherer, random_pairs, train_reward_model
from rewarddesign.rollouts import rollout
from rewarddesign.shaping import PotentialShaping, get_potential

RESULTS = Path(__file__).resolve().parent / "results"
SEEDS = tuple(range(10))
REPS = 2000

#: Each section's methods, the baseline last.
SECTIONS: dict[str, tuple[str, ...]] = {
    "shaping": ("optimal_value", "original"),
    "submodular": ("marginal", "modular"),
    "barfi": ("barfi", "primary", "naive"),
    "learned_reward": ("learned", "uniform"),
    "starc": ("starc", "no_canonicalization"),
    "rae": ("rae", "payoff_dominant_nash"),
}
TITLES = {
    "shaping": "Shaping speeds up a sparse task (GridMaze, Q-learning, 1,500 steps)",
    "submodular": "The submodular reward covers more (CoverageGrid, SubPO, 40 steps)",
    "barfi": "BARFI recovers from a bad heuristic (ContinuousGrid, 1,200 episodes)",
    "learned_reward": "A learned reward reaches the true reward's level (random MDPs, 1,500 pairs)",
    "starc": "STARC ranks a set of rewards by regret (random MDPs, 8 rewards)",
    "rae": "The RAE picks the safe equilibrium (stag hunt, trembling partner)",
}
REFERENCES = {
    "shaping": "0 = uniform random policy, 1 = optimal policy (exact discounted true return)",
    "submodular": "0 = uniform random policy's F, 1 = the bound 2 (H + 1) = 82",
    "barfi": "0 = never reaches the goal, 1 = always (success rate)",
    "learned_reward": "0 = uniform random policy, 1 = optimal policy of the true reward (exact return)",
    "starc": "0 = no rank correlation with regret, 1 = the regret's own order (Spearman)",
    "rae": "0 = the riskier equilibrium's payoff std, 1 = no payoff risk",
}
COVERAGE_BOUND = 82.0


def _normalised(value: float, low: float, high: float) -> float:
    return float((value - low) / (high - low))


# 1. shaping ------------------------------------------------------------------------------------


def q_learning(env: gym.Env, n_actions: int, steps: int, rng: np.random.Generator) -> np.ndarray:
    """Tabular Q-learning (step size 0.5, epsilon 0.1, random tie-breaks, discount 0.99) for ``steps`` env steps."""
    q = np.zeros((int(env.observation_space.n), n_actions))  # type: ignore[attr-defined]
    obs, _ = env.reset(seed=int(rng.integers(2**31)))
    for _ in range(steps):
        best = np.flatnonzero(q[obs] == q[obs].max())
        action = int(rng.integers(n_actions)) if rng.random() < 0.1 else int(rng.choice(best))
        next_obs, reward, terminated, truncated, _ = env.step(action)
        target = float(reward) + (0.0 if terminated else 0.99 * q[next_obs].max())
        q[obs, action] += 0.5 * (target - q[obs, action])
        obs = next_obs
        if terminated or truncated:
            obs, _ = env.reset()
    return q


def run_shaping(seed: int, method: str) -> RunOutput:
    env = gym.make("rewarddesign/GridMaze-v0")
    mdp, reward = from_gymnasium(env, gamma=0.99)
    if method == "optimal_value":
        env = PotentialShaping(env, get_potential("optimal_value", env, 0.99), 0.99)
    q = q_learning(env, mdp.n_actions, 1_500, np.random.default_rng(seed))
    policy = np.zeros(mdp.n_states, dtype=np.intp)
    policy[: len(q)] = q.argmax(axis=1)  # the model may append an absorbing state
    uniform = np.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions)
    optimal = value_iteration(mdp, reward).policy
    low, high = policy_return(mdp, reward, uniform), policy_return(mdp, reward, optimal)
    raw = policy_return(mdp, reward, policy)
    return RunOutput({"score": _normalised(raw, low, high), "raw": raw})


# 2. submodular ---------------------------------------------------------------------------------


def _coverage_task() -> Any:
    return gym.make("rewarddesign/CoverageGrid-v0", observation=None).unwrapped


def coverage_random_reference(episodes: int = 640, seed: int = 0) -> float:
    """Mean F of the visited set under the uniform random policy."""
    task = _coverage_task()
    rng = np.random.default_rng(seed)
    values = []
    for episode in range(episodes):
        task.reset(seed=seed * 100_000 + episode)
        for _ in range(task.horizon):
            task.step(int(rng.integers(task.action_space.n)))
        values.append(task.visited.value)
    return float(np.mean(values))


def run_submodular(seed: int, method: str) -> RunOutput:
    task = _coverage_task()
    agent = coverage_agent(task, "marginal" if method == "marginal" else "modular", seed)
    agent.learn(40)
    raw = float(np.mean([e.value for e in agent.rollouts(64)]))
    return RunOutput({"raw": raw}, {"F": list(agent.log.mean_value)})


# 3. BARFI --------------------------------------------------------------------------------------


def run_barfi(seed: int, method: str) -> RunOutput:
    aux = [] if method == "primary" else [grid_centre_bonus]
    learner = BehaviorAlignment(
        "rewarddesign/ContinuousGrid-v0",
        aux,
        tile_coding([0, 0], [1, 1], 5),
        learn_blend=method == "barfi",
        seed=seed,
        device="cpu",
    )
    learner.learn(1200)
    success = [row["success_rate"] for row in learner.history]
    return RunOutput({"score": float(np.mean(success[-5:]))}, {"success_rate": success})


# 4. learned reward -----------------------------------------------------------------------------


def run_learned_reward(seed: int, method: str) -> RunOutput:
    rng = np.random.default_rng(seed)
    mdp = random_mdp(16, 4, gamma=0.9, rng=rng, uniform_initial=True)
    reward = rng.normal(size=(16, 4))
    uniform = np.full((16, 4), 0.25)
    low = policy_return(mdp, reward, uniform)
    high = policy_return(mdp, reward, value_iteration(mdp, reward).policy)
    if method == "uniform":
        policy: np.ndarray = uniform
    else:
        env = TabularEnv(mdp, reward, horizon=20)
        trajectories = rollout(None, env, n_episodes=80, seed=int(rng.integers(2**31)))
        fragments = Fragments.from_trajectories(trajectories, 5, rng)
        first, second = random_pairs(len(fragments), 1500, rng)
        data = SyntheticGatherer(temperature=1.0, seed=seed)(fragments, first, second)
        model = RewardModel(env.observation_space, env.action_space, hidden_sizes=(32,), device="cpu", seed=seed)
        train_reward_model(model, data, epochs=50, lr=0.01, seed=seed)
        states, actions = np.meshgrid(np.arange(16), np.arange(4), indexing="ij")
        learned = model.predict(states.reshape(-1), actions.reshape(-1)).reshape(16, 4)
        policy = value_iteration(mdp, learned).policy
    raw = policy_return(mdp, reward, policy)
    return RunOutput({"score": _normalised(raw, low, high), "raw": raw})


# 5. STARC --------------------------------------------------------------------------------------


def run_starc(seed: int, method: str) -> RunOutput:
    rng = np.random.default_rng(seed)
    mdp = random_mdp(16, 4, gamma=0.9, rng=rng)
    true = rng.normal(size=(16, 4, 16))
    potential = rng.normal(size=16)
    others = [5.0 * (true + 0.9 * potential[None, None, :] - potential[:, None, None])]
    others += [true + scale * rng.normal(size=true.shape) for scale in (0.25, 0.5, 1.0, 2.0, 4.0)]
    others += [rng.normal(size=true.shape), -true]
    best, worst = value_iteration(mdp, true), value_iteration(mdp, -true)
    j_best, j_worst = float(mdp.initial @ best.v), -float(mdp.initial @ worst.v)
    regrets = [(j_best - policy_return(mdp, true, value_iteration(mdp, r).policy)) / (j_best - j_worst) for r in others]
    canonicalization = "val" if method == "starc" else "none"
    distances = [float(starc_distance(true, r, mdp, canonicalization)) for r in others]
    rho = float(np.corrcoef(scipy_stats.rankdata(distances), scipy_stats.rankdata(regrets))[0, 1])  # Spearman
    return RunOutput({"score": rho}, data={"distances": distances, "regrets": regrets})


# 6. RAE ----------------------------------------------------------------------------------------


def run_rae(seed: int, method: str) -> RunOutput:
    game = stag_hunt()
    tremble = float(np.random.default_rng(seed).uniform(0.05, 0.3))
    if method == "rae":
        own = int(np.argmax(risk_averse_equilibrium(game, 1.0).strategies[0]))
    else:
        own = int(np.argmax([game.payoffs[0, a, a] for a in range(2)]))  # the equilibrium that pays most
    stds = []
    for action in range(2):  # each pure equilibrium (a, a) against a partner who trembles
        partner = np.array([1 - tremble, tremble]) if action == 0 else np.array([tremble, 1 - tremble])
        payoffs = game.payoffs[0, action]
        mean = payoffs @ partner
        stds.append(float(np.sqrt(((payoffs - mean) ** 2) @ partner)))
    score = 1.0 - stds[own] / max(stds)
    return RunOutput({"score": score, "hare": float(own == 1), "std": stds[own]})


RUNNERS = {
    "shaping": run_shaping,
    "submodular": run_submodular,
    "barfi": run_barfi,
    "learned_reward": run_learned_reward,
    "starc": run_starc,
    "rae": run_rae,
}


def run(seed: int, section: str, method: str) -> RunOutput:
    """One run of one section's method (the demo's run function)."""
    return RUNNERS[section](seed, method)


def experiment(sections: list[str]) -> Experiment:
    """The demo's runs: each section's methods x seeds; the fingerprint covers every section's code."""
    grid = tuple({"section": s, "method": m} for s in sections for m in SECTIONS[s])
    return Experiment(
        "demo",
        run,
        grid,
        SEEDS,
        definition=(_normalised, q_learning, _coverage_task, coverage_agent, *RUNNERS.values()),
    )


# report ----------------------------------------------------------------------------------------


def scores(records: list[RunRecord], section: str, method: str, coverage_low: float) -> np.ndarray:
    """One normalised score per seed."""
    rows = sorted((r for r in records if r.params == {"section": section, "method": method}), key=lambda r: r.seed)
    if section == "submodular":
        return np.array([_normalised(r.metrics["raw"], coverage_low, COVERAGE_BOUND) for r in rows])
    return np.array([r.metrics["score"] for r in rows])


def _shown(path: Path) -> str:
    """``path`` relative to the repository when it lies inside it."""
    root = RESULTS.parent.parent
    return str(path.resolve().relative_to(root)) if path.resolve().is_relative_to(root) else str(path)


def write_report(records: list[RunRecord], out: Path, coverage_low: float) -> str:
    lines = [
        "# Demo: one effect per capability",
        "",
        f"`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/demo.py --out {_shown(out)}` ({platform.machine()}, CPU; "
        f"the {len(records)} runs' wall-clock times add up to {sum(r.seconds for r in records):.0f} s). "
        "Protocol in the script's docstring. "
        f"{len(SEEDS)} seeds a row; IQM of the normalised score with its stratified-bootstrap 95% interval "
        f"({REPS} replicates); the baseline is each section's last row. Effect shown: the row's interval lies "
        "wholly above the baseline's.",
        "",
        "| capability | method | normalised score, IQM [95% CI] | mean | references (0 / 1) | effect shown |",
        "|---|---|---|---|---|---|",
    ]
    summary: dict[str, list[tuple[str, float, float, float]]] = {}
    for section, methods in SECTIONS.items():
        baseline = scores(records, section, methods[-1], coverage_low)
        if len(baseline) == 0:
            continue
        _, base_low, base_high = stats.interval_estimate([baseline], stats.iqm, reps=REPS, rng=0)
        for method in methods:
            values = scores(records, section, method, coverage_low)
            value, low, high = stats.interval_estimate([values], stats.iqm, reps=REPS, rng=0)
            summary.setdefault(section, []).append((method, value, low, high))
            shown = "baseline" if method == methods[-1] else ("yes" if low > base_high else "no")
            reference = REFERENCES[section]
            if section == "submodular":
                reference = reference.replace("random policy's F", f"random policy's F ({coverage_low:.1f})")
            lines.append(
                f"| {section} | {method} | {value:.2f} [{low:.2f}, {high:.2f}] | {np.mean(values):.2f} "
                f"| {reference} | {shown} |"
            )
    table = "\n".join(lines) + "\n"
    (out.parent / f"{out.name}.md").write_text(table)
    plot(summary, out.parent / f"{out.name}.png")
    return table


def plot(summary: dict[str, list[tuple[str, float, float, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(14, 7))
    for ax, (section, rows) in zip(axes.flat, summary.items()):
        names = [row[0] for row in rows]
        values = np.array([row[1] for row in rows])
        errors = np.array([[row[1] - row[2], row[3] - row[1]] for row in rows]).T
        colors = ["tab:blue"] * (len(rows) - 1) + ["tab:gray"]
        ax.barh(names, values, xerr=errors, color=colors, capsize=4)
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.axvline(1.0, color="black", linewidth=0.8, linestyle="--")
        ax.invert_yaxis()
        ax.set_title(textwrap.fill(TITLES[section], 46), fontsize=9)
        ax.set_xlabel("normalised score (IQM, 95% CI)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS.parent.parent / "runs" / "demo", help="run records")
    parser.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=list(SECTIONS))
    args = parser.parse_args()
    start = time.perf_counter()
    records = run_experiment(experiment(args.sections), args.out, workers=args.workers, device="cpu")
    cpu = sum(os.times()[:4])  # this process and its finished workers, user and system
    coverage_low = coverage_random_reference()
    print(write_report(records, args.out, coverage_low))
    print(f"{time.perf_counter() - start:.0f} s wall clock, {cpu:.0f} s of CPU for this invocation")
    print(f"table: {args.out.parent / (args.out.name + '.md')}, picture: {args.out.parent / (args.out.name + '.png')}")


if __name__ == "__main__":
    main()
