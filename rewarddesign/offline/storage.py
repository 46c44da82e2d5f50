"""Offline datasets on disk, as Minari datasets, read without any network access.

:func:`save_dataset` stores an :class:`~rewarddesign.offline.OfflineData` as the Minari dataset of
an id (HDF5 under Minari's dataset root, ``~/.minari/datasets`` or ``MINARI_DATASETS_PATH``, or
the ``root`` given): its episodes, the reward factors of each step in the episode infos
(``infos["reward_factors"]``), the reference scores, and the factors' names and signs in the
dataset's metadata (``reward_factor_names``, ``reward_factor_signs``). :func:`load_dataset` reads
one back. Minari is the ``offline`` extra (``pip install 'rewarddesign[offline]'``).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rewarddesign.offline.data import OfflineData

__all__ = ["save_dataset", "load_dataset"]


@contextlib.contextmanager
def minari_root(root: str | Path | None) -> Iterator[None]:
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


def import_minari() -> Any:
    """The ``minari`` module, or an ImportError naming the extra that installs it."""
    try:
        import minari
    except ImportError as error:  # pragma: no cover - minari is in the offline extra
        raise ImportError("offline datasets need minari: pip install 'rewarddesign[offline]'") from error
    return minari


def save_dataset(
    identifier: str,
    data: OfflineData,
    *,
    root: str | Path | None = None,
    description: str = "",
    algorithm_name: str = "stable-baselines3 SAC",
) -> None:
    """Store ``data`` as the Minari dataset ``identifier``.

    Args:
        identifier: The Minari id, ``namespace/env/name-vN``.
        data: The dataset; it needs ``env_id`` (Minari records the env).
        root: Minari's dataset root (default: ``MINARI_DATASETS_PATH`` or ``~/.minari/datasets``).
        description: Stored with the dataset.
        algorithm_name: What made the data.

    Raises:
        ValueError: ``data`` names no env.
    """
    if not isinstance(data, OfflineData):
        raise TypeError(f"data must be an OfflineData, got {type(data).__name__}")
    if data.env_id is None:
        raise ValueError("data.env_id is None: a stored dataset names the env its data came from")
    minari = import_minari()
    from minari.data_collector import EpisodeBuffer

    buffers = []
    for start, length in zip(data.episode_starts.tolist(), data.episode_lengths.tolist()):
        rows, last = slice(start, start + length), start + length - 1
        infos = None
        if data.factors is not None:  # infos hold one row per observation: the reset's row is zeros
            factors = data.factors[rows].astype(np.float64)
            infos = {"reward_factors": np.concatenate([np.zeros((1, factors.shape[1])), factors])}
        episode: dict[str, Any] = {  # Minari's buffer takes arrays, though its annotations say lists
            "observations": np.concatenate([data.observations[rows], data.next_observations[last][None]]),
            "actions": data.actions[rows],
            "rewards": data.rewards[rows],
            "terminations": data.terminations[rows],
            "truncations": data.truncations[rows],
            "infos": infos,
        }
        buffers.append(EpisodeBuffer(**episode))
    refs = {} if data.ref_scores is None else {"ref_min_score": data.ref_scores[0], "ref_max_score": data.ref_scores[1]}
    with minari_root(root), warnings.catch_warnings():
        # Minari recommends metadata this project has no value for (author e-mail, code permalink, ...)
        warnings.filterwarnings("ignore", message=r".*is set to None", category=UserWarning)
        dataset = minari.create_dataset_from_buffers(
            identifier,
            buffers,
            env=data.env_id,
            algorithm_name=algorithm_name,
            author="rewarddesign",
            description=description or None,
            **refs,
        )
    factor_labels = {}
    if data.factor_names is not None:
        factor_labels["reward_factor_names"] = list(data.factor_names)
    if data.factor_signs is not None:
        factor_labels["reward_factor_signs"] = list(data.factor_signs)
    if factor_labels:
        dataset.storage.update_metadata(factor_labels)


def load_dataset(identifier: str | Path, root: str | Path | None = None) -> OfflineData:
    """Load a Minari dataset from disk (never from the network) as :class:`~rewarddesign.offline.OfflineData`.

    Args:
        identifier: A Minari dataset id (see :func:`~rewarddesign.offline.dataset_id`) or the path of
            a dataset's directory.
        root: Minari's dataset root (default: ``MINARI_DATASETS_PATH`` or ``~/.minari/datasets``).

    Raises:
        FileNotFoundError: No such dataset on disk.
    """
    minari = import_minari()
    path = Path(identifier)
    if not (path / "data").is_dir():
        with minari_root(root):
            from minari.storage import get_dataset_path

            path = Path(get_dataset_path(str(identifier)))
    if not (path / "data").is_dir():
        raise FileNotFoundError(
            f"no dataset {str(identifier)!r} at {path}; make it with `rewarddesign offline generate` "
            "or rewarddesign.offline.generate_datasets"
        )
    dataset = minari.MinariDataset(path / "data")
    metadata = dataset.storage.metadata
    ref = metadata.get("ref_min_score"), metadata.get("ref_max_score")
    keys = ("obs", "next", "acts", "rews", "term", "trunc", "factors")
    parts: dict[str, list[np.ndarray]] = {key: [] for key in keys}
    lengths = []
    for episode in dataset.iterate_episodes():
        obs = np.asarray(episode.observations)
        steps = len(episode.actions)
        if steps == 0:
            continue
        parts["obs"].append(obs[:-1])
        parts["next"].append(obs[1:])
        parts["acts"].append(np.asarray(episode.actions).reshape(steps, -1))
        parts["rews"].append(np.asarray(episode.rewards))
        parts["term"].append(np.asarray(episode.terminations))
        parts["trunc"].append(np.asarray(episode.truncations))
        infos = episode.infos or {}
        if "reward_factors" in infos:
            parts["factors"].append(np.asarray(infos["reward_factors"])[1:])
        lengths.append(steps)
    if not lengths:
        raise ValueError(f"dataset {str(identifier)!r} holds no step")
    with_factors = len(parts["factors"]) == len(lengths)
    env_spec = dataset.env_spec
    return OfflineData(
        observations=np.concatenate(parts["obs"]),
        actions=np.concatenate(parts["acts"]),
        rewards=np.concatenate(parts["rews"]),
        next_observations=np.concatenate(parts["next"]),
        terminations=np.concatenate(parts["term"]),
        truncations=np.concatenate(parts["trunc"]),
        episode_lengths=np.array(lengths),
        factors=np.concatenate(parts["factors"]) if with_factors else None,
        env_id=None if env_spec is None else env_spec.id,
        ref_scores=None if None in ref else (float(ref[0]), float(ref[1])),
        factor_names=metadata.get("reward_factor_names") if with_factors else None,
        factor_signs=metadata.get("reward_factor_signs") if with_factors else None,
    )
