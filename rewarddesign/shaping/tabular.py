"""Shaping of tabular rewards ``[S, A, S']``: the exact counterpart of the wrappers."""

from __future__ import annotations

from typing import Any

import numpy as np

from rewarddesign.mdp import TabularMDP, as_policy_matrix
from rewarddesign.rewards.wrappers import potential_difference

__all__ = ["shaped_reward", "look_ahead_reward"]


def _values(values: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    array = np.asarray(getattr(values, "values", values), dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    return array


def shaped_reward(mdp: TabularMDP, reward: Any, potential: Any) -> np.ndarray:
    """``R'(s, a, s') = R(s, a, s') + gamma * phi(s') - phi(s)``, ``phi`` = 0 in terminal states.

    Args:
        mdp: Gives ``gamma`` and the terminal states.
        reward: ``[S]``, ``[S, A]`` or ``[S, A, S']``.
        potential: Values ``[S]`` or a :class:`~rewarddesign.shaping.potentials.TabularPotential`.

    Returns:
        Float array ``[S, A, S']``. Its optimal action values are ``Q*(s, a) - phi(s)`` in every
        non-terminal state, so its optimal policies are those of ``reward``.
    """
    phi = _values(potential, (mdp.n_states,), "potential")
    shaping = potential_difference(phi[:, None, None], phi[None, None, :], mdp.terminal[None, None, :], mdp.gamma)
    return mdp.reward_array(reward) + shaping


def look_ahead_reward(mdp: TabularMDP, reward: Any, potential: Any, policy: Any) -> np.ndarray:
    """Look-ahead advice in expectation over the next action: ``R + gamma E_{a'~pi} phi(s', a') - phi(s, a)``.

    Args:
        mdp: Gives ``gamma`` and the terminal states.
        reward: ``[S]``, ``[S, A]`` or ``[S, A, S']``.
        potential: Values ``[S, A]`` or a :class:`~rewarddesign.shaping.potentials.TabularActionPotential`.
        policy: The policy that picks ``a'``: probabilities ``[S, A]`` or actions ``[S]``.

    Returns:
        Float array ``[S, A, S']`` whose action values under ``policy`` are ``Q^pi(s, a) - phi(s, a)``.
    """
    phi = _values(potential, (mdp.n_states, mdp.n_actions), "potential")
    pi = as_policy_matrix(policy, mdp.n_states, mdp.n_actions)
    next_phi = (pi * phi).sum(axis=1)  # E_{a' ~ pi} phi(s', a')
    advice = potential_difference(phi[:, :, None], next_phi[None, None, :], mdp.terminal[None, None, :], mdp.gamma)
    return mdp.reward_array(reward) + advice
