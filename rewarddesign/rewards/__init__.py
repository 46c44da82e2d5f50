"""Rewards: the batched reward-function protocol, tabular rewards, torch reward networks, and reward wrappers.

Every reward in the library, designed, learned or tabular, answers one call::

    reward_fn(obs, act, next_obs, done) -> rewards   # arrays with a leading batch axis B; float [B]

- :mod:`rewarddesign.rewards.functions`: the protocol, :class:`TabularReward`, :class:`RewardNet`.
- :mod:`rewarddesign.rewards.wrappers`: the one family of reward wrappers, a batched
  :class:`RewardTerm` driven by :class:`DesignedReward` (Gymnasium), :class:`VectorDesignedReward`
  (Gymnasium vector) and :class:`VecDesignedReward` (SB3), and :func:`potential_difference`, the
  potential-shaping rule.
"""

from rewarddesign.rewards.functions import (
    MLPRewardNet,
    RewardFunction,
    RewardNet,
    TabularReward,
    check_rewards,
)
from rewarddesign.rewards.wrappers import (
    Bools,
    DesignedReward,
    Floats,
    Info,
    Infos,
    RewardMode,
    RewardTerm,
    VecDesignedReward,
    VectorDesignedReward,
    batch_length,
    batch_of_one,
    check_mode,
    potential_difference,
    unbatch,
)

__all__ = [
    "RewardFunction",
    "TabularReward",
    "RewardNet",
    "MLPRewardNet",
    "check_rewards",
    "RewardMode",
    "Floats",
    "Bools",
    "Info",
    "Infos",
    "RewardTerm",
    "DesignedReward",
    "VectorDesignedReward",
    "VecDesignedReward",
    "potential_difference",
    "check_mode",
    "batch_length",
    "unbatch",
    "batch_of_one",
]
