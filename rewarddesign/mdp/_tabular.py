"""The tabular MDP: transitions, initial distribution, discount and terminal states."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rewarddesign._validation import (
    as_float_array,
    check_finite,
    check_gamma,
    check_positive_int,
    check_probabilities,
    check_real,
    check_rng,
    sum_tolerance,
)

__all__ = ["TabularMDP", "check_mdp", "random_mdp", "broadcast_reward", "as_policy_matrix"]


def _stochastic(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """``value`` as float64 probability rows (last axis), checked to the precision of its own dtype.

    Rows given in a narrower float (float32, float16) are checked with that dtype's round-off and
    then renormalised in float64, so the solvers see rows that sum to 1.
    """
    array = as_float_array(value, name)
    narrow = np.asarray(value).dtype.kind == "f" and np.asarray(value).dtype.itemsize < 8
    check_probabilities(array, name, atol=sum_tolerance(value, array.shape[-1] if array.ndim else 1))
    if narrow:
        array = array / array.sum(axis=-1, keepdims=True)
    return array


def broadcast_reward(reward: ArrayLike, n_states: int, n_actions: int, name: str = "reward") -> NDArray[np.float64]:
    """Return a tabular reward as a float array ``[S, A, S']``.

    Args:
        reward: ``[S]`` (a reward for leaving each state), ``[S, A]`` (for each state-action pair)
            or ``[S, A, S']`` (for each transition).
        n_states: ``S``.
        n_actions: ``A``.
        name: The argument's name in error messages.

    Raises:
        ValueError: The shape is none of the three, or an entry is NaN or infinite.
    """
    array = as_float_array(reward, name)
    if array.shape == (n_states,):
        array = np.broadcast_to(array[:, None, None], (n_states, n_actions, n_states))
    elif array.shape == (n_states, n_actions):
        array = np.broadcast_to(array[:, :, None], (n_states, n_actions, n_states))
    elif array.shape != (n_states, n_actions, n_states):
        raise ValueError(
            f"{name} must have shape [S]={(n_states,)}, [S, A]={(n_states, n_actions)} or "
            f"[S, A, S']={(n_states, n_actions, n_states)}, got {array.shape}"
        )
    return check_finite(np.array(array), name)


def as_policy_matrix(policy: ArrayLike, n_states: int, n_actions: int, name: str = "policy") -> NDArray[np.float64]:
    """Return a policy as a row-stochastic float array ``[S, A]``.

    Args:
        policy: Either probabilities ``[S, A]`` or deterministic actions, an integer array ``[S]``.
    """
    array = np.asarray(policy)
    if array.shape == (n_states,) and np.issubdtype(array.dtype, np.integer):
        if np.any((array < 0) | (array >= n_actions)):
            raise ValueError(f"{name} actions must lie in [0, {n_actions}), got {array}")
        matrix = np.zeros((n_states, n_actions))
        matrix[np.arange(n_states), array] = 1.0
        return matrix
    array = as_float_array(policy, name)
    if array.shape != (n_states, n_actions):
        raise ValueError(
            f"{name} must be an integer array [S]={(n_states,)} or probabilities [S, A]={(n_states, n_actions)}, "
            f"got shape {array.shape}"
        )
    return check_probabilities(array, name, atol=1e-6)


class TabularMDP:
    """A finite MDP without reward: ``transitions [S, A, S']``, ``initial [S]``, ``gamma``.

    Rewards are kept apart (arrays ``[S, A, S']``), so that one model serves many reward functions,
    as reward design needs. A terminal state ends the episode: no reward is collected from it and
    its value is 0; its outgoing transitions are ignored by the solvers.

    Rows are checked to the precision of their dtype: float32 rows that sum to 1 up to float32
    round-off are accepted (and renormalised in float64).

    Args:
        transitions: ``T[s, a, s']``, each row a probability distribution.
        initial: The start distribution ``[S]``.
        gamma: Discount in [0, 1]. With ``gamma == 0`` only the immediate reward counts (a
            contextual bandit); with ``gamma == 1`` every policy must reach a terminal state.
        terminal: Optional boolean mask ``[S]`` of terminal states.

    Example:
        >>> import numpy as np
        >>> mdp = TabularMDP(np.ones((2, 1, 2)) / 2, initial=[1.0, 0.0], gamma=0.5)
        >>> mdp.n_states, mdp.n_actions
        (2, 1)
    """

    transitions: NDArray[np.float64]
    initial: NDArray[np.float64]
    gamma: float
    terminal: NDArray[np.bool_]

    def __init__(
        self, transitions: ArrayLike, initial: ArrayLike, gamma: float, terminal: ArrayLike | None = None
    ) -> None:
        shape = as_float_array(transitions, "transitions").shape
        if len(shape) != 3 or shape[0] != shape[2]:
            raise ValueError(f"transitions must have shape [S, A, S], got {shape}")
        if shape[0] == 0 or shape[1] == 0:
            raise ValueError(f"transitions needs at least one state and one action, got shape {shape}")
        transitions = _stochastic(transitions, "transitions")
        n_states = shape[0]
        if as_float_array(initial, "initial").shape != (n_states,):
            raise ValueError(f"initial must have shape [S]={(n_states,)}, got {np.shape(initial)}")
        initial = _stochastic(initial, "initial")
        if terminal is None:
            terminal = np.zeros(n_states, dtype=bool)
        terminal = np.asarray(terminal)
        if terminal.shape != (n_states,) or terminal.dtype != bool:
            raise ValueError(
                f"terminal must be a boolean array of shape {(n_states,)}, got {terminal.dtype} {terminal.shape}"
            )
        self.transitions = transitions
        self.initial = initial
        self.gamma = check_gamma(gamma, allow_zero=True)
        self.terminal = terminal
        for array in (self.transitions, self.initial, self.terminal):
            array.setflags(write=False)

    @property
    def n_states(self) -> int:
        return self.transitions.shape[0]

    @property
    def n_actions(self) -> int:
        return self.transitions.shape[1]

    def reward_array(self, reward: ArrayLike, name: str = "reward") -> NDArray[np.float64]:
        """Broadcast ``reward`` (``[S]``, ``[S, A]`` or ``[S, A, S']``) to ``[S, A, S']``."""
        return broadcast_reward(reward, self.n_states, self.n_actions, name)

    def expected_reward(self, reward: ArrayLike) -> NDArray[np.float64]:
        """``E_{S'~T(s,a)}[R(s, a, S')]`` as ``[S, A]``, zero in terminal states."""
        expected = np.einsum("ijk,ijk->ij", self.transitions, self.reward_array(reward))
        expected[self.terminal] = 0.0
        return expected

    def with_gamma(self, gamma: float) -> TabularMDP:
        """The same model with another discount."""
        return TabularMDP(self.transitions, self.initial, gamma, self.terminal)

    def __repr__(self) -> str:
        return (
            f"TabularMDP(n_states={self.n_states}, n_actions={self.n_actions}, gamma={self.gamma}, "
            f"n_terminal={int(self.terminal.sum())})"
        )


def check_mdp(mdp: object, name: str = "mdp") -> TabularMDP:
    """``mdp`` if it is a :class:`TabularMDP`, else a TypeError naming ``name`` and what was given.

    Example:
        >>> check_mdp(None)
        Traceback (most recent call last):
        ...
        TypeError: mdp must be a TabularMDP, got None
    """
    if not isinstance(mdp, TabularMDP):
        given = "None" if mdp is None else type(mdp).__name__
        raise TypeError(f"{name} must be a TabularMDP, got {given}")
    return mdp


def random_mdp(
    n_states: int,
    n_actions: int,
    gamma: float = 0.9,
    rng: np.random.Generator | int | None = None,
    *,
    branching: int | None = None,
    concentration: float = 1.0,
    uniform_initial: bool = False,
) -> TabularMDP:
    """Draw a random MDP.

    Each ``T(s, a, .)`` is a Dirichlet(``concentration``) draw over ``branching`` successor states
    picked at random (all states when ``branching`` is None); the initial distribution is a
    Dirichlet draw too, or uniform.

    Args:
        n_states: Number of states, at least 1.
        n_actions: Number of actions, at least 1.
        gamma: Discount in [0, 1).
        rng: A ``numpy.random.Generator``, a non-negative integer seed or None; same seed, same MDP.
        branching: Successors per state-action pair, in [1, n_states].
        concentration: Dirichlet concentration; small values give near-deterministic transitions.
        uniform_initial: Start uniformly rather than from a random distribution.

    Example:
        >>> mdp = random_mdp(4, 2, gamma=0.9, rng=0)
        >>> mdp.transitions.shape
        (4, 2, 4)
    """
    for name, value in (("n_states", n_states), ("n_actions", n_actions)):
        check_positive_int(value, name)
    if check_gamma(gamma, allow_zero=True) >= 1.0:
        raise ValueError(f"gamma must be below 1 for a random MDP without terminal states, got {gamma!r}")
    branching = n_states if branching is None else branching
    if isinstance(branching, bool) or not isinstance(branching, (int, np.integer)) or not 1 <= branching <= n_states:
        raise ValueError(f"branching must be an integer in [1, n_states={n_states}], got {branching!r}")
    concentration = check_real(concentration, "concentration", low=0.0, low_open=True)
    rng = check_rng(rng)
    transitions = np.zeros((n_states, n_actions, n_states))
    for s in range(n_states):
        for a in range(n_actions):
            support = rng.choice(n_states, size=branching, replace=False)
            transitions[s, a, support] = rng.dirichlet(np.full(branching, concentration))
    initial = np.full(n_states, 1.0 / n_states) if uniform_initial else rng.dirichlet(np.ones(n_states))
    return TabularMDP(transitions, initial, gamma)
