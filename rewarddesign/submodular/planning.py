"""A greedy planner for submodular objectives on tabular MDPs with a known model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rewarddesign._validation import check_positive_int
from rewarddesign.mdp import TabularMDP
from rewarddesign.submodular._functions import BaseSetFunction

__all__ = ["GreedyPlan", "greedy_plan"]


@dataclass
class GreedyPlan:
    """What :func:`greedy_plan` returns: the visited states, the actions and ``F`` of the visited set."""

    states: list[int]
    actions: list[int]
    value: float


def greedy_plan(
    mdp: TabularMDP,
    set_function: BaseSetFunction,
    horizon: int,
    start: int | None = None,
    rng: np.random.Generator | int | None = None,
) -> GreedyPlan:
    """Act greedily on the expected marginal gain of the next state, step by step.

    At each step the action maximising ``E_{S'~T(s,a)}[F(S + S') - F(S)]`` is taken (ties go to
    the lowest action), and the next state is drawn from the model. With deterministic
    transitions this is the classic greedy path for a submodular objective; states index the
    set function's ground set.

    Args:
        mdp: The model; its states are the set function's elements.
        set_function: ``F``.
        horizon: Steps to plan.
        start: The start state; drawn from ``mdp.initial`` when None.
        rng: Seed or generator for the start and stochastic transitions.

    Raises:
        ValueError: ``horizon`` is not an integer >= 1, or the set function's ground set is not the
            MDP's states.
    """
    horizon = check_positive_int(horizon, "horizon")
    if set_function.n_items != mdp.n_states:
        raise ValueError(f"set_function's ground set has {set_function.n_items} items, the MDP {mdp.n_states} states")
    rng = np.random.default_rng(rng)
    state = int(rng.choice(mdp.n_states, p=mdp.initial)) if start is None else set_function.check_item(start)
    visited = set_function.state()
    visited.add(state)
    states, actions = [state], []
    for _ in range(horizon):
        if mdp.terminal[state]:
            break
        successors = np.flatnonzero(mdp.transitions[state].sum(0) > 0)
        gains = np.zeros(mdp.n_states)
        gains[successors] = visited.gains(successors)
        action = int((mdp.transitions[state] @ gains).argmax())
        state = int(rng.choice(mdp.n_states, p=mdp.transitions[state, action]))
        visited.add(state)
        states.append(state)
        actions.append(action)
    return GreedyPlan(states, actions, visited.value)
