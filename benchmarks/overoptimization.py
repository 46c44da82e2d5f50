"""Reward-model overoptimization measured exactly on tabular MDPs: curves, mitigations, predictors, speed.

Reproduce (one process; about 15 CPU-minutes in all)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/overoptimization.py            # the study, then the report
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/overoptimization.py --speed    # the speed table only
    .venv/bin/python benchmarks/overoptimization.py --mdps 3 --grid-seeds 2 --out /some/dir   # a quick look

Each MDP (or grid-world seed) is a run of ``rewarddesign.bench.run_experiment``: its record lands
in ``benchmarks/results/overoptimization/runs/`` when it finishes and a rerun skips finished runs.
Writes ``benchmarks/results/overoptimization.md``, ``overoptimization_curves.png`` and
``overoptimization_speed.md``.

Protocol (fixed in this docstring before the first full run)
-------------------------------------------------------------

Tasks.

* ``random``: 100 random MDPs, seeds 0..99 (``rewarddesign.mdp.random_mdp``: S = 32, A = 4,
  gamma = 0.95, dense Dirichlet(1) transitions, Dirichlet start); gold reward ``[S, A]`` iid
  N(0, 1); reference policy: a Dirichlet(0.5) draw per state (so some actions are rare).
* ``grid``: a 6 x 6 grid world, seeds 0..19: four moves, each slipping with probability 0.1 to
  one of the other three moves, walls keep the agent in place; start at (0, 0); gold reward 1 in
  the goal cell (5, 5), -0.05 elsewhere, plus iid N(0, 0.05) per (s, a) drawn from the seed;
  gamma 0.95, no terminal state; reference: right 0.4, down 0.4, left 0.1, up 0.1 everywhere.

Labels and proxies. 1,000 fragments of 10 steps from the reference (four per 40-step episode,
``reference_fragments``); 5,000 random pairs labelled by a Bradley-Terry annotator at temperature 1
on gold fragment returns; the proxies for 50, 200, 1,000 and 5,000 labels are fitted to the first
``n`` pairs (nested). Model: ``fit_tabular_rewards`` (a ``RewardModel`` on one-hot (s, a), no
hidden layer: a tabular reward), 30 epochs, Adam lr 0.05, batch ``max(64, n / 8)``, normalised
outputs, seed = the MDP's seed.

Curves. 50 betas log-spaced from 1e3 down to 1e-3, exact (``overoptimization_curve``). Per curve:
the proxy is monotone in KL (tolerance 1e-9 of its range); normalised gold
``(J_gold - J_gold(ref)) / (J_gold(pi*) - J_gold(ref))``; the drop = normalised gold at its peak
minus at beta = 1e-3; the curve "peaks and falls" when the drop exceeds 0.01; the KL of the peak.

Targets and tests (statistics from ``rewarddesign.bench.stats``: stratified bootstrap over MDPs,
2,000 replicates, seed 0, 95% percentile intervals; means and IQMs).

1. The proxy return rises monotonically with KL: the share of monotone curves (all proxies, both tasks).
2. Gold peaks then falls for learned proxies in most MDPs: the share of curves that fall, per
   label count and task, with its interval; met if the share exceeds 0.5 at 50 labels on ``random``.
3. The fall shrinks as labels grow: the mean drop per label count with intervals, and the
   probability of improvement ``P(drop at 50 labels > drop at 5,000)``; met if its interval lies above 0.5.
4. Ensembles (``random``, the first 30 MDPs, 200 labels, 5 members): pretrain-seed and
   finetune-seed ensembles aggregated by mean, WCO and UWO (lambda = 1 on normalised outputs)
   against the single model (``members=1``, same seed): mean paired differences of the drop and of
   log10 peak KL with intervals; Coste et al.'s claim is a smaller drop or a later peak; reported
   whatever comes out.
5. Constrained composite (``random``, the first 30 MDPs, 25 betas from 1e3 to 1e-3): gold
   ``g_1 + g_2`` (``g_k`` iid N(0, 1/2)); components ``r_k = g_k`` plus 3 on the 6 (of 128)
   state-action pairs with the lowest reference probability (k = 1) and on the next 6 (k = 2);
   weights 1; thresholds (proxy points) = the components' returns at the unconstrained
   composite's gold peak; 100 dual steps. Met if, among the MDPs where the unconstrained composite
   falls (drop > 0.01), in at least 80% the constrained composite's normalised gold at beta = 1e-3
   is within 0.05 of the unconstrained peak.
6. Predictors (``random``, all 400 single-model proxies): the Spearman correlation of each
   distance (STARC-VAL-L2, EPIC, DARD; ``proxy_distances``) with the drop and with the final
   regret (1 - normalised gold at beta = 1e-3), intervals by resampling MDPs; the best predictor is
   the one with the highest correlation with the drop, with the paired interval of its lead.

Discrimination check (reported first): the oracle proxy (gold itself) never falls (drop 0, final
normalised gold 1), while the hand-made bonus proxy (``bonus_proxy``: gold plus 2 gold standard
deviations on the 10% rarest pairs) does, with separated intervals of the drop (``random``, all MDPs).

Best-of-n beside RL (``random``, the first 10 MDPs, the 200-label proxy): 1,000 reference episodes
of 60 steps; n = 1, 2, 4, ..., 512; Gao et al.'s best-of-n form fitted to its gold gain and the RL
form to the RL curve (coefficients and R^2 per MDP, means reported).

Speed (``--speed``): a 50-beta exact curve on ``random_mdp(1000, 10, gamma=0.95, branching=10)``
with a random reward and a uniform reference, on the CPU with one thread: ``overoptimization_curve``
for the 50 betas at once (median of 3 repetitions) beside a plain loop of 50 independent one-beta
calls (once); target: the batched curve under 2 s.

Not in this script: the deep-RL curve (SB3 PPO against a learned proxy with a KL wrapper).
"""

