"""Overoptimization curves: proxy and gold returns against the KL from the reference, and Gao et al.'s fits.

:func:`overoptimization_curve` solves the KL-regularised problem on the proxy for every beta at
once and scores each optimum exactly: its KL from the reference, its proxy return and its gold
return. :func:`best_of_n_curve` does the same for best-of-n selection among the reference's
episodes (KL ``log n - (n - 1) / n``), from one pool of rolled-out episodes with the unbiased
order-statistics estimator. :func:`fit_gao` fits Gao et al.'s functional forms
(``d (alpha - beta d)`` for best-of-n, ``d (alpha - beta log d)`` for RL, ``d = sqrt(KL)``) to the
gold gain over the reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln

from rewarddesign._validation import check_device, check_positive_int
from rewarddesign.mdp import TabularEnv, TabularMDP, check_mdp
from rewarddesign.overoptimization._solve import (
    _check_gamma_below_one,
    _check_reference,
    _evaluate,
    _expected_rewards,
    _Model,
    _solve,
    _state_kl,
    check_betas,
)
from rewarddesign.rollouts import rollout

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "OveroptimizationCurve",
    "BestOfNCurve",
    "GaoFit",
    "overoptimization_curve",
    "best_of_n_curve",
    "fit_gao",
    "curve_returns",
    "TabularPolicy",
]


@dataclass(frozen=True)
class GaoFit:
    """A fit of Gao et al.'s form to the gold gain ``R(d)`` over the reference, ``d = sqrt(KL)``.

    Attributes:
        form: ``"bon"``: ``R(d) = d (alpha - beta d)``; ``"rl"``: ``R(d) = d (alpha - beta log d)``.
        alpha: The fitted ``alpha``.
        beta: The fitted ``beta``.
        r2: The coefficient of determination of the fit (about zero gain, as the forms have no intercept).
    """

    form: Literal["bon", "rl"]
    alpha: float
    beta: float
    r2: float

    def __call__(self, d: ArrayLike) -> NDArray[np.float64]:
        """The fitted gain at ``d = sqrt(KL)``."""
        x = np.asarray(d, dtype=np.float64)
        if self.form == "bon":
            return x * (self.alpha - self.beta * x)
        safe = np.where(x > 0, x, 1.0)
        return x * (self.alpha - self.beta * np.log(safe))


def fit_gao(d: ArrayLike, gain: ArrayLike, form: Literal["bon", "rl"]) -> GaoFit:
    """Least-squares fit of ``gain ~ d (alpha - beta d)`` (``"bon"``) or ``d (alpha - beta log d)`` (``"rl"``).

    Both forms are linear in ``(alpha, beta)``, so the fit is one least-squares solve.

    Args:
        d: ``sqrt(KL)`` values ``[N]``, >= 0.
        gain: Gold return minus the reference's gold return ``[N]``.
        form: ``"bon"`` or ``"rl"``.

    Raises:
        ValueError: Mismatched or non-finite inputs, a negative ``d``, fewer than two points with
            ``d > 0``, or an unknown form.

    Example:
        >>> d = np.linspace(0.1, 3, 20)
        >>> fit = fit_gao(d, d * (2.0 - 0.5 * d), "bon")
        >>> round(fit.alpha, 6), round(fit.beta, 6), round(fit.r2, 6)
        (2.0, 0.5, 1.0)
    """
    if form not in ("bon", "rl"):
        raise ValueError(f"form must be 'bon' or 'rl', got {form!r}")
    x = np.asarray(d, dtype=np.float64).reshape(-1)
    y = np.asarray(gain, dtype=np.float64).reshape(-1)
    if x.shape != y.shape or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError(f"d and gain must be finite arrays of one length, got shapes {x.shape} and {y.shape}")
    if np.any(x < 0):
        raise ValueError(f"d must be >= 0 (a square root of a KL), got {x.min()!r}")
    if int((x > 0).sum()) < 2:
        raise ValueError("fit_gao needs at least two points with d > 0")
    second = x * x if form == "bon" else x * np.log(np.where(x > 0, x, 1.0))
    design = np.stack([x, -second], axis=1)
    (alpha, beta), *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ np.array([alpha, beta])
    total = float((y**2).sum())
    r2 = 1.0 - float((residual**2).sum()) / total if total > 0 else 1.0
    return GaoFit(form, float(alpha), float(beta), r2)


def normalize_gold(gold: NDArray[np.float64], reference_gold: float, optimal_gold: float) -> NDArray[np.float64]:
    """``(gold - reference) / (optimal - reference)``; the plain gain where the reference is already optimal."""
    span = optimal_gold - reference_gold
    return (gold - reference_gold) / (span if span > 0 else 1.0)


@dataclass(frozen=True)
class OveroptimizationCurve:
    """Exact proxy and gold returns of the KL-regularised optima, one point per beta, in order of rising KL.

    Attributes:
        betas: KL weights ``[B]``, from the largest (closest to the reference) to the smallest.
        kl: Discounted KL from the reference ``[B]`` (see :func:`~rewarddesign.overoptimization.policy_kl`).
        proxy_return: Exact discounted proxy return ``[B]``.
        gold_return: Exact discounted gold return ``[B]``.
        reference_proxy: The reference's proxy return.
        reference_gold: The reference's gold return.
        optimal_gold: The gold return of a gold-optimal policy (for normalisation).
        policies: The optimal policies ``[B, S, A]``.
    """

    betas: NDArray[np.float64]
    kl: NDArray[np.float64]
    proxy_return: NDArray[np.float64]
    gold_return: NDArray[np.float64]
    reference_proxy: float
    reference_gold: float
    optimal_gold: float
    policies: NDArray[np.float64]

    @property
    def sqrt_kl(self) -> NDArray[np.float64]:
        """``d = sqrt(KL)``, Gao et al.'s x-axis."""
        return np.sqrt(np.maximum(self.kl, 0.0))

    @property
    def normalized_gold(self) -> NDArray[np.float64]:
        """``(gold - reference) / (optimal - reference)``: 0 at the reference, 1 at a gold-optimal policy."""
        return normalize_gold(self.gold_return, self.reference_gold, self.optimal_gold)

    @property
    def peak(self) -> int:
        """Index of the largest gold return."""
        return int(np.argmax(self.gold_return))

    @property
    def peak_kl(self) -> float:
        """The KL at the gold peak."""
        return float(self.kl[self.peak])

    @property
    def gold_drop(self) -> float:
        """Normalised gold at the peak minus at the largest KL (the most optimised point): the fall, >= 0."""
        gold = self.normalized_gold
        return float(gold[self.peak] - gold[-1])

    def proxy_monotone(self, tol: float = 1e-9) -> bool:
        """Whether the proxy return never falls as the KL grows (up to ``tol`` times its range)."""
        scale = tol * (1.0 + float(np.ptp(self.proxy_return)))
        return bool(np.all(np.diff(self.proxy_return) >= -scale))

    def fit(self) -> GaoFit:
        """Gao et al.'s RL form fitted to the gold gain over the reference (points with KL > 0)."""
        return fit_gao(self.sqrt_kl, self.gold_return - self.reference_gold, "rl")

    def table(self, digits: int = 4) -> str:
        """A Markdown table: beta, KL, sqrt(KL), proxy, gold and normalised gold per point."""
        rows = ["| beta | KL | sqrt KL | proxy return | gold return | normalised gold |", "|---|---|---|---|---|---|"]
        for b, k, d, p, g, n in zip(
            self.betas, self.kl, self.sqrt_kl, self.proxy_return, self.gold_return, self.normalized_gold
        ):
            cells = (f"{value:.{digits}g}" for value in (b, k, d, p, g, n))
            rows.append("| " + " | ".join(cells) + " |")
        return "\n".join(rows)

    def plot(self, ax: Axes | None = None, *, label: str = "", normalized: bool = True) -> Axes:
        """Gold (and, on a second axis, proxy) return against ``sqrt(KL)``; returns the gold axis."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3.5))
        assert ax is not None
        gold = self.normalized_gold if normalized else self.gold_return
        (line,) = ax.plot(self.sqrt_kl, gold, "-", label=f"gold {label}".strip())
        ax.plot(self.sqrt_kl[self.peak], gold[self.peak], "o", color=line.get_color())
        ax.set_xlabel("sqrt(KL from reference)")
        ax.set_ylabel("normalised gold return" if normalized else "gold return")
        proxy_ax: Any = ax.twinx()
        proxy_ax.plot(self.sqrt_kl, self.proxy_return, "--", color=line.get_color(), alpha=0.6, label="proxy")
        proxy_ax.set_ylabel("proxy return (dashed)")
        return ax


def curve_returns(
    model: _Model, policies: torch.Tensor, ref: torch.Tensor, rewards: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact returns ``[B, R]`` of policies ``[B, S, A]`` on expected rewards ``[R, S, A]`` and their KL ``[B]``.

    One evaluation for all: the per-state KL is a further reward, so the returns and the KL share
    one linear solve (or one bounded iteration) per policy.
    """
    kl_state = _state_kl(policies, ref)  # [B, S]
    n_actions = policies.shape[-1]
    stacked = torch.cat(
        [rewards[None].expand(policies.shape[0], -1, -1, -1), kl_state[:, None, :, None].expand(-1, 1, -1, n_actions)],
        dim=1,
    )
    values = _evaluate(model, policies, stacked) @ model.initial  # [B, R + 1]
    return values[:, :-1], values[:, -1].clamp_min(0.0)


