"""Reward-model overoptimization in deep RL: PPO against a learned proxy with a KL penalty, on Pendulum-v1.

Reproduce (one process)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/overoptimization_deep.py            # the runs, then the report
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/overoptimization_deep.py --pilot    # seed 0, beta 0, timed
    .venv/bin/python benchmarks/overoptimization_deep.py --report-only                # tabulate finished runs

Each (learner, seed) is a run of ``rewarddesign.bench.run_experiment``: its record lands in
``benchmarks/results/overoptimization_deep/runs/`` when it finishes and a rerun skips finished runs.
Writes ``benchmarks/results/overoptimization_deep.md`` and ``overoptimization_deep.png``.

Protocol (fixed in this docstring before the first full run)
-------------------------------------------------------------

Task: ``Pendulum-v1`` (gold reward: the env's, ``-(theta^2 + 0.1 thetadot^2 + 0.001 u^2)`` per
step, 200 steps per episode), seeds 0..4.

Reference: a stated weak policy, SB3 PPO's ``MlpPolicy`` (64x64, Gaussian, log std 0) at its
seeded initialisation, untrained: actions about N(0, 1), clipped to [-2, 2] by the env. It stays
frozen; the trained agent starts from a copy of its weights, so the KL starts at exactly 0.

Proxy: 40 stochastic reference episodes (env seeds ``1000 * seed + i``); fragments of 25 steps cut
at random offsets (``Fragments.from_trajectories``, 8 per episode, 320 fragments); 100 random pairs
labelled by a Bradley-Terry annotator on gold fragment returns at temperature 1
(``SyntheticGatherer``); a ``RewardModel`` on (obs, act), MLP (64, 64), 30 epochs, Adam lr 1e-3,
batch 32, normalised outputs (``train_reward_model``). Its held-out accuracy on 500 further pairs
of the same fragments is reported. The proxy is thus fitted where the reference goes (the
pendulum swinging with the energy it started with) and free elsewhere.

Learners (PPO on the CPU, one thread, 4 envs x 256 steps per rollout, batch 256, 10 epochs,
lr 1e-3, gamma 0.9, GAE 0.95, clip 0.2, no entropy bonus; 40,960 env steps = 40 rollouts):
``proxy`` at beta in {0, 0.1, 1} (reward: ``VecLearnedReward(proxy)`` plus ``KLPenaltyTerm(beta)``),
and the discrimination check ``gold`` (the env reward, beta 0, same agent and budget). Logged after
every rollout by ``OveroptimizationCallback``: the mean gold and proxy return of the training
episodes that ended in the rollout, and the KL per step (the mean log-ratio of the agent's actions,
the actions as the env received them, after clipping).

CPU budget: about 15 core-minutes in all. Pilot (seed 0, proxy at beta 0, before this protocol was
committed): 29 CPU-seconds (61 s of wall time on the loaded machine); 20 runs fit in about 10
CPU-minutes, so three betas and the oracle at 5 seeds. The pilot's curve was seen: gold rose from
-1126 to about -450 with the proxy rising alongside (held-out accuracy 0.93), the KL per step
reached about 0.4 to 0.9, and single rollouts' gold values scatter by about 200 (4 to 5 episodes
each); from this the smoothing window became 5 rollouts and the fall threshold 0.2 of the gain.
Nothing else was changed after it.

Measures per run (curves smoothed by a centred moving mean over 5 rollouts): ``gold_start`` (the
first rollout's gold return, the reference's), ``gold_peak`` (the smoothed maximum), ``gold_final``
(the smoothed last value), ``drop = gold_peak - gold_final``, ``gain = gold_peak - gold_start``;
the run "rises then falls" if ``gain > 0`` and ``drop > 0.2 * gain``; ``proxy_final`` and
``proxy_peak`` likewise, and ``kl_final`` (the smoothed last KL per step).

Targets (statistics from ``rewarddesign.bench.stats``: means and IQMs over seeds with
stratified-bootstrap 95% intervals, 2,000 replicates, seed 0; probability of improvement):

0. Discrimination: the ``gold`` learner's final gold return lies above the reference's
   (``gold_start``) with separated mean intervals.
1. At beta 0 the gold return rises then falls while the proxy keeps rising: the share of seeds
   that rise then fall, the mean drop with its interval (met if the interval lies above 0), and the
   proxy's ``proxy_peak - proxy_final`` (met if its mean is below 0.05 of the proxy's gain).
2. A larger beta keeps the KL lower: ``P(kl_final at beta 0 > at beta 0.1)`` and
   ``P(at beta 0.1 > at beta 1)`` with intervals (met if both intervals lie above 0.5).
3. Reported without a target: the final gold per beta (does the penalty keep the gold higher?),
   and the curves of gold, proxy and KL over training as a PNG (median and interquartile range).

Reported whatever comes out; no seeds are added and nothing is changed after seeing results.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3 import PPO

from rewarddesign._seeding import GlobalRandomStream
from rewarddesign.bench import Experiment, RunOutput, RunRecord, run_experiment, stats
from rewarddesign.overoptimization import KLPenaltyTerm, OveroptimizationCallback
from rewarddesign.preferences import (
    Fragments,
    RewardModel,
    SyntheticGatherer,
    VecLearnedReward,
    preference_accuracy,
    random_pairs,
    train_reward_model,
)
from rewarddesign.rewards import VecDesignedReward
from rewarddesign.rollouts import episode_returns, rollout
from rewarddesign.train import make_vec_env

RESULTS = Path(__file__).resolve().parent / "results"
ENV = "Pendulum-v1"
BETAS = (0.0, 0.1, 1.0)
TIMESTEPS = 40_960
REFERENCE_EPISODES, FRAGMENT_LENGTH, LABELS, HELD_OUT = 40, 25, 100, 500
PPO_KWARGS: dict[str, Any] = {
    "n_steps": 256,
    "batch_size": 256,
    "n_epochs": 10,
    "learning_rate": 1e-3,
    "gamma": 0.9,
    "gae_lambda": 0.95,
    "clip_range": 0.2,
    "ent_coef": 0.0,
}
N_ENVS = 4


def learn_proxy(reference: PPO, seed: int) -> tuple[RewardModel, float, float]:
    """The proxy learned from ``LABELS`` labels on the reference's fragments.

    Returns the proxy, its held-out accuracy and the reference's gold return.
    """
    rng = np.random.default_rng([seed, 1])
    env = gym.make(ENV)
    trajectories = rollout(reference, env, n_episodes=REFERENCE_EPISODES, seed=1000 * seed)
    env.close()
    fragments = Fragments.from_trajectories(trajectories, FRAGMENT_LENGTH, rng)
    gatherer = SyntheticGatherer(temperature=1.0, seed=seed)
    first, second = random_pairs(len(fragments), LABELS + HELD_OUT, rng)
    train = gatherer(fragments, first[:LABELS], second[:LABELS])
    held_out = gatherer(fragments, first[LABELS:], second[LABELS:])
    model = RewardModel(env.observation_space, env.action_space, hidden_sizes=(64, 64), device="cpu", seed=seed)
    train_reward_model(model, train, epochs=30, batch_size=32, lr=1e-3, seed=seed)
    return model, preference_accuracy(model, held_out), float(np.mean(episode_returns(trajectories)))


def train_against(
    seed: int, learner: str, beta: float, timesteps: int = TIMESTEPS
) -> tuple[list[Any], dict[str, float]]:
    """PPO from the reference on the proxy (plus the KL penalty) or on the gold reward; the logged points."""
    stream = GlobalRandomStream(seed)
    with stream.active():
        reference = PPO("MlpPolicy", ENV, seed=seed, device="cpu", **PPO_KWARGS)
    info: dict[str, float] = {}
    venv = make_vec_env(ENV, N_ENVS, seed)
    if learner == "proxy":
        proxy, accuracy, reference_gold = learn_proxy(reference, seed)
        info.update(accuracy=accuracy, reference_gold=reference_gold)
        venv = VecLearnedReward(venv, proxy)
    term = KLPenaltyTerm(reference, beta)
    venv = VecDesignedReward(venv, term)
    with stream.active():
        agent = PPO("MlpPolicy", venv, seed=seed, device="cpu", **PPO_KWARGS)
        agent.policy.load_state_dict(reference.policy.state_dict())
        term.set_policy(agent)
        proxy_key = "learned_reward" if learner == "proxy" else "original_reward"
        callback = OveroptimizationCallback(term, proxy_key=proxy_key)
        agent.learn(total_timesteps=timesteps, callback=callback)
    venv.close()
    return callback.points, info


def _smooth(values: np.ndarray) -> np.ndarray:
    padded = np.concatenate([values[:1], values[:1], values, values[-1:], values[-1:]])
    return np.convolve(padded, np.ones(5) / 5.0, mode="valid")


def summarize(points: list[Any]) -> dict[str, float]:
    """The run's measures of the protocol from its logged points."""
    gold = _smooth(np.array([p.gold_return for p in points]))
    proxy = _smooth(np.array([p.proxy_return for p in points]))
    kl = _smooth(np.array([p.kl for p in points]))
    start = float(points[0].gold_return)
    gain, drop = float(gold.max() - start), float(gold.max() - gold[-1])
    return {
        "gold_start": start,
        "gold_peak": float(gold.max()),
        "gold_final": float(gold[-1]),
        "gain": gain,
        "drop": drop,
        "rises_then_falls": float(gain > 0 and drop > 0.2 * gain),
        "peak_rollout": float(np.argmax(gold)),
        "proxy_start": float(points[0].proxy_return),
        "proxy_peak": float(proxy.max()),
        "proxy_final": float(proxy[-1]),
        "kl_final": float(kl[-1]),
        "kl_at_gold_peak": float(kl[int(np.argmax(gold))]),
    }


