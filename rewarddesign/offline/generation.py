"""Offline datasets made here, in the D4RL recipe.

D4RL's datasets cannot be downloaded everywhere and target old gym versions, so
:func:`generate_datasets` makes its own for any continuous-action Gymnasium task: it trains SB3's
SAC briefly and saves

- ``random``: a uniformly random policy;
- ``medium``: the policy after ``medium_steps`` of SAC (its stochastic actions, as D4RL), or, given
  ``medium_score``, the first policy whose normalised score reaches it (D4RL's medium policies score
  about a third of the expert's), checked every ``check_every`` steps up to ``medium_steps``;
- ``medium-replay``: every episode SAC saw while it trained up to the medium policy;
- ``expert``: the policy after ``expert_steps``;
- ``medium-expert``: ``medium`` and ``expert`` together;
- ``mixed``: ``random``, ``medium`` and ``expert`` together (a mixed-quality dataset, where
  learning from the reward can beat imitating every episode).

Each kind is a Minari dataset ``rewarddesign/<env>/<kind>-v0`` (:func:`dataset_id`;
:mod:`rewarddesign.offline.storage`) with its reference scores: D4RL's random and expert returns
for Hopper, HalfCheetah and Walker2d, so scores read as D4RL's 0-100; for other tasks the random and
expert datasets' mean returns. Where the env publishes reward factors
(:class:`~rewarddesign.factors.RewardFactors`; the project's tasks through
:func:`rewarddesign.envs.with_reward_factors`), each step's factors are stored with the data and the
factors' names and signs with the dataset's metadata, for hierarchical (HERON) labels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import SAC

from rewarddesign._references import D4RL_REFERENCE_SCORES
from rewarddesign._seeding import GlobalRandomStream
from rewarddesign._validation import check_device, check_finite, check_positive_int
from rewarddesign.factors import factor_spec
from rewarddesign.offline.data import OfflineData
from rewarddesign.offline.recording import EpisodeRecorder
from rewarddesign.offline.storage import import_minari, minari_root, save_dataset
from rewarddesign.rollouts import PolicyLike, Trajectory, episode_returns, rollout

__all__ = ["DatasetKind", "KINDS", "D4RL_REFERENCE_SCORES", "dataset_id", "generate_datasets"]

#: A dataset kind of :func:`generate_datasets`.
DatasetKind = Literal["random", "medium", "medium-replay", "expert", "medium-expert", "mixed"]

#: The dataset kinds :func:`generate_datasets` makes, in the order it makes them.
KINDS: tuple[DatasetKind, ...] = ("random", "medium", "medium-replay", "expert", "medium-expert", "mixed")


def dataset_id(env_id: str, kind: DatasetKind) -> str:
    """The Minari id of a generated dataset: ``rewarddesign/<env name>/<kind>-v0`` (``Hopper-v5`` -> ``hopper``)."""
    if kind not in KINDS:
        raise ValueError(f"unknown dataset kind {kind!r}; known: {', '.join(KINDS)}")
    name = env_id.split("/")[-1].split("-v")[0].lower()
    return f"rewarddesign/{name}/{kind}-v0"


def _env_factory(env: str | Callable[[], gym.Env]) -> Callable[[], gym.Env]:
    if isinstance(env, str):
        return lambda: gym.make(env)
    if callable(env):
        return env
    raise TypeError(f"env must be an env id or a function that makes the env, got {type(env).__name__}")


def generate_datasets(
    env: str | Callable[[], gym.Env],
    *,
    kinds: Sequence[DatasetKind] = ("random", "medium", "medium-replay", "medium-expert"),
    medium_steps: int = 50_000,
    expert_steps: int = 150_000,
    n_transitions: int = 50_000,
    seed: int = 0,
    root: str | Path | None = None,
    device: torch.device | str = "auto",
    overwrite: bool = False,
    ref_scores: tuple[float, float] | None = None,
    medium_score: float | None = None,
    check_every: int = 10_000,
    check_episodes: int = 5,
    algo_kwargs: dict[str, Any] | None = None,
    verbose: bool = False,
) -> dict[DatasetKind, str]:
    """Make D4RL-style datasets of an env and store them as Minari datasets; return their ids by kind.

    Args:
        env: A continuous-action Gymnasium env id, or a function that makes the env (made with
            ``gym.make``, so that its id names the datasets). An env that publishes its reward
            factors (:func:`~rewarddesign.factors.factor_spec`) has them recorded: wrap it, e.g.
            ``lambda: rewarddesign.envs.with_reward_factors(gym.make("Hopper-v5"))``.
        kinds: Which of :data:`KINDS` to make.
        medium_steps: SAC steps to the medium policy (and the extent of ``medium-replay``); with
            ``medium_score``, the most steps.
        expert_steps: SAC steps to the expert policy (only for ``expert`` and ``medium-expert``).
        n_transitions: Transitions of each rolled-out dataset (``medium-expert`` has twice as many,
            ``mixed`` three times).
        seed: Seeds SAC and the rollouts; the caller's global generators (which SB3 seeds and draws
            from) are left as they were, and the datasets depend on ``seed`` alone.
        root: Minari's dataset root (default: ``MINARI_DATASETS_PATH`` or ``~/.minari/datasets``).
        device: SAC's device (``"auto"``: CUDA when there is one).
        overwrite: Replace existing datasets of these ids; otherwise an existing one is an error.
        ref_scores: ``(random, expert)`` reference returns; default: D4RL's for its tasks, else the
            mean returns of the random data and of the expert policy (which is then trained and
            rolled out even if its kinds are not asked for).
        medium_score: Stop SAC at the first check where the medium policy's normalised score (0
            random, 100 expert; the mean return of ``check_episodes`` episodes of its stochastic
            actions) reaches this; needs reference scores known in advance (D4RL's or ``ref_scores``).
        check_every: SAC steps between the checks of ``medium_score``.
        check_episodes: Episodes per check.
        algo_kwargs: Further keyword arguments of SB3's SAC.
        verbose: Print progress.

    Raises:
        ValueError: An unknown kind, a budget that is not a positive integer, an env without
            continuous actions or without an id, or reference scores with expert <= random.
        FileExistsError: A dataset of these ids exists and ``overwrite`` is False.
    """
    minari = import_minari()
    make_env = _env_factory(env)
    kinds = list(kinds)
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown dataset kinds {unknown}; known: {', '.join(KINDS)}")
    check_positive_int(medium_steps, "medium_steps")
    check_positive_int(expert_steps, "expert_steps")
    check_positive_int(n_transitions, "n_transitions")
    needs_expert = any(kind in ("expert", "medium-expert", "mixed") for kind in kinds)
    if needs_expert and expert_steps <= medium_steps:
        raise ValueError(f"expert_steps ({expert_steps}) must exceed medium_steps ({medium_steps})")
    check_positive_int(check_every, "check_every")
    check_positive_int(check_episodes, "check_episodes")
    probe = make_env()
    spec = probe.unwrapped.spec
    if spec is None:
        raise ValueError(f"env {probe} has no id: make it with gym.make, whose id names the datasets")
    env_id = spec.id
    if not isinstance(probe.action_space, gym.spaces.Box):
        raise ValueError(f"{env_id} has {probe.action_space}; the offline datasets need continuous (Box) actions")
    factors = factor_spec(probe)
    probe.close()
    if ref_scores is None and env_id in D4RL_REFERENCE_SCORES:
        ref_scores = D4RL_REFERENCE_SCORES[env_id]
    measure_refs = ref_scores is None
    ref = (0.0, 1.0)
    if ref_scores is not None:
        ref = (float(ref_scores[0]), float(ref_scores[1]))
        if not ref[1] > ref[0]:
            raise ValueError(f"ref_scores must be (random, expert) with expert > random, got {ref_scores}")
    if medium_score is not None:
        check_finite(np.asarray(medium_score, dtype=float), "medium_score")
        if measure_refs:
            raise ValueError(
                f"medium_score needs reference scores before training: pass ref_scores=(random, expert) "
                f"(D4RL's are known for {', '.join(D4RL_REFERENCE_SCORES)})"
            )
    ids: dict[DatasetKind, str] = {kind: dataset_id(env_id, kind) for kind in kinds}
    with minari_root(root):
        existing = set(minari.list_local_datasets())
        clash = [identifier for identifier in ids.values() if identifier in existing]
        if clash and not overwrite:
            raise FileExistsError(f"datasets {clash} exist; pass overwrite=True to replace them")

        def say(message: str) -> None:
            if verbose:
                print(f"[{env_id}] {message}", flush=True)

        def collect(policy: PolicyLike, seed: int) -> list[Trajectory]:
            return rollout(policy, make_env(), n_steps=n_transitions, seed=seed, deterministic=False)

        made: dict[str, list[Trajectory]] = {}
        if "random" in kinds or "mixed" in kinds or measure_refs:
            say(f"random: {n_transitions} transitions")
            made["random"] = collect(None, seed)
        wants_sac = any(kind != "random" for kind in kinds) or measure_refs
        medium_at = f"medium at {medium_steps} steps"
        if wants_sac:
            recorder = EpisodeRecorder(make_env())
            # SB3 seeds and draws from the process's global generators: SAC gets a state of its own,
            # swapped in around its construction and training (rollouts own their sampling draws)
            sac_random = GlobalRandomStream(seed)
            with sac_random.active():
                model = SAC("MlpPolicy", recorder, seed=seed, device=check_device(device), **(algo_kwargs or {}))
            if medium_score is None:
                say(f"SAC: {medium_steps} steps to the medium policy")
                with sac_random.active():
                    model.learn(medium_steps)
            else:
                say(f"SAC: to a normalised score of {medium_score:g}, at most {medium_steps} steps")
                low, high = ref
                score = -np.inf
                while model.num_timesteps < medium_steps:
                    with sac_random.active():
                        model.learn(min(check_every, medium_steps - model.num_timesteps), reset_num_timesteps=False)
                    checked = rollout(model, make_env(), n_episodes=check_episodes, seed=seed + 3)
                    check = float(episode_returns(checked).mean())
                    score = 100.0 * (check - low) / (high - low)
                    say(f"SAC step {model.num_timesteps}: return {check:.1f}, normalised score {score:.1f}")
                    if score >= medium_score:
                        break
                reached = "reached" if score >= medium_score else "not reached"
                medium_at = (
                    f"medium at {model.num_timesteps} steps (normalised score {score:.1f}; "
                    f"target {medium_score:g} {reached})"
                )
            made["medium-replay"] = list(recorder.trajectories)

            if any(kind in ("medium", "medium-expert", "mixed") for kind in kinds):
                say(f"medium: {n_transitions} transitions")
                made["medium"] = collect(model, seed + 1)
            if needs_expert or measure_refs:
                if expert_steps > model.num_timesteps:
                    say(f"SAC: {expert_steps - model.num_timesteps} more steps to the expert policy")
                    with sac_random.active():
                        model.learn(expert_steps - model.num_timesteps, reset_num_timesteps=False)
                say(f"expert: {n_transitions} transitions")
                made["expert"] = collect(model, seed + 2)
            recorder.close()
        if "medium-expert" in kinds:
            made["medium-expert"] = made["medium"] + made["expert"]
        if "mixed" in kinds:
            made["mixed"] = made["random"] + made["medium"] + made["expert"]
        if not measure_refs:
            source = "D4RL's random and expert returns" if env_id in D4RL_REFERENCE_SCORES else "given"
        else:
            ref = (float(episode_returns(made["random"]).mean()), float(episode_returns(made["expert"]).mean()))
            source = f"the mean returns of this generation's random and expert ({expert_steps} SAC steps) policies"
            if not ref[1] > ref[0]:
                raise ValueError(f"the expert policy ({ref[1]:.3g}) is no better than random ({ref[0]:.3g})")
        for kind in kinds:
            description = (
                f"{kind} data of {env_id}, made by rewarddesign.offline.generate_datasets (SB3 SAC, seed {seed}, "
                f"{medium_at}, expert at {expert_steps}); reference scores: {source}."
            )
            data = OfflineData.from_trajectories(
                made[kind],
                env_id=env_id,
                ref_scores=ref,
                factor_names=None if factors is None else factors.names,
                factor_signs=None if factors is None else factors.signs,
            )
            say(f"storing {ids[kind]}: {data.n_episodes} episodes, mean return {data.episode_returns().mean():.1f}")
            if ids[kind] in clash:  # replaced only now that its successor is made
                minari.delete_dataset(ids[kind])
            save_dataset(ids[kind], data, description=description)
    return ids
