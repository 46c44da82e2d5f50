"""Offline preference learning: datasets made here (Minari), scripted preferences, OPPO and baselines.

- Datasets: :func:`generate_datasets` makes D4RL-style random / medium / medium-replay / expert /
  medium-expert datasets of a Gymnasium task with SB3's SAC and stores them as Minari datasets
  with reference scores; :func:`load_dataset` reads one offline into :class:`OfflineData`.
- Preferences: :func:`sample_segments` and :func:`preference_pairs` label segment pairs by their
  return over the horizon, by a Bradley-Terry annotator or by HERON's factor hierarchy.
- Learners: :class:`OPPO` (context encoder, contextual policy, optimal context ``z*``);
  :class:`BehaviorCloning` on all data or on the top fraction of preferred segments
  (:func:`top_fraction`); :class:`IQL` (TorchRL) on the true reward or a learned one
  (:func:`relabel_rewards`).
- :func:`evaluate_agent` rolls a learned policy out on the true reward.
"""

from rewarddesign.offline._common import Scaling, evaluate_agent
from rewarddesign.offline.baselines import IQL, BehaviorCloning, relabel_rewards, top_fraction
from rewarddesign.offline.datasets import (
    D4RL_REFERENCE_SCORES,
    KINDS,
    EpisodeRecorder,
    OfflineData,
    collect_episodes,
    dataset_id,
    generate_datasets,
    load_dataset,
    save_dataset,
)
from rewarddesign.offline.oppo import (
    OPPO,
    ContextEncoder,
    ContextualPolicy,
    OPPOConfig,
    norm_loss,
    reconstruction_loss,
    triplet_loss,
)
from rewarddesign.offline.segments import (
    GATHERERS,
    horizon_segments,
    make_gatherer,
    preference_pairs,
    sample_segments,
    segment_starts,
    segments_at,
    window_index,
)

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
    "segment_starts",
    "sample_segments",
    "segments_at",
    "horizon_segments",
    "preference_pairs",
    "make_gatherer",
    "window_index",
    "GATHERERS",
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
    "evaluate_agent",
]
