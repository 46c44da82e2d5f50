"""The ``rewarddesign`` command.

::

    rewarddesign train --env MountainCar-v0 --algo ppo --shaping mountaincar_energy --timesteps 100000 --seed 0
    rewarddesign bench --suite quick
    rewarddesign bench --suite control-full --executor ray --ray-address auto
    rewarddesign bench report benchmarks/results/control
    rewarddesign distance rewards.npz --env FrozenLake-v1 --metric starc-val-l2 --heatmap distances.png
    rewarddesign potentials
    rewarddesign offline generate --env Hopper-v5 --kinds medium-replay --medium-steps 50000
    rewarddesign offline train rewarddesign/hopper/medium-replay-v0 --algo oppo --out runs/oppo
    rewarddesign offline evaluate runs/oppo/policy --episodes 10
    rewarddesign overopt --labels 200 --members 5 --aggregate wco --plot curve.png

A mistake in what the command is given (a missing or unreadable file, a directory where a file is
expected, a damaged archive, an unknown env id, a device the machine lacks, an algorithm that does
not fit the env's actions, an output path that cannot be written, a count below 1) ends the command
before any work with exit code 2 and one line, ``rewarddesign <command>: error: <what is wrong>``.
Output paths are checked before training starts. Anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import get_args

os.environ.setdefault("MUJOCO_GL", "egl")  # before anything imports MuJoCo's GL

import gymnasium as gym
import numpy as np
from numpy.typing import ArrayLike, NDArray

import rewarddesign
from rewarddesign import offline
from rewarddesign._validation import check_device
from rewarddesign.bench import (
    SUITES,
    SweepInterrupted,
    experiment_summary,
    load_records,
    load_suite,
    report,
    run_suite,
)
from rewarddesign.distances import distance_matrix
from rewarddesign.mdp import TabularMDP, from_gymnasium
from rewarddesign.offline.oppo import CONTEXTS, NormLoss, PolicyInputs, TieHandling
from rewarddesign.rollouts import episode_returns, rollout
from rewarddesign.shaping import POTENTIALS
from rewarddesign.train import (
    ALGORITHMS,
    evaluate,
    make_env_factory,
    register_dm_control,
    save_policy,
    train,
)


class CommandError(Exception):
    """A mistake in what the command was given: reported in one line, with exit code 2."""


#: What the library raises for bad input that the command reports in one line (not TypeError:
#: that is mostly a bug, and the few user errors that raise it are caught where they can occur).
_USER_ERRORS = (
    CommandError,
    ValueError,
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
    ConnectionError,
    ImportError,
    gym.error.DependencyNotInstalled,
)


def _input_file(path: str, what: str) -> Path:
    """``path`` checked to be a readable file."""
    file = Path(path)
    if not file.exists():
        raise CommandError(f"{what} {path} does not exist")
    if file.is_dir():
        raise CommandError(f"{what} {path} is a directory, not a file")
    try:
        with file.open("rb"):
            pass
    except OSError as err:
        raise CommandError(f"{what} {path} cannot be read: {err.strerror}") from None
    return file


def _input_dir(path: str, what: str) -> Path:
    """``path`` checked to be a directory."""
    directory = Path(path)
    if not directory.exists():
        raise CommandError(f"{what} {path} does not exist")
    if not directory.is_dir():
        raise CommandError(f"{what} {path} is a file, not a directory")
    return directory


def _writable_dir(path: str | None, flag: str) -> None:
    """Check, creating nothing, that the directory ``path`` exists writable or can be made."""
    if path is None:
        return
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise CommandError(f"{flag} {path} is a file, not a directory")
    existing = target
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise CommandError(f"{flag} {path} cannot be made: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CommandError(f"{flag} {path} cannot be written: no write permission in {existing}")


def _writable_file(path: str | None, flag: str) -> None:
    """Check, creating nothing, that the file ``path`` can be written."""
    if path is None:
        return
    if Path(path).is_dir():
        raise CommandError(f"{flag} {path} is a directory, not a file")
    _writable_dir(str(Path(path).parent), f"{flag} {path}: its directory")


def _positive(value: int, flag: str) -> None:
    if value < 1:
        raise CommandError(f"{flag} must be at least 1, got {value}")


def _env_id(env_id: str) -> None:
    """Check that ``env_id`` is a registered Gymnasium env id (dm-control's through shimmy)."""
    try:
        if env_id.startswith("dm_control/"):
            register_dm_control()
        gym.spec(env_id)
    except gym.error.Error as err:
        raise CommandError(f"--env {env_id!r} is not a registered Gymnasium env id: {err}") from None


def _device(device: str | None) -> None:
    if device is not None:
        try:
            check_device(device)
        except ValueError as err:
            raise CommandError(f"--device: {err}") from None


def _train(args: argparse.Namespace) -> int:
    shaping = None if args.shaping in (None, "none") else args.shaping
    for flag, value in (("--timesteps", args.timesteps), ("--n-envs", args.n_envs)):
        _positive(value, flag)
    _positive(args.eval_episodes, "--eval-episodes")
    if args.eval_freq < 0:
        raise CommandError(f"--eval-freq must be at least 0 (0: no evaluation during training), got {args.eval_freq}")
    _env_id(args.env)
    _device(args.device)
    algo_kwargs = None
    if args.algo_kwargs:
        try:
            algo_kwargs = json.loads(args.algo_kwargs)
        except json.JSONDecodeError as err:
            raise CommandError(f"--algo-kwargs is not valid JSON: {err}") from None
        if not isinstance(algo_kwargs, dict):
            raise CommandError(f"--algo-kwargs must be a JSON object, got {args.algo_kwargs}")
    try:  # an unknown potential, or one for another env (TypeError), before anything is trained
        make_env_factory(args.env, shaping=shaping, gamma=args.gamma)
    except (ValueError, TypeError) as err:
        raise CommandError(f"--shaping {args.shaping}: {err}") from None
    _writable_dir(args.log_dir, "--log-dir")
    _writable_dir(args.save, "--save")
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
        algo_kwargs=algo_kwargs,
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
    try:
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
    except SweepInterrupted as stop:  # finished runs are kept: say so, exit as the signal asks
        for signum in (signal.SIGINT, signal.SIGTERM):  # a further Ctrl-C cannot cut the exit short
            signal.signal(signum, signal.SIG_IGN)
        print(f"rewarddesign bench: {stop}", file=sys.stderr)
        return stop.exit_code
    print(report(out, reps=args.reps))
    print(f"\nrows: {out / 'runs'}  report: {out / 'README.md'}  plots: {out / 'curves.png'}, {out / 'profiles.png'}")
    return 0


def _bench_report(args: argparse.Namespace) -> int:
    if (Path(args.results) / "experiment.json").exists():
        if args.baseline is not None:
            raise ValueError("--baseline compares designs of a suite's results; an experiment's have none")
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


def _read_rewards(path: Path) -> dict[str, NDArray[np.generic]]:
    """The named numeric arrays of an ``.npz`` archive, read without unpickling."""
    if not zipfile.is_zipfile(path):
        raise CommandError(
            f"{path} is not an .npz archive (or its end is cut off): give named reward arrays saved with numpy.savez"
        )
    arrays: dict[str, NDArray[np.generic]] = {}
    try:
        with np.load(path, allow_pickle=False) as archive:
            for name in sorted(archive.files):
                try:
                    array = archive[name]
                except ValueError as err:  # numpy's message would suggest allow_pickle=True, which runs code
                    if "pickle" not in str(err):
                        raise CommandError(f"{path} is damaged: its array {name!r} cannot be read") from None
                    array = None  # Python objects
                if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
                    raise CommandError(f"{path}: {name!r} is not a numeric array (only numbers are read from it)")
                arrays[name] = array
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, zlib.error) as err:
        raise CommandError(f"{path} is damaged and cannot be read as an .npz archive: {err}") from None
    if len(arrays) < 2:
        raise CommandError(f"{path} must hold at least two named reward arrays, got {sorted(arrays)}")
    return arrays