from __future__ import annotations

import os

for _threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr as _spearmanr

from rewarddesign.bench import Experiment, RunOutput, RunRecord, load_records, run_experiment, stats
from rewarddesign.mdp import TabularMDP, random_mdp
from rewarddesign.overoptimization import (
    best_of_n_curve,
    bonus_proxy,
    constrained_composite,
    ensemble_proxy,
    first_pairs,
    fit_gao,
    fit_tabular_rewards,
    overoptimization_curve,
    preference_labels,
    proxy_distances,
    reference_fragments,
)

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "overoptimization"
N_S, N_A, GAMMA = 32, 4, 0.95
LABELS = (50, 200, 1000, 5000)
BETAS = np.geomspace(1e3, 1e-3, 50)
COMPOSITE_BETAS = np.geomspace(1e3, 1e-3, 25)
FALL = 0.01
ENSEMBLE_MDPS, COMPOSITE_MDPS, BON_MDPS = 30, 30, 10
ENSEMBLE_LABELS, MEMBERS, UWO = 200, 5, 1.0
BON_NS = 2 ** np.arange(10)
GRID = 6


def random_task(seed: int) -> tuple[TabularMDP, np.ndarray, np.ndarray, np.random.Generator]:
    """The MDP, gold reward and reference of a ``random`` seed (and the generator, for what follows)."""
    rng = np.random.default_rng(seed)
    mdp = random_mdp(N_S, N_A, gamma=GAMMA, rng=rng)
    gold = rng.normal(size=(N_S, N_A))
    reference = rng.dirichlet(np.full(N_A, 0.5), size=N_S)
    return mdp, gold, reference, rng


def grid_task(seed: int) -> tuple[TabularMDP, np.ndarray, np.ndarray, np.random.Generator]:
    """The 6 x 6 grid world of the protocol."""
    rng = np.random.default_rng(seed)
    n = GRID * GRID
    moves = [(0, 1), (1, 0), (0, -1), (-1, 0)]  # right, down, left, up
    transitions = np.zeros((n, 4, n))
    for s in range(n):
        row, col = divmod(s, GRID)
        for a in range(4):
            for b in range(4):
                p = 0.9 if a == b else 0.1 / 3
                r, c = row + moves[b][0], col + moves[b][1]
                target = r * GRID + c if 0 <= r < GRID and 0 <= c < GRID else s
                transitions[s, a, target] += p
    initial = np.zeros(n)
    initial[0] = 1.0
    mdp = TabularMDP(transitions, initial, GAMMA)
    gold = np.full((n, 4), -0.05)
    gold[n - 1] = 1.0
    gold = gold + rng.normal(scale=0.05, size=(n, 4))
    reference = np.tile([0.4, 0.4, 0.1, 0.1], (n, 1))
    return mdp, gold, reference, rng


