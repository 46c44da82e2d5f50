"""STARC's Figure-1 experiment: how well reward distances predict the regret of optimising the wrong reward.

Reproduce (the committed table: 3 seeds x 64 MDPs x 8 reward pairs = 3 x 8,192 pairs, one process,
about 8 minutes of CPU per seed; ``--mdps 128`` gives the reference's 1,024 reward pairs, 16,384
pairs per seed, in twice the time)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/starc_regret_correlation.py --mdps 64 --workers 1
    .venv/bin/python benchmarks/starc_regret_correlation.py --mdps 4 --seeds 0   # a quick look

Setting (Skalse et al., ICLR 2024, section 4 and appendix G; the reference code is the
``interpolated`` experiment of the STARC repository): random MDPs with 32 states, 4 actions, gamma
0.95; transition logits iid N(0, 1), entries <= 1 set to -20, softmax over s'; uniform start. Each
reward is iid N(0, 1) per (s, a, s'); with probability 0.2 made sparse (only values above 3 kept),
with probability 0.7 scaled by 10 U, with probability 0.3 shifted by 10 U, with probability 0.5
potential-shaped (phi iid N(0, 1) times 10 U). Per MDP 8 reward pairs R1, R2 are drawn (as the
reference's 8 rewards per environment) and interpolated, ``R_i = R1 + i (R2 - R1) / 16``; the
pairs are ``(R_0, R_i)``, i = 1..16, so each MDP gives 128 pairs. Optimal and worst policies are
exact (value iteration polished by policy iteration). Regret of a pair: the mean of the two
normalised regrets, each reward's optimal policy scored on the other reward,
``(J(pi*) - J(pi)) / (J(pi*) - J(pi_worst))``. Score: the Pearson correlation of distance with
regret, pooled over all pairs of a seed; seeds 0, 1, 2 (mean and range reported).

Returns, two columns:

* exact: ``J`` by linear solves; a span ``J(pi*) - J(pi_worst)`` of at most 1e-12 gives regret 0.
* Monte-Carlo, the reference protocol: each return is the mean discounted return of 4 x 32
  rollouts of 224 steps (round(log 1e-5 / log gamma)), four from each start state. As in the
  reference, ``J_0(pi*_0)`` and ``J_0(pi_worst_0)`` are estimated once per pair (R1, R2) and reused
  for every i; for each i, ``J_i(pi*_0)`` comes from fresh rollouts of ``pi*_0``,
  ``J_0(pi*_i)`` and ``J_i(pi*_i)`` from one shared set of rollouts of ``pi*_i``, and
  ``J_i(pi_worst_i)`` from fresh rollouts of ``pi_worst_i``; a span that is exactly 0 is replaced
  by 1. (Until this version every policy was rolled out once per MDP and all 17 rewards were
  scored on those rollouts; that column read 0.645 for VAL-L2-L2, see the results file.)

Two diagnostics of the Monte-Carlo column, fixed before its first run: the Spearman rank
correlation beside the Pearson one, and per seed the number of pairs whose Monte-Carlo normalised
regret lies outside [-0.05, 1.05] (exact normalised regret lies in [0, 1]) with the largest |regret|.
Distances: the published VAL, DARD, EPIC and none variants, their L1 forms, three unnormalised
ones, and minimal-L2-L2 (the least-norm canonicalisation, not published: the paper leaves it out
of this experiment).

Each seed is a run of ``rewarddesign.bench.run_experiment``: its record (the correlations, the
diagnostics and a sample of the pairs for the scatter plot) lands in
``benchmarks/results/starc_regret_correlation/runs/`` the moment it finishes, and a rerun skips
finished seeds. The table gives the mean over seeds with its stratified-bootstrap 95% interval
(``rewarddesign.bench.stats``, 2000 replicates, seed 0). Writes
``benchmarks/results/starc_regret_correlation.md`` and ``_scatter.png`` (from the first seed's
sample; records imported from before the harness carry none, so the plot is then left as it is).
"""

from __future__ import annotations

import os

for _threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")  # one thread per seed process: the seeds run in parallel

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from rewarddesign.bench import Experiment, RunOutput, RunRecord, run_experiment, stats
from rewarddesign.distances import canonicalize, distance_matrix, norm
from rewarddesign.mdp import TabularMDP

