"""Bilevel behaviour-alignment rewards (BARFI): learn how to use heuristic rewards, and the discount.

- :class:`BehaviorAlignment`: the outer loop; :class:`BehaviorAlignedReward`: the learned blend as
  an env wrapper for any SB3 algorithm.
- :class:`BlendedReward` and :func:`tile_coding` (features); the inner learners :class:`Reinforce`
  and :class:`ActorCritic`; :func:`implicit_hypergradient` (Neumann series or first order).
"""

from rewarddesign.bilevel.barfi import LEARNERS, BehaviorAlignment
from rewarddesign.bilevel.blend import (
    BehaviorAlignedReward,
    BehaviorAlignedTerm,
    BlendedReward,
    potential_shaping,
    tile_coding,
)
from rewarddesign.bilevel.hypergradient import NeumannDivergenceError, implicit_hypergradient
from rewarddesign.bilevel.learners import ActorCritic, Batch, PolicyNet, Reinforce, discounted_sums

__all__ = [
    "BehaviorAlignment",
    "BehaviorAlignedReward",
    "BehaviorAlignedTerm",
    "LEARNERS",
    "potential_shaping",
    "BlendedReward",
    "tile_coding",
    "implicit_hypergradient",
    "NeumannDivergenceError",
    "Reinforce",
    "ActorCritic",
    "PolicyNet",
    "Batch",
    "discounted_sums",
]
