"""One offline run, end to end: preferences, a learner, evaluation, files. Used by the CLI and the benchmark.

:func:`train_offline` labels segment pairs of a dataset, trains one of :data:`ALGOS`, evaluates
the policy on the true reward (:func:`~rewarddesign.rollouts.rollout` in the env the agent acts
in), and (given ``out``) writes ``out/policy`` (tensors and JSON) and ``out/result.json`` (the
:class:`OfflineRunResult`). :func:`load_agent` restores a saved policy of any of them.

- ``oppo``: OPPO on the labelled pairs;
- ``bc``: behaviour cloning on all data; ``bc-top``: on the top fraction of preferred segments;
- ``iql``: IQL on the true reward (the oracle: it sees the rewards the others never do);
- ``iql-bt``: IQL on a Bradley-Terry reward model learned from the same pairs.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import gymnasium as gym
import numpy as np
import torch

from rewarddesign.offline.acting import Agent
from rewarddesign.offline.baselines import IQL, BehaviorCloning, relabel_rewards, top_fraction
from rewarddesign.offline.data import OfflineData
from rewarddesign.offline.oppo import OPPO, OPPOConfig
from rewarddesign.offline.segments import GathererName, preference_pairs
from rewarddesign.preferences import RewardModel, preference_accuracy, train_reward_model
from rewarddesign.rollouts import episode_returns, rollout

__all__ = ["OfflineAlgo", "ALGOS", "OfflineRunResult", "train_offline", "load_agent"]

#: A learner :func:`train_offline` runs.
OfflineAlgo = Literal["oppo", "bc", "bc-top", "iql", "iql-bt"]

#: The learners :func:`train_offline` runs.
ALGOS: tuple[OfflineAlgo, ...] = get_args(OfflineAlgo)


@dataclass
class OfflineRunResult:
    """What one :func:`train_offline` run gives (``out/result.json`` holds it as JSON).

    Attributes:
        algo: The learner; env_id: the dataset's env; dataset: the dataset's name (or None).
        seed, steps: The run's seed and gradient steps.
        n_pairs: Labelled pairs the learner saw (0 for ``bc`` and ``iql``); labels: their gatherer (or None).
        segment_length, label_horizon: Steps per segment and steps the labels judge.
        returns: The true return of each evaluation episode.
        return_mean: Their mean; score_mean: D4RL's normalised score of it (None without reference scores).
        train_seconds: Wall-clock training time.
        device: Where the learner trained.
        config: OPPO's settings (``oppo``); history: OPPO's training history.
        final_loss: Mean of the last 100 losses; imitated_steps: steps imitated (``bc``, ``bc-top``).
        reward_accuracy: The learned reward's accuracy on held-out pairs (``iql-bt``).
    """

    algo: OfflineAlgo
    env_id: str
    dataset: str | None
    seed: int
    steps: int
    n_pairs: int
    labels: GathererName | None
    segment_length: int
    label_horizon: int
    returns: list[float]
    return_mean: float
    score_mean: float | None
    train_seconds: float
    device: str
    config: dict[str, Any] | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    final_loss: float | None = None
    imitated_steps: int | None = None
    reward_accuracy: float | None = None


def train_offline(
    algo: OfflineAlgo,
    data: OfflineData,
    *,
    steps: int = 10_000,
    n_pairs: int = 500,
    segment_length: int = 20,
    label_horizon: int | None = None,
    labels: GathererName = "return",
    top: float = 0.25,
    eval_episodes: int = 10,
    seed: int = 0,
    device: torch.device | str = "auto",
    out: str | Path | None = None,
    oppo_config: OPPOConfig | None = None,
    dataset: str | None = None,
) -> OfflineRunResult:
    """Train ``algo`` on ``data`` and evaluate it; return (and, given ``out``, save) the result.

    Args:
        algo: One of :data:`ALGOS`.
        data: The dataset; it needs ``env_id`` for the evaluation rollouts.
        steps: Gradient steps of the learner.
        n_pairs: Labelled segment pairs (all learners but ``bc`` and ``iql`` see only these labels).
        segment_length: Steps per segment.
        label_horizon: Steps from a segment's start the labels judge (default ``segment_length``;
            longer runs past the segment and past episode ends: :func:`~rewarddesign.offline.preference_pairs`).
        labels: Gatherer name (``return``, ``bradley-terry``, ``heron``).
        top: Fraction of segments ``bc-top`` imitates.
        eval_episodes: Evaluation episodes on the true reward (the env made by ``gym.make(data.env_id)``).
        seed: Seeds labels, learner and evaluation.
        device: ``"auto"`` (CUDA when there is one), ``"cpu"``, ...
        out: Directory for the policy (``out/policy``) and ``out/result.json``; with an OPPO
            checkpoint there, OPPO resumes from it.
        oppo_config: OPPO's settings (default: :class:`OPPOConfig` with ``context_length = segment_length``).
        dataset: The dataset's name, recorded in the result.

    Returns:
        The :class:`OfflineRunResult`.

    Raises:
        ValueError: An unknown ``algo``, or a dataset that names no env.
    """
    if algo not in ALGOS:
        raise ValueError(f"unknown algorithm {algo!r}; known: {', '.join(ALGOS)}")
    if data.env_id is None:
        raise ValueError("the dataset names no env, so its policies cannot be evaluated")
    out = None if out is None else Path(out)
    preferences = None
    if algo in ("oppo", "bc-top", "iql-bt"):
        preferences = preference_pairs(data, segment_length, n_pairs, labels, seed=seed, horizon=label_horizon)
    start = time.perf_counter()
    extra: dict[str, Any] = {}
    agent: OPPO | BehaviorCloning | IQL
    if algo == "oppo":
        config = oppo_config or OPPOConfig(context_length=segment_length)
        checkpoint = None if out is None else out / "policy"
        if checkpoint is not None and (checkpoint / "oppo.pt").exists():
            agent = OPPO.load(checkpoint, data, preferences, device=device)
        else:
            agent = OPPO(data, preferences, config, seed=seed, device=device)
        history = agent.train(steps, log_every=max(1, steps // 20), checkpoint=checkpoint)
        extra = {"config": asdict(agent.config), "history": history}  # a resumed run keeps its checkpoint's
    elif algo in ("bc", "bc-top"):
        obs, acts = (None, None) if preferences is None else top_fraction(preferences, top)
        agent = BehaviorCloning(data, obs, acts, seed=seed, device=device)
        imitated = len(data) if obs is None else len(obs)
        extra = {"final_loss": float(np.mean(agent.train(steps)[-100:])), "imitated_steps": imitated}
    else:
        rewards = None
        if algo == "iql-bt":
            assert preferences is not None
            reward_model = RewardModel(_box(data.observations), _box(data.actions), device=device, seed=seed)
            train, held_out = preferences.split(0.1, np.random.default_rng(seed))
            train_reward_model(reward_model, train, epochs=50, seed=seed)
            rewards = relabel_rewards(data, reward_model)
            extra = {"reward_accuracy": preference_accuracy(reward_model, held_out)}
        agent = IQL(data, rewards, seed=seed, device=device, normalize_rewards=rewards is not None)
        agent.train(steps)
    train_seconds = time.perf_counter() - start
    env = agent.wrap_env(gym.make(data.env_id))
    returns = episode_returns(rollout(agent, env, n_episodes=eval_episodes, seed=seed + 10_000, deterministic=True))
    env.close()
    result = OfflineRunResult(
        algo=algo,
        env_id=data.env_id,
        dataset=dataset,
        seed=seed,
        steps=steps,
        n_pairs=n_pairs if preferences is not None else 0,
        labels=labels if preferences is not None else None,
        segment_length=segment_length,
        label_horizon=segment_length if label_horizon is None else label_horizon,
        returns=returns.tolist(),
        return_mean=float(returns.mean()),
        score_mean=float(data.normalized_score(returns).mean()) if data.ref_scores else None,
        train_seconds=train_seconds,
        device=str(agent.device),
        **extra,
    )
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        if not isinstance(agent, OPPO):
            agent.save(out / "policy")
        tmp = out / "result.json.tmp"
        tmp.write_text(json.dumps(asdict(result), indent=1))
        tmp.replace(out / "result.json")
    return result


def _box(array: np.ndarray) -> gym.spaces.Box:
    return gym.spaces.Box(-np.inf, np.inf, array.shape[1:], np.float32)


def load_agent(path: str | Path, device: torch.device | str = "auto") -> Agent:
    """The policy saved in ``path`` (an ``out/policy`` directory of :func:`train_offline`), ready to act."""
    path = Path(path)
    if (path / "oppo.json").exists():
        return OPPO.load(path, device=device)
    meta_path = path / "policy.json"
    if not meta_path.exists():
        raise FileNotFoundError(f"no saved offline policy in {path} (oppo.json or policy.json)")
    algo = json.loads(meta_path.read_text()).get("algo")
    if algo == "bc":
        return BehaviorCloning.load(path, device=device)
    if algo == "iql":
        return IQL.load(path, device=device)
    raise ValueError(f"{meta_path} names an unknown algorithm {algo!r}")