def optimal_return(model: _Model, expected: torch.Tensor, tol: float = 1e-12) -> float:
    """The optimal return of expected rewards ``[S, A]`` from the initial distribution (any action allowed).

    The same bounded iteration at ``beta = 0`` with a uniform prior: sparse and certified like the
    KL-regularised solves (a dense value iteration would dominate the time of a large curve).
    """
    shape = (model.n_states, model.n_actions)
    uniform = torch.full(shape, 1.0 / model.n_actions, dtype=expected.dtype, device=expected.device)
    zero = torch.zeros(1, dtype=expected.dtype, device=expected.device)
    values, _, _, _ = _solve(model, expected[None], uniform, zero, tol, 100_000)
    return float(values[0] @ model.initial)


def overoptimization_curve(
    mdp: TabularMDP,
    proxy: ArrayLike,
    gold: ArrayLike,
    reference: ArrayLike,
    betas: ArrayLike,
    *,
    tol: float = 1e-12,
    device: torch.device | str = "cpu",
) -> OveroptimizationCurve:
    """Optimise ``proxy`` with a KL penalty towards ``reference`` for every beta and score it on ``gold``, exactly.

    Args:
        mdp: The model; ``mdp.gamma`` must be below 1.
        proxy: The optimised reward, ``[S]``, ``[S, A]`` or ``[S, A, S']``.
        gold: The true reward, same forms.
        reference: The reference policy ``[S, A]``.
        betas: KL weights ``[B]`` in ``[0, inf]``; they are sorted from the largest to the smallest.
        tol: Precision of the solver (see :func:`~rewarddesign.overoptimization.solve_kl_regularized`).
        device: Where torch computes.

    Example:
        >>> import numpy as np
        >>> from rewarddesign.mdp import random_mdp
        >>> mdp = random_mdp(6, 3, gamma=0.9, rng=0)
        >>> rng = np.random.default_rng(0)
        >>> gold = rng.normal(size=(6, 3))
        >>> proxy = gold + 0.5 * rng.normal(size=(6, 3))
        >>> curve = overoptimization_curve(mdp, proxy, gold, np.full((6, 3), 1 / 3), np.geomspace(0.01, 100, 20))
        >>> curve.proxy_monotone(), bool(curve.kl[0] < curve.kl[-1])
        (True, True)
    """
    check_mdp(mdp)
    _check_gamma_below_one(mdp)
    values, _ = check_betas(betas, "betas")
    order = np.argsort(-values, kind="stable")
    values = values[order]
    ref_np = _check_reference(mdp, reference)
    proxy_np = _expected_rewards(mdp, proxy, "proxy")
    gold_np = _expected_rewards(mdp, gold, "gold")
    if proxy_np.ndim != 2 or gold_np.ndim != 2:
        raise ValueError("proxy and gold must each be one reward ([S], [S, A] or [S, A, S'])")
    model = _Model(mdp, check_device(device))
    ref = model.tensor(ref_np)
    rewards = model.tensor(np.stack([proxy_np, gold_np]))
    _, _, policies, _ = _solve(model, rewards[:1], ref, model.tensor(values), tol, 100_000)
    returns, kl = curve_returns(model, policies, ref, rewards)
    reference_returns, _ = curve_returns(model, ref[None], ref, rewards)
    return OveroptimizationCurve(
        betas=values,
        kl=kl.cpu().numpy(),
        proxy_return=returns[:, 0].cpu().numpy(),
        gold_return=returns[:, 1].cpu().numpy(),
        reference_proxy=float(reference_returns[0, 0]),
        reference_gold=float(reference_returns[0, 1]),
        optimal_gold=optimal_return(model, rewards[1], tol),
        policies=policies.cpu().numpy(),
    )


