"""Offline preference learning: datasets made here (Minari), scripted preferences, OPPO and baselines.

- Data: :class:`OfflineData` (:mod:`~rewarddesign.offline.data`) holds a dataset's transitions,
  built from :class:`~rewarddesign.rollouts.Trajectory` objects; :func:`save_dataset` and
  :func:`load_dataset` (:mod:`~rewarddesign.offline.storage`) keep it as a Minari dataset;
  :class:`EpisodeRecorder` (:mod:`~rewarddesign.offline.recording`) records what a learner sees.
- Generation: :func:`generate_datasets` (:mod:`~rewarddesign.offline.generation`) makes D4RL-style
  random / medium / medium-replay / expert / medium-expert datasets of a Gymnasium task with SB3's
  SAC, with reference scores and, where the env publishes them, reward factors.
- Preferences: :func:`sample_segments` and :func:`preference_pairs` label segment pairs by their
  return over the horizon, by a Bradley-Terry annotator or by HERON's factor hierarchy.
- Learners: :class:`OPPO` (context encoder, contextual policy, optimal context ``z*``);
  :class:`BehaviorCloning` on all data or on the top fraction of preferred segments
  (:func:`top_fraction`); :class:`IQL` (TorchRL) on the true reward or a learned one
  (:func:`relabel_rewards`).
- Acting: every learner is an :class:`Agent` with SB3's ``predict``, rolled out on the true reward
  by :func:`rewarddesign.rollouts.rollout` in ``agent.wrap_env(env)`` (OPPO reads an
  :class:`ObservationWindow`).
"""

from rewarddesign.offline.acting import Agent, ObservationWindow
from rewarddesign.offline.baselines import IQL, BehaviorCloning, relabel_rewards, top_fraction
from rewarddesign.offline.data import OfflineData
from rewarddesign.offline.generation import D4RL_REFERENCE_SCORES, KINDS, DatasetKind, dataset_id, generate_datasets
from rewarddesign.offline.oppo import (
    OPPO,
    ContextEncoder,
    ContextualPolicy,
    OPPOConfig,
    norm_loss,
    reconstruction_loss,
    triplet_loss,
)
from rewarddesign.offline.pipeline import ALGOS, OfflineAlgo, OfflineRunResult, load_agent, train_offline
from rewarddesign.offline.recording import EpisodeRecorder
from rewarddesign.offline.scaling import Scaling
from rewarddesign.offline.segments import (
    GATHERERS,
    Gatherer,
    GathererName,
    horizon_segments,
    make_gatherer,
    preference_pairs,
    sample_segments,
    segment_starts,
    segments_at,
    window_index,
)
from rewarddesign.offline.storage import load_dataset, save_dataset

__all__ = [
    "OfflineData",
    "DatasetKind",
    "KINDS",
    "D4RL_REFERENCE_SCORES",
    "dataset_id",
    "generate_datasets",
    "load_dataset",
    "save_dataset",
    "EpisodeRecorder",
    "segment_starts",
    "sample_segments",
    "segments_at",
    "horizon_segments",
    "preference_pairs",
    "make_gatherer",
    "window_index",
    "GATHERERS",
    "GathererName",
    "Gatherer",
    "OPPO",
    "OPPOConfig",
    "ContextEncoder",
    "ContextualPolicy",
    "reconstruction_loss",
    "triplet_loss",
    "norm_loss",
    "BehaviorCloning",
    "IQL",
    "top_fraction",
    "relabel_rewards",
    "Scaling",
    "Agent",
    "ObservationWindow",
    "ALGOS",
    "OfflineAlgo",
    "OfflineRunResult",
    "train_offline",
    "load_agent",
]