RESULTS = Path(__file__).resolve().parent / "results"
N_S, N_A, GAMMA, STEPS = 32, 4, 0.95, 16
PUBLISHED = {"VAL-L1-L1": 0.873, "VAL-L2-L2": 0.856, "DARD-L2-L2": 0.782, "EPIC-L2-L2": 0.778, "none-L2-L2": 0.618}
# (kind, canonicalisation, norm, metric, normalised)
VARIANTS = {
    "VAL-L1-L1": ("val", 1, 1, True),
    "VAL-L2-L2": ("val", 2, 2, True),
    "DARD-L2-L2": ("dard", 2, 2, True),
    "EPIC-L2-L2": ("epic", 2, 2, True),
    "none-L2-L2": ("none", 2, 2, True),
    "DARD-L1-L1": ("dard", 1, 1, True),
    "EPIC-L1-L1": ("epic", 1, 1, True),
    "none-L1-L1": ("none", 1, 1, True),
    "VAL-L2 unnormalised": ("val", 2, 2, False),
    "EPIC-L2 unnormalised": ("epic", 2, 2, False),
    "none-L2 unnormalised": ("none", 2, 2, False),
    "minimal-L2-L2": ("minimal", 2, 2, True),
}
OUTSIDE = (-0.05, 1.05)  # a Monte-Carlo normalised regret outside this range is counted


@dataclass
class Args:
    seeds: tuple[int, ...] = (0, 1, 2)
    mdps: int = 64
    rewards_per_mdp: int = 8
    rollouts_per_state: int = 4
    horizon: int = 224


def random_transitions(rng: np.random.Generator) -> np.ndarray:
    logits = rng.normal(size=(N_S, N_A, N_S))
    logits[logits <= 1] = -20.0
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    return weights / weights.sum(-1, keepdims=True)


def random_reward(rng: np.random.Generator) -> np.ndarray:
    reward = rng.normal(size=(N_S, N_A, N_S))
    if rng.random() < 0.2:
        reward = np.where(reward > 3, reward, 0.0)
    if rng.random() < 0.7:
        reward = reward * 10 * rng.random()
    if rng.random() < 0.3:
        reward = reward + 10 * rng.random()
    if rng.random() < 0.5:
        phi = rng.normal(size=N_S) * 10 * rng.random()
        reward = reward + GAMMA * phi[None, None, :] - phi[:, None, None]
    return reward


def greedy_policies(mdp: TabularMDP, rewards: np.ndarray, sign: float) -> np.ndarray:
    """Optimal (sign 1) or worst (sign -1) deterministic policies ``[B, S]``.

    Batched value iteration, then exact policy iteration from its greedy policies.
    """
    expected = sign * (rewards * mdp.transitions[None]).sum(-1)
    v = np.zeros((len(rewards), N_S))
    for _ in range(2000):
        q = expected + GAMMA * np.einsum("sat,bt->bsa", mdp.transitions, v)
        new_v = q.max(-1)
        if np.abs(new_v - v).max() < 1e-10:
            break
        v = new_v
    policies = q.argmax(-1)
    for _ in range(10):  # exact policy iteration from the value-iteration policy
        values = exact_values(mdp, expected, policies)
        q = expected + GAMMA * np.einsum("sat,bt->bsa", mdp.transitions, values)
        better = q.max(-1) > q[np.arange(len(q))[:, None], np.arange(N_S)[None], policies] + 1e-12
        if not better.any():
            break
        policies = np.where(better, q.argmax(-1), policies)
    return policies


def exact_values(mdp: TabularMDP, expected: np.ndarray, policies: np.ndarray) -> np.ndarray:
    """Values ``[B, S]`` of deterministic policies ``[B, S]`` under expected rewards ``[B, S, A]``."""
    p = mdp.transitions[np.arange(N_S)[None], policies]  # [B, S, S']
    r = np.take_along_axis(expected, policies[..., None], -1)[..., 0]  # [B, S]
    return np.linalg.solve(np.eye(N_S)[None] - GAMMA * p, r[..., None])[..., 0]


