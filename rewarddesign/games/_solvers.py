"""Nash equilibria: a linear program for zero-sum games, vertex enumeration and Lemke-Howson for bimatrix
games (the project's own, or Gambit's when pygambit is installed), risk dominance."""

from __future__ import annotations

import importlib
import itertools
from typing import Literal

import numpy as np
from scipy.optimize import linprog

from rewarddesign.games._normal_form import NormalFormGame

__all__ = ["zero_sum_nash", "nash_equilibria", "gambit_available", "risk_dominant_equilibrium"]


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


_TOL = 1e-9


def _polytope_vertices(matrix: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """The nonzero vertices of ``{z >= 0, matrix @ z <= 1}`` (``matrix`` positive, [K, d]) and their labels.

    A vertex has ``d`` tight constraints among the ``d`` sign constraints (labels ``0 .. d-1``) and
    the ``K`` rows (labels ``d .. d+K-1``): for every support ``F`` of ``k`` coordinates and every
    set ``R`` of ``k`` rows, the system ``matrix[R][:, F] z_F = 1`` is solved (all systems of one
    size in one batch); the feasible solutions, without repeats, are the vertices. Returned in the
    order found (support size, then supports and rows in lexicographic order), each with the
    bitmask of every constraint tight at it (more than ``d`` in degenerate games).
    """
    n_rows, dim = matrix.shape
    scale = _TOL * max(1.0, float(np.abs(matrix).max()))
    vertices: list[np.ndarray] = []
    masks: list[int] = []
    seen: set[bytes] = set()
    for k in range(1, min(dim, n_rows) + 1):
        supports = np.array(list(itertools.combinations(range(dim), k)), dtype=np.intp)
        rows = np.array(list(itertools.combinations(range(n_rows), k)), dtype=np.intp)
        pairs = len(supports) * len(rows)
        for begin in range(0, pairs, 50_000):
            index = np.arange(begin, min(pairs, begin + 50_000))
            support, row = supports[index // len(rows)], rows[index % len(rows)]
            systems = matrix[row[:, :, None], support[:, None, :]]  # [P, k, k]
            try:
                solution = np.linalg.solve(systems, np.ones((len(systems), k, 1)))[..., 0]
            except np.linalg.LinAlgError:  # some systems are singular (degenerate games): keep the regular ones
                sign, logdet = np.linalg.slogdet(systems)
                # |det| against Hadamard's bound (the product of the row norms): scale-free
                bound = np.log(np.linalg.norm(systems, axis=2)).sum(axis=1)
                regular = (sign != 0) & (logdet - bound > np.log(1e-12))
                support, systems = support[regular], systems[regular]
                if not len(systems):
                    continue
                solution = np.linalg.solve(systems, np.ones((len(systems), k, 1)))[..., 0]
            points = np.zeros((len(systems), dim))
            np.put_along_axis(points, support, solution, axis=1)
            slack = points @ matrix.T - 1.0
            feasible = (points >= -scale).all(axis=1) & (slack <= scale).all(axis=1)
            for point, gap in zip(points[feasible], slack[feasible]):
                point = np.clip(point, 0.0, None)
                key = np.round(point / scale).astype(np.int64).tobytes()
                if key in seen:
                    continue
                seen.add(key)
                tight = np.concatenate([point <= scale, np.abs(gap) <= scale])
                vertices.append(point)
                masks.append(int(sum(1 << int(i) for i in np.flatnonzero(tight))))
    return np.array(vertices).reshape(-1, dim), masks


def _enumerate_extreme(row: np.ndarray, col: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every extreme Nash equilibrium of the bimatrix game ``(row, col)`` by vertex enumeration.

    Mangasarian's method: the best-response polytopes ``P = {x >= 0, col'^T x <= 1}`` and
    ``Q = {y >= 0, row' y <= 1}`` of the payoffs shifted to be positive (``row' = row - min + 1``,
    which keeps the equilibria) are enumerated; a pair of vertices whose labels cover all
    ``m + n`` strategies, normalised, is an extreme equilibrium (a row strategy's label: played
    with probability 0 or a best response; likewise for the columns).
    """
    m, n = row.shape
    positive_row = row - row.min() + 1.0
    positive_col = col - col.min() + 1.0
    # P's coordinates are the row strategies (labels 0..m-1), its rows the columns (labels m..m+n-1)
    p_vertices, p_masks = _polytope_vertices(positive_col.T)
    # Q's coordinates are the columns (labels m..m+n-1), its rows the row strategies (labels 0..m-1)
    q_vertices, q_raw = _polytope_vertices(positive_row)
    q_masks = [((mask & ((1 << n) - 1)) << m) | (mask >> n) for mask in q_raw]
    full = (1 << (m + n)) - 1
    found = []
    for x, x_mask in zip(p_vertices, p_masks):
        for y, y_mask in zip(q_vertices, q_masks):
            if x_mask | y_mask == full:
                found.append((x / x.sum(), y / y.sum()))
    return found


def _lemke_howson(row: np.ndarray, col: np.ndarray, dropped: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One Nash equilibrium: the end of the Lemke-Howson path that drops label ``dropped``.

    Complementary pivoting on the tableaux ``col'^T x + s = 1`` and ``row' y + r = 1`` (payoffs
    shifted to be positive), with the lexicographic ratio test, so that degenerate games do not
    cycle and the path always ends.
    """
    m, n = row.shape
    positive_row = row - row.min() + 1.0
    positive_col = col - col.min() + 1.0
    # columns: the variables (x then s; y then r), then the right-hand side; the slack columns start as the basis
    tableau_p = np.hstack([positive_col.T, np.eye(n), np.ones((n, 1))])  # n rows; variables x_0..x_m-1, s_0..s_n-1
    tableau_q = np.hstack([positive_row, np.eye(m), np.ones((m, 1))])  # m rows; variables y_0..y_n-1, r_0..r_m-1
    basis_p = list(range(m, m + n))  # s_j, label m + j
    basis_q = list(range(n, n + m))  # r_i, label i

    def label_p(variable: int) -> int:  # x_i: label i; s_j: label m + j
        return variable

    def label_q(variable: int) -> int:  # y_j: label m + j; r_i: label i
        return m + variable if variable < n else variable - n

    def pivot(tableau: np.ndarray, basis: list[int], entering: int, slack_start: int) -> int:
        column = tableau[:, entering]
        candidates = np.flatnonzero(column > _TOL)
        if len(candidates) == 0:
            raise RuntimeError("Lemke-Howson found an unbounded ray; the payoffs are not valid")
        # lexicographic minimum of (rhs, slack columns) / column over the candidate rows
        keys = np.hstack([tableau[candidates, -1:], tableau[candidates, slack_start:-1]]) / column[candidates, None]
        keys = np.round(keys, 12)  # ties up to rounding are ties
        order = np.lexsort(keys.T[::-1])
        leave_row = int(candidates[order[0]])
        tableau[leave_row] /= tableau[leave_row, entering]
        for other in range(tableau.shape[0]):
            if other != leave_row:
                tableau[other] -= tableau[other, entering] * tableau[leave_row]
        leaving = basis[leave_row]
        basis[leave_row] = entering
        return leaving

    if not 0 <= dropped < m + n:
        raise ValueError(f"dropped must be a label in [0, {m + n}), got {dropped}")
    # the first variable to enter: x_dropped in P, or y_(dropped - m) in Q
    in_p = dropped < m
    entering = dropped if in_p else dropped - m
    for _ in range(100_000):
        if in_p:
            leaving_label = label_p(pivot(tableau_p, basis_p, entering, m))
        else:
            leaving_label = label_q(pivot(tableau_q, basis_q, entering, n))
        if leaving_label == dropped:
            break
        # the label that left is now missing on one side: its complement enters the other tableau
        in_p = not in_p
        if in_p:  # x_label or s_(label - m)
            entering = leaving_label
        else:  # r_label or y_(label - m)
            entering = n + leaving_label if leaving_label < m else leaving_label - m
    else:  # pragma: no cover - the lexicographic rule makes every path finite
        raise RuntimeError("Lemke-Howson did not end")
    x, y = np.zeros(m), np.zeros(n)
    for index, variable in enumerate(basis_p):
        if variable < m:
            x[variable] = tableau_p[index, -1]
    for index, variable in enumerate(basis_q):
        if variable < n:
            y[variable] = tableau_q[index, -1]
    return x / x.sum(), y / y.sum()


def _gambit_equilibria(game: NormalFormGame, method: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """The equilibria Gambit's ``enummixed`` or ``lcp`` (one path) reports, in its order."""
    try:
        # by name: pygambit is optional, so the type checker may not find it
        pygambit = importlib.import_module("pygambit")
    except ImportError as error:
        raise ImportError(
            "backend='gambit' needs pygambit (Gambit, compiled from source on Linux): "
            "pip install 'rewarddesign[gambit]'; backend='native' needs nothing more"
        ) from error
    gambit_game = pygambit.Game.from_arrays(game.payoffs[0], game.payoffs[1])
    if method == "enumerate":
        result = pygambit.nash.enummixed_solve(gambit_game, rational=False)
    else:
        result = pygambit.nash.lcp_solve(gambit_game, rational=False, stop_after=1)
    found = []
    for profile in result.equilibria:
        # each player's strategy: probabilities, or (strategy, probability) pairs depending on the solver
        x, y = (
            np.clip(np.array([float(v[1] if isinstance(v, tuple) else v) for v in s]), 0.0, None)
            for _, s in profile.mixed_strategies()
        )
        found.append((x / x.sum(), y / y.sum()))
    return found


def gambit_available() -> bool:
    """Whether pygambit (the ``gambit`` extra) can be imported, so ``backend="auto"`` uses Gambit."""
    try:
        importlib.import_module("pygambit")
    except ImportError:
        return False
    return True


_METHODS = ("auto", "enumerate", "lemke-howson", "lp")
_BACKENDS = ("auto", "native", "gambit")


def nash_equilibria(
    game: NormalFormGame,
    method: Literal["auto", "enumerate", "lemke-howson", "lp"] = "auto",
    backend: Literal["auto", "native", "gambit"] = "auto",
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Nash equilibria of a two-player game, as ``(row strategy, column strategy)`` pairs.

    Exact methods of the project's own (numpy), or Gambit's solvers when pygambit is installed
    (the ``gambit`` extra, compiled from source on Linux). Each result is checked (NashConv below
    1e-6) and repeats are dropped.

    Args:
        game: A bimatrix game.
        method: ``"enumerate"``: every extreme equilibrium, by enumerating the vertices of the
            best-response polytopes (Mangasarian's method, as Gambit's ``enummixed``; its cost grows
            exponentially with the number of actions); ``"lemke-howson"``: one equilibrium, the end
            of the Lemke-Howson path that drops the first row strategy's label (Gambit's ``lcp``
            with ``stop_after=1``); ``"lp"``: one equilibrium of a zero-sum game by linear
            programming; ``"auto"``: ``"lp"`` for zero-sum games, enumeration up to 8 actions a
            player, else Lemke-Howson.
        backend: ``"native"``: the project's own vertex enumeration and Lemke-Howson (no compiled
            dependency); ``"gambit"``: pygambit's ``enummixed``/``lcp`` (an ImportError naming the
            extra when it is not installed); ``"auto"``: Gambit when pygambit is installed, else
            native. Both enumerations find the same set of extreme equilibria; the **order** of the
            list differs (the native one lists the row player's vertices by support size, then
            support; Gambit's follows its own vertex search), and the Lemke-Howson paths may end at
            different equilibria. ``"lp"`` is the same with either.

    Returns:
        The equilibria found, each a pair of probability vectors ``[A_1]`` and ``[A_2]``.

    Example:
        >>> from rewarddesign.games import stag_hunt
        >>> found = nash_equilibria(stag_hunt(), backend="native")
        >>> [(x.round(3).tolist(), y.round(3).tolist()) for x, y in found]
        [([1.0, 0.0], [1.0, 0.0]), ([0.0, 1.0], [0.0, 1.0]), ([0.75, 0.25], [0.75, 0.25])]
    """
    if not isinstance(game, NormalFormGame):
        raise TypeError(f"game must be a NormalFormGame, got {type(game).__name__}")
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, _METHODS))}, got {method!r}")
    if not isinstance(backend, str) or backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, _BACKENDS))}, got {backend!r}")
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
    if backend == "auto":
        backend = "gambit" if gambit_available() else "native"
    row, col = np.asarray(game.payoffs[0], dtype=float), np.asarray(game.payoffs[1], dtype=float)
    if backend == "gambit":
        candidates = _gambit_equilibria(game, method)
    elif method == "enumerate":
        candidates = _enumerate_extreme(row, col)
    else:
        candidates = [_lemke_howson(row, col)]
    unique: list[tuple[np.ndarray, np.ndarray]] = []
    for x, y in candidates:
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
