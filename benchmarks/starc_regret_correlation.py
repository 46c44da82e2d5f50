"""STARC's Figure-1 experiment: how well reward distances predict the regret of optimising the wrong reward.

Reproduce (the committed table: 3 seeds x 1,024 MDPs = 3 x 16,384 pairs, about 10 minutes on
2 cores; the default 3,072 MDPs per seed, 49,152 pairs each, takes about 25 minutes)::

    .venv/bin/python benchmarks/starc_regret_correlation.py --mdps 1024
    .venv/bin/python benchmarks/starc_regret_correlation.py --mdps 128 --seeds 0   # a quick look

Setting (Skalse et al., ICLR 2024, section 4): random MDPs with 32 states, 4 actions, gamma 0.95;
transition logits iid N(0, 1), entries <= 1 set to -20, softmax over s'; uniform start. Each
reward is iid N(0, 1) per (s, a, s'); with probability 0.2 made sparse (only values above 3
kept), with probability 0.7 scaled by 10 U, with probability 0.3 shifted by 10 U, with probability
0.5 potential-shaped (phi iid N(0, 1) times 10 U). Per MDP two rewards R1, R2 are drawn and
interpolated, ``R_i = R1 + i (R2 - R1) / 16``; the pairs are ``(R_0, R_i)``, i = 1..16, so each
MDP gives 16 pairs. Regret of a pair: the mean of the two normalised regrets, each reward's
optimal policy scored on the other reward, ``(J(pi*) - J(pi)) / (J(pi*) - J(pi_worst))``. Score:
the Pearson correlation of distance with regret, pooled over all pairs of a seed. Returns are
computed exactly (linear solves) and, as in the paper, by Monte-Carlo (for each policy 4 x 32
rollouts of 224 steps, four from each start state).

Writes ``benchmarks/results/starc_regret_correlation.md``, ``.json`` and ``_scatter.png``.
"""

from __future__ import annotations

import os

for _threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")  # one thread per seed process: the seeds run in parallel

import argparse
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rewarddesign.distances import distance_matrix
from rewarddesign.distances._distances import _canonicalize, norm
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
}


@dataclass
class Args:
    seeds: tuple[int, ...] = (0, 1, 2)
    mdps: int = 3072
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
    totals = np.zeros((len(rewards), n_p, starts.shape[1]))
    discount = 1.0
    rows = np.arange(n_p)[:, None]
    flat = rewards.reshape(len(rewards), -1)
    for _ in range(args.horizon):
        action = policies[rows, state]  # [P, K]
        u = rng.random(state.shape)
        pick = np.minimum((u[..., None] > cdf[state, action]).sum(-1), width - 1)
        next_state = np.take_along_axis(succ[state, action], pick[..., None], -1)[..., 0]
        totals += discount * flat[:, (state * N_A + action) * N_S + next_state]
        discount *= GAMMA
        state = next_state
    return totals.mean(-1)


def normalised_regret(returns: np.ndarray, best: int, worst: int, policy: int) -> float:
    span = returns[best] - returns[worst]
    return 0.0 if span <= 1e-12 else float((returns[best] - returns[policy]) / span)