def exact_returns(mdp: TabularMDP, rewards: np.ndarray, policies: np.ndarray) -> np.ndarray:
    """``J[r, p]``: return of policy p under reward r, uniform start."""
    expected = (rewards * mdp.transitions[None]).sum(-1)  # [R, S, A]
    out = np.empty((len(rewards), len(policies)))
    for j, policy in enumerate(policies):
        values = exact_values(mdp, expected, np.broadcast_to(policy, (len(rewards), N_S)))
        out[:, j] = values.mean(-1)
    return out


def monte_carlo_returns(mdp: TabularMDP, rewards: np.ndarray, policies: np.ndarray, args: Args, rng) -> np.ndarray:
    """``J[r, p]`` estimated from ``rollouts_per_state`` rollouts of ``horizon`` steps from each start state."""
    n_p = len(policies)
    starts = np.tile(np.repeat(np.arange(N_S), args.rollouts_per_state), (n_p, 1))  # [P, K]
    state = starts.copy()
    # successors of each (s, a) padded to the widest support, with their cumulative probabilities
    width = int((mdp.transitions > 1e-6).sum(-1).max())  # logits of -20 leave mass below 1e-8: ignored
    order = np.argsort(-mdp.transitions, axis=-1)[..., :width]
    succ = order
    cdf = np.take_along_axis(mdp.transitions, order, -1).cumsum(-1)
    cdf[..., -1] = 1.0
    rows = np.arange(n_p)[:, None]
    visits = np.empty((args.horizon, n_p, starts.shape[1]), dtype=np.int64)  # flat (policy, s, a, s') per step
    for t in range(args.horizon):
        action = policies[rows, state]  # [P, K]
        u = rng.random(state.shape)
        pick = np.minimum((u[..., None] > cdf[state, action]).sum(-1), width - 1)
        next_state = np.take_along_axis(succ[state, action], pick[..., None], -1)[..., 0]
        visits[t] = rows * (N_S * N_A * N_S) + (state * N_A + action) * N_S + next_state
        state = next_state
    # discounted visit counts of each transition per policy; every reward is then one product away
    weights = np.broadcast_to((GAMMA ** np.arange(args.horizon))[:, None, None], visits.shape)
    counts = np.bincount(visits.ravel(), weights.ravel(), minlength=n_p * N_S * N_A * N_S).reshape(n_p, -1)
    return rewards.reshape(len(rewards), -1) @ counts.T / starts.shape[1]


def normalised_regret(returns: np.ndarray, best: int, worst: int, policy: int) -> float:
    span = returns[best] - returns[worst]
    return 0.0 if span <= 1e-12 else float((returns[best] - returns[policy]) / span)


def reference_regret(j_best: float, j_policy: float, j_worst: float) -> float:
    """The reference's normalised regret: a span that is exactly 0 is replaced by 1."""
    span = j_best - j_worst
    return float((j_best - j_policy) / (span if span != 0 else 1.0))


def monte_carlo_regrets(mdp: TabularMDP, rewards: np.ndarray, best: np.ndarray, worst: np.ndarray, args, rng):
    """Regrets of the pairs ``(R_0, R_i)`` by the reference's Monte-Carlo protocol (see the module docstring).

    Rollout sets: 0 ``pi*_0`` and 1 ``pi_worst_0`` (once); for each i, ``2 + 3i`` fresh ``pi*_0``,
    ``3 + 3i`` ``pi*_i`` (scored on R_0 and R_i alike) and ``4 + 3i`` ``pi_worst_i``.
    """
    rows = [best[0], worst[0]]
    for i in range(1, STEPS + 1):
        rows += [best[0], best[i], worst[i]]
    j = monte_carlo_returns(mdp, rewards, np.stack(rows), args, rng)  # [reward, rollout set]
    out = []
    for i in range(1, STEPS + 1):
        fresh_best0, best_i, worst_i = 2 + 3 * (i - 1), 3 + 3 * (i - 1), 4 + 3 * (i - 1)
        first = reference_regret(j[0, 0], j[0, best_i], j[0, 1])
        second = reference_regret(j[i, best_i], j[i, fresh_best0], j[i, worst_i])
        out.append((first + second) / 2)
    return out