def _distance(args: argparse.Namespace) -> int:
    metric = _parse_metric(args.metric)
    file = _input_file(args.rewards, "rewards file")
    _env_id(args.env)
    _device(args.device)
    _writable_file(args.heatmap, "--heatmap")
    arrays = _read_rewards(file)
    env = gym.make(args.env)
    try:
        mdp, _ = from_gymnasium(env, gamma=args.gamma)
    except TypeError as err:  # an env without a tabular model (env.unwrapped.P)
        raise CommandError(f"--env {args.env} is not a tabular env with a model: {err}") from None
    appended = mdp.n_states == int(getattr(env.observation_space, "n", mdp.n_states)) + 1
    names = sorted(arrays)
    rewards = np.stack([_pad_absorbing(mdp, arrays[name], name, appended) for name in names])
    matrix = distance_matrix(rewards, mdp, device=args.device, **metric)
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


def _pad_absorbing(mdp: TabularMDP, reward: ArrayLike, name: str, appended: bool) -> NDArray[np.float64]:
    """Rewards over the env's states, padded with 0 for the absorbing state that ``from_gymnasium`` appended.

    Only where it appended one (``appended``): a reward one state short of an env's own states is
    refused by :meth:`~rewarddesign.mdp.TabularMDP.reward_array`, never padded.
    """
    reward = np.asarray(reward, dtype=np.float64)
    n = mdp.n_states - 1
    if appended and reward.shape[:1] == (n,):
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
    _env_id(args.env)
    _device(args.device)
    _writable_dir(args.root, "--root")
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
    _positive(args.eval_episodes, "--eval-episodes")
    _device(args.device)
    _writable_dir(args.out, "--out")
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
            context_length=args.segment_length,
            context=args.context,
            z_star_norm=args.z_star_norm,
            norm=args.norm,
            ties=args.ties,
            policy_inputs=args.policy_inputs,
        ),
        dataset=args.dataset,
    )
    score = "" if result.score_mean is None else f", normalised score {result.score_mean:.1f}"
    print(f"{args.algo} on {args.dataset} ({data.env_id}), seed {args.seed}, device {result.device}")
    print(f"true return over {args.eval_episodes} episodes: {result.return_mean:.1f}{score}")
    print(f"training {result.train_seconds:.1f} s; policy and result.json in {args.out}")
    return 0