def summary(curve: Any) -> dict[str, float]:
    gold = curve.normalized_gold
    return {
        "drop": float(curve.gold_drop),
        "falls": float(curve.gold_drop > FALL),
        "monotone": float(curve.proxy_monotone()),
        "peak_kl": float(curve.peak_kl),
        "peak_gold": float(gold[curve.peak]),
        "final_gold": float(gold[-1]),
    }


def composite(mdp: TabularMDP, reference: np.ndarray, rng: np.random.Generator) -> dict[str, float]:
    """Item 5 of the protocol on one MDP."""
    parts = rng.normal(scale=np.sqrt(0.5), size=(2, N_S, N_A))
    gold = parts.sum(0)
    rare = np.argsort(reference.reshape(-1), kind="stable")
    components = parts.reshape(2, -1).copy()
    components[0, rare[:6]] += 3.0
    components[1, rare[6:12]] += 3.0
    components = components.reshape(2, N_S, N_A)
    free = constrained_composite(mdp, components, [1.0, 1.0], gold, reference, COMPOSITE_BETAS)
    peak = int(np.argmax(free.gold_return))
    bound = constrained_composite(
        mdp, components, [1.0, 1.0], gold, reference, COMPOSITE_BETAS, free.component_returns[peak]
    )
    free_gold, bound_gold = free.normalized_gold, bound.normalized_gold
    return {
        "free_peak": float(free_gold[peak]),
        "free_final": float(free_gold[-1]),
        "free_drop": float(free_gold[peak] - free_gold[-1]),
        "bound_final": float(bound_gold[-1]),
        "bound_max": float(bound_gold.max()),
        "bound_violation": float(bound.violation.max()),
        "bound_within": float(bound_gold[-1] >= free_gold[peak] - 0.05),
    }