class TabularPolicy:
    """A stochastic tabular policy ``[S, A]`` as a rollout policy: observation batch ``[B]`` -> actions ``[B]``.

    Args:
        policy: Probabilities ``[S, A]``.
        rng: Its own generator (or a seed).
    """

    def __init__(self, policy: ArrayLike, rng: np.random.Generator | int | None = None) -> None:
        probabilities = np.asarray(policy, dtype=np.float64)
        if probabilities.ndim != 2:
            raise ValueError(f"policy must be [S, A], got shape {probabilities.shape}")
        self.cdf = np.cumsum(probabilities, axis=1)
        self.rng = np.random.default_rng(rng)

    def __call__(self, obs: ArrayLike) -> NDArray[np.int64]:
        states = np.asarray(obs, dtype=np.int64).reshape(-1)
        u = self.rng.random(len(states))[:, None]
        actions = (u >= self.cdf[states]).sum(axis=1)
        return np.minimum(actions, self.cdf.shape[1] - 1)


@dataclass(frozen=True)
class BestOfNCurve:
    """Best-of-n selection among the reference's episodes: expected proxy and gold returns per ``n``.

    Attributes:
        n: The numbers of candidates ``[N]``.
        kl: ``log n - (n - 1) / n``, the KL of best-of-n from the reference (Gao et al.'s analytic form).
        proxy_return: Expected proxy return of the chosen episode ``[N]``.
        gold_return: Expected gold return of the chosen episode ``[N]``.
        episodes: The size of the pool the estimates come from.
    """

    n: NDArray[np.int64]
    kl: NDArray[np.float64]
    proxy_return: NDArray[np.float64]
    gold_return: NDArray[np.float64]
    episodes: int

    @property
    def sqrt_kl(self) -> NDArray[np.float64]:
        return np.sqrt(self.kl)

    def fit(self) -> GaoFit:
        """Gao et al.'s best-of-n form fitted to the gold gain over ``n = 1``."""
        return fit_gao(self.sqrt_kl, self.gold_return - self.gold_return[0], "bon")

    def table(self, digits: int = 4) -> str:
        rows = ["| n | KL | proxy return | gold return |", "|---|---|---|---|"]
        for n, k, p, g in zip(self.n, self.kl, self.proxy_return, self.gold_return):
            rows.append(f"| {n} | {k:.{digits}g} | {p:.{digits}g} | {g:.{digits}g} |")
        return "\n".join(rows)


