"""What OPPO's context does: action errors and steered scores of the offline benchmark's saved OPPO policies.

Reproduce (after ``benchmarks/offline_preferences.py``, whose saved policies it reads from the
runs' working directories, ``runs/offline_preferences/reduced/``; about 2 minutes on 1 core)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/offline_context_probe.py

For each OPPO variant (``OPPOConfig.context``: ``window`` as in the paper, ``episode``, ``adjacent``),
dataset and seed, on 2,000 windows of the dataset drawn as in training (actions scaled to [-1, 1]):
the policy's action error given each window's own context (encoded as the variant encodes it),
another window's context, and z*; and, on Hopper medium-replay, the normalised score over 10
episodes when the policy acts with the mean context of the five best or the five worst episodes
of the data (the contexts of every fifth step's window). An error above the actions' variance is
worse than predicting the mean action.

Where ``z*`` lands (``--refit-seeds``, default 5; about 5 more minutes): on the episode-context policies
of Hopper medium-replay (trained with labels over the 20-step segments), the encoder held fixed,
``z*`` is fitted anew from a random start (2,000 full-batch Adam steps, step size 0.01, on the
triplet loss over 500 pairs labelled over 20, 100 and 200 steps), free as in the paper or held at
norm 1 (``OPPOConfig.z_star_norm``), and scored over 10 episodes. Writes
``benchmarks/results/offline_context_probe.md``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from offline_preferences import WORK, work_dir

RESULTS = Path(__file__).resolve().parent / "results"
SEGMENT = 20  # the policies probed are those trained with labels over the 20-step segments
VARIANTS = ("oppo", "oppo-episode", "oppo-adjacent")
DATASETS = (("Hopper-v5", "medium-replay", True), ("HalfCheetah-v5", "medium", False))


def policy_dir(dataset: str, variant: str, seed: int) -> Path:
    """The saved policy of an OPPO run of the offline benchmark (20-step labels)."""
    return work_dir(WORK, dataset, variant, SEGMENT, seed) / "policy"


def returns_of(policy, oppo, env_id: str, seed: int) -> np.ndarray:
    """True returns of ``policy`` (OPPO, or a callable on its observation windows) over 10 episodes."""
    import gymnasium as gym

    from rewarddesign.rollouts import episode_returns, rollout

    env = oppo.wrap_env(gym.make(env_id))
    return episode_returns(rollout(policy, env, n_episodes=10, seed=seed, deterministic=True))


def episode_context(oppo, data, episode: int, every: int = 5):
    """The mean context of the windows ending at every ``every``-th step of ``episode``."""
    start, length = data.episode_starts[episode], data.episode_lengths[episode]
    ends = np.arange(start, start + length, every)
    return oppo.encoder(*oppo.windows_at(ends)).mean(0)


def probe(env_id: str, kind: str, variant: str, seed: int, steer: bool, data) -> dict:
    import torch

    from rewarddesign.offline import OPPO
    from rewarddesign.offline.oppo import reconstruction_loss

    oppo = OPPO.load(policy_dir(f"{env_id}-{kind}", variant, seed), data, None, device="cpu")
    oppo.encoder.eval()
    oppo.policy.eval()
    oppo.rng = np.random.default_rng(123)
    torch.manual_seed(0)
    row = {"variant": variant, "context": oppo.config.context, "seed": seed}
    with torch.no_grad():
        (obs, acts, valid, timesteps), contexts = oppo.sample_windows(2000)
        z = oppo.encoder(*contexts)
        for name, context in (("own", z), ("other", z[torch.randperm(len(z))]), ("z*", oppo.z_star.expand_as(z))):
            predicted = oppo.policy(obs, context, valid, acts, timesteps)
            row[name] = float(reconstruction_loss(predicted, acts, valid))
        row["variance"] = float(acts[valid].var(0).mean())
        if steer:
            scores = data.normalized_score(data.episode_returns())
            order = np.argsort(scores)[::-1]
            best = torch.stack([episode_context(oppo, data, e) for e in order[:5]]).mean(0)
            worst = torch.stack([episode_context(oppo, data, e) for e in order[-5:]]).mean(0)
    if steer:
        for name, context in (("best5", best), ("worst5", worst)):
            returns = returns_of(lambda windows, z=context: oppo.act(windows, z=z), oppo, env_id, 10_000)
            row[name] = float(data.normalized_score(returns).mean())
    return row


def refit(data, seed: int, horizon: int, unit: bool, env_id: str) -> tuple[float, float]:
    """Score (10 episodes) and norm of a ``z*`` fitted anew to labels over ``horizon`` steps, the saved
    episode-context policy of ``seed`` and its encoder held fixed."""
    import torch

    from rewarddesign.offline import OPPO, preference_pairs

    run = policy_dir(f"{env_id}-medium-replay", "oppo-episode", seed)
    oppo = OPPO.load(run, data, preference_pairs(data, 20, 500, seed=seed, horizon=horizon), device="cpu")
    oppo.encoder.eval()
    oppo.policy.eval()
    obs, acts, better, worse, _ = oppo.pairs
    with torch.no_grad():
        z_better, z_worse = oppo.encoder(obs[better], acts[better]), oppo.encoder(obs[worse], acts[worse])
        torch.manual_seed(seed)
        z = torch.randn(oppo.z_star.shape[0])
        oppo.z_star.copy_(z / z.norm())
    optimizer = torch.optim.Adam([oppo.z_star], lr=1e-2)
    for _ in range(2000):
        loss = oppo.z_star_loss(z_better, z_worse)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if unit:
            with torch.no_grad():
                oppo.z_star /= oppo.z_star.norm()
    returns = returns_of(oppo, oppo, env_id, 10_000 + seed)
    return float(data.normalized_score(returns).mean()), float(oppo.z_star.detach().norm())


def main() -> None:
    import torch

    from rewarddesign.offline import dataset_id, load_dataset

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=str(Path("runs") / "offline_datasets" / "reduced"))
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--refit-seeds", type=int, default=5, help="seeds of the z* refit (0: skip it)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    lines = [
        "# What OPPO's context does",
        "",
        "`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/offline_context_probe.py` on the policies of "
        "`benchmarks/offline_preferences.py` (reduced scale). Action error (mean squared, actions in [-1, 1]) on "
        "2,000 windows given the window's own context, another window's, and z*; on Hopper, the score with the mean "
        "context of the 5 best and the 5 worst episodes of the data (10 episodes).",
        "",
        "| dataset | OPPO context | seed | error, own | error, another window's | error, z* | actions' variance "
        "| score, 5 best episodes' context | score, 5 worst episodes' context |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for env_id, kind, steer in DATASETS:
        data = load_dataset(dataset_id(env_id, kind), root=args.root)
        for variant in VARIANTS:
            for seed in range(args.seeds):
                if not (policy_dir(f"{env_id}-{kind}", variant, seed)).is_dir():
                    continue
                r = probe(env_id, kind, variant, seed, steer, data)
                scores = f"{r['best5']:.1f} | {r['worst5']:.1f}" if steer else "- | -"
                lines.append(
                    f"| {env_id}-{kind} | {r['context']} | {seed} | {r['own']:.3f} | {r['other']:.3f} | "
                    f"{r['z*']:.3f} | {r['variance']:.3f} | {scores} |"
                )
                print(lines[-1], flush=True)
    if args.refit_seeds:
        data = load_dataset(dataset_id("Hopper-v5", "medium-replay"), root=args.root)
        seeds = range(args.refit_seeds)
        lines += [
            "",
            "Where z* lands: the episode-context policies of Hopper medium-replay (trained with 20-step labels) and "
            "their encoders held fixed, z* fitted anew (2,000 full-batch Adam steps, step size 0.01, from a random "
            "start) to 500 pairs labelled over the horizon, free (the paper) or held at norm 1; normalised score "
            "over 10 episodes per seed.",
            "",
            "| label horizon | z* | score, mean | per seed | norm of z* |",
            "|---|---|---|---|---|",
        ]
        for horizon in (20, 100, 200):
            for unit in (False, True):
                found = [refit(data, seed, horizon, unit, "Hopper-v5") for seed in seeds]
                scores = [score for score, _ in found]
                norms = ", ".join(f"{norm:.2f}" for _, norm in found)
                lines.append(
                    f"| {horizon} | {'norm 1' if unit else 'free'} | {np.mean(scores):.1f} | "
                    f"{', '.join(f'{v:.1f}' for v in scores)} | {norms} |"
                )
                print(lines[-1], flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "offline_context_probe.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("MUJOCO_GL", "egl")
    main()
