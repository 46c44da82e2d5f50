"""Rewards: the batched reward-function protocol, tabular rewards, torch reward networks, and reward wrappers.

Every reward in the library, designed, learned or tabular, answers one call::

    reward_fn(obs, act, next_obs, done) -> rewards   # arrays with a leading batch axis B; float [B]

- :mod:`rewarddesign.rewards.functions`: the protocol, :class:`TabularReward`, :class:`RewardNet`.
"""

from rewarddesign.rewards.functions import (
    MLPRewardNet,
    RewardFunction,
    RewardNet,
    TabularReward,
    TransitionRewardWrapper,
    check_rewards,
)

__all__ = ["RewardFunction", "TabularReward", "RewardNet", "MLPRewardNet", "TransitionRewardWrapper", "check_rewards"]