def _offline_evaluate(args: argparse.Namespace) -> int:
    _positive(args.episodes, "--episodes")
    _input_dir(args.policy, "policy directory")
    _device(args.device)
    if args.env is not None:
        _env_id(args.env)
    agent = offline.load_agent(args.policy, device=args.device)
    env_id = args.env or getattr(agent, "env_id", None)
    if env_id is None:
        raise CommandError("the saved policy names no env: pass --env")
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


def _overopt(args: argparse.Namespace) -> int:
    for flag in ("states", "actions", "labels", "betas", "members"):
        _positive(getattr(args, flag), f"--{flag}")
    if not 0 <= args.gamma < 1:
        raise CommandError(f"--gamma must lie in [0, 1), got {args.gamma}")
    _writable_file(args.plot, "--plot")
    from rewarddesign import overoptimization as oo
    from rewarddesign.mdp import random_mdp

    rng = np.random.default_rng(args.seed)
    mdp = random_mdp(args.states, args.actions, gamma=args.gamma, rng=rng)
    gold = rng.normal(size=(args.states, args.actions))
    reference = rng.dirichlet(np.full(args.actions, 0.5), size=args.states)
    fragments = oo.reference_fragments(mdp, gold, reference, max(2, args.labels // 5), seed=args.seed)
    labels = oo.preference_labels(fragments, args.labels, seed=args.seed)
    members = oo.fit_tabular_rewards(
        labels, args.states, args.actions, members=args.members, batch_size=max(64, args.labels // 8), seed=args.seed
    )
    proxy = oo.ensemble_proxy(members, args.aggregate) if args.members > 1 else members[0]
    curve = oo.overoptimization_curve(mdp, proxy, gold, reference, np.geomspace(1e-3, 1e3, args.betas))
    print(
        f"random MDP (S={args.states}, A={args.actions}, gamma={args.gamma}, seed {args.seed}); proxy learned from "
        f"{args.labels} Bradley-Terry labels, {args.members} member(s), aggregate {args.aggregate}"
    )
    print(curve.table())
    print(
        f"gold peak {curve.normalized_gold[curve.peak]:.4f} (normalised) at KL {curve.peak_kl:.4g}; "
        f"at the largest KL {curve.normalized_gold[-1]:.4f}; drop {curve.gold_drop:.4f}"
    )
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.5))
        curve.plot(ax)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"plot: {args.plot}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``rewarddesign`` command's argument parser."""
    parser = argparse.ArgumentParser(
        prog="rewarddesign", description="Reward design for Gymnasium and Stable-Baselines3."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {rewarddesign.__version__}")
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
    bench.add_argument(
        "--suite", default="quick", help="quick, control, control-full, shaping, or a suite file (.toml, .json)"
    )
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
    bench_report.add_argument(
        "--baseline", default=None, help="design the others are compared with (default: original, when there)"
    )
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
    generate.add_argument(
        "--kinds",
        nargs="+",
        default=["random", "medium", "medium-replay", "medium-expert"],
        help="dataset kinds: random, medium, medium-replay, expert, medium-expert, mixed (random + medium + expert "
        "episodes)",
    )
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
    otrain.add_argument(
        "--norm",
        default="squared",
        choices=get_args(NormLoss),
        help="oppo: the norm term on contexts, (|z| - 1)^2 (the paper's scripted-label code) or ReLU(|z| - 1) "
        "(its human-label code)",
    )
    otrain.add_argument(
        "--ties",
        default="drop",
        choices=get_args(TieHandling),
        help="oppo: tied pairs left out (the paper's scripted-label code) or kept with a margin-0 triplet term",
    )
    otrain.add_argument(
        "--policy-inputs",
        default="states",
        choices=get_args(PolicyInputs),
        help="oppo: the policy reads the window's states, or also the previous actions and a timestep embedding "
        "(the paper's decoder)",
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

    overopt = sub.add_parser("overopt", help="exact overoptimization curve of a learned proxy on a random tabular MDP")
    overopt.add_argument("--states", type=int, default=32)
    overopt.add_argument("--actions", type=int, default=4)
    overopt.add_argument("--gamma", type=float, default=0.95)
    overopt.add_argument("--labels", type=int, default=200, help="preference labels the proxy is learned from")
    overopt.add_argument("--members", type=int, default=1, help="ensemble members (pretrain-seed ensemble)")
    overopt.add_argument("--aggregate", default="mean", choices=("mean", "wco", "uwo", "uwo-std"))
    overopt.add_argument("--betas", type=int, default=50, help="KL weights, log-spaced from 1e-3 to 1e3")
    overopt.add_argument("--seed", type=int, default=0)
    overopt.add_argument("--plot", default=None, help="write the curve as a PNG here")
    overopt.set_defaults(func=_overopt)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``rewarddesign`` command; a mistake in its input prints one line and returns 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    words = (parser.prog, args.command, getattr(args, "offline_command", None), getattr(args, "bench_command", None))
    command = " ".join(word for word in words if word)
    try:
        return args.func(args)
    except _USER_ERRORS as err:
        print(f"{command}: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
