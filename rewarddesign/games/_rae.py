"""Risk-averse equilibria (Slumbers et al., "A Game-Theoretic Framework for Managing Risk in
Multi-Agent Systems", ICML 2023), in the mean-variance form.

Against the others' mixed strategies, player ``i``'s own actions pay ``mu[a]`` in expectation,
and the others' randomness makes the payoff of a mixed strategy ``x`` vary with variance
``x^T Sigma x`` (``Sigma``: covariance of the action payoffs over the others' joint action). The
risk-averse best response maximises

    U_i(x) = x^T mu - lambda_i x^T Sigma x    over the simplex,

a concave quadratic program (solved with cvxpy, or in closed form for two actions); a
risk-averse equilibrium (RAE) is a profile where every player plays a risk-averse best response.
``lambda_i = 0`` recovers a Nash equilibrium. Fictitious play finds one: each player best-responds
to the others' average past play, and the residual ``sum_i max U_i - U_i(x_i)`` (zero exactly at
an RAE) says how far the average profile is from one.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rewarddesign.games._normal_form import NormalFormGame, check_strategy, outcome_covariance

__all__ = ["ConvergenceWarning", "RAEResult", "risk_averse_best_response", "risk_averse_equilibrium"]


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped at its budget before reaching its tolerance."""


def _check_lambda(value: Any, n_players: int) -> np.ndarray:
    lam = np.broadcast_to(np.asarray(value, dtype=np.float64), (n_players,)).copy()
    if not np.all(np.isfinite(lam)) or np.any(lam < 0):
        raise ValueError(f"risk_aversion must be finite and >= 0 (one value, or one per player), got {value!r}")
    return lam


def _two_action(mu: np.ndarray, sigma: np.ndarray, lam: float) -> np.ndarray:
    """Closed form for two actions: maximise a concave quadratic in p = x[0] over [0, 1]."""
    slope0 = mu[0] - mu[1] - lam * (2 * sigma[0, 1] - 2 * sigma[1, 1])  # f'(0)
    curvature = lam * (sigma[0, 0] - 2 * sigma[0, 1] + sigma[1, 1])  # f(p) = ... - curvature p^2
    if curvature > 1e-15:
        p = min(max(slope0 / (2 * curvature), 0.0), 1.0)
    else:
        p = 1.0 if slope0 >= 0 else 0.0  # linear: the better action, the lower index on a tie
    return np.array([p, 1.0 - p])


class _QP:
    """``max mu^T x - ||F x||^2`` on the simplex as a parametrised cvxpy problem, compiled once."""

    def __init__(self, n_actions: int, n_outcomes: int, solver: str | None) -> None:
        import cvxpy as cp

        self.x = cp.Variable(n_actions)
        self.mu = cp.Parameter(n_actions)
        self.factor = cp.Parameter((n_outcomes, n_actions))
        objective = cp.Maximize(self.mu @ self.x - cp.sum_squares(self.factor @ self.x))
        self.problem = cp.Problem(objective, [self.x >= 0, cp.sum(self.x) == 1])
        self.solver = solver

    def solve(self, mu: np.ndarray, factor: np.ndarray) -> np.ndarray:
        self.mu.value, self.factor.value = mu, factor
        self.problem.solve(solver=self.solver)
        if self.x.value is None:
            raise RuntimeError(f"the risk-averse best response QP failed: {self.problem.status}")
        x = np.clip(self.x.value, 0.0, None)
        return x / x.sum()


def _factor(payoff: np.ndarray, prob: np.ndarray, lam: float) -> np.ndarray:
    """``F`` with ``F^T F = lam Sigma``: rows ``sqrt(lam p_k) (payoff_k - mu)``."""
    centred = payoff - prob @ payoff
    return np.sqrt(lam * prob)[:, None] * centred


def _objective(x: np.ndarray, mu: np.ndarray, sigma: np.ndarray, lam: float) -> float:
    return float(x @ mu - lam * x @ sigma @ x)


def risk_averse_best_response(
    mu: Any, covariance: Any, risk_aversion: float, *, solver: str | None = None
) -> np.ndarray:
    """``argmax_{x in simplex} x^T mu - lambda x^T Sigma x``.

    Args:
        mu: Expected payoff of each own action ``[A]``.
        covariance: ``Sigma [A, A]``, symmetric positive semi-definite.
        risk_aversion: ``lambda >= 0``; 0 gives a pure best response.
        solver: A cvxpy solver name (None: cvxpy's choice). Two actions are solved in closed form.

    Example:
        >>> risk_averse_best_response([2.0, 3.0], [[4.0, 0.0], [0.0, 0.0]], 1.0)  # stag hunt, opponent 50/50
        array([0., 1.])
    """
    mu = np.asarray(mu, dtype=np.float64)
    sigma = np.asarray(covariance, dtype=np.float64)
    if mu.ndim != 1 or sigma.shape != (len(mu), len(mu)) or not np.all(np.isfinite(sigma)):
        raise ValueError(f"need mu [A] and a finite covariance [A, A], got {mu.shape} and {sigma.shape}")
    if not np.all(np.isfinite(mu)):
        raise ValueError("mu must be finite")
    if not np.allclose(sigma, sigma.T, atol=1e-10 * (1 + np.abs(sigma).max())):
        raise ValueError("covariance must be symmetric")
    lam = float(_check_lambda(risk_aversion, 1)[0])
    if lam == 0.0 or not np.any(sigma):
        return np.eye(len(mu))[int(np.argmax(mu))]
    if len(mu) == 2:
        return _two_action(mu, sigma, lam)
    eigenvalues, vectors = np.linalg.eigh(sigma)
    if eigenvalues.min() < -1e-8 * (1 + np.abs(sigma).max()):
        raise ValueError(
            f"covariance must be positive semi-definite, its smallest eigenvalue is {eigenvalues.min():.3g}"
        )
    factor = np.sqrt(lam * np.clip(eigenvalues, 0.0, None))[:, None] * vectors.T
    return _QP(len(mu), len(mu), solver).solve(mu, factor)


