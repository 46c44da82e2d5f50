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

from rewarddesign._validation import check_positive_int
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


def _simplex_qp(mu: np.ndarray, quad: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """``argmax_x mu^T x - x^T quad x`` on the simplex (``quad`` PSD) by a primal active-set method.

    The free set ``S`` holds the actions in the support. Each step solves the equality-constrained
    problem on ``S`` (a KKT system of ``|S| + 1`` equations) and moves towards its solution until an
    action's weight reaches zero (it leaves ``S``); at the solution of the subproblem, the action
    with the most negative multiplier enters ``S``, and when none has one the KKT conditions hold
    and ``x`` is optimal. A ridge of ``1e-10`` (relative) makes the subproblems non-singular where
    ``quad`` is only semi-definite; it moves the optimum by about that much. Warm-started from the
    previous solution, fictitious play needs a few steps per best response.
    """
    n = len(mu)
    scale = max(1.0, float(np.abs(quad).max()))
    hessian = 2.0 * quad + 1e-10 * scale * np.eye(n)  # of the minimised  x^T quad x - mu^T x
    if start is None:
        x = np.zeros(n)
        x[int(np.argmax(mu))] = 1.0
    else:
        x = np.clip(start, 0.0, None)
        x /= x.sum()
    free = x > 0
    tol = 1e-12 * scale
    for _ in range(20 * n + 20):
        gradient = hessian @ x - mu
        support = np.flatnonzero(free)
        k = len(support)
        kkt = np.zeros((k + 1, k + 1))
        kkt[:k, :k] = hessian[np.ix_(support, support)]
        kkt[:k, k] = kkt[k, :k] = 1.0
        solution = np.linalg.solve(kkt, np.append(-gradient[support], 0.0))
        step, nu = solution[:k], solution[k]
        if np.abs(step).max() <= 1e-12:
            multipliers = np.where(free, 0.0, gradient + nu)
            enter = int(np.argmin(multipliers))
            if multipliers[enter] >= -tol:
                return x
            free[enter] = True
            continue
        alpha, leave = 1.0, -1
        shrinking = step < 0
        if shrinking.any():
            ratios = -x[support][shrinking] / step[shrinking]
            m = int(np.argmin(ratios))
            if ratios[m] < 1.0:
                alpha, leave = float(ratios[m]), int(support[shrinking][m])
        x[support] += alpha * step
        if leave >= 0:
            x[leave], free[leave] = 0.0, False
        np.clip(x, 0.0, None, out=x)
    raise RuntimeError("the active-set best response did not terminate; the covariance may be ill-conditioned")


class _QP:
    """``max mu^T x - ||F x||^2`` on the simplex as a parametrised cvxpy problem, compiled once."""

    def __init__(self, n_actions: int, n_outcomes: int, solver: str | None) -> None:
        import cvxpy as cp

        self.x = cp.Variable(n_actions)
        self.mu = cp.Parameter(n_actions)
        self.factor = cp.Parameter((n_outcomes, n_actions))
        objective = cp.Maximize(self.mu @ self.x - cp.sum_squares(self.factor @ self.x))
        self.problem = cp.Problem(objective, [self.x >= 0, cp.sum(self.x) == 1])
        self.solver = None if solver == "cvxpy" else solver

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
    mu: Any, covariance: Any, risk_aversion: float, *, solver: str = "active-set"
) -> np.ndarray:
    """``argmax_{x in simplex} x^T mu - lambda x^T Sigma x``.

    Args:
        mu: Expected payoff of each own action ``[A]``.
        covariance: ``Sigma [A, A]``, symmetric positive semi-definite.
        risk_aversion: ``lambda >= 0``; 0 gives a pure best response.
        solver: ``"active-set"`` (exact, in numpy; the default), ``"cvxpy"`` (cvxpy's choice of
            solver) or a cvxpy solver name such as ``"OSQP"`` or ``"CLARABEL"``. Two actions are
            solved in closed form.

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
    _check_solver(solver)
    if lam == 0.0 or not np.any(sigma):
        return np.eye(len(mu))[int(np.argmax(mu))]
    if len(mu) == 2:
        return _two_action(mu, sigma, lam)
    eigenvalues, vectors = np.linalg.eigh(sigma)
    if eigenvalues.min() < -1e-8 * (1 + np.abs(sigma).max()):
        raise ValueError(
            f"covariance must be positive semi-definite, its smallest eigenvalue is {eigenvalues.min():.3g}"
        )
    if solver == "active-set":
        return _simplex_qp(mu, lam * sigma)
    factor = np.sqrt(lam * np.clip(eigenvalues, 0.0, None))[:, None] * vectors.T
    return _QP(len(mu), len(mu), solver).solve(mu, factor)


def _check_solver(solver: Any) -> None:
    if not isinstance(solver, str):
        raise ValueError(f'solver must be "active-set", "cvxpy" or a cvxpy solver name, got {solver!r}')
    if solver not in ("active-set", "cvxpy"):
        import cvxpy as cp

        if solver.upper() not in cp.installed_solvers():
            raise ValueError(
                f'unknown solver {solver!r}: use "active-set", "cvxpy" or one of {sorted(cp.installed_solvers())}'
            )


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


class _Responder:
    """One player's risk-averse best responses during fictitious play, warm-started in turn."""

    def __init__(self, game: NormalFormGame, player: int, lam: float, solver: str, variance: NormalFormGame | None):
        self.game, self.player, self.lam, self.solver, self.variance = game, player, lam, solver, variance
        a = game.n_actions[player]
        self.qp = _QP(a, math.prod(game.n_actions) // a, solver) if solver != "active-set" and a > 2 else None
        self.last: np.ndarray | None = None

    def respond(self, strategies: list[np.ndarray]) -> tuple[np.ndarray, float]:
        """The best response to ``strategies`` and its gain over ``strategies[player]``."""
        payoff, prob = self.game.opponent_outcomes(self.player, strategies)
        mu, lam, own = prob @ payoff, self.lam, strategies[self.player]
        if lam == 0.0:
            best = np.eye(len(mu))[int(np.argmax(mu))]
            return best, float(mu.max() - mu @ own)
        sigma = outcome_covariance(payoff, prob)  # from the outcomes already at hand, not recomputed
        if self.variance is not None:
            noise = prob @ self.variance.opponent_outcomes(self.player, strategies)[0]
            sigma[np.diag_indices_from(sigma)] += noise
        if len(mu) == 2:
            best = _two_action(mu, sigma, lam)
        elif self.qp is None:
            best = self.last = _simplex_qp(mu, lam * sigma, self.last)
        else:
            factor = _factor(payoff, prob, lam)
            if self.variance is not None:
                factor = np.vstack([factor, np.diag(np.sqrt(lam * noise))])
            best = self.qp.solve(mu, factor)
        return best, max(_objective(best, mu, sigma, lam) - _objective(own, mu, sigma, lam), 0.0)


def risk_averse_equilibrium(
    game: NormalFormGame,
    risk_aversion: float | Sequence[float],
    *,
    iterations: int = 2000,
    tol: float = 1e-4,
    initial: Sequence[Any] | None = None,
    payoff_variance: Any = None,
    solver: str = "active-set",
    warn: bool = True,
    method: str = "auto",
) -> RAEResult:
    """A risk-averse equilibrium by fictitious play.

    Each iteration, every player takes its risk-averse best response to the others' average
    strategies so far, and the averages move towards it by ``1 / (t + 2)``. The iteration stops
    when the residual (the summed gains of best-responding, in each player's mean-variance
    utility) is below ``tol``; if the budget runs out first, a :class:`ConvergenceWarning` gives the
    residual. When the best responses repeat, that profile is checked too, so pure equilibria
    are found exactly rather than approached at rate ``1 / t``. Two-action players are solved in
    closed form, others by the exact active-set method of :func:`risk_averse_best_response`,
    warm-started from the player's previous response (or by a cvxpy QP compiled once per player).

    Slumbers et al. prove convergence in zero-sum and potential games; it converges on random
    zero-sum games in the benchmarks, while on general-sum games (random ones, and random
    identical-interest games at ``lambda = 1`` in a trial) it may cycle: the warning with the
    residual says so.

    Args:
        game: The game (any number of players).
        risk_aversion: ``lambda``, one for all players or one per player, each >= 0.
        iterations: Fictitious-play budget.
        tol: Residual at which to stop.
        initial: Starting strategies; uniform by default.
        payoff_variance: For games whose outcomes are random (an empirical game estimated from
            episodes, as in PSRO): the variance of each player's payoff at each joint action,
            shaped like ``game.payoffs``. It joins the variance the others cause: against their
            mixed strategy, own action ``a`` gains ``E_k[variance[a, k]]`` on the diagonal of
            ``Sigma`` (outcome noise taken as independent between own actions).
        solver: Best-response solver, as in :func:`risk_averse_best_response`.
        warn: Warn when the budget runs out.
        method: ``"fictitious-play"``; ``"auto"`` picks it.

    Example:
        >>> from rewarddesign.games import stag_hunt
        >>> x, y = risk_averse_equilibrium(stag_hunt(), risk_aversion=0.5)
        >>> x.round(3), y.round(3)  # both hunt hare, the risk-dominant equilibrium
        (array([0., 1.]), array([0., 1.]))
    """
    lam = _check_lambda(risk_aversion, game.n_players)
    if method not in ("auto", "fictitious-play"):
        raise ValueError(f'method must be "auto" or "fictitious-play", got {method!r}')
    check_positive_int(iterations, "iterations")
    if initial is None:
        current = [np.full(a, 1.0 / a) for a in game.n_actions]
    else:
        current = game.check_strategies(initial)
    _check_solver(solver)
    variance = None
    if payoff_variance is not None:
        variance = NormalFormGame(payoff_variance)
        if variance.payoffs.shape != game.payoffs.shape or np.any(variance.payoffs < 0):
            raise ValueError(
                f"payoff_variance must be non-negative and shaped like the payoffs {game.payoffs.shape}, "
                f"got {variance.payoffs.shape}"
            )
    responders = [_Responder(game, i, lam[i], solver, variance) for i in range(game.n_players)]

    def respond(profile: list[np.ndarray]) -> tuple[list[np.ndarray], float]:
        pairs = [responder.respond(profile) for responder in responders]
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