def run(seed: int, learner: str, beta: float) -> RunOutput:
    """One learner at one beta on one seed."""
    start = time.process_time()
    points, info = train_against(seed, learner, beta)
    metrics = {**summarize(points), **info, "cpu_seconds": time.process_time() - start}
    curves = {
        "gold": [[p.timesteps, p.gold_return] for p in points],
        "proxy": [[p.timesteps, p.proxy_return] for p in points],
        "kl": [[p.timesteps, p.kl] for p in points],
    }
    return RunOutput(metrics, curves=curves)


GRID = tuple({"learner": "proxy", "beta": beta} for beta in BETAS) + ({"learner": "gold", "beta": 0.0},)


def experiment(seeds: int = 5) -> Experiment:
    """The benchmark's runs; the fingerprint covers the settings and the measures."""
    settings = (ENV, TIMESTEPS, REFERENCE_EPISODES, FRAGMENT_LENGTH, LABELS, HELD_OUT, N_ENVS, PPO_KWARGS)
    definition = (learn_proxy, train_against, summarize, _smooth, settings)
    return Experiment("overoptimization_deep", run, GRID, tuple(range(seeds)), definition=definition)


def _name(params: dict[str, Any]) -> str:
    return "gold reward (oracle)" if params["learner"] == "gold" else f"proxy, beta {params['beta']:g}"