def run_seed(seed: int, args: Args) -> dict:
    rng = np.random.default_rng(seed)
    names = list(VARIANTS)
    distances = {name: [] for name in names}
    regrets = {"exact": [], "monte_carlo": []}
    for _ in range(args.mdps):
        mdp = TabularMDP(random_transitions(rng), np.full(N_S, 1.0 / N_S), GAMMA)
        r1, r2 = random_reward(rng), random_reward(rng)
        rewards = np.stack([r1 + i * (r2 - r1) / STEPS for i in range(STEPS + 1)])  # [17, S, A, S']
        for name, (method, p, metric, normalised) in VARIANTS.items():
            if normalised:
                row = distance_matrix(rewards, mdp, canonicalization=method, norm=p, metric=metric)[0, 1:]
            else:
                canonical = _canonicalize(rewards, mdp, method, None)
                row = norm(canonical[1:] - canonical[:1], p)
            distances[name].extend(np.asarray(row).tolist())
        best = greedy_policies(mdp, rewards, 1.0)  # [17, S]
        worst = greedy_policies(mdp, rewards, -1.0)
        policies = np.concatenate([best, worst])  # rows 0..16 optimal, 17..33 worst
        for kind in regrets:
            if kind == "exact":
                returns = exact_returns(mdp, rewards, policies)
            else:
                returns = monte_carlo_returns(mdp, rewards, policies, args, rng)
            for i in range(1, STEPS + 1):
                # pi*_i scored on R_0, and pi*_0 scored on R_i
                first = normalised_regret(returns[0], 0, STEPS + 1, i)
                second = normalised_regret(returns[i], i, STEPS + 1 + i, 0)
                regrets[kind].append((first + second) / 2)
    out = {"seed": seed, "pairs": len(regrets["exact"]), "correlation": {}}
    for kind, values in regrets.items():
        out["correlation"][kind] = {name: float(np.corrcoef(distances[name], values)[0, 1]) for name in names}
    out["sample"] = {
        "exact": regrets["exact"][:4000],
        "VAL-L2-L2": distances["VAL-L2-L2"][:4000],
        "none-L2-L2": distances["none-L2-L2"][:4000],
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(Args.seeds))
    parser.add_argument("--mdps", type=int, default=Args.mdps)
    parser.add_argument("--workers", type=int, default=3, help="seeds run in parallel processes")
    cli = parser.parse_args()
    args = Args(seeds=tuple(cli.seeds), mdps=cli.mdps)
    start = time.perf_counter()
    context = multiprocessing.get_context("spawn")  # fresh workers: no BLAS or torch state inherited by fork
    with ProcessPoolExecutor(min(cli.workers, len(args.seeds)), mp_context=context) as pool:
        results = list(pool.map(run_seed, args.seeds, [args] * len(args.seeds)))
    for result in results:
        print(
            f"seed {result['seed']}: {result['pairs']} pairs", json.dumps(result["correlation"], indent=1), flush=True
        )
    print(f"{time.perf_counter() - start:.0f} s", flush=True)

    names = list(VARIANTS)
    lines = [
        "# STARC: correlation of reward distance with regret",
        "",
        f"Command: `.venv/bin/python benchmarks/starc_regret_correlation.py --seeds {' '.join(map(str, args.seeds))} "
        f"--mdps {args.mdps}`. {len(args.seeds)} seeds, {results[0]['pairs']:,} pairs each; mean and range "
        "(min to max) over seeds of the Pearson correlation between distance and normalised regret.",
        "",
        "| distance | exact returns | Monte-Carlo returns | published |",
        "|---|---|---|---|",
    ]
    for name in names:
        cells = []
        for kind in ("exact", "monte_carlo"):
            values = np.array([r["correlation"][kind][name] for r in results])
            cells.append(f"{values.mean():.3f} ({values.min():.3f} to {values.max():.3f})")
        if name in PUBLISHED:
            published = f"{PUBLISHED[name]:.3f}"
        else:
            published = "0.12 to 0.18 (all unnormalised variants)" if "unnormalised" in name else "not published"
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {published} |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "starc_regret_correlation.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "starc_regret_correlation.json").write_text(
        json.dumps([{k: v for k, v in r.items() if k != "sample"} for r in results], indent=2)
    )

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sample = results[0]["sample"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True)
    for ax, name in zip(axes, ("VAL-L2-L2", "none-L2-L2")):
        ax.scatter(sample[name], sample["exact"], s=2, alpha=0.3)
        rho = results[0]["correlation"]["exact"][name]
        ax.set_title(f"{name}: r = {rho:.3f}")
        ax.set_xlabel("distance")
    axes[0].set_ylabel("normalised regret (exact returns)")
    fig.tight_layout()
    fig.savefig(RESULTS / "starc_regret_correlation_scatter.png", dpi=120)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