def run_seed(seed: int, args: Args) -> dict:
    env_rng, mc_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    names = list(VARIANTS)
    distances = {name: [] for name in names}
    regrets = {"exact": [], "monte_carlo": []}
    for _ in range(args.mdps):
        mdp = TabularMDP(random_transitions(env_rng), np.full(N_S, 1.0 / N_S), GAMMA)
        for _ in range(args.rewards_per_mdp):
            r1, r2 = random_reward(env_rng), random_reward(env_rng)
            rewards = np.stack([r1 + i * (r2 - r1) / STEPS for i in range(STEPS + 1)])  # [17, S, A, S']
            for name, (method, p, metric, normalised) in VARIANTS.items():
                if normalised:
                    row = distance_matrix(rewards, mdp, canonicalization=method, norm=p, metric=metric)[0, 1:]
                else:
                    canonical = canonicalize(rewards, mdp, method)
                    row = norm(canonical[1:] - canonical[:1], p)
                distances[name].extend(np.asarray(row).tolist())
            best = greedy_policies(mdp, rewards, 1.0)  # [17, S]
            worst = greedy_policies(mdp, rewards, -1.0)
            returns = exact_returns(mdp, rewards, np.concatenate([best, worst]))  # rows 0..16 optimal, 17..33 worst
            for i in range(1, STEPS + 1):
                # pi*_i scored on R_0, and pi*_0 scored on R_i
                first = normalised_regret(returns[0], 0, STEPS + 1, i)
                second = normalised_regret(returns[i], i, STEPS + 1 + i, 0)
                regrets["exact"].append((first + second) / 2)
            regrets["monte_carlo"].extend(monte_carlo_regrets(mdp, rewards, best, worst, args, mc_rng))
    out = {"seed": seed, "pairs": len(regrets["exact"]), "correlation": {}}
    for kind, values in regrets.items():
        out["correlation"][kind] = {name: float(np.corrcoef(distances[name], values)[0, 1]) for name in names}
    out["correlation"]["monte_carlo_spearman"] = {
        name: float(spearmanr(distances[name], regrets["monte_carlo"]).statistic) for name in names
    }
    mc = np.asarray(regrets["monte_carlo"])
    out["monte_carlo_outside"] = int(((mc < OUTSIDE[0]) | (mc > OUTSIDE[1])).sum())
    out["monte_carlo_max_abs"] = float(np.abs(mc).max())
    out["sample"] = {
        "exact": regrets["exact"][:4000],
        "monte_carlo": regrets["monte_carlo"][:4000],
        "VAL-L2-L2": distances["VAL-L2-L2"][:4000],
        "none-L2-L2": distances["none-L2-L2"][:4000],
    }
    return out


def correlations(
    seed: int, mdps: int, rewards_per_mdp: int = 8, rollouts_per_state: int = 4, horizon: int = 224
) -> RunOutput:
    """One seed of the experiment: the correlations as metrics (``exact/VAL-L2-L2``, ...), the
    Monte-Carlo diagnostics, and the correlations and a sample of the pairs as data."""
    args = Args((seed,), mdps, rewards_per_mdp, rollouts_per_state, horizon)
    out = run_seed(seed, args)
    metrics = {f"{kind}/{name}": value for kind, values in out["correlation"].items() for name, value in values.items()}
    metrics |= {key: out[key] for key in ("pairs", "monte_carlo_outside", "monte_carlo_max_abs")}
    return RunOutput(metrics, data={"correlation": out["correlation"], "sample": out["sample"]})


def experiment(args: Args) -> Experiment:
    """The seeds of ``args`` as an experiment; the fingerprint covers the protocol (the functions that draw
    the MDPs and rewards and compute distances, returns and regrets)."""
    params = {
        "mdps": args.mdps,
        "rewards_per_mdp": args.rewards_per_mdp,
        "rollouts_per_state": args.rollouts_per_state,
        "horizon": args.horizon,
    }
    protocol = (
        run_seed,
        random_transitions,
        random_reward,
        greedy_policies,
        exact_values,
        exact_returns,
        monte_carlo_returns,
        normalised_regret,
        reference_regret,
        monte_carlo_regrets,
        VARIANTS,
        (N_S, N_A, GAMMA, STEPS, OUTSIDE),
    )
    return Experiment("starc_regret_correlation", correlations, (params,), args.seeds, definition=protocol)