def _values(records: list[RunRecord], key: str, learner: str, beta: float) -> np.ndarray:
    return np.array(
        [r.metrics[key] for r in records if r.params["learner"] == learner and r.params["beta"] == beta], dtype=float
    )


def _est(values: np.ndarray, statistic: Any = stats.mean, digits: int = 2) -> str:
    value, low, high = stats.interval_estimate([values], statistic)
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def report(records: list[RunRecord], out: Path) -> list[str]:
    """Write the table and the PNG; return the table's lines."""
    lines = [
        "# Overoptimization in deep RL: PPO on Pendulum-v1 against a learned proxy with a KL penalty",
        "",
        "`OMP_NUM_THREADS=1 python benchmarks/overoptimization_deep.py` (one process; protocol in the script's "
        f"docstring). {TIMESTEPS:,} PPO steps per run from a frozen untrained reference; proxy: a reward model on "
        f"(obs, act) from {LABELS} Bradley-Terry labels on 25-step fragments of the reference. Means and IQMs over "
        "seeds with stratified-bootstrap 95% intervals (`rewarddesign.bench.stats`); curves smoothed over 5 rollouts; "
        "KL per step (nats).",
        "",
        "| learner | seeds | gold start | gold peak | gold final | drop (IQM) | rises then falls | proxy final "
        "| KL final | CPU s/run |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for params in GRID:
        learner, beta = params["learner"], params["beta"]

        def v(key: str, learner: str = learner, beta: float = beta) -> np.ndarray:
            return _values(records, key, learner, beta)

        if not len(v("gold_final")):
            continue
        lines.append(
            f"| {_name(params)} | {len(v('gold_final'))} | {_est(v('gold_start'), digits=0)} | "
            f"{_est(v('gold_peak'), digits=0)} | {_est(v('gold_final'), digits=0)} | "
            f"{_est(v('drop'), stats.iqm, 0)} | {v('rises_then_falls').mean():.2f} | "
            f"{_est(v('proxy_final'), digits=1)} | {_est(v('kl_final'), digits=3)} | {v('cpu_seconds').mean():.0f} |"
        )
    lines += ["", "Per seed (gold start -> peak -> final; KL final):", ""]
    for params in GRID:
        mine = sorted(
            (r for r in records if r.params["learner"] == params["learner"] and r.params["beta"] == params["beta"]),
            key=lambda r: r.seed,
        )
        cells = [
            f"{r.metrics['gold_start']:.0f} -> {r.metrics['gold_peak']:.0f} -> {r.metrics['gold_final']:.0f} "
            f"(KL {r.metrics['kl_final']:.3f})"
            for r in mine
        ]
        if cells:
            lines.append(f"- {_name(params)}: " + "; ".join(cells))
    accuracy = [r.metrics["accuracy"] for r in records if "accuracy" in r.metrics]
    if accuracy:
        lines.append(f"- Proxy held-out accuracy ({HELD_OUT} pairs): mean {np.mean(accuracy):.2f}.")
    lines += ["", "## Targets (fixed before the run)", ""]
    gold_final, gold_start = _values(records, "gold_final", "gold", 0.0), _values(records, "gold_start", "gold", 0.0)
    if len(gold_final):
        _, _, start_high = stats.interval_estimate([gold_start], stats.mean)
        _, final_low, _ = stats.interval_estimate([gold_final], stats.mean)
        ok = final_low > start_high
        lines.append(
            f"0. Discrimination (the gold learner's final gold above the reference's, mean intervals): "
            f"{_est(gold_final, digits=0)} vs {_est(gold_start, digits=0)}: **{'holds' if ok else 'does not hold'}**."
        )
    drop = _values(records, "drop", "proxy", 0.0)
    if len(drop):
        _, low, _ = stats.interval_estimate([drop], stats.mean)
        share = _values(records, "rises_then_falls", "proxy", 0.0)
        proxy_gain = _values(records, "proxy_peak", "proxy", 0.0) - _values(records, "proxy_start", "proxy", 0.0)
        proxy_fall = _values(records, "proxy_peak", "proxy", 0.0) - _values(records, "proxy_final", "proxy", 0.0)
        keeps = proxy_fall.mean() < 0.05 * proxy_gain.mean()
        lines.append(
            f"1. Beta 0: gold rises then falls in {share.mean():.2f} of the seeds; mean drop {_est(drop, digits=0)}: "
            f"**{'met' if low > 0 else 'not met'}** (interval above 0); the proxy's fall from its peak "
            f"{_est(proxy_fall, digits=1)} against its gain {_est(proxy_gain, digits=1)}: "
            f"**{'keeps rising' if keeps else 'does not keep rising'}** (mean fall below 0.05 of the gain)."
        )
    kls = {beta: _values(records, "kl_final", "proxy", beta) for beta in BETAS}
    verdicts = []
    for a, b in zip(BETAS[:-1], BETAS[1:], strict=True):
        if len(kls[a]) and len(kls[b]):
            value, low, high = stats.improvement_estimate([kls[a]], [kls[b]])
            verdicts.append(low > 0.5)
            lines.append(f"2. P(KL at beta {a:g} > KL at beta {b:g}) = {value:.2f} [{low:.2f}, {high:.2f}].")
    if verdicts:
        lines.append(f"   Larger beta keeps the KL lower: **{'met' if all(verdicts) else 'not met'}**.")
    finals = [(beta, _values(records, "gold_final", "proxy", beta)) for beta in BETAS]
    lines.append(
        "3. Final gold per beta (no target): "
        + "; ".join(f"beta {beta:g}: {_est(v, digits=0)}" for beta, v in finals if len(v))
        + "."
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    _plot(records, out.with_suffix(".png"))
    return lines


def _plot(records: list[RunRecord], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    titles = {
        "gold": "gold (env) return",
        "proxy": "proxy return (learned, normalised)",
        "kl": "KL to reference per step",
    }
    for i, params in enumerate(GRID):
        mine = [r for r in records if r.params["learner"] == params["learner"] and r.params["beta"] == params["beta"]]
        if not mine:
            continue
        for ax, key in zip(axes, ("gold", "proxy", "kl"), strict=True):
            if params["learner"] == "gold" and key == "proxy":
                continue  # the gold learner's "proxy" is the gold itself
            length = min(len(r.curves[key]) for r in mine)
            x = np.array([row[0] for row in mine[0].curves[key][:length]])
            y = np.array([[_smooth(np.array([row[1] for row in r.curves[key][:length]]))] for r in mine])[:, 0]
            ax.plot(x, np.median(y, 0), color=f"C{i}", label=_name(params))
            ax.fill_between(x, np.percentile(y, 25, 0), np.percentile(y, 75, 0), color=f"C{i}", alpha=0.15)
            ax.set_title(titles[key], fontsize=9)
            ax.set_xlabel("environment steps")
    axes[0].legend(fontsize=7)
    fig.suptitle("PPO on Pendulum-v1 against a learned proxy: median and interquartile range over seeds", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS / "overoptimization_deep")
    parser.add_argument("--pilot", action="store_true", help="seed 0, proxy at beta 0, into a temporary directory")
    parser.add_argument("--report-only", action="store_true", help="tabulate the finished runs, train nothing")
    args = parser.parse_args()
    if args.pilot:
        with tempfile.TemporaryDirectory() as out:
            pilot = experiment(1).subset(learner=["proxy"], beta=[0.0])
            for r in run_experiment(pilot, out, progress=False, device="cpu"):
                print(f"pilot {r.key}: {r.seconds:.0f} s wall, {r.metrics}")
                for key in ("gold", "proxy", "kl"):
                    print(key, [round(v, 3) for _, v in r.curves[key]])
        return
    full = experiment(args.seeds)
    if args.report_only:
        paths = [args.out / "runs" / f"{run.key}.json" for run in full.runs()]
        records = [RunRecord.read(path) for path in paths if path.exists()]
    else:
        records = run_experiment(full, args.out, workers=1, device="cpu", progress=False)
    print("\n".join(report(records, RESULTS / "overoptimization_deep")))


if __name__ == "__main__":
    main()
