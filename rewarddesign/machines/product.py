"""The product of a tabular MDP and a reward machine: an exact, Markov model of a machine task.

State ``(s, u)`` has the index ``s * U + u`` (``U`` = ``machine.n_states``, ``u`` the position in
``machine.states``). Action ``a`` moves the env by ``T[s, a, s']`` and the machine on the labels
of the transition; the reward is the machine's. A product state is terminal where the env state
or the machine state is. The exact solvers of :mod:`rewarddesign.mdp` then give the optimal
policy and values of the task, e.g. to check that machine shaping leaves the optimal policy unchanged.

Example:
    >>> import numpy as np
    >>> from rewarddesign.mdp import TabularMDP, value_iteration
    >>> from rewarddesign.machines import from_ltlf
    >>> chain = TabularMDP(np.eye(3)[[[1, 0], [2, 0], [2, 1]]], initial=[1, 0, 0], gamma=0.9)  # right / left
    >>> product = product_mdp(chain, from_ltlf("F(b & F a)"), [{"a"}, set(), {"b"}])
    >>> round(float(value_iteration(product.mdp, product.reward).v[product.index(0, 0)]), 4)
    0.729
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rewarddesign.machines.machine import RewardMachine, State
from rewarddesign.mdp import TabularMDP, check_mdp

__all__ = ["ProductMDP", "product_mdp"]


@dataclass(frozen=True)
class ProductMDP:
    """What :func:`product_mdp` returns.

    Attributes:
        mdp: The product model ``[S * U, A, S * U]``.
        reward: The machine's reward, float ``[S * U, A, S * U]``.
        n_env_states: ``S``.
        machine: The reward machine (``U = machine.n_states``).
    """

    mdp: TabularMDP
    reward: NDArray[np.float64]
    n_env_states: int
    machine: RewardMachine

    def index(self, env_state: int, machine_state: State) -> int:
        """The product index of ``(env_state, machine_state)``."""
        return int(env_state) * self.machine.n_states + self.machine.index(machine_state)


def product_mdp(
    mdp: TabularMDP,
    machine: RewardMachine,
    labels: Sequence[Iterable[str]] | Callable[[int, int, int], Iterable[str]],
) -> ProductMDP:
    """The product MDP of ``mdp`` and ``machine``.

    Args:
        mdp: The env's tabular model.
        machine: The reward machine.
        labels: The true propositions of a transition: a sequence ``[S]`` of label sets of the state
            reached, or a callable ``labels(s, a, s_next)``.

    Raises:
        TypeError: ``mdp`` or ``machine`` has the wrong type, or ``labels`` is neither form.
        ValueError: ``labels`` has not one entry per state.
    """
    mdp = check_mdp(mdp)
    if not isinstance(machine, RewardMachine):
        raise TypeError(f"machine must be a RewardMachine, got {type(machine).__name__}")
    n_s, n_a, n_u = mdp.n_states, mdp.n_actions, machine.n_states
    if callable(labels):
        label_of: Callable[[int, int, int], frozenset[str]] = lambda s, a, t: frozenset(labels(s, a, t))  # type: ignore[operator]
    elif isinstance(labels, Sequence) and not isinstance(labels, (str, bytes)):
        if len(labels) != n_s:
            raise ValueError(f"labels must hold one label set per state ({n_s}), got {len(labels)}")
        sets = [frozenset(x) for x in labels]
        label_of = lambda s, a, t: sets[t]
    else:
        raise TypeError(f"labels must be a sequence of label sets or a callable, got {type(labels).__name__}")
    size = n_s * n_u
    transitions = np.zeros((size, n_a, size))
    reward = np.zeros((size, n_a, size))
    terminal = np.zeros(size, dtype=bool)
    live = [(k, u) for k, u in enumerate(machine.states) if u not in machine.terminal]
    for s in range(n_s):
        for k, u in enumerate(machine.states):
            if u in machine.terminal or mdp.terminal[s]:
                terminal[s * n_u + k] = True
                transitions[s * n_u + k, :, s * n_u + k] = 1.0  # absorbing; ignored by the solvers
        for a in range(n_a):
            for t in np.flatnonzero(mdp.transitions[s, a]).tolist():
                p = mdp.transitions[s, a, t]
                seen = label_of(s, a, t)
                for k, u in live:
                    if mdp.terminal[s]:
                        continue
                    v, r = machine.step(u, seen)
                    j = t * n_u + machine.index(v)
                    transitions[s * n_u + k, a, j] += p
                    reward[s * n_u + k, a, j] = r
    initial = np.zeros(size)
    initial[np.arange(n_s) * n_u + machine.index(machine.initial)] = mdp.initial
    product = TabularMDP(transitions, initial, mdp.gamma, terminal=terminal)
    return ProductMDP(product, reward, n_s, machine)