def best_of_n_curve(
    mdp: TabularMDP,
    proxy: ArrayLike,
    gold: ArrayLike,
    reference: ArrayLike,
    ns: ArrayLike,
    *,
    episodes: int = 1000,
    horizon: int | None = None,
    seed: int = 0,
) -> BestOfNCurve:
    """Best-of-n on episodes of the reference: pick the episode of highest proxy return among ``n``.

    ``episodes`` episodes of ``horizon`` steps are rolled out once (:func:`rewarddesign.rollouts.rollout`
    on a :class:`~rewarddesign.mdp.TabularEnv`); for each ``n`` the expected returns of the chosen
    episode are the unbiased order-statistics estimate over that pool (the episode ranked ``i`` by
    proxy is the best of a random ``n``-subset with probability ``C(i - 1, n - 1) / C(N, n)``), so
    no subsets are drawn. Returns are discounted with ``mdp.gamma``; the default horizon keeps
    ``gamma^horizon`` below 1e-3.

    Raises:
        ValueError: An ``n`` below 1 or above ``episodes``, or a bad horizon.
    """
    check_mdp(mdp)
    _check_gamma_below_one(mdp)
    episodes = check_positive_int(episodes, "episodes")
    n_values = np.asarray(ns).reshape(-1)
    if n_values.dtype.kind not in "iu" or len(n_values) == 0 or n_values.min() < 1 or n_values.max() > episodes:
        raise ValueError(f"ns must be integers in [1, episodes={episodes}], got {ns!r}")
    if horizon is None:
        horizon = max(1, math.ceil(math.log(1e-3) / math.log(mdp.gamma))) if mdp.gamma > 0 else 1
    horizon = check_positive_int(horizon, "horizon")
    ref_np = _check_reference(mdp, reference)
    proxy_full, gold_full = mdp.reward_array(proxy, "proxy"), mdp.reward_array(gold, "gold")
    env = TabularEnv(mdp, gold_full, horizon=horizon)
    trajectories = rollout(TabularPolicy(ref_np, seed), env, n_episodes=episodes, seed=seed, record_infos=False)
    returns = np.zeros((episodes, 2))
    for i, t in enumerate(trajectories):
        s, a = t.obs[:-1].astype(np.int64), t.acts.astype(np.int64)
        s2 = t.obs[1:].astype(np.int64)
        discount = mdp.gamma ** np.arange(len(a))
        returns[i] = discount @ proxy_full[s, a, s2], discount @ gold_full[s, a, s2]
    order = np.argsort(returns[:, 0], kind="stable")
    ranked = returns[order]
    rank = np.arange(1, episodes + 1)
    proxy_out, gold_out = [], []
    for n in n_values.astype(np.int64):
        # P(rank i is the largest of a random n-subset) = C(i-1, n-1) / C(N, n), through log-gammas
        log_w = np.full(episodes, -np.inf)
        ok = rank >= n
        i = rank[ok]
        log_w[ok] = (
            gammaln(i) - gammaln(n) - gammaln(i - n + 1)
            - (gammaln(episodes + 1) - gammaln(n + 1) - gammaln(episodes - n + 1))
        )  # fmt: skip
        weights = np.exp(log_w)
        weights /= weights.sum()
        proxy_out.append(float(weights @ ranked[:, 0]))
        gold_out.append(float(weights @ ranked[:, 1]))
    n_int = n_values.astype(np.int64)
    return BestOfNCurve(
        n=n_int,
        kl=np.log(n_int) - (n_int - 1) / n_int,
        proxy_return=np.array(proxy_out),
        gold_return=np.array(gold_out),
        episodes=episodes,
    )
