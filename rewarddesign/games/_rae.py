"""Risk-averse equilibria (Slumbers et al., "A Game-Theoretic Framework for Managing Risk in
Multi-Agent Systems", ICML 2023), in the mean-variance form.

Against the others' mixed strategies, player ``i``'s own actions pay ``mu[a]`` in expectation,
and the others' randomness makes the payoff of a mixed strategy ``x`` vary with variance
``x^T Sigma x`` (``Sigma``: covariance of the action payoffs over the others' joint action). The
risk-averse best response maximises

    U_i(x) = x^T mu - lambda_i x^T Sigma x    over the simplex,

a concave quadratic program (solved exactly by an active-set method, with cvxpy, or in closed
form for two actions); a risk-averse equilibrium (RAE) is a profile where every player plays a
risk-averse best response. ``lambda_i = 0`` recovers a Nash equilibrium. The residual
``sum_i max U_i - U_i(x_i)`` (:func:`rae_residual`; zero exactly at an RAE) checks every answer.

Two solvers: for two players, a homotopy (the entropy-smoothed equilibria followed from the
uniform profile, then the KKT equations of the support solved by Newton's method), which finds an
RAE of general-sum games; for any number of players, fictitious play, which converges in zero-sum
and potential games but may cycle on general-sum ones. A profile is reported as converged only
when its residual is below the tolerance.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import lu_factor, lu_solve

from rewarddesign._validation import as_float_array, check_finite, check_positive_int, check_real
from rewarddesign.games._normal_form import NormalFormGame, check_strategy, outcome_covariance

__all__ = [
    "ConvergenceWarning",
    "RAEResult",
    "rae_residual",
    "risk_averse_best_response",
    "risk_averse_equilibrium",
]


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
        self.problem = cp.Problem(objective, [self.x >= 0, cp.sum(self.x) == 1])  # pyright: ignore[reportArgumentType]
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
    mu: ArrayLike, covariance: ArrayLike, risk_aversion: float, *, solver: str = "active-set"
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
    mu = check_finite(as_float_array(mu, "mu"), "mu")
    sigma = check_finite(as_float_array(covariance, "covariance"), "covariance")
    if mu.ndim != 1 or len(mu) == 0 or sigma.shape != (len(mu), len(mu)):
        raise ValueError(f"need mu [A] (A >= 1) and covariance [A, A], got {mu.shape} and {sigma.shape}")
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
        iterations: Fictitious-play iterations, or homotopy path steps, run.
        converged: Whether the residual (computed by :func:`rae_residual` on the returned profile)
            is below the tolerance; never set otherwise.
        residuals: The residual after each fictitious-play iteration, or of each profile the
            homotopy tried.
        nash_conv: NashConv of the returned profile (how far it is from a Nash equilibrium).
        method: The method that produced the returned profile: ``"homotopy"`` or
            ``"fictitious-play"``.
    """

    strategies: list[np.ndarray]
    residual: float
    iterations: int
    converged: bool
    residuals: list[float] = field(default_factory=list)
    nash_conv: float = math.nan
    method: str = "fictitious-play"

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


# ---------------------------------------------------------------- two-player homotopy