@dataclass
class RAEResult:
    """What :func:`risk_averse_equilibrium` returns; iterating over it gives the strategies.

    Attributes:
        strategies: One mixed strategy per player.
        residual: ``sum_i max_x U_i(x) - U_i(x_i)`` at the returned profile (0 at an RAE).
        iterations: Fictitious-play iterations run.
        converged: Whether the residual reached the tolerance.
        residuals: The residual after each iteration.
        nash_conv: NashConv of the returned profile (how far it is from a Nash equilibrium).
    """

    strategies: list[np.ndarray]
    residual: float
    iterations: int
    converged: bool
    residuals: list[float] = field(default_factory=list)
    nash_conv: float = math.nan

    def __iter__(self):
        return iter(self.strategies)

    def __getitem__(self, player: int) -> np.ndarray:
        return self.strategies[player]

    def __len__(self) -> int:
        return len(self.strategies)


def _residual_terms(
    game: NormalFormGame,
    strategies: list[np.ndarray],
    lam: np.ndarray,
    qps: list[_QP | None],
    player: int,
) -> tuple[np.ndarray, float]:
    """The player's risk-averse best response to ``strategies`` and its gain over ``strategies[player]``."""
    payoff, prob = game.opponent_outcomes(player, strategies)
    mu = prob @ payoff
    if lam[player] == 0.0:
        best = np.eye(len(mu))[int(np.argmax(mu))]
        return best, float(mu.max() - mu @ strategies[player])
    sigma = outcome_covariance(payoff, prob)  # from the outcomes already at hand, not recomputed
    if len(mu) == 2:
        best = _two_action(mu, sigma, lam[player])
    else:
        best = qps[player].solve(mu, _factor(payoff, prob, lam[player]))
    gain = _objective(best, mu, sigma, lam[player]) - _objective(strategies[player], mu, sigma, lam[player])
    return best, max(gain, 0.0)


def risk_averse_equilibrium(
    game: NormalFormGame,
    risk_aversion: float | Sequence[float],
    *,
    iterations: int = 2000,
    tol: float = 1e-4,
    initial: Sequence[Any] | None = None,
    solver: str | None = "OSQP",
    warn: bool = True,
) -> RAEResult:
    """A risk-averse equilibrium by fictitious play.

    Each iteration, every player takes its risk-averse best response to the others' average
    strategies so far, and the averages move towards it by ``1 / (t + 2)``. The iteration stops
    when the residual (the summed gains of best-responding, in each player's mean-variance
    utility) is below ``tol``; if the budget runs out first, a :class:`ConvergenceWarning` gives the
    residual. When the best responses repeat, that profile is checked too, so pure equilibria
    are found exactly rather than approached at rate ``1 / t``. Two-action players are solved in
    closed form, others by a cvxpy QP compiled once per player (OSQP by default).

    Args:
        game: The game (any number of players).
        risk_aversion: ``lambda``, one for all players or one per player, each >= 0.
        iterations: Fictitious-play budget.
        tol: Residual at which to stop.
        initial: Starting strategies; uniform by default.
        solver: The cvxpy solver of the best-response QPs.
        warn: Warn when the budget runs out.

    Example:
        >>> from rewarddesign.games import stag_hunt
        >>> x, y = risk_averse_equilibrium(stag_hunt(), risk_aversion=0.5)
        >>> x.round(3), y.round(3)  # both hunt hare, the risk-dominant equilibrium
        (array([0., 1.]), array([0., 1.]))
    """
    lam = _check_lambda(risk_aversion, game.n_players)
    if not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
    if initial is None:
        current = [np.full(a, 1.0 / a) for a in game.n_actions]
    else:
        current = game.check_strategies(initial)
    qps: list[_QP | None] = []
    for i, a in enumerate(game.n_actions):
        outcomes = math.prod(game.n_actions) // a
        qps.append(_QP(a, outcomes, solver) if a > 2 and lam[i] > 0 else None)

    def respond(profile: list[np.ndarray]) -> tuple[list[np.ndarray], float]:
        pairs = [_residual_terms(game, profile, lam, qps, i) for i in range(game.n_players)]
        return [best for best, _ in pairs], float(sum(gain for _, gain in pairs))

    residuals: list[float] = []
    residual, t = math.inf, 0
    previous: list[np.ndarray] | None = None
    for t in range(1, iterations + 1):
        responses, residual = respond(current)  # the residual of the profile returned if we stop
        residuals.append(residual)
        if residual < tol or t == iterations:
            break
        if previous is not None and all(np.allclose(a, b, atol=1e-9) for a, b in zip(responses, previous)):
            _, fixed = respond(responses)  # the best responses repeat: are they an RAE?
            if fixed < tol:
                current, residual = responses, fixed
                residuals.append(residual)
                break
        previous = responses
        current = [x + (best - x) / (t + 1) for x, best in zip(current, responses)]
    converged = residual < tol
    if not converged and warn:
        warnings.warn(
            f"fictitious play stopped after {iterations} iterations with residual {residual:.3g} > tol {tol:g}",
            ConvergenceWarning,
            stacklevel=2,
        )
    strategies = [check_strategy(x, a) for x, a in zip(current, game.n_actions)]
    return RAEResult(strategies, residual, t, converged, residuals, game.nash_conv(strategies))
