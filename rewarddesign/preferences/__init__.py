"""Rewards from preferences: Bradley-Terry reward models, HERON hierarchical labels, ensembles.

- Data: :class:`Fragments` (cut from :func:`rewarddesign.rollouts.rollout`'s trajectories by
  :meth:`Fragments.from_trajectories`) and :class:`PreferenceDataset` (saved as ``.npz``, loaded
  without pickle).
- Gatherers: :class:`SyntheticGatherer` (Bradley-Terry labels from a true reward) and
  :class:`HeronGatherer` (hierarchical comparison of reward factors), whose core is the
  vectorised :func:`hierarchical_labels`.
- Models: :class:`RewardModel` on ``(obs, act)`` or on reward factors, trained with the
  Bradley-Terry loss (:func:`train_reward_model`), and :class:`RewardEnsemble` with mean,
  worst-case (WCO) and uncertainty-weighted (UWO: mean minus lambda times the variance)
  aggregation (:func:`aggregate_members`).
- Wrappers: :class:`LearnedReward` (Gymnasium) and :class:`VecLearnedReward` (SB3), both driving
  :class:`LearnedRewardTerm` (which ``VectorDesignedReward`` drives for a Gymnasium vector env).
- The loop: :class:`PreferenceLearning` alternates SB3 training on the learned reward with
  gathering labels on fragments of the agent's episodes (:class:`RandomFragmenter`, or
  :class:`DisagreementFragmenter` for active selection by ensemble disagreement).
"""

from rewarddesign.preferences.data import Fragments, PreferenceDataset
from rewarddesign.preferences.gatherers import HeronGatherer, SyntheticGatherer, hierarchical_labels, random_pairs
from rewarddesign.preferences.learning import (
    DisagreementFragmenter,
    Fragmenter,
    Gatherer,
    PreferenceLearning,
    RandomFragmenter,
    RoundRecord,
)
from rewarddesign.preferences.models import (
    RewardEnsemble,
    RewardModel,
    aggregate_members,
    bradley_terry_loss,
    preference_accuracy,
    train_reward_model,
)
from rewarddesign.preferences.wrappers import LearnedReward, LearnedRewardTerm, VecLearnedReward

__all__ = [
    "Fragments",
    "PreferenceDataset",
    "hierarchical_labels",
    "random_pairs",
    "HeronGatherer",
    "SyntheticGatherer",
    "RewardModel",
    "RewardEnsemble",
    "aggregate_members",
    "bradley_terry_loss",
    "train_reward_model",
    "preference_accuracy",
    "LearnedReward",
    "LearnedRewardTerm",
    "VecLearnedReward",
    "PreferenceLearning",
    "RandomFragmenter",
    "DisagreementFragmenter",
    "RoundRecord",
    "Gatherer",
    "Fragmenter",
]
