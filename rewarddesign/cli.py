"""The ``rewarddesign`` command.

::

    rewarddesign train --env MountainCar-v0 --algo ppo --shaping mountaincar_energy --timesteps 100000 --seed 0
    rewarddesign bench --suite quick
    rewarddesign bench --suite control --executor ray --ray-address auto
    rewarddesign bench report benchmarks/results/control
    rewarddesign distance rewards.npz --env FrozenLake-v1 --metric starc-val-l2 --heatmap distances.png
    rewarddesign potentials
    rewarddesign offline generate --env Hopper-v5 --kinds medium-replay --medium-steps 50000
    rewarddesign offline train rewarddesign/hopper/medium-replay-v0 --algo oppo --out runs/oppo
    rewarddesign offline evaluate runs/oppo/policy --episodes 10
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")  # before anything imports MuJoCo's GL

import gymnasium as gym
import numpy as np
from numpy.typing import ArrayLike, NDArray

from rewarddesign import offline
from rewarddesign.bench import SUITES, experiment_summary, load_records, load_suite, report, run_suite
from rewarddesign.distances import distance_matrix
from rewarddesign.mdp import TabularMDP, from_gymnasium
from rewarddesign.offline.oppo import CONTEXTS
from rewarddesign.rollouts import episode_returns, rollout
from rewarddesign.shaping import POTENTIALS
from rewarddesign.train import ALGORITHMS, evaluate, save_policy, train


def _train(args: argparse.Namespace) -> int:
    shaping = None if args.shaping in (None, "none") else args.shaping
    result = train(
        args.env,
        args.algo,
        args.timesteps,
        seed=args.seed,
        shaping=shaping,
        gamma=args.gamma,
        n_envs=args.n_envs,
        device=args.device,
        log_dir=args.log_dir,
        eval_freq=args.eval_freq,
        eval_episodes=args.eval_episodes,
        progress_bar=not args.no_progress,
        algo_kwargs=json.loads(args.algo_kwargs) if args.algo_kwargs else None,
    )
    if not result.evaluations:  # always report a final evaluation on the true reward
        evaluation = evaluate(result.model, args.env, args.eval_episodes, seed=args.seed + 10_000)
        mean, std = evaluation.mean, evaluation.std
    else:
        _, mean, std, _ = result.evaluations[-1]
    designed = (
        f"{sum(result.designed_returns) / len(result.designed_returns):.3f}" if result.designed_returns else "n/a"
    )
    true = f"{sum(result.true_returns) / len(result.true_returns):.3f}" if result.true_returns else "n/a"
    print(f"env={args.env} algo={args.algo} shaping={args.shaping or 'none'} seed={args.seed} device={result.device}")
    print(f"training episodes (last 100): true return {true}, designed return {designed}")
    print(f"evaluation on the true reward ({args.eval_episodes} episodes): {mean:.3f} ± {std:.3f}")
    print(f"wall time {result.wall_time:.1f} s" + (f"; logs in {result.log_dir}" if result.log_dir else ""))
    if args.save:
        path = save_policy(result.model, args.save, args.env, shaping=args.shaping, seed=args.seed, gamma=args.gamma)
        print(f"policy saved to {path}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    if args.suite.endswith((".toml", ".json")):
        suite = load_suite(args.suite)
    elif args.suite in SUITES:
        suite = SUITES[args.suite]
    else:
        print(
            f"unknown suite {args.suite!r}; built in: {', '.join(sorted(SUITES))}, or a .toml/.json file",
            file=sys.stderr,
        )
        return 2
    suite = suite.subset(args.envs, args.designs, args.seeds)
    out = Path(args.out or f"benchmarks/results/{suite.name}")
    run_suite(
        suite,
        out,
        workers=args.workers,
        device=args.device,
        progress=not args.no_progress,
        executor=args.executor,
        ray_address=args.ray_address,
        ray_fallback=args.ray_fallback,
    )
    print(report(out, reps=args.reps))
    print(f"\nrows: {out / 'runs'}  report: {out / 'README.md'}  plots: {out / 'curves.png'}, {out / 'profiles.png'}")
    return 0


def _bench_report(args: argparse.Namespace) -> int:
    if (Path(args.results) / "experiment.json").exists():
        print(experiment_summary(load_records(args.results), args.metrics, reps=args.reps))
        return 0
    print(report(args.results, baseline=args.baseline, reps=args.reps))
    return 0


def _parse_metric(name: str) -> dict:
    """``starc-<canonicalization>-<norm>`` (metric = norm), ``epic`` or ``dard``."""
    parts = name.lower().split("-")
    if parts in (["epic"], ["dard"]):
        return {"kind": parts[0]}
    if len(parts) == 3 and parts[0] == "starc":
        return {"kind": "starc", "canonicalization": parts[1], "norm": parts[2], "metric": parts[2]}
    raise ValueError(f"metric must be epic, dard or starc-<val|minimal|epic|dard|none>-<l1|l2|linf>, got {name!r}")


def _distance(args: argparse.Namespace) -> int:
    mdp, _ = from_gymnasium(gym.make(args.env), gamma=args.gamma)
    with np.load(args.rewards, allow_pickle=False) as archive:
        names = sorted(archive.files)
        if len(names) < 2:
            raise ValueError(f"{args.rewards} must hold at least two named reward arrays, got {names}")
        rewards = np.stack([_pad_absorbing(mdp, archive[name], name) for name in names])
    matrix = distance_matrix(rewards, mdp, device=args.device, **_parse_metric(args.metric))
    width = max(len(n) for n in names)
    print(f"{args.metric} distances on {args.env} (gamma {args.gamma})")
    print(" " * width + "".join(f"  {n:>{max(8, len(n))}}" for n in names))
    for name, row in zip(names, matrix):
        print(f"{name:>{width}}" + "".join(f"  {v:>{max(8, len(n))}.4f}" for n, v in zip(names, row)))
    if args.heatmap:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        side = max(4.0, 1.6 + 0.6 * len(names))
        fig, ax = plt.subplots(figsize=(side + 0.8, side))
        image = ax.imshow(matrix, cmap="viridis")
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
        ax.set_yticks(range(len(names)), names)
        for i, j in np.ndindex(matrix.shape):
            ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", color="w", fontsize=8)
        fig.colorbar(image, ax=ax)
        ax.set_title(f"{args.metric} on {args.env}", fontsize=9)
        fig.tight_layout()
        fig.savefig(args.heatmap, dpi=120)
        print(f"heatmap: {args.heatmap}")
    return 0


def _pad_absorbing(mdp: TabularMDP, reward: ArrayLike, name: str) -> NDArray[np.float64]:
    """Rewards over the env's states, padded with 0 for an absorbing state that ``from_gymnasium`` appended."""
    reward = np.asarray(reward, dtype=np.float64)
    n = mdp.n_states - 1
    if mdp.terminal[-1] and reward.shape[:1] == (n,):
        if reward.ndim == 3 and reward.shape == (n, mdp.n_actions, n):
            reward = np.pad(reward, ((0, 1), (0, 0), (0, 1)))
        elif reward.ndim in (1, 2):
            reward = np.pad(reward, [(0, 1)] + [(0, 0)] * (reward.ndim - 1))
    return mdp.reward_array(reward, name)