NOTES = "<!-- notes: kept when the table is rewritten -->"


def write_table(records: list[RunRecord], args: Args) -> list[str]:
    """Write the table for the seeds finished so far, keeping the notes below the marker of the old file."""
    results = [
        {
            "seed": r.seed,
            "correlation": r.data["correlation"],
            "pairs": int(r.metrics["pairs"]),
            "monte_carlo_outside": int(r.metrics["monte_carlo_outside"]),
            "monte_carlo_max_abs": r.metrics["monte_carlo_max_abs"],
        }
        for r in records
    ]
    names = list(VARIANTS)
    seeds = " ".join(str(r["seed"]) for r in results)
    outside = ", ".join(
        f"seed {r['seed']}: {r['monte_carlo_outside']} pairs, largest |regret| {r['monte_carlo_max_abs']:.2f}"
        for r in results
    )
    lines = [
        "# STARC: correlation of reward distance with regret",
        "",
        f"Command: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/starc_regret_correlation.py --seeds {seeds} "
        f"--mdps {args.mdps} --workers 1`. {len(results)} seeds, {results[0]['pairs']:,} pairs each "
        f"({args.mdps} MDPs x {args.rewards_per_mdp} reward pairs x {STEPS} steps); mean over seeds of the "
        "correlation between distance and normalised regret, Pearson unless said otherwise, with its "
        "stratified-bootstrap 95% interval (`rewarddesign.bench.stats`, 2000 replicates). "
        "Monte-Carlo returns follow the reference protocol (see the script's docstring).",
        "",
        "| distance | exact returns | Monte-Carlo returns | Monte-Carlo, Spearman | published (Monte-Carlo) |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        cells = []
        for kind in ("exact", "monte_carlo", "monte_carlo_spearman"):
            values = np.array([r["correlation"][kind][name] for r in results])
            cells.append(stats.summarize_seeds(values).mean.format(3))
        if name in PUBLISHED:
            published = f"{PUBLISHED[name]:.3f}"
        else:
            published = "0.12 to 0.18 (all unnormalised variants)" if "unnormalised" in name else "not published"
        lines.append(f"| {name} | {' | '.join(cells)} | {published} |")
    lines += ["", f"Monte-Carlo normalised regrets outside [{OUTSIDE[0]}, {OUTSIDE[1]}]: {outside}."]
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "starc_regret_correlation.md"
    notes = ""
    if path.exists() and NOTES in path.read_text():
        notes = path.read_text().split(NOTES, 1)[1]
    path.write_text("\n".join(lines) + "\n\n" + NOTES + notes)
    return lines


DIAGNOSTICS = ("pairs", "monte_carlo_outside", "monte_carlo_max_abs")
OUT = RESULTS / "starc_regret_correlation"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(Args.seeds))
    parser.add_argument("--mdps", type=int, default=Args.mdps)
    parser.add_argument("--workers", type=int, default=1, help="seeds run in parallel processes")
    cli = parser.parse_args()
    args = Args(seeds=tuple(cli.seeds), mdps=cli.mdps)
    start = time.perf_counter()
    records = run_experiment(experiment(args), OUT, workers=cli.workers, device="cpu")
    lines = write_table(records, args)
    print(f"{time.perf_counter() - start:.0f} s", flush=True)
    if "sample" in records[0].data and records[0].data["sample"]:
        scatter(records[0])
    print("\n".join(lines))


def scatter(record: RunRecord) -> None:
    """Distance against normalised regret for one seed's sample of pairs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sample = record.data["sample"]
    panels = (("VAL-L2-L2", "exact"), ("none-L2-L2", "exact"), ("VAL-L2-L2", "monte_carlo"))
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, (name, kind) in zip(axes, panels):
        ax.scatter(sample[name], sample[kind], s=2, alpha=0.3)
        rho = record.data["correlation"][kind][name]
        ax.set_title(f"{name}, {kind.replace('_', '-')} returns: r = {rho:.3f}", fontsize=9)
        ax.set_xlabel("distance")
        ax.set_ylabel("normalised regret")
    fig.tight_layout()
    fig.savefig(RESULTS / "starc_regret_correlation_scatter.png", dpi=120)


if __name__ == "__main__":
    main()
