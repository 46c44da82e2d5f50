"""Mitigations: ensembles of proxies, and constrained composite rewards with learned Lagrange multipliers.

- :func:`ensemble_proxy` aggregates the members of a learned proxy ``[M, S, A]`` by the mean, the
  worst case or uncertainty weighting (Coste et al., ICLR 2024), with
  :func:`rewarddesign.preferences.aggregate_members`.
- :func:`constrained_composite` follows Moskovitz et al. ("Confronting Reward Model
  Overoptimization with Constrained RLHF"): the proxy is a weighted sum of component rewards, each
  with a threshold (its proxy point) on its return; the KL-regularised optimum of
  ``sum_k w_k J_k(pi) - beta KL`` subject to ``J_k(pi) <= theta_k`` is found through the
  Lagrangian ``sum_k (w_k - lambda_k) J_k - beta KL + sum_k lambda_k theta_k``: for fixed
  multipliers the inner problem is an exact KL-regularised solve, and the multipliers follow
  projected gradient descent on the dual (its gradient is ``theta_k - J_k``), every beta at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from rewarddesign._validation import as_float_array, check_device, check_positive_int, check_real
from rewarddesign.mdp import TabularMDP, check_mdp
from rewarddesign.overoptimization._curves import curve_returns, normalize_gold, optimal_return
from rewarddesign.overoptimization._solve import (
    _check_gamma_below_one,
    _check_reference,
    _expected_rewards,
    _Model,
    _solve,
    check_betas,
)
from rewarddesign.preferences import aggregate_members
from rewarddesign.preferences.models import Aggregate

__all__ = ["ensemble_proxy", "constrained_composite", "ConstrainedCurve", "component_returns"]


def ensemble_proxy(members: ArrayLike, aggregate: Aggregate = "mean", uwo_penalty: float = 1.0) -> NDArray[np.float64]:
    """One proxy ``[S, A]`` from members ``[M, S, A]``: ``"mean"``, ``"wco"`` (minimum), ``"uwo"`` or ``"uwo-std"``.

    Example:
        >>> ensemble_proxy(np.array([[[1.0, 0.0]], [[3.0, 0.0]]]), "uwo", uwo_penalty=0.5)
        array([[1.5, 0. ]])
    """
    values = as_float_array(members, "members")
    if values.ndim != 3 or values.shape[0] < 1:
        raise ValueError(f"members must be [M, S, A] with M >= 1, got shape {values.shape}")
    return np.asarray(aggregate_members(values, aggregate, uwo_penalty), dtype=np.float64)


@dataclass(frozen=True)
class ConstrainedCurve:
    """Constrained (or unconstrained) composite optima per beta, in order of rising KL.

    Attributes:
        betas: ``[B]``, from the largest to the smallest.
        multipliers: Lagrange multipliers ``[B, K]`` (zeros for the unconstrained composite).
        component_returns: ``J_k`` of each optimum ``[B, K]``.
        thresholds: ``theta_k`` ``[K]`` (inf when unconstrained).
        kl: Discounted KL from the reference ``[B]``.
        proxy_return: The composite's return ``sum_k w_k J_k`` ``[B]``.
        gold_return: ``[B]``.
        reference_gold: The reference's gold return.
        optimal_gold: The gold return of a gold-optimal policy.
        violation: The largest ``(J_k - theta_k) / scale_k`` left at the end, per beta ``[B]`` (<= 0 when feasible).
        policies: ``[B, S, A]``.
    """

    betas: NDArray[np.float64]
    multipliers: NDArray[np.float64]
    component_returns: NDArray[np.float64]
    thresholds: NDArray[np.float64]
    kl: NDArray[np.float64]
    proxy_return: NDArray[np.float64]
    gold_return: NDArray[np.float64]
    reference_gold: float
    optimal_gold: float
    violation: NDArray[np.float64]
    policies: NDArray[np.float64]

    @property
    def normalized_gold(self) -> NDArray[np.float64]:
        """``(gold - reference) / (optimal - reference)``, as :attr:`OveroptimizationCurve.normalized_gold`."""
        return normalize_gold(self.gold_return, self.reference_gold, self.optimal_gold)


def component_returns(
    mdp: TabularMDP, components: ArrayLike, policy: ArrayLike, *, device: torch.device | str = "cpu"
) -> NDArray[np.float64]:
    """Exact returns ``[B, K]`` of policies ``[B, S, A]`` on components ``[K, S, A]``."""
    from rewarddesign.overoptimization._solve import policy_returns

    return policy_returns(mdp, components, policy, device=device)


def constrained_composite(
    mdp: TabularMDP,
    components: ArrayLike,
    weights: ArrayLike,
    gold: ArrayLike,
    reference: ArrayLike,
    betas: ArrayLike,
    thresholds: ArrayLike | None = None,
    *,
    steps: int = 100,
    lr: float = 0.1,
    tol: float = 1e-12,
    device: torch.device | str = "cpu",
) -> ConstrainedCurve:
    """KL-regularised optima of a composite proxy, constrained so that no component passes its threshold.

    Args:
        mdp: The model; ``mdp.gamma`` below 1.
        components: Component rewards ``[K, S, A]``.
        weights: Their weights in the composite ``[K]`` (>= 0).
        gold: The true reward ``[S, A]`` (scored, never optimised).
        reference: The reference policy ``[S, A]``.
        betas: KL weights ``[B]``.
        thresholds: ``theta_k`` on each component's return ``[K]``; None gives the unconstrained
            composite (all multipliers 0).
        steps: Dual steps (projected Adam on the multipliers). Each is one exact solve for every beta at once.
        lr: Step size of the multipliers (in the weights' units); it decays as ``1 / sqrt(t)``.
        tol: Precision of the inner solves.
        device: Where torch computes.

    Raises:
        ValueError: Shapes that do not match, negative weights, NaN thresholds, or bad counts.
    """
    check_mdp(mdp)
    _check_gamma_below_one(mdp)
    values, _ = check_betas(betas, "betas")
    values = values[np.argsort(-values, kind="stable")]
    parts = as_float_array(components, "components")
    if parts.ndim != 3 or parts.shape[1:] != (mdp.n_states, mdp.n_actions):
        raise ValueError(f"components must be [K, S, A] = [K, {mdp.n_states}, {mdp.n_actions}], got {parts.shape}")
    k = parts.shape[0]
    w = as_float_array(weights, "weights").reshape(-1)
    if w.shape != (k,) or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError(f"weights must be {k} finite values >= 0, got {weights!r}")
    steps = check_positive_int(steps, "steps")
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    constrained = thresholds is not None
    theta = np.full(k, np.inf) if thresholds is None else as_float_array(thresholds, "thresholds").reshape(-1)
    if theta.shape != (k,) or np.any(np.isnan(theta)):
        raise ValueError(f"thresholds must be {k} numbers (inf for no limit), got {thresholds!r}")
    ref_np = _check_reference(mdp, reference)
    gold_np = _expected_rewards(mdp, gold, "gold")
    model = _Model(mdp, check_device(device))
    ref = model.tensor(ref_np)
    expected = model.tensor(np.stack([mdp.expected_reward(p) for p in parts]))  # [K, S, A]
    weight = model.tensor(w)
    beta_t = model.tensor(values)
    scale = model.tensor(np.maximum(np.abs(parts).reshape(k, -1).max(1), 1e-12) / (1.0 - mdp.gamma))
    theta_t = model.tensor(theta)
    limited = torch.isfinite(theta_t)
    multipliers = torch.zeros((len(values), k), dtype=torch.float64, device=model.device)

    def solve(lam: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        reward = torch.einsum("bk,ksa->bsa", weight[None] - lam, expected)
        _, _, policy, _ = _solve(model, reward, ref, beta_t, tol, 100_000)
        returns, kl = curve_returns(model, policy, ref, expected)
        return policy, returns, kl

    policy, returns, kl = solve(multipliers)
    if constrained:
        # projected Adam on the dual: its gradient in lambda_k is theta_k - J_k (scaled per component)
        first = torch.zeros_like(multipliers)
        second = torch.zeros_like(multipliers)
        for t in range(1, steps + 1):
            gap = torch.where(limited, (returns - theta_t) / scale, torch.zeros_like(returns))
            first = 0.9 * first + 0.1 * gap
            second = 0.999 * second + 0.001 * gap**2
            step = (first / (1 - 0.9**t)) / (torch.sqrt(second / (1 - 0.999**t)) + 1e-12)
            multipliers = (multipliers + lr / np.sqrt(t) * step).clamp_min(0.0)
            policy, returns, kl = solve(multipliers)
    gold_returns, _ = curve_returns(model, policy, ref, model.tensor(gold_np)[None])
    reference_gold, _ = curve_returns(model, ref[None], ref, model.tensor(gold_np)[None])
    violation = torch.where(limited, (returns - theta_t) / scale, torch.full_like(returns, -np.inf)).amax(1)
    return ConstrainedCurve(
        betas=values,
        multipliers=multipliers.cpu().numpy(),
        component_returns=returns.cpu().numpy(),
        thresholds=theta,
        kl=kl.cpu().numpy(),
        proxy_return=(returns @ weight).cpu().numpy(),
        gold_return=gold_returns[:, 0].cpu().numpy(),
        reference_gold=float(reference_gold[0, 0]),
        optimal_gold=optimal_return(model, model.tensor(gold_np), tol),
        violation=violation.cpu().numpy(),
        policies=policy.cpu().numpy(),
    )