def _potentials(args: argparse.Namespace) -> int:
    for name in sorted(POTENTIALS):
        print(name)
    return 0


def _offline_generate(args: argparse.Namespace) -> int:
    ids = offline.generate_datasets(
        args.env,
        kinds=args.kinds,
        medium_steps=args.medium_steps,
        expert_steps=args.expert_steps,
        n_transitions=args.transitions,
        seed=args.seed,
        root=args.root,
        device=args.device,
        overwrite=args.overwrite,
        ref_scores=args.ref_scores,
        medium_score=args.medium_score,
        check_every=args.check_every,
        verbose=True,
    )
    for kind, identifier in ids.items():
        print(f"{kind}: {identifier}")
    return 0


def _offline_train(args: argparse.Namespace) -> int:
    data = offline.load_dataset(args.dataset, root=args.root)
    result = offline.train_offline(
        args.algo,
        data,
        steps=args.steps,
        n_pairs=args.pairs,
        segment_length=args.segment_length,
        label_horizon=args.label_horizon,
        labels=args.labels,
        top=args.top,
        eval_episodes=args.eval_episodes,
        seed=args.seed,
        device=args.device,
        out=args.out,
        oppo_config=offline.OPPOConfig(
            context_length=args.segment_length, context=args.context, z_star_norm=args.z_star_norm
        ),
        dataset=args.dataset,
    )
    score = "" if result.score_mean is None else f", normalised score {result.score_mean:.1f}"
    print(f"{args.algo} on {args.dataset} ({data.env_id}), seed {args.seed}, device {result.device}")
    print(f"true return over {args.eval_episodes} episodes: {result.return_mean:.1f}{score}")
    print(f"training {result.train_seconds:.1f} s; policy and result.json in {args.out}")
    return 0