def _gradient(
    payoff: np.ndarray, noise: np.ndarray | None, lam: float, own: np.ndarray, other: np.ndarray, jacobian: bool
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """``g = dU/dx`` of ``U(x) = x^T mu - lam x^T Sigma x`` for the player with payoffs ``payoff [m, n]``
    against the other's action (columns) and outcome variances ``noise [m, n]``, at ``x = own`` against
    ``other``; with ``jacobian``, also ``dg/d own [m, m]`` and ``dg/d other [m, n]``.

    ``mu = P y``, ``Sigma = P diag(y) P^T - mu mu^T + diag(N y)``, so
    ``g = mu - 2 lam (P (y * a) - mu (y . a) + (N y) * x)`` with ``a = P^T x``.
    """
    mu = payoff @ other
    a = payoff.T @ own
    ya = float(other @ a)
    sigma_x = payoff @ (other * a) - mu * ya
    spread = None
    if noise is not None:
        spread = noise @ other
        sigma_x = sigma_x + spread * own
    g = mu - 2.0 * lam * sigma_x
    if not jacobian:
        return g, None, None
    sigma = (payoff * other) @ payoff.T - np.outer(mu, mu)
    if spread is not None:
        sigma[np.diag_indices_from(sigma)] += spread
    d_other = payoff - 2.0 * lam * (payoff * a - np.outer(mu, a) - ya * payoff)
    if noise is not None:
        d_other -= 2.0 * lam * own[:, None] * noise
    return g, -2.0 * lam * sigma, d_other


class _Homotopy:
    """The entropy-smoothed path from the uniform profile to an RAE of a two-player game.

    At smoothing ``1 / beta`` each player plays ``x ∝ exp(beta g(x, y))``, ``g`` the gradient of its
    own mean-variance utility: the unique maximiser of ``U(x) + H(x) / beta`` (``H`` the entropy) as
    ``U`` is concave in the own strategy, so the fixed points are the logit (quantal-response)
    equilibria of the mean-variance game. At ``beta = 0`` the only one is the uniform profile; the
    solutions form a curve that leaves it and cannot come back, and its points approach RAE as
    ``beta`` grows. The curve is followed in the log-probabilities by pseudo-arclength continuation
    (an Euler predictor along the tangent, a Newton corrector orthogonal to it, so that it passes
    turning points in ``beta``); at ``beta`` milestones (10, then each 1.5 times the last, with
    payoffs scaled to a unit range) the support of the profile is read off at a few probability
    thresholds and the RAE with that support is solved by Newton's method on the KKT equations; a
    solution is kept only if every probability lies within 0.2 of the path's point (so that a
    distant RAE on the same support is not taken) and its residual is below the tolerance.
    """

    def __init__(self, game: NormalFormGame, lam: np.ndarray, variance: np.ndarray | None) -> None:
        scale = float(np.ptp(game.payoffs)) or 1.0  # payoffs on a unit range; U scales by 1 / scale
        self.a, self.b = game.payoffs[0] / scale, game.payoffs[1].T / scale  # b: player 1's, [n, m]
        self.va = self.vb = None
        if variance is not None:
            self.va, self.vb = variance[0] / scale**2, variance[1].T / scale**2
        self.lam = lam * scale
        self.m, self.n = self.a.shape

    # z = (u [m], c1, w [n], c2, beta): x = exp(u), y = exp(w); H = (u - beta g1 + c1, sum x - 1, ...)

    def split(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        m, n = self.m, self.n
        with np.errstate(over="ignore"):  # an overshooting predictor: the step is rejected
            return np.exp(z[:m]), np.exp(z[m + 1 : m + 1 + n]), float(z[-1])

    def jacobian(self, z: np.ndarray) -> np.ndarray:
        """The Jacobian of :meth:`equations` at ``z``."""
        _, jac = self.equations(z, True)
        assert jac is not None
        return jac

    def equations(self, z: np.ndarray, jacobian: bool) -> tuple[np.ndarray, np.ndarray | None]:
        m, n = self.m, self.n
        x, y, beta = self.split(z)
        g1, g1x, g1y = _gradient(self.a, self.va, self.lam[0], x, y, jacobian)
        g2, g2y, g2x = _gradient(self.b, self.vb, self.lam[1], y, x, jacobian)
        h = np.concatenate(
            [z[:m] - beta * g1 + z[m], [x.sum() - 1.0], z[m + 1 : m + 1 + n] - beta * g2 + z[-2], [y.sum() - 1.0]]
        )
        if not jacobian:
            return h, None
        assert g1x is not None and g1y is not None and g2x is not None and g2y is not None
        jac = np.zeros((m + n + 2, m + n + 3))
        jac[:m, :m] = np.eye(m) - beta * g1x * x
        jac[:m, m] = 1.0
        jac[:m, m + 1 : m + 1 + n] = -beta * g1y * y
        jac[:m, -1] = -g1
        jac[m, :m] = x
        rows = slice(m + 1, m + 1 + n)
        jac[rows, :m] = -beta * g2x * x
        jac[rows, m + 1 : m + 1 + n] = np.eye(n) - beta * g2y * y
        jac[rows, -2] = 1.0
        jac[rows, -1] = -g2
        jac[-1, m + 1 : m + 1 + n] = y
        return h, jac

    def polish(self, x: np.ndarray, y: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray] | None:
        """Newton's method on the KKT equations of the supports ``{x > threshold}``, ``{y > threshold}``:
        ``g1 = v1`` on the support of ``x``, ``g2 = v2`` on that of ``y``, each strategy summing to 1.
        None when it does not converge or leaves a weight negative (not the support of an RAE)."""
        s1, s2 = np.flatnonzero(x > threshold), np.flatnonzero(y > threshold)
        if len(s1) == 0 or len(s2) == 0:
            return None
        a = self.a[np.ix_(s1, s2)]
        b = self.b[np.ix_(s2, s1)]
        va = None if self.va is None else self.va[np.ix_(s1, s2)]
        vb = None if self.vb is None else self.vb[np.ix_(s2, s1)]
        k1, k2 = len(s1), len(s2)
        xs, ys = x[s1] / x[s1].sum(), y[s2] / y[s2].sum()
        g1 = _gradient(a, va, self.lam[0], xs, ys, False)[0]
        g2 = _gradient(b, vb, self.lam[1], ys, xs, False)[0]
        v1, v2 = float(g1 @ xs), float(g2 @ ys)
        norm = math.inf
        for k in range(20):
            g1, g1x, g1y = _gradient(a, va, self.lam[0], xs, ys, True)
            g2, g2y, g2x = _gradient(b, vb, self.lam[1], ys, xs, True)
            f = np.concatenate([g1 - v1, [xs.sum() - 1.0], g2 - v2, [ys.sum() - 1.0]])
            previous, norm = norm, float(np.abs(f).max())
            if norm < 1e-13 or (k > 3 and norm > 0.5 * previous):  # converged, or no longer converging
                break
            jac = np.zeros((k1 + k2 + 2, k1 + k2 + 2))
            jac[:k1, :k1] = g1x
            jac[:k1, k1] = -1.0
            jac[:k1, k1 + 1 : k1 + 1 + k2] = g1y
            jac[k1, :k1] = 1.0
            jac[k1 + 1 : k1 + 1 + k2, :k1] = g2x
            jac[k1 + 1 : k1 + 1 + k2, k1 + 1 : k1 + 1 + k2] = g2y
            jac[k1 + 1 : k1 + 1 + k2, -1] = -1.0
            jac[-1, k1 + 1 : k1 + 1 + k2] = 1.0
            try:
                step = np.linalg.solve(jac, -f)
            except np.linalg.LinAlgError:  # duplicate actions make it singular: the least-norm step
                step = np.linalg.lstsq(jac, -f, rcond=None)[0]
            xs, ys = xs + step[:k1], ys + step[k1 + 1 : k1 + 1 + k2]
            v1, v2 = v1 + step[k1], v2 + step[-1]
        if norm > 1e-9 or xs.min() < -1e-9 or ys.min() < -1e-9:
            return None
        x, y = np.zeros(self.m), np.zeros(self.n)
        x[s1], y[s2] = np.clip(xs, 0.0, None), np.clip(ys, 0.0, None)
        return x / x.sum(), y / y.sum()

    def run(
        self, max_steps: int, accept: Callable[[list[np.ndarray]], float], tol: float
    ) -> tuple[list[np.ndarray], int, list[float]]:
        """Follow the path; ``accept`` gives the residual of a candidate (checked against ``tol``)."""
        m, n = self.m, self.n
        size = m + n + 3
        z = np.concatenate([np.full(m, -math.log(m)), [math.log(m)], np.full(n, -math.log(n)), [math.log(n)], [0.0]])
        last = np.eye(size)[-1]
        t = last  # leave beta = 0 upwards
        h, milestone = 0.5, 10.0
        residuals: list[float] = []
        best: tuple[float, list[np.ndarray]] | None = None
        step = 0
        jac = self.jacobian(z)
        t = lu_solve(lu_factor(np.vstack([jac, t])), last)
        t /= np.linalg.norm(t)
        for step in range(1, max_steps + 1):
            # Newton's method from the predictor, orthogonally to t (the Jacobian of its first point reused)
            while True:
                predicted = z + h * t
                candidate, ok, previous, newton = predicted.copy(), False, math.inf, 0
                jac_p = self.jacobian(predicted)
                augmented = np.vstack([jac_p, t])
                lu = lu_factor(augmented, check_finite=False) if np.isfinite(augmented).all() else None
                for newton in range(10 if lu is not None else 0):  # noqa: B007 (its count sets the next step)
                    f, _ = self.equations(candidate, False)
                    delta = lu_solve(lu, -np.append(f, t @ (candidate - predicted)), check_finite=False)
                    candidate += delta
                    change = float(np.linalg.norm(delta))
                    if not math.isfinite(change):
                        break
                    if change > 0.5 * previous or change > 0.5 * h + 1e-8:  # not contracting, or far off
                        break
                    previous = change
                    if change < 1e-10 * (1.0 + float(np.abs(candidate).max())):
                        ok = True
                        break
                if ok:
                    jac = self.jacobian(candidate)
                    augmented = np.vstack([jac, t])
                    if np.isfinite(augmented).all():
                        new_t = lu_solve(lu_factor(augmented, check_finite=False), last, check_finite=False)
                        new_t /= np.linalg.norm(new_t)
                        if new_t @ t > 0.95:  # a small turn: the same branch, followed closely
                            break
                h *= 0.5
                if h < 1e-10:
                    return self._finish(z, best), step, residuals
            z = candidate
            t = new_t
            if newton <= 4:
                h = min(2.0 * h, 1e6)
            x, y, beta = self.split(z)
            if beta >= milestone:
                milestone = 1.5 * beta
                tried: set[bytes] = set()
                for threshold in (1e-4, 1e-8, 1e-2, 1e-6):
                    key = np.concatenate([x > threshold, y > threshold]).tobytes()
                    if key in tried:
                        continue
                    tried.add(key)
                    polished = self.polish(x, y, threshold)
                    if polished is None or max(np.abs(polished[0] - x).max(), np.abs(polished[1] - y).max()) > 0.2:
                        continue  # no solution on that support, or one far from the path (another RAE)
                    profile = list(polished)
                    residual = accept(profile)
                    residuals.append(residual)
                    if best is None or residual < best[0]:
                        best = (residual, profile)
                    if residual < tol:
                        return profile, step, residuals
                if beta > 1e8:
                    break
        return self._finish(z, best), step, residuals

    def _finish(self, z: np.ndarray, best: tuple[float, list[np.ndarray]] | None) -> list[np.ndarray]:
        """The best support solve, or else the last smoothed profile (for its residual)."""
        if best is not None:
            return best[1]
        x, y, _ = self.split(z)
        return [x / x.sum(), y / y.sum()]


def _check_variance(game: NormalFormGame, payoff_variance: ArrayLike | None) -> NormalFormGame | None:
    if payoff_variance is None:
        return None
    variance = NormalFormGame(payoff_variance)
    if variance.payoffs.shape != game.payoffs.shape or np.any(variance.payoffs < 0):
        raise ValueError(
            f"payoff_variance must be non-negative and shaped like the payoffs {game.payoffs.shape}, "
            f"got {variance.payoffs.shape}"
        )
    return variance


def _residual(game: NormalFormGame, strategies: list[np.ndarray], lam: np.ndarray, variance: Any) -> float:
    gains = [_Responder(game, i, lam[i], "active-set", variance).respond(strategies)[1] for i in range(game.n_players)]
    return max(float(sum(gains)), 0.0)  # a pure best response's gain can round to -1e-16


def rae_residual(
    game: NormalFormGame,
    strategies: Sequence[ArrayLike],
    risk_aversion: float | Sequence[float],
    *,
    payoff_variance: ArrayLike | None = None,
) -> float:
    """``sum_i max_x U_i(x) - U_i(x_i)``: what the players would gain by risk-averse best responding.

    Zero exactly at a risk-averse equilibrium. Each ``max`` is the exact best response of
    :func:`risk_averse_best_response` (active-set method, or closed form for two actions).

    Args:
        game: The game.
        strategies: One mixed strategy per player.
        risk_aversion: ``lambda``, one for all players or one per player.
        payoff_variance: Outcome variances, as in :func:`risk_averse_equilibrium`.

    Example:
        >>> from rewarddesign.games import stag_hunt
        >>> rae_residual(stag_hunt(), [[0.0, 1.0], [0.0, 1.0]], 0.5)  # hare, hare is an RAE
        0.0
    """
    lam = _check_lambda(risk_aversion, game.n_players)
    return _residual(game, game.check_strategies(strategies), lam, _check_variance(game, payoff_variance))


METHODS = ("auto", "homotopy", "fictitious-play")


def risk_averse_equilibrium(
    game: NormalFormGame,
    risk_aversion: float | Sequence[float],
    *,
    iterations: int = 2000,
    tol: float = 1e-4,
    initial: Sequence[ArrayLike] | None = None,
    payoff_variance: ArrayLike | None = None,
    solver: str = "active-set",
    warn: bool = True,
    method: Literal["auto", "homotopy", "fictitious-play"] = "auto",
) -> RAEResult:
    """A risk-averse equilibrium, by homotopy (two players) or fictitious play.

    **Homotopy** (``method="homotopy"``; the default for two players): the path of entropy-smoothed
    equilibria (logit quantal-response equilibria of the mean-variance game, in which each player
    plays ``x ∝ exp(beta dU_i/dx)``) is followed from the uniform profile at ``beta = 0`` by
    pseudo-arclength continuation; as ``beta`` grows, the support of the profile is read off and
    the RAE on that support is solved by Newton's method on the KKT conditions (the gradient of
    ``U_i`` equal on the support and the strategy summing to 1), then checked by
    :func:`rae_residual`. The answer is deterministic and does not depend on a starting point.
    **Which RAE it returns when there are several**: the one the path from the uniform profile
    leads to (the logit tracing procedure from the centroid), as solved on the support read off the
    path and accepted within 0.2 (in every probability) of a point of the path. In the stag hunt it
    is (hare, hare), the risk-dominant equilibrium, although (stag, stag) and a mixed profile near
    it are RAE too (against a pure strategy there is no variance, so every strict Nash equilibrium
    is an RAE). Each path step costs ``O((m + n)^3)``; random 100 x 100 games take a few hundred
    steps, seconds (``benchmarks/games_solvers.py``).

    **Fictitious play** (``method="fictitious-play"``; the default for three or more players):
    each iteration, every player takes its risk-averse best response to the others' average
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
        iterations: Fictitious-play budget, or the homotopy's budget of path steps.
        tol: Residual below which a profile counts as an RAE (``converged``).
        initial: Starting strategies of fictitious play; uniform by default. The homotopy always
            starts from the uniform profile and refuses ``initial``.
        payoff_variance: For games whose outcomes are random (an empirical game estimated from
            episodes, as in PSRO): the variance of each player's payoff at each joint action,
            shaped like ``game.payoffs``. It joins the variance the others cause: against their
            mixed strategy, own action ``a`` gains ``E_k[variance[a, k]]`` on the diagonal of
            ``Sigma`` (outcome noise taken as independent between own actions).
        solver: Best-response solver, as in :func:`risk_averse_best_response`.
        warn: Warn when the budget runs out (or the homotopy fails).
        method: ``"homotopy"``, ``"fictitious-play"``, or ``"auto"``: the homotopy for two-player
            games when no ``initial`` is given, fictitious play otherwise; when the homotopy fails
            (its residual above ``tol``), ``"auto"`` runs fictitious play too and returns the profile
            with the smaller residual (``RAEResult.method`` says which).

    Example:
        >>> from rewarddesign.games import stag_hunt
        >>> x, y = risk_averse_equilibrium(stag_hunt(), risk_aversion=0.5)
        >>> x.round(3), y.round(3)  # both hunt hare, the risk-dominant equilibrium
        (array([0., 1.]), array([0., 1.]))
    """
    lam = _check_lambda(risk_aversion, game.n_players)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    check_positive_int(iterations, "iterations")
    tol = check_real(tol, "tol", low=0.0, low_open=True)
    _check_solver(solver)
    variance = _check_variance(game, payoff_variance)
    if method == "auto":
        method = "homotopy" if game.n_players == 2 and initial is None else "fictitious-play"
        fallback = True
    else:
        fallback = False
    if method == "homotopy":
        if game.n_players != 2:
            raise ValueError(f'method="homotopy" solves two-player games, got {game.n_players} players')
        if initial is not None:
            raise ValueError('initial is a start of fictitious play; method="homotopy" always starts from uniform')
        result = _homotopy_equilibrium(game, lam, variance, iterations, tol)
        if result.converged or not fallback:
            if not result.converged and warn:
                warnings.warn(
                    f"the homotopy ended with residual {result.residual:.3g} > tol {tol:g}",
                    ConvergenceWarning,
                    stacklevel=2,
                )
            return result
        played = _fictitious_play(game, lam, variance, iterations, tol, None, solver)
        best = played if played.residual < result.residual else result
        if not best.converged and warn:
            warnings.warn(
                f"neither the homotopy (residual {result.residual:.3g}) nor fictitious play ({iterations} iterations, "
                f"residual {played.residual:.3g}) reached tol {tol:g}",
                ConvergenceWarning,
                stacklevel=2,
            )
        return best
    result = _fictitious_play(game, lam, variance, iterations, tol, initial, solver)
    if not result.converged and warn:
        warnings.warn(
            f"fictitious play stopped after {iterations} iterations with residual {result.residual:.3g} > tol {tol:g}",
            ConvergenceWarning,
            stacklevel=2,
        )
    return result


def _homotopy_equilibrium(
    game: NormalFormGame, lam: np.ndarray, variance: NormalFormGame | None, max_steps: int, tol: float
) -> RAEResult:
    homotopy = _Homotopy(game, lam, None if variance is None else variance.payoffs)
    with np.errstate(over="ignore", invalid="ignore"):  # an overshooting predictor step is rejected, not used
        profile, steps, residuals = homotopy.run(max_steps, lambda p: _residual(game, p, lam, variance), tol)
    strategies = [check_strategy(x, a) for x, a in zip(profile, game.n_actions)]
    residual = _residual(game, strategies, lam, variance)  # of exactly what is returned
    if not residuals or residuals[-1] != residual:
        residuals.append(residual)
    return RAEResult(
        strategies, residual, steps, residual < tol, residuals, game.nash_conv(strategies), method="homotopy"
    )


def _fictitious_play(
    game: NormalFormGame,
    lam: np.ndarray,
    variance: NormalFormGame | None,
    iterations: int,
    tol: float,
    initial: Sequence[Any] | None,
    solver: str,
) -> RAEResult:
    if initial is None:
        current = [np.full(a, 1.0 / a) for a in game.n_actions]
    else:
        current = game.check_strategies(initial)
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
    strategies = [check_strategy(x, a) for x, a in zip(current, game.n_actions)]
    return RAEResult(strategies, residual, t, residual < tol, residuals, game.nash_conv(strategies))