def run_mdp(seed: int, task: str) -> RunOutput:
    """One MDP (``random``) or grid-world seed (``grid``) of the protocol."""
    mdp, gold, reference, rng = (random_task if task == "random" else grid_task)(seed)
    n_s, n_a = gold.shape
    fragments = reference_fragments(mdp, gold, reference, 1000, length=10, per_episode=4, seed=seed)
    labels = preference_labels(fragments, max(LABELS), temperature=1.0, seed=seed)
    metrics: dict[str, float] = {}
    data: dict[str, Any] = {"curves": {}}
    proxies = {}
    for n in LABELS:
        proxy = fit_tabular_rewards(first_pairs(labels, n), n_s, n_a, batch_size=max(64, n // 8), seed=seed)[0]
        proxies[n] = proxy
        curve = overoptimization_curve(mdp, proxy, gold, reference, BETAS)
        metrics |= {f"labels{n}/{k}": v for k, v in summary(curve).items()}
        data["curves"][f"labels{n}"] = [curve.sqrt_kl.tolist(), curve.normalized_gold.tolist()]
        if task == "random":
            for name, value in proxy_distances(mdp, proxy[None], gold).items():
                metrics[f"labels{n}/{name}"] = float(value[0])
    for name, proxy in (("oracle", gold), ("bonus", bonus_proxy(gold, reference, size=2.0, share=0.1))):
        curve = overoptimization_curve(mdp, proxy, gold, reference, BETAS)
        metrics |= {f"{name}/{k}": v for k, v in summary(curve).items()}
        data["curves"][name] = [curve.sqrt_kl.tolist(), curve.normalized_gold.tolist()]
    if task == "random" and seed < ENSEMBLE_MDPS:
        subset = first_pairs(labels, ENSEMBLE_LABELS)
        batch = max(64, ENSEMBLE_LABELS // 8)
        for kind in ("pretrain", "finetune"):
            members = fit_tabular_rewards(subset, n_s, n_a, members=MEMBERS, ensemble=kind, batch_size=batch, seed=seed)
            for aggregate in ("mean", "wco", "uwo"):
                proxy = ensemble_proxy(members, aggregate, UWO)  # type: ignore[arg-type]
                curve = overoptimization_curve(mdp, proxy, gold, reference, BETAS)
                metrics |= {f"{kind}-{aggregate}/{k}": v for k, v in summary(curve).items()}
    if task == "random" and seed < COMPOSITE_MDPS:
        metrics |= {f"composite/{k}": v for k, v in composite(mdp, reference, rng).items()}
    if task == "random" and seed < BON_MDPS:
        proxy = proxies[ENSEMBLE_LABELS]
        bon = best_of_n_curve(mdp, proxy, gold, reference, BON_NS, episodes=1000, horizon=60, seed=seed)
        fit = bon.fit()
        rl = overoptimization_curve(mdp, proxy, gold, reference, BETAS)
        rl_fit = fit_gao(rl.sqrt_kl, rl.gold_return - rl.reference_gold, "rl")
        metrics |= {
            "bon/alpha": fit.alpha, "bon/beta": fit.beta, "bon/r2": fit.r2,
            "rl/alpha": rl_fit.alpha, "rl/beta": rl_fit.beta, "rl/r2": rl_fit.r2,
            "bon/gold_gain_512": float(bon.gold_return[-1] - bon.gold_return[0]),
            "bon/kl_512": float(bon.kl[-1]),
        }  # fmt: skip
        data["bon"] = [bon.sqrt_kl.tolist(), (bon.gold_return - bon.gold_return[0]).tolist()]
        data["rl"] = [rl.sqrt_kl.tolist(), (rl.gold_return - rl.reference_gold).tolist()]
    return RunOutput(metrics, data=data)


def experiment(mdps: int, grid_seeds: int) -> tuple[Experiment, Experiment]:
    """The ``random`` and ``grid`` experiments; the fingerprint covers the protocol's functions and constants."""
    protocol = (random_task, grid_task, summary, composite, LABELS, FALL, MEMBERS, UWO, BON_NS, GRID)
    return (
        Experiment("overoptimization", run_mdp, ({"task": "random"},), tuple(range(mdps)), definition=protocol),
        Experiment(
            "overoptimization_grid", run_mdp, ({"task": "grid"},), tuple(range(grid_seeds)), definition=protocol
        ),
    )


def _values(records: list[RunRecord], key: str) -> np.ndarray:
    return np.array([r.metrics[key] for r in records if key in r.metrics], dtype=np.float64)


def _est(values: np.ndarray, statistic: Any = stats.mean, digits: int = 3) -> str:
    if len(values) == 0:
        return "n/a"
    value, low, high = stats.interval_estimate([values], statistic)
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def spearmanr(x: np.ndarray, y: np.ndarray) -> tuple[float]:
    """The Spearman correlation of ``x`` and ``y`` (a one-tuple, indexed like scipy's result)."""
    return (float(np.asarray(_spearmanr(x, y)[0])),)


def _spearman_interval(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> tuple[float, float, float]:
    """Spearman correlation with a bootstrap interval resampling groups (MDPs)."""
    rng = np.random.default_rng(0)
    unique = np.unique(groups)
    index = {g: np.flatnonzero(groups == g) for g in unique}
    samples = []
    for _ in range(2000):
        pick = np.concatenate([index[g] for g in rng.choice(unique, size=len(unique))])
        samples.append(spearmanr(x[pick], y[pick])[0])
    low, high = np.percentile(samples, [2.5, 97.5])
    return float(spearmanr(x, y)[0]), float(low), float(high)


def report(random: list[RunRecord], grid: list[RunRecord]) -> list[str]:
    """The Markdown report of the protocol's items."""
    lines = [
        "# Reward-model overoptimization on tabular MDPs",
        "",
        "Command and protocol: `benchmarks/overoptimization.py`.",
        "",
    ]
    lines += [
        f"Runs: {len(random)} random MDPs, {len(grid)} grid-world seeds. Intervals: stratified bootstrap "
        "(2,000 replicates) over MDPs, 95%.",
        "",
        "## Discrimination check: oracle against the bonus proxy",
        "",
        "| task | proxy | mean drop | share falling | final normalised gold |",
        "|---|---|---|---|---|",
    ]
    for task, records in (("random", random), ("grid", grid)):
        for name in ("oracle", "bonus"):
            lines.append(
                f"| {task} | {name} | {_est(_values(records, f'{name}/drop'))} | "
                f"{_est(_values(records, f'{name}/falls'), digits=2)} | "
                f"{_est(_values(records, f'{name}/final_gold'))} |"
            )
    lines += ["", "## 1-3. Learned proxies: monotone proxy, falling gold, more labels", ""]
    lines += [
        "| task | labels | proxy monotone (share) | falls (share) | mean drop | IQM drop | peak normalised gold "
        "| final normalised gold | median peak KL |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for task, records in (("random", random), ("grid", grid)):
        for n in LABELS:
            key = f"labels{n}"
            lines.append(
                f"| {task} | {n} | {_values(records, key + '/monotone').mean():.3f} | "
                f"{_est(_values(records, key + '/falls'), digits=2)} | {_est(_values(records, key + '/drop'))} | "
                f"{_est(_values(records, key + '/drop'), stats.iqm)} | {_est(_values(records, key + '/peak_gold'))} | "
                f"{_est(_values(records, key + '/final_gold'))} | {np.median(_values(records, key + '/peak_kl')):.3g} |"
            )
    monotone = np.concatenate(
        [
            _values(rs, f"{k}/monotone")
            for rs in (random, grid)
            for k in [*(f"labels{n}" for n in LABELS), "oracle", "bonus"]
        ]
    )
    share50 = stats.interval_estimate([_values(random, "labels50/falls")], stats.mean)
    poi = stats.improvement_estimate([_values(random, "labels50/drop")], [_values(random, "labels5000/drop")])
    lines += [
        "",
        f"- Target 1 (proxy monotone in KL): {monotone.mean():.3f} of {len(monotone)} curves "
        f"({'met' if monotone.mean() == 1 else 'not met'}).",
        f"- Target 2 (gold falls in most random MDPs at 50 labels): share {share50[0]:.2f} "
        f"[{share50[1]:.2f}, {share50[2]:.2f}] ({'met' if share50[0] > 0.5 else 'not met'}).",
        f"- Target 3 (the fall shrinks with labels): P(drop at 50 > drop at 5,000) = {poi[0]:.2f} "
        f"[{poi[1]:.2f}, {poi[2]:.2f}] ({'met' if poi[1] > 0.5 else 'not met'}).",
        "",
        f"## 4. Ensembles ({ENSEMBLE_LABELS} labels, {MEMBERS} members, first {ENSEMBLE_MDPS} random MDPs)",
        "",
        "Paired against the single model on the same MDPs (negative drop difference: a smaller fall; positive "
        "log10 peak-KL difference: a later peak).",
        "",
        "| ensemble | mean drop | drop - single | log10 peak KL - single | P(drop < single's) "
        "| final normalised gold |",
        "|---|---|---|---|---|---|",
    ]
    subset = [r for r in random if "pretrain-mean/drop" in r.metrics]
    single_drop = _values(subset, f"labels{ENSEMBLE_LABELS}/drop")
    single_kl = np.log10(_values(subset, f"labels{ENSEMBLE_LABELS}/peak_kl"))
    lines.append(
        f"| single | {_est(single_drop)} | 0 | 0 | - | {_est(_values(subset, f'labels{ENSEMBLE_LABELS}/final_gold'))} |"
    )
    for kind in ("pretrain", "finetune"):
        for aggregate in ("mean", "wco", "uwo"):
            key = f"{kind}-{aggregate}"
            drop = _values(subset, f"{key}/drop")
            kl = np.log10(_values(subset, f"{key}/peak_kl"))
            better = stats.improvement_estimate([-drop], [-single_drop])
            lines.append(
                f"| {key} | {_est(drop)} | {_est(drop - single_drop)} | {_est(kl - single_kl)} | "
                f"{better[0]:.2f} [{better[1]:.2f}, {better[2]:.2f}] | {_est(_values(subset, f'{key}/final_gold'))} |"
            )
    comp = [r for r in random if "composite/free_drop" in r.metrics]
    falls = np.array([r.metrics["composite/free_drop"] > FALL for r in comp])
    within = np.array([r.metrics["composite/bound_within"] for r in comp])
    share = within[falls].mean() if falls.any() else float("nan")
    lines += [
        "",
        f"## 5. Constrained composite (first {COMPOSITE_MDPS} random MDPs)",
        "",
        "| composite | normalised gold at peak | at beta = 1e-3 | drop | largest scaled violation |",
        "|---|---|---|---|---|",
        f"| unconstrained | {_est(_values(comp, 'composite/free_peak'))} | "
        f"{_est(_values(comp, 'composite/free_final'))} | {_est(_values(comp, 'composite/free_drop'))} | - |",
        f"| constrained | {_est(_values(comp, 'composite/bound_max'))} (max) | "
        f"{_est(_values(comp, 'composite/bound_final'))} | - | "
        f"{_values(comp, 'composite/bound_violation').max():.3g} |",
        "",
        f"- Target 5: the unconstrained composite falls in {int(falls.sum())} of {len(comp)} MDPs; in those the "
        f"constrained composite ends within 0.05 of the unconstrained peak in {share:.2f} "
        f"({'met' if share >= 0.8 else 'not met'}; target 0.8).",
    ]
    rows, groups = [], []
    for r in random:
        for n in LABELS:
            rows.append([r.metrics[f"labels{n}/{k}"] for k in ("drop", "final_gold", "STARC-VAL-L2", "EPIC", "DARD")])
            groups.append(r.seed)
    table = np.array(rows)
    groups_arr = np.array(groups)
    lines += [
        "",
        f"## 6. Which distance predicts overoptimization ({len(table)} learned proxies)",
        "",
        "| distance | Spearman with drop | Spearman with final regret |",
        "|---|---|---|",
    ]
    corr = {}
    for j, name in enumerate(("STARC-VAL-L2", "EPIC", "DARD")):
        a = _spearman_interval(table[:, 2 + j], table[:, 0], groups_arr)
        b = _spearman_interval(table[:, 2 + j], 1 - table[:, 1], groups_arr)
        corr[name] = a[0]
        lines.append(f"| {name} | {a[0]:.3f} [{a[1]:.3f}, {a[2]:.3f}] | {b[0]:.3f} [{b[1]:.3f}, {b[2]:.3f}] |")
    ranked = sorted(corr, key=corr.__getitem__, reverse=True)
    best, second = ranked[0], ranked[1]
    cols = {"STARC-VAL-L2": 2, "EPIC": 3, "DARD": 4}
    lead = _lead_interval(table[:, cols[best]], table[:, cols[second]], table[:, 0], groups_arr)
    lines += [
        "",
        f"- Best predictor of the drop: {best}; its lead over {second} in Spearman correlation: "
        f"{lead[0]:.3f} [{lead[1]:.3f}, {lead[2]:.3f}].",
    ]
    bon = [r for r in random if "bon/r2" in r.metrics]
    if bon:
        lines += [
            "",
            f"## Best-of-n beside RL (first {BON_MDPS} random MDPs, the {ENSEMBLE_LABELS}-label proxy)",
            "",
            "| curve | form | alpha | beta | R^2 |",
            "|---|---|---|---|---|",
            f"| best-of-n (n <= 512, KL <= {bon[0].metrics['bon/kl_512']:.2f}) | d (alpha - beta d) | "
            f"{_est(_values(bon, 'bon/alpha'))} | {_est(_values(bon, 'bon/beta'))} | {_est(_values(bon, 'bon/r2'))} |",
            f"| RL (KL-regularised) | d (alpha - beta log d) | {_est(_values(bon, 'rl/alpha'))} | "
            f"{_est(_values(bon, 'rl/beta'))} | {_est(_values(bon, 'rl/r2'))} |",
        ]
    return lines


def _lead_interval(
    best: np.ndarray, other: np.ndarray, target: np.ndarray, groups: np.ndarray
) -> tuple[float, float, float]:
    rng = np.random.default_rng(0)
    unique = np.unique(groups)
    index = {g: np.flatnonzero(groups == g) for g in unique}

    def lead(pick: np.ndarray) -> float:
        return float(spearmanr(best[pick], target[pick])[0] - spearmanr(other[pick], target[pick])[0])

    samples = [lead(np.concatenate([index[g] for g in rng.choice(unique, size=len(unique))])) for _ in range(2000)]
    low, high = np.percentile(samples, [2.5, 97.5])
    return lead(np.arange(len(target))), float(low), float(high)


def plot(random: list[RunRecord], grid: list[RunRecord], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, records, title in ((axes[0], random, "random MDPs"), (axes[1], grid, "grid world")):
        for key in [*(f"labels{n}" for n in LABELS), "bonus", "oracle"]:
            xs = [np.array(r.data["curves"][key][0]) for r in records]
            ys = np.array([r.data["curves"][key][1] for r in records])
            ax.plot(np.median(np.stack(xs), 0), ys.mean(0), label=key)
        ax.set_xlabel("sqrt(KL) (median over runs)")
        ax.set_ylabel("mean normalised gold")
        ax.set_title(title)
        ax.legend(fontsize=7)
    bon = [r for r in random if "bon" in r.data]
    for i, r in enumerate(bon[:3]):
        (line,) = axes[2].plot(*r.data["bon"], "o-", ms=3, label=f"best-of-n, MDP {r.seed}")
        axes[2].plot(
            *r.data["rl"], "-", color=line.get_color(), alpha=0.6, label=f"RL, MDP {r.seed}" if i == 0 else None
        )
    axes[2].set_xlabel("sqrt(KL)")
    axes[2].set_ylabel("gold gain over the reference")
    axes[2].set_title("best-of-n (dots) and RL (lines)")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def speed(repeats: int = 3) -> list[str]:
    """The speed item of the protocol."""
    rng = np.random.default_rng(0)
    mdp = random_mdp(1000, 10, gamma=GAMMA, rng=rng, branching=10)
    proxy, gold = rng.normal(size=(2, 1000, 10))
    reference = np.full((1000, 10), 0.1)
    batched, loop, batched_cpu = [], [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        curve = overoptimization_curve(mdp, proxy, gold, reference, BETAS, device="cpu")
        batched.append(time.perf_counter() - start)
        batched_cpu.append(time.process_time() - cpu)
    start, cpu = time.perf_counter(), time.process_time()
    singles = [overoptimization_curve(mdp, proxy, gold, reference, [b], device="cpu") for b in BETAS]
    loop.append(time.perf_counter() - start)
    loop_cpu = time.process_time() - cpu
    agree = max(abs(s.gold_return[0] - g) for s, g in zip(singles, curve.gold_return))
    b, lp = float(np.median(batched)), float(np.median(loop))
    b_cpu = float(np.median(batched_cpu))
    return [
        "# Overoptimization curve: speed",
        "",
        "Command: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/overoptimization.py --speed` (one CPU thread).",
        "",
        "S = 1000, A = 10, 10 successors per state-action pair, gamma 0.95, 50 betas from 1e3 to 1e-3; exact KL, "
        f"proxy and gold returns per beta; batched: median of {repeats} repetitions, loop: once.",
        "",
        "| method | wall seconds | CPU seconds of the process |",
        "|---|---|---|",
        f"| batched (`overoptimization_curve`, 50 betas at once) | {b:.2f} | {b_cpu:.2f} |",
        f"| plain loop of 50 one-beta curves | {lp:.2f} | {loop_cpu:.2f} |",
        "",
        f"Machine load (1-minute load average) when it ran: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
        "under load the wall time exceeds the CPU time.",
        "",
        f"- Target (< 2 s batched, wall): {'met' if b < 2 else 'not met'} ({b:.2f} s wall, {b_cpu:.2f} s CPU; "
        f"{lp / b:.1f}x faster than the loop).",
        f"- Largest difference of gold return between the two: {agree:.2e}.",
        f"- All batched runs: {', '.join(f'{t:.2f}' for t in batched)} s.",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mdps", type=int, default=100)
    parser.add_argument("--grid-seeds", type=int, default=20)
    parser.add_argument("--speed", action="store_true", help="only the speed table")
    parser.add_argument("--out", default=None, help="results directory (default: benchmarks/results)")
    parser.add_argument(
        "--report", action="store_true", help="only rewrite the report from the runs finished so far (runs nothing)"
    )
    cli = parser.parse_args()
    root = Path(cli.out) if cli.out else RESULTS
    root.mkdir(parents=True, exist_ok=True)
    if cli.speed:
        lines = speed()
        (root / "overoptimization_speed.md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
        return
    random_exp, grid_exp = experiment(cli.mdps, cli.grid_seeds)
    start = time.perf_counter()
    if cli.report:
        grid = load_records(root / "overoptimization_grid")
        random = load_records(root / "overoptimization")
    else:
        grid = run_experiment(grid_exp, root / "overoptimization_grid", workers=1, device="cpu")
        random = run_experiment(random_exp, root / "overoptimization", workers=1, device="cpu")
    lines = report(random, grid)
    lines.append("")
    lines.append(
        f"Wall time of this invocation: {time.perf_counter() - start:.0f} s (finished runs are skipped on rerun)."
    )
    (root / "overoptimization.md").write_text("\n".join(lines) + "\n")
    plot(random, grid, root / "overoptimization_curves.png")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
