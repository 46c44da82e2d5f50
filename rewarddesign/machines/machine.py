"""The reward machine: a finite-state machine over label sets that pays rewards on its edges.

A reward machine (Toro Icarte et al., "Reward machines: exploiting reward function structure in
reinforcement learning", JAIR 2022) reads, at every step of an episode, the set of propositions
that are true (the *labels*: ``{"coffee"}``, ``{"office"}``, ``set()``), follows the edge of its
current state whose formula holds for that set, and pays the edge's reward. Its state is the
memory a non-Markov task needs ("has the coffee been picked up yet?").

Example:
    >>> rm = RewardMachine(
    ...     initial="start",
    ...     transitions={
    ...         ("start", "coffee & !plant"): ("carrying", 0.0),
    ...         ("start", "plant"): ("broken", 0.0),
    ...         ("carrying", "office & !plant"): ("done", 1.0),
    ...         ("carrying", "plant"): ("broken", 0.0),
    ...     },
    ...     terminal=("done", "broken"),
    ... )
    >>> state = rm.initial
    >>> for labels in [set(), {"coffee"}, set(), {"office"}]:
    ...     state, reward = rm.step(state, labels)
    >>> state, reward
    ('done', 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np

from rewarddesign.machines.formula import Formula, label_sets, parse_formula

__all__ = ["RewardMachine", "Edge", "State"]

#: A machine state: any hashable value (an int, a string).
State = Hashable


@dataclass(frozen=True)
class Edge:
    """One edge of a reward machine: from ``source``, where ``formula`` holds, to ``target`` paying ``reward``."""

    source: State
    formula: Formula
    target: State
    reward: float


class RewardMachine:
    """A reward machine over label names.

    Args:
        initial: The state an episode starts in.
        transitions: ``(state, formula) -> (next_state, reward)``; a formula is a string
            (:func:`~rewarddesign.machines.formula.parse_formula`: label names, ``&``, ``|``, ``!``,
            parentheses, ``true``, ``false``) or a parsed :class:`~rewarddesign.machines.formula.Formula`.
            A label set that matches no edge of the current state leaves the machine where it is,
            with reward 0.
        terminal: States that end the episode; they have no outgoing edges.

    Attributes:
        initial: The initial state.
        states: Every state: the initial one first, then the others sorted where they compare
            (integers, strings), else in order of first mention.
        terminal: The terminal states.
        names: The label names the edges mention (other labels never change anything).
        edges: The edges, in the order given.

    Raises:
        TypeError: ``transitions`` is not a mapping of pairs to pairs, a state is not hashable, a
            formula is not a string or formula, or a reward is not a real number.
        ValueError: A formula does not parse or is temporal, a reward is NaN or infinite, two edges
            of one state hold for the same label set (the set is named), a terminal state has an
            outgoing edge, or a state is both given and unknown.
    """

    def __init__(
        self,
        initial: State,
        transitions: Mapping[tuple[State, str | Formula], tuple[State, float]],
        terminal: Iterable[State] = (),
    ) -> None:
        if not isinstance(transitions, Mapping):
            raise TypeError(
                "transitions must be a mapping (state, formula) -> (next_state, reward), "
                f"got {type(transitions).__name__}"
            )
        _check_state(initial, "initial")
        if isinstance(terminal, (str, bytes)) or not isinstance(terminal, Iterable):
            raise TypeError(f"terminal must be an iterable of states, got {terminal!r}")
        terminal_states = tuple(terminal)
        for state in terminal_states:
            _check_state(state, "terminal")
        states: dict[State, None] = {initial: None}
        edges: list[Edge] = []
        for key, value in transitions.items():
            if not (isinstance(key, tuple) and len(key) == 2):
                raise TypeError(f"transitions keys must be (state, formula) pairs, got {key!r}")
            if not (isinstance(value, tuple) and len(value) == 2):
                raise TypeError(f"transitions[{key!r}] must be a (next_state, reward) pair, got {value!r}")
            source, text = key
            target, reward = value
            _check_state(source, f"the source state of transitions[{key!r}]")
            _check_state(target, f"the next state of transitions[{key!r}]")
            if isinstance(text, Formula):
                formula = text
            elif isinstance(text, str):
                try:
                    formula = parse_formula(text)
                except ValueError as err:
                    raise ValueError(f"transitions[{key!r}]: {err}") from None
            else:
                raise TypeError(f"the formula of transitions[{key!r}] must be a string, got {type(text).__name__}")
            if formula.temporal:
                raise ValueError(f"the formula of transitions[{key!r}] must be propositional, got {formula}")
            if isinstance(reward, bool) or not isinstance(reward, (Real, np.floating, np.integer)):
                raise TypeError(f"the reward of transitions[{key!r}] must be a real number, got {reward!r}")
            if not math.isfinite(float(reward)):
                raise ValueError(f"the reward of transitions[{key!r}] must be finite, got {reward!r}")
            states.setdefault(source, None)
            states.setdefault(target, None)
            edges.append(Edge(source, formula, target, float(reward)))
        for state in terminal_states:
            states.setdefault(state, None)
        self.initial: State = initial
        others = [state for state in states if state != initial]
        try:
            others = sorted(others)  # type: ignore[type-var]
        except TypeError:
            pass  # not mutually comparable: order of first mention
        self.states: tuple[State, ...] = (initial, *others)
        self.terminal: frozenset[State] = frozenset(terminal_states)
        self.edges: tuple[Edge, ...] = tuple(edges)
        self.names: frozenset[str] = frozenset().union(*(edge.formula.names for edge in edges))
        self._index = {state: i for i, state in enumerate(self.states)}
        self._out: dict[State, list[Edge]] = {state: [] for state in self.states}
        for edge in edges:
            if edge.source in self.terminal:
                raise ValueError(
                    f"terminal state {edge.source!r} must have no outgoing edge, got {edge.formula} -> {edge.target!r}"
                )
            self._out[edge.source].append(edge)
        for state, out in self._out.items():
            _check_disjoint(state, out)
        self._cache: dict[State, dict[frozenset[str], tuple[State, float]]] = {state: {} for state in self.states}

    @property
    def n_states(self) -> int:
        """The number of states."""
        return len(self.states)

    def index(self, state: State) -> int:
        """The position of ``state`` in :attr:`states` (the machine-state number of observations).

        Raises:
            ValueError: ``state`` is not a state of the machine.
        """
        try:
            return self._index[state]
        except (KeyError, TypeError):
            raise ValueError(f"state must be a state of the machine {list(self.states)}, got {state!r}") from None

    def outgoing(self, state: State) -> tuple[Edge, ...]:
        """The edges leaving ``state``."""
        self.index(state)
        return tuple(self._out[state])

    def step(self, state: State, labels: Iterable[str]) -> tuple[State, float]:
        """The next state and the reward when ``labels`` are the true propositions in ``state``.

        Args:
            state: A non-terminal state.
            labels: The true propositions (names the machine does not mention are ignored).

        Returns:
            ``(next_state, reward)``; ``(state, 0.0)`` when no edge holds.

        Raises:
            ValueError: ``state`` is unknown or terminal.
            TypeError: ``labels`` is a string (give a set: ``{"coffee"}``), or holds non-strings.
        """
        key = labels if type(labels) is frozenset else _label_key(labels)
        try:
            return self._cache[state][key]  # type: ignore[index]
        except KeyError:
            pass
        except TypeError:
            self.index(state)
        if state not in self._cache:
            self.index(state)
        if state in self.terminal:
            raise ValueError(f"state {state!r} is terminal: the episode has ended")
        for label in key:
            if not isinstance(label, str):
                raise TypeError(f"labels must be strings, got {label!r}")
        result: tuple[State, float] = (state, 0.0)
        for edge in self._out[state]:
            if edge.formula.holds(key):
                result = (edge.target, edge.reward)
                break
        self._cache[state][key] = result
        return result

    def is_terminal(self, state: State) -> bool:
        """Whether ``state`` ends the episode."""
        return state in self.terminal

    def successors(self, state: State) -> list[tuple[frozenset[str], State, float]]:
        """For every label set over :attr:`names`: ``(labels, next_state, reward)`` from ``state``.

        Exponential in the number of names; the exact tools (value iteration on the machine, the
        product MDP) use it on small machines.
        """
        return [(labels, *self.step(state, labels)) for labels in label_sets(self.names)]

    def _structure(self) -> tuple[Any, ...]:
        edges = tuple((e.source, str(e.formula), e.target, e.reward) for e in self.edges)
        return (self.initial, self.states, self.terminal, edges)

    def __eq__(self, other: object) -> bool:
        """Machines are equal when their states, terminal states and edges (in order) are."""
        return isinstance(other, RewardMachine) and self._structure() == other._structure()

    def __hash__(self) -> int:
        return hash(self._structure())

    def __repr__(self) -> str:
        return (
            f"RewardMachine(states={self.n_states}, edges={len(self.edges)}, "
            f"terminal={sorted(map(repr, self.terminal))}, names={sorted(self.names)})"
        )


def _label_key(labels: Any) -> frozenset[str]:
    if isinstance(labels, (str, bytes)):
        raise TypeError(f"labels must be a collection of label names (a set), got the string {labels!r}")
    try:
        return frozenset(labels)
    except TypeError:
        raise TypeError(f"labels must be a collection of label names, got {labels!r}") from None


def _check_state(state: Any, name: str) -> None:
    try:
        hash(state)
    except TypeError:
        raise TypeError(f"{name} must be a hashable state, got {state!r}") from None


def _check_disjoint(state: State, edges: list[Edge]) -> None:
    for i, first in enumerate(edges):
        for second in edges[i + 1 :]:
            for labels in label_sets(first.formula.names | second.formula.names):
                if first.formula.holds(labels) and second.formula.holds(labels):
                    raise ValueError(
                        f"two edges of state {state!r} hold for the label set {sorted(labels)}: "
                        f"{first.formula} and {second.formula}"
                    )
