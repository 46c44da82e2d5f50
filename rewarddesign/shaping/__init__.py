"""Potential-based reward shaping: wrappers, potentials and their tabular counterparts.

Wrap an env, train as usual, and read both returns::

    env = PotentialShaping(gym.make("MountainCar-v0"), potential=my_phi, gamma=0.99)

- :class:`PotentialShaping` (Gymnasium), :class:`VectorPotentialShaping` (Gymnasium vector) and
  :class:`VecPotentialShaping` (SB3) add ``gamma * phi(s') - phi(s)`` with ``phi(s')`` = 0 at
  termination and kept at truncation; static and dynamic potentials alike. All three drive one
  :class:`PotentialShapingTerm`, a reward term of the family in :mod:`rewarddesign.rewards.wrappers`.
- :class:`LookAheadAdvice` adds action potentials ``gamma * phi(s', a') - phi(s, a)``, with
  :func:`advised_action` as the matching action selection; its :class:`LookAheadAdviceTerm` runs
  in the vector forms too (``VectorDesignedReward(envs, LookAheadAdviceTerm(...))``).
- :func:`shaped_reward` and :func:`look_ahead_reward` do the same to tabular rewards.
- :func:`get_potential` builds a named potential from the registry (``rewarddesign train --shaping NAME``).
"""

from rewarddesign.shaping.library import POTENTIALS, get_potential, mountaincar_energy, register_potential
from rewarddesign.shaping.potentials import (
    ActionPotential,
    ActionPotentialLike,
    CallableActionPotential,
    CallablePotential,
    DynamicPotential,
    Potential,
    PotentialLike,
    TabularActionPotential,
    TabularPotential,
    TorchPotential,
    as_action_potential,
    as_potential,
    optimal_value_potential,
)
from rewarddesign.shaping.tabular import look_ahead_reward, shaped_reward
from rewarddesign.shaping.vector import VecPotentialShaping, VectorPotentialShaping
from rewarddesign.shaping.wrappers import (
    LookAheadAdvice,
    LookAheadAdviceTerm,
    PotentialShaping,
    PotentialShapingTerm,
    advised_action,
)

__all__ = [
    "PotentialShaping",
    "VectorPotentialShaping",
    "VecPotentialShaping",
    "PotentialShapingTerm",
    "LookAheadAdvice",
    "LookAheadAdviceTerm",
    "advised_action",
    "Potential",
    "CallablePotential",
    "DynamicPotential",
    "TabularPotential",
    "TorchPotential",
    "optimal_value_potential",
    "as_potential",
    "PotentialLike",
    "ActionPotential",
    "CallableActionPotential",
    "TabularActionPotential",
    "as_action_potential",
    "ActionPotentialLike",
    "shaped_reward",
    "look_ahead_reward",
    "POTENTIALS",
    "get_potential",
    "register_potential",
    "mountaincar_energy",
]
