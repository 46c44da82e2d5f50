"""Nash equilibria: a linear program for zero-sum games, Gambit (pygambit) for bimatrix games, risk dominance."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from rewarddesign.games._normal_form import NormalFormGame

__all__ = ["zero_sum_nash", "nash_equilibria", "risk_dominant_equilibrium"]


def _maximin(matrix: np.ndarray) -> tuple[np.ndarray, float]:
    """The row player's maximin strategy of ``matrix`` (row payoffs) and its value, by LP."""
    n_rows, n_cols = matrix.shape
    # variables (x, v): maximise v s.t. x^T M[:, j] >= v for every column j, sum x = 1, x >= 0
    c = np.zeros(n_rows + 1)
    c[-1] = -1.0
    a_ub = np.hstack([-matrix.T, np.ones((n_cols, 1))])
    a_eq = np.hstack([np.ones((1, n_rows)), np.zeros((1, 1))])
    bounds = [(0, None)] * n_rows + [(None, None)]
    result = linprog(c, A_ub=a_ub, b_ub=np.zeros(n_cols), A_eq=a_eq, b_eq=[1.0], bounds=bounds, method="highs")
    if result.status != 0:
        raise RuntimeError(f"the maximin linear program failed: {result.message}")
    x = np.clip(result.x[:-1], 0.0, None)
    return x / x.sum(), float(result.x[-1])


def zero_sum_nash(game: NormalFormGame) -> tuple[np.ndarray, np.ndarray, float]:
    """An equilibrium of a two-player zero-sum game and the row player's value, by linear programming.

    Example:
        >>> from rewarddesign.games import matching_pennies
        >>> x, y, value = zero_sum_nash(matching_pennies())
        >>> x.round(6), y.round(6), abs(value) < 1e-9
        (array([0.5, 0.5]), array([0.5, 0.5]), True)
    """
    if game.n_players != 2 or not game.is_zero_sum():
        raise ValueError("zero_sum_nash needs a two-player zero-sum game")
    row = game.payoffs[0]
    x, value = _maximin(row)
    y, _ = _maximin(-row.T)
    return x, y, value


def nash_equilibria(game: NormalFormGame, method: str = "auto") -> list[tuple[np.ndarray, np.ndarray]]:
    """Nash equilibria of a two-player game, as ``(row strategy, column strategy)`` pairs.

    Computed with pygambit (Gambit's solvers), each result checked (NashConv below 1e-6).

    Args:
        game: A bimatrix game.
        method: ``"enumerate"``: every extreme equilibrium, by enumerating the vertices of the
            best-response polytopes (Gambit's ``enummixed``; its cost grows exponentially with the
            number of actions); ``"lemke-howson"``: one equilibrium, the end of the first
            Lemke-Howson path (Gambit's ``lcp``; following every path can take minutes at 20
            actions); ``"lp"``: one equilibrium of a zero-sum game by linear programming;
            ``"auto"``: ``"lp"`` for zero-sum games, enumeration up to 8 actions a player, else
            Lemke-Howson.

    Example:
        >>> from rewarddesign.games import stag_hunt
        >>> [(x.round(3).tolist(), y.round(3).tolist()) for x, y in nash_equilibria(stag_hunt())]
        [([1.0, 0.0], [1.0, 0.0]), ([0.75, 0.25], [0.75, 0.25]), ([0.0, 1.0], [0.0, 1.0])]
    """
    if game.n_players != 2:
        raise ValueError(f"nash_equilibria solves two-player games, got {game.n_players} players")
    if method == "auto":
        if game.is_zero_sum():
            method = "lp"
        else:
            method = "enumerate" if max(game.n_actions) <= 8 else "lemke-howson"
    if method == "lp":
        x, y, _ = zero_sum_nash(game)
        return [(x, y)]
    import pygambit

    gambit_game = pygambit.Game.from_arrays(game.payoffs[0], game.payoffs[1])  # pyright: ignore[reportAttributeAccessIssue]
    if method == "enumerate":
        result = pygambit.nash.enummixed_solve(gambit_game, rational=False)
    elif method == "lemke-howson":
        result = pygambit.nash.lcp_solve(gambit_game, rational=False, stop_after=1)
    else:
        raise ValueError(f"method must be 'auto', 'enumerate', 'lemke-howson' or 'lp', got {method!r}")
    unique: list[tuple[np.ndarray, np.ndarray]] = []
    for profile in result.equilibria:
        # each player's strategy: probabilities, or (strategy, probability) pairs depending on the solver
        x, y = (
            np.clip(np.array([float(v[1] if isinstance(v, tuple) else v) for v in s]), 0.0, None)
            for _, s in profile.mixed_strategies()
        )
        x, y = x / x.sum(), y / y.sum()
        if game.nash_conv([x, y]) > 1e-6:
            continue
        if not any(np.allclose(x, u) and np.allclose(y, v) for u, v in unique):
            unique.append((x, y))
    return unique


def risk_dominant_equilibrium(game: NormalFormGame) -> tuple[int, int] | None:
    """The Harsanyi-Selten risk-dominant pure equilibrium of a 2 x 2 game with two strict ones.

    ``(a, b)`` risk-dominates ``(c, d)`` when the product of the players' deviation losses is
    larger: ``(u1(a,b) - u1(c,b)) (u2(a,b) - u2(a,d)) > (u1(c,d) - u1(a,d)) (u2(c,d) - u2(c,b))``.
    With one strict pure equilibrium that one is returned; None when there is none or the
    products tie.

    Example:
        >>> from rewarddesign.games import stag_hunt
        >>> risk_dominant_equilibrium(stag_hunt())  # hare, hare
        (1, 1)
    """
    if game.n_players != 2 or game.n_actions != (2, 2):
        raise ValueError(f"risk dominance is defined here for 2 x 2 games, got {game.n_actions}")
    u1, u2 = game.payoffs
    strict = [(a, b) for a in range(2) for b in range(2) if u1[a, b] > u1[1 - a, b] and u2[a, b] > u2[a, 1 - b]]
    if len(strict) == 1:
        return strict[0]
    if len(strict) != 2:
        return None
    (a, b), (c, d) = strict
    first = (u1[a, b] - u1[c, b]) * (u2[a, b] - u2[a, d])
    second = (u1[c, d] - u1[a, d]) * (u2[c, d] - u2[c, b])
    if np.isclose(first, second):
        return None
    return (int(a), int(b)) if first > second else (int(c), int(d))
