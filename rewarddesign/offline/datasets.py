"""Offline datasets made here, in the D4RL recipe, stored as Minari datasets.

D4RL's datasets cannot be downloaded everywhere and target old gym versions, so
:func:`generate_datasets` makes its own for any continuous-action Gymnasium task: it trains SB3's
SAC briefly and saves

- ``random``: a uniformly random policy;
- ``medium``: the policy after ``medium_steps`` of SAC (its stochastic actions, as D4RL), or, given
  ``medium_score``, the first policy whose normalised score reaches it (D4RL's medium policies score
  about a third of the expert's), checked every ``check_every`` steps up to ``medium_steps``;
- ``medium-replay``: every episode SAC saw while it trained up to the medium policy;
- ``expert``: the policy after ``expert_steps``;
- ``medium-expert``: ``medium`` and ``expert`` together.

Each kind is a Minari dataset ``rewarddesign/<env>/<kind>-v0`` (HDF5 under Minari's dataset root,
``~/.minari/datasets`` or ``MINARI_DATASETS_PATH``, or the ``root`` given) with its reference
scores: D4RL's random and expert returns for Hopper, HalfCheetah and Walker2d, so scores read as
D4RL's 0-100; for other tasks the random and expert datasets' mean returns. Where the task has
reward factors (:mod:`rewarddesign.envs.reward_factors`), each step's factors are stored in the
episode infos (``infos["reward_factors"]``) for hierarchical (HERON) labels.

:func:`load_dataset` reads a dataset without any network access and flattens it into
:class:`OfflineData`: ``[T, ...]`` arrays of transitions with episode boundaries.

Example:
    >>> import numpy as np
    >>> data = OfflineData(
    ...     observations=np.zeros((3, 2)), actions=np.zeros((3, 1)), rewards=np.array([1.0, 2.0, 3.0]),
    ...     next_observations=np.ones((3, 2)), terminations=np.array([False, True, False]),
    ...     truncations=np.array([False, False, True]), episode_lengths=np.array([2, 1]))
    >>> data.episode_returns().tolist()
    [3.0, 3.0]
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rewarddesign._references import D4RL_REFERENCE_SCORES
from rewarddesign._validation import check_finite, check_positive_int

__all__ = [
    "OfflineData",
    "KINDS",
    "D4RL_REFERENCE_SCORES",
    "dataset_id",
    "generate_datasets",
    "load_dataset",
    "save_dataset",
    "collect_episodes",
    "EpisodeRecorder",
]

#: The dataset kinds :func:`generate_datasets` makes, in the order it makes them.
KINDS = ("random", "medium", "medium-replay", "expert", "medium-expert")


_REQUIRED = ("observations", "actions", "rewards", "next_observations", "terminations", "truncations")
_EPISODE_KEYS = ("observations", "actions", "rewards", "terminations", "truncations")


def _as_float(name: str, value: Any, ndim: int | None = None) -> np.ndarray:
    array = np.asarray(value, dtype=np.float32)
    if ndim is not None and array.ndim == ndim - 1:
        array = array.reshape(-1, 1)
    return check_finite(array, name)


@dataclass
class OfflineData:
    """The transitions of a dataset, episode after episode.

    Attributes:
        observations: ``[T, obs_dim]``; next_observations: ``[T, obs_dim]``.
        actions: ``[T, act_dim]``.
        rewards: ``[T]`` the env's (true) reward.
        terminations: ``[T]`` bool, the MDP's end; truncations: ``[T]`` bool, a time limit or the data's end.
        episode_lengths: ``[E]`` steps per episode, summing to ``T``.
        factors: ``[T, K]`` reward factors per step, or None.
        env_id: The Gymnasium env the data came from, or None.
        ref_scores: ``(random, expert)`` returns for normalised scores, or None.
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_observations: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    episode_lengths: np.ndarray
    factors: np.ndarray | None = None
    env_id: str | None = None
    ref_scores: tuple[float, float] | None = None
    _starts: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.observations = _as_float("observations", self.observations, 2)
        self.next_observations = _as_float("next_observations", self.next_observations, 2)
        self.actions = _as_float("actions", self.actions, 2)
        self.rewards = _as_float("rewards", self.rewards).reshape(-1)
        self.terminations = np.asarray(self.terminations, dtype=bool).reshape(-1)
        self.truncations = np.asarray(self.truncations, dtype=bool).reshape(-1)
        self.episode_lengths = np.asarray(self.episode_lengths, dtype=np.int64).reshape(-1)
        n = len(self.observations)
        lengths = {
            "next_observations": len(self.next_observations),
            "actions": len(self.actions),
            "rewards": len(self.rewards),
            "terminations": len(self.terminations),
            "truncations": len(self.truncations),
        }
        if self.factors is not None:
            self.factors = _as_float("factors", self.factors, 2)
            lengths["factors"] = len(self.factors)
        wrong = {name: size for name, size in lengths.items() if size != n}
        if wrong:
            raise ValueError(f"every array needs one row per transition ({n} observations); got {wrong}")
        if self.next_observations.shape != self.observations.shape:
            raise ValueError(
                f"next_observations {self.next_observations.shape} and observations {self.observations.shape} differ"
            )
        if np.any(self.episode_lengths < 1) or self.episode_lengths.sum() != n:
            raise ValueError(
                f"episode_lengths must be positive and sum to the {n} transitions, got sum {self.episode_lengths.sum()}"
            )
        self._starts = np.concatenate([[0], np.cumsum(self.episode_lengths)[:-1]])
        if self.ref_scores is not None:
            low, high = (float(v) for v in self.ref_scores)
            if not high > low:
                raise ValueError(f"ref_scores must be (random, expert) with expert > random, got {self.ref_scores}")
            self.ref_scores = (low, high)

    def __len__(self) -> int:
        return len(self.observations)

    @property
    def n_episodes(self) -> int:
        return len(self.episode_lengths)

    @property
    def episode_starts(self) -> np.ndarray:
        """``[E]`` index of each episode's first transition."""
        return self._starts

    def episode_of(self, rows: np.ndarray) -> np.ndarray:
        """The episode index of each of ``rows`` (transition indices)."""
        return np.searchsorted(self._starts, rows, side="right") - 1

    def episode_returns(self) -> np.ndarray:
        """``[E]`` undiscounted return of each episode."""
        return np.add.reduceat(self.rewards.astype(np.float64), self._starts)

    def episodes(self, index: Sequence[int] | np.ndarray) -> OfflineData:
        """The dataset of the given episodes only (in the given order)."""
        index = np.asarray(index, dtype=np.int64).reshape(-1)
        if len(index) == 0:
            raise ValueError("select at least one episode")
        rows = np.concatenate([np.arange(self._starts[i], self._starts[i] + self.episode_lengths[i]) for i in index])
        return OfflineData(
            self.observations[rows], self.actions[rows], self.rewards[rows], self.next_observations[rows],
            self.terminations[rows], self.truncations[rows], self.episode_lengths[index],
            None if self.factors is None else self.factors[rows], self.env_id, self.ref_scores,
        )  # fmt: skip

    def normalized_score(self, returns: Any) -> np.ndarray:
        """``100 (R - random) / (expert - random)``: D4RL's normalised score of episode returns."""
        if self.ref_scores is None:
            raise ValueError("this dataset has no reference scores")
        low, high = self.ref_scores
        return 100.0 * (np.asarray(returns, dtype=np.float64) - low) / (high - low)

    @classmethod
    def from_episodes(
        cls,
        episodes: Sequence[dict[str, np.ndarray]],
        env_id: str | None = None,
        ref_scores: tuple[float, float] | None = None,
    ) -> OfflineData:
        """From Minari-style episodes: ``observations`` ``[L + 1, ...]`` (the last is the final
        observation), ``actions``, ``rewards``, ``terminations``, ``truncations`` ``[L]``, and
        optionally ``factors`` ``[L, K]``."""
        if not episodes:
            raise ValueError("no episodes")
        parts: dict[str, list[np.ndarray]] = {key: [] for key in (*_REQUIRED, "factors")}
        lengths = []
        with_factors = all(episode.get("factors") is not None for episode in episodes)
        for number, episode in enumerate(episodes):
            missing = [key for key in _EPISODE_KEYS if key not in episode]
            if missing:
                raise ValueError(f"episode {number} lacks {missing}")
            obs = np.asarray(episode["observations"])
            steps = len(episode["actions"])
            if len(obs) != steps + 1:
                raise ValueError(
                    f"episode {number}: observations need one row more than actions (the final observation), "
                    f"got {len(obs)} and {steps}"
                )
            for key in ("rewards", "terminations", "truncations"):
                if len(episode[key]) != steps:
                    raise ValueError(f"episode {number}: {key} has {len(episode[key])} rows, actions {steps}")
            if steps == 0:
                continue
            parts["observations"].append(obs[:-1])
            parts["next_observations"].append(obs[1:])
            for key in ("actions", "rewards", "terminations", "truncations"):
                parts[key].append(np.asarray(episode[key]))
            if with_factors:
                parts["factors"].append(np.asarray(episode["factors"]))
            lengths.append(steps)
        if not lengths:
            raise ValueError("every episode is empty")
        return cls(
            **{key: np.concatenate(parts[key]) for key in _REQUIRED},
            episode_lengths=np.array(lengths),
            factors=np.concatenate(parts["factors"]) if with_factors else None,
            env_id=env_id,
            ref_scores=ref_scores,
        )