def _offline_evaluate(args: argparse.Namespace) -> int:
    agent = offline.load_agent(args.policy, device=args.device)
    env_id = args.env or getattr(agent, "env_id", None)
    if env_id is None:
        raise ValueError("the saved policy names no env: pass --env")
    env = agent.wrap_env(gym.make(env_id))
    try:
        trajectories = rollout(agent, env, n_episodes=args.episodes, seed=args.seed, deterministic=True)
    finally:
        env.close()
    returns = episode_returns(trajectories)
    print(f"{env_id}: true return {returns.mean():.1f} ± {returns.std():.1f} over {args.episodes} episodes")
    if env_id in offline.D4RL_REFERENCE_SCORES:
        low, high = offline.D4RL_REFERENCE_SCORES[env_id]
        print(f"normalised score (D4RL references): {100 * (np.mean(returns) - low) / (high - low):.1f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``rewarddesign`` command's argument parser."""
    parser = argparse.ArgumentParser(
        prog="rewarddesign", description="Reward design for Gymnasium and Stable-Baselines3."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    train_parser = sub.add_parser("train", help="train an SB3 agent on a designed reward")
    train_parser.add_argument("--env", required=True, help="Gymnasium env id")
    train_parser.add_argument("--algo", default="ppo", choices=sorted(ALGORITHMS))
    train_parser.add_argument(
        "--shaping", default=None, help="registered potential name, or none (see `rewarddesign potentials`)"
    )
    train_parser.add_argument("--timesteps", type=int, default=100_000)
    train_parser.add_argument("--seed", type=int, default=0)
    train_parser.add_argument("--gamma", type=float, default=0.99)
    train_parser.add_argument("--n-envs", type=int, default=1)
    train_parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    train_parser.add_argument("--log-dir", default=None, help="TensorBoard and CSV logs")
    train_parser.add_argument("--eval-freq", type=int, default=0, help="evaluate on the true reward every N steps")
    train_parser.add_argument("--eval-episodes", type=int, default=10)
    train_parser.add_argument("--algo-kwargs", default=None, help="JSON, e.g. '{\"n_steps\": 512}'")
    train_parser.add_argument("--save", default=None, help="directory to save the policy to (tensors and JSON)")
    train_parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    train_parser.set_defaults(func=_train)

    bench = sub.add_parser(
        "bench",
        help="run a benchmark suite (resumable) and report it; `bench report DIR` reports a results directory",
    )
    bench.add_argument("--suite", default="quick", help="quick, control, shaping, or a suite file (.toml, .json)")
    bench.add_argument("--out", default=None, help="results directory (default benchmarks/results/SUITE)")
    bench.add_argument("--envs", nargs="+", default=None, help="only these env ids of the suite")
    bench.add_argument("--designs", nargs="+", default=None, help="only these designs of the suite")
    bench.add_argument("--seeds", nargs="+", type=int, default=None, help="these seeds instead of the suite's")
    bench.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="local processes")
    bench.add_argument("--device", default="auto")
    bench.add_argument("--executor", choices=("local", "ray"), default="local")
    bench.add_argument("--ray-address", default=None, help="auto or host:port of a Ray cluster (default: start one)")
    bench.add_argument("--ray-fallback", action="store_true", help="run locally when the Ray cluster does not answer")
    bench.add_argument("--reps", type=int, default=2000, help="bootstrap replicates of the report")
    bench.add_argument("--no-progress", action="store_true")
    bench.set_defaults(func=_bench)
    bench_sub = bench.add_subparsers(dest="bench_command")
    bench_report = bench_sub.add_parser("report", help="tables, aggregates with bootstrap intervals and plots")
    bench_report.add_argument(
        "results", help="a results directory written by `rewarddesign bench` or by an experiment (run_experiment)"
    )
    bench_report.add_argument("--metrics", nargs="+", help="an experiment's metrics to show (default: all)")
    bench_report.add_argument("--baseline", default="original", help="design the others are compared with")
    bench_report.add_argument("--reps", type=int, default=2000, help="bootstrap replicates")
    bench_report.set_defaults(func=_bench_report)

    distance = sub.add_parser("distance", help="distance matrix between the reward arrays of an .npz file")
    distance.add_argument("rewards", help=".npz file of named reward arrays [S], [S, A] or [S, A, S']")
    distance.add_argument(
        "--env", required=True, help="tabular Gymnasium env id whose model is used (FrozenLake-v1, ...)"
    )
    distance.add_argument("--metric", default="starc-val-l2", help="starc-<canonicalization>-<norm>, epic or dard")
    distance.add_argument("--gamma", type=float, default=0.99)
    distance.add_argument("--device", default=None, help="compute with torch on this device (cpu, cuda, auto)")
    distance.add_argument("--heatmap", default=None, help="write a heatmap PNG here")
    distance.set_defaults(func=_distance)

    potentials = sub.add_parser("potentials", help="list the registered potentials")
    potentials.set_defaults(func=_potentials)

    offline_parser = sub.add_parser("offline", help="offline preference learning: generate datasets, train, evaluate")
    offline_sub = offline_parser.add_subparsers(dest="offline_command", required=True)
    generate = offline_sub.add_parser("generate", help="make D4RL-style Minari datasets with SB3 SAC")
    generate.add_argument("--env", required=True, help="continuous-action Gymnasium env id, e.g. Hopper-v5")
    generate.add_argument("--kinds", nargs="+", default=["random", "medium", "medium-replay", "medium-expert"])
    generate.add_argument("--medium-steps", type=int, default=50_000, help="SAC steps to the medium policy (at most)")
    generate.add_argument(
        "--medium-score", type=float, default=None,
        help="stop SAC once its normalised score reaches this (D4RL's medium: about 33)",
    )  # fmt: skip
    generate.add_argument("--check-every", type=int, default=10_000, help="SAC steps between --medium-score checks")
    generate.add_argument("--expert-steps", type=int, default=150_000, help="SAC steps to the expert policy")
    generate.add_argument("--transitions", type=int, default=50_000, help="transitions per rolled-out dataset")
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--root", default=None, help="Minari dataset root (default MINARI_DATASETS_PATH)")
    generate.add_argument("--device", default="auto")
    generate.add_argument("--overwrite", action="store_true", help="replace existing datasets of these ids")
    generate.add_argument(
        "--ref-scores", nargs=2, type=float, default=None, metavar=("RANDOM", "EXPERT"),
        help="reference returns of the normalised score (default: D4RL's, else measured)",
    )  # fmt: skip
    generate.set_defaults(func=_offline_generate)
    otrain = offline_sub.add_parser("train", help="train OPPO or a baseline on a dataset and evaluate it")
    otrain.add_argument("dataset", help="Minari dataset id (rewarddesign/hopper/medium-replay-v0) or directory")
    otrain.add_argument("--algo", default="oppo", choices=offline.ALGOS)
    otrain.add_argument("--out", required=True, help="directory for the policy and result.json")
    otrain.add_argument("--steps", type=int, default=10_000, help="gradient steps")
    otrain.add_argument("--pairs", type=int, default=500, help="labelled segment pairs")
    otrain.add_argument("--segment-length", type=int, default=20)
    otrain.add_argument(
        "--label-horizon",
        type=int,
        default=None,
        help="steps from a segment's start its label judges (default: the segment length; longer counts what "
        "follows the segment, a fall included)",
    )
    otrain.add_argument("--labels", default="return", choices=offline.GATHERERS)
    otrain.add_argument("--top", type=float, default=0.25, help="fraction of preferred segments bc-top imitates")
    otrain.add_argument(
        "--context",
        default="window",
        choices=CONTEXTS,
        help="oppo: encode a window's context from the window itself (the paper), another window of its episode, "
        "or the window before or after it",
    )
    otrain.add_argument(
        "--z-star-norm",
        type=float,
        default=None,
        help="oppo: hold the optimal context z* at this norm (1 is the contexts' sphere; default: free, the paper)",
    )
    otrain.add_argument("--eval-episodes", type=int, default=10)
    otrain.add_argument("--seed", type=int, default=0)
    otrain.add_argument("--device", default="auto")
    otrain.add_argument("--root", default=None, help="Minari dataset root")
    otrain.set_defaults(func=_offline_train)
    oeval = offline_sub.add_parser("evaluate", help="roll a saved offline policy out on the true reward")
    oeval.add_argument("policy", help="a policy directory written by `offline train` (OUT/policy)")
    oeval.add_argument("--env", default=None, help="env id (default: the one the policy was trained for)")
    oeval.add_argument("--episodes", type=int, default=10)
    oeval.add_argument("--seed", type=int, default=10_000)
    oeval.add_argument("--device", default="auto")
    oeval.set_defaults(func=_offline_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, ConnectionError, ImportError, FileNotFoundError, FileExistsError) as err:
        print(f"rewarddesign: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