def dataset_id(env_id: str, kind: str) -> str:
    """The Minari id of a generated dataset: ``rewarddesign/<env name>/<kind>-v0`` (``Hopper-v5`` -> ``hopper``)."""
    if kind not in KINDS:
        raise ValueError(f"unknown dataset kind {kind!r}; known: {', '.join(KINDS)}")
    name = env_id.split("/")[-1].split("-v")[0].lower()
    return f"rewarddesign/{name}/{kind}-v0"


@contextlib.contextmanager
def _minari_root(root: str | Path | None) -> Iterator[None]:
    """Point Minari at ``root`` for the duration (Minari reads its root from the environment)."""
    if root is None:
        yield
        return
    previous = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(Path(root).resolve())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = previous


def _import_minari() -> Any:
    try:
        import minari
    except ImportError as error:  # pragma: no cover - minari is in the offline extra
        raise ImportError("offline datasets need minari: pip install 'rewarddesign[offline]'") from error
    return minari


class EpisodeRecorder(gym.Wrapper):
    """Records every finished episode of the env it wraps (observations, actions, rewards, ends, factors).

    Episodes land in :attr:`episodes` as dicts in :meth:`OfflineData.from_episodes`'s form; an
    unfinished episode is dropped.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.episodes: list[dict[str, np.ndarray]] = []
        self._current: dict[str, list] | None = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        obs, info = self.env.reset(**kwargs)
        self._current = {key: [] for key in ("actions", "rewards", "terminations", "truncations", "factors")}
        self._current["observations"] = [np.array(obs, copy=True)]
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        current = self._current
        if current is not None:
            current["observations"].append(np.array(obs, copy=True))
            current["actions"].append(np.array(action, copy=True))
            current["rewards"].append(float(reward))
            current["terminations"].append(bool(terminated))
            current["truncations"].append(bool(truncated))
            if "reward_factors" in info:
                current["factors"].append(np.asarray(info["reward_factors"], dtype=np.float64))
            if terminated or truncated:
                self.episodes.append(_finish(current))
                self._current = None
        return obs, reward, terminated, truncated, info


def _finish(current: dict[str, list]) -> dict[str, np.ndarray]:
    episode = {key: np.asarray(value) for key, value in current.items() if key != "factors"}
    if current["factors"] and len(current["factors"]) == len(current["actions"]):
        episode["factors"] = np.asarray(current["factors"])
    return episode


def _make_env(env_id: str) -> gym.Env:
    from rewarddesign.envs.reward_factors import REWARD_FACTORS, with_reward_factors

    env = gym.make(env_id)
    return with_reward_factors(env) if env_id in REWARD_FACTORS else env


def collect_episodes(
    env_id: str, policy: Callable[[np.ndarray], np.ndarray] | None, n_transitions: int, seed: int = 0
) -> list[dict[str, np.ndarray]]:
    """Roll out ``policy`` (None: uniformly random actions) for ``n_transitions`` steps.

    The last episode is cut at ``n_transitions`` and marked truncated, as D4RL's datasets are.
    """
    check_positive_int(n_transitions, "n_transitions")
    env = EpisodeRecorder(_make_env(env_id))
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    for step in range(n_transitions):
        action = env.action_space.sample() if policy is None else policy(obs)
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
        elif step == n_transitions - 1:  # cut the last episode at the budget
            current = env._current
            assert current is not None
            current["truncations"][-1] = True
            env.episodes.append(_finish(current))
    env.close()
    return env.episodes


def save_dataset(
    identifier: str,
    env_id: str,
    episodes: Sequence[dict[str, np.ndarray]],
    ref_scores: tuple[float, float],
    *,
    root: str | Path | None = None,
    description: str = "",
    algorithm_name: str = "stable-baselines3 SAC",
) -> None:
    """Store episodes (in :meth:`OfflineData.from_episodes`'s form) as the Minari dataset ``identifier``.

    Args:
        identifier: The Minari id, ``namespace/env/name-vN``.
        env_id: The Gymnasium env the episodes come from.
        episodes: The episodes; ``factors`` go to ``infos["reward_factors"]``.
        ref_scores: ``(random, expert)`` reference returns.
        root: Minari's dataset root (default: ``MINARI_DATASETS_PATH`` or ``~/.minari/datasets``).
        description: Stored with the dataset.
        algorithm_name: What made the data.
    """
    minari = _import_minari()
    from minari.data_collector import EpisodeBuffer

    OfflineData.from_episodes(episodes)  # the checks of shapes and keys, before anything is written

    buffers = []
    for episode in episodes:
        infos = None
        if "factors" in episode:  # infos hold one row per observation: the reset's row is zeros
            factors = episode["factors"]
            infos = {"reward_factors": np.concatenate([np.zeros((1, factors.shape[1])), factors])}
        buffers.append(
            EpisodeBuffer(
                observations=episode["observations"],
                actions=episode["actions"],
                rewards=episode["rewards"],
                terminations=episode["terminations"],
                truncations=episode["truncations"],
                infos=infos,
            )
        )
    with _minari_root(root), warnings.catch_warnings():
        # Minari recommends metadata this project has no value for (author e-mail, code permalink, ...)
        warnings.filterwarnings("ignore", message=r".*is set to None", category=UserWarning)
        minari.create_dataset_from_buffers(
            identifier,
            buffers,
            env=env_id,
            algorithm_name=algorithm_name,
            author="rewarddesign",
            ref_min_score=float(ref_scores[0]),
            ref_max_score=float(ref_scores[1]),
            description=description or None,
        )


def generate_datasets(
    env_id: str,
    *,
    kinds: Sequence[str] = ("random", "medium", "medium-replay", "medium-expert"),
    medium_steps: int = 50_000,
    expert_steps: int = 150_000,
    n_transitions: int = 50_000,
    seed: int = 0,
    root: str | Path | None = None,
    device: str = "auto",
    overwrite: bool = False,
    ref_scores: tuple[float, float] | None = None,
    medium_score: float | None = None,
    check_every: int = 10_000,
    check_episodes: int = 5,
    algo_kwargs: dict[str, Any] | None = None,
    verbose: bool = False,
) -> dict[str, str]:
    """Make D4RL-style datasets of ``env_id`` and store them as Minari datasets; return their ids by kind.

    Args:
        env_id: A continuous-action Gymnasium env id.
        kinds: Which of :data:`KINDS` to make.
        medium_steps: SAC steps to the medium policy (and the extent of ``medium-replay``); with
            ``medium_score``, the most steps.
        expert_steps: SAC steps to the expert policy (only for ``expert`` and ``medium-expert``).
        n_transitions: Transitions of each rolled-out dataset (``medium-expert`` has twice as many).
        seed: Seeds SAC and the rollouts.
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
    """
    minari = _import_minari()
    kinds = list(kinds)
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown dataset kinds {unknown}; known: {', '.join(KINDS)}")
    check_positive_int(medium_steps, "medium_steps")
    check_positive_int(expert_steps, "expert_steps")
    needs_expert = any(kind in ("expert", "medium-expert") for kind in kinds)
    if needs_expert and expert_steps <= medium_steps:
        raise ValueError(f"expert_steps ({expert_steps}) must exceed medium_steps ({medium_steps})")
    check_positive_int(check_every, "check_every")
    check_positive_int(check_episodes, "check_episodes")
    env = gym.make(env_id)
    if not isinstance(env.action_space, gym.spaces.Box):
        raise ValueError(f"{env_id} has {env.action_space}; the offline datasets need continuous (Box) actions")
    env.close()
    if ref_scores is None and env_id in D4RL_REFERENCE_SCORES:
        ref_scores = D4RL_REFERENCE_SCORES[env_id]
    measure_refs = ref_scores is None
    if not measure_refs:
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
    ids = {kind: dataset_id(env_id, kind) for kind in kinds}
    with _minari_root(root):
        existing = set(minari.list_local_datasets())
        clash = [identifier for identifier in ids.values() if identifier in existing]
        if clash and not overwrite:
            raise FileExistsError(f"datasets {clash} exist; pass overwrite=True to replace them")

        def say(message: str) -> None:
            if verbose:
                print(f"[{env_id}] {message}", flush=True)

        made: dict[str, list[dict[str, np.ndarray]]] = {}
        if "random" in kinds or measure_refs:
            say(f"random: {n_transitions} transitions")
            made["random"] = collect_episodes(env_id, None, n_transitions, seed)
        wants_sac = any(kind != "random" for kind in kinds) or measure_refs
        medium_at = f"medium at {medium_steps} steps"
        if wants_sac:
            from stable_baselines3 import SAC
            from stable_baselines3.common.utils import get_device

            from rewarddesign.offline._common import evaluate_agent  # imports this module: not at the top

            recorder = EpisodeRecorder(_make_env(env_id))
            model = SAC("MlpPolicy", recorder, seed=seed, device=get_device(device), **(algo_kwargs or {}))

            def policy(obs: np.ndarray) -> np.ndarray:
                return model.predict(obs, deterministic=False)[0]

            if medium_score is None:
                say(f"SAC: {medium_steps} steps to the medium policy")
                model.learn(medium_steps)
            else:
                say(f"SAC: to a normalised score of {medium_score:g}, at most {medium_steps} steps")
                low, high = ref
                while model.num_timesteps < medium_steps:
                    model.learn(min(check_every, medium_steps - model.num_timesteps), reset_num_timesteps=False)
                    check = evaluate_agent(_PolicyAgent(policy), env_id, check_episodes, seed + 3).mean()
                    score = 100.0 * (check - low) / (high - low)
                    say(f"SAC step {model.num_timesteps}: return {check:.1f}, normalised score {score:.1f}")
                    if score >= medium_score:
                        break
                reached = "reached" if score >= medium_score else "not reached"
                medium_at = (
                    f"medium at {model.num_timesteps} steps (normalised score {score:.1f}; "
                    f"target {medium_score:g} {reached})"
                )
            made["medium-replay"] = list(recorder.episodes)

            if "medium" in kinds or "medium-expert" in kinds:
                say(f"medium: {n_transitions} transitions")
                made["medium"] = collect_episodes(env_id, policy, n_transitions, seed + 1)
            if needs_expert or measure_refs:
                if expert_steps > model.num_timesteps:
                    say(f"SAC: {expert_steps - model.num_timesteps} more steps to the expert policy")
                    model.learn(expert_steps - model.num_timesteps, reset_num_timesteps=False)
                say(f"expert: {n_transitions} transitions")
                made["expert"] = collect_episodes(env_id, policy, n_transitions, seed + 2)
            recorder.close()
        if "medium-expert" in kinds:
            made["medium-expert"] = made["medium"] + made["expert"]
        if not measure_refs:
            source = "D4RL's random and expert returns" if env_id in D4RL_REFERENCE_SCORES else "given"
        else:
            ref = (_mean_return(made["random"]), _mean_return(made["expert"]))
            source = f"the mean returns of this generation's random and expert ({expert_steps} SAC steps) policies"
            if not ref[1] > ref[0]:
                raise ValueError(f"the expert policy ({ref[1]:.3g}) is no better than random ({ref[0]:.3g})")
        for kind in kinds:
            description = (
                f"{kind} data of {env_id}, made by rewarddesign.offline.generate_datasets (SB3 SAC, seed {seed}, "
                f"{medium_at}, expert at {expert_steps}); reference scores: {source}."
            )
            say(f"storing {ids[kind]}: {len(made[kind])} episodes, mean return {_mean_return(made[kind]):.1f}")
            if ids[kind] in clash:  # replaced only now that its successor is made
                minari.delete_dataset(ids[kind])
            save_dataset(ids[kind], env_id, made[kind], ref, description=description)
    return ids


def _mean_return(episodes: list[dict[str, np.ndarray]]) -> float:
    return float(np.mean([np.sum(episode["rewards"]) for episode in episodes]))


class _PolicyAgent:
    """A Markov policy (a function of the observation) as an evaluation agent."""

    def __init__(self, policy: Callable[[np.ndarray], np.ndarray]) -> None:
        self.act = policy

    def reset(self) -> None:
        """Nothing to forget."""


def load_dataset(identifier: str, root: str | Path | None = None) -> OfflineData:
    """Load a Minari dataset from disk (never from the network) as :class:`OfflineData`.

    Args:
        identifier: A Minari dataset id (see :func:`dataset_id`) or the path of a dataset's directory.
        root: Minari's dataset root (default: ``MINARI_DATASETS_PATH`` or ``~/.minari/datasets``).
    """
    minari = _import_minari()
    path = Path(identifier)
    if not (path / "data").is_dir():
        with _minari_root(root):
            from minari.storage import get_dataset_path

            path = Path(get_dataset_path(identifier))
    if not (path / "data").is_dir():
        raise FileNotFoundError(
            f"no dataset {identifier!r} at {path}; make it with `rewarddesign offline generate` "
            "or rewarddesign.offline.generate_datasets"
        )
    dataset = minari.MinariDataset(path / "data")
    metadata = dataset.storage.metadata
    ref = metadata.get("ref_min_score"), metadata.get("ref_max_score")
    env_spec = dataset.env_spec
    episodes = []
    for episode in dataset.iterate_episodes():
        record = {
            "observations": episode.observations,
            "actions": episode.actions,
            "rewards": episode.rewards,
            "terminations": episode.terminations,
            "truncations": episode.truncations,
        }
        infos = episode.infos or {}
        if "reward_factors" in infos:
            record["factors"] = np.asarray(infos["reward_factors"])[1:]
        episodes.append(record)
    return OfflineData.from_episodes(
        episodes,
        env_id=None if env_spec is None else env_spec.id,
        ref_scores=None if None in ref else (float(ref[0]), float(ref[1])),
    )
