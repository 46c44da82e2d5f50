"""Implicit differentiation of a learner's solution with respect to its reward's parameters.

An inner learner maximises ``L(theta, phi)`` in its policy parameters ``theta``; the designer
wants the solution ``theta*(phi)`` to do well on an outer objective ``J(theta)``. At a stationary
point ``grad_theta L = 0``, the implicit function theorem gives

    dJ/dphi = B^T (-H)^{-1} grad_theta J,   H = d^2 L / dtheta^2,   B = d^2 L / dtheta dphi.

``(-H)^{-1}`` is approximated by the Neumann series ``alpha sum_{k=0}^{K} (I + alpha H)^k``, which
converges when ``H`` is negative definite and ``alpha`` is below ``2 / |lambda_max(H)|``; ``K = 0``
is the first-order variant (``(-H)^{-1}`` taken as ``alpha I``). Everything is Hessian-vector and
Jacobian-vector products by autograd: nothing of size ``|theta|^2`` is formed.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch

__all__ = ["NeumannDivergenceError", "implicit_hypergradient"]


class NeumannDivergenceError(FloatingPointError):
    """The Neumann series of the inverse Hessian grew instead of converging."""


def implicit_hypergradient(
    inner_objective: torch.Tensor,
    outer_gradient: Sequence[torch.Tensor],
    params: Sequence[torch.Tensor],
    hyperparams: Sequence[torch.Tensor],
    *,
    neumann_steps: int = 5,
    alpha: float = 1e-2,
    growth_limit: float = 100.0,
) -> list[torch.Tensor]:
    """``dJ/dphi`` through the inner solution, by the implicit function theorem.

    Args:
        inner_objective: Scalar ``L(theta, phi)`` with its graph to both (the learner maximises it).
        outer_gradient: ``grad_theta J`` at the current ``theta``, one tensor per parameter.
        params: The learner's parameters ``theta``.
        hyperparams: The reward's parameters ``phi``.
        neumann_steps: ``K``, the terms of the Neumann series after the first (0: first order).
        alpha: The series' step.
        growth_limit: Raise :class:`NeumannDivergenceError` when a term's norm exceeds this many
            times the first one's (a sign that ``alpha`` is too large or ``H`` is not negative
            definite), instead of returning a blown-up gradient.

    Returns:
        One gradient per hyperparameter (zeros where ``L`` does not depend on it).

    Example:
        >>> theta, phi = torch.zeros(1, requires_grad=True), torch.ones(1, requires_grad=True)
        >>> inner = -(theta - 2 * phi).pow(2).sum()  # theta*(phi) = 2 phi
        >>> outer = [torch.ones(1)]  # J = theta, so dJ/dphi = 2
        >>> implicit_hypergradient(inner, outer, [theta], [phi], neumann_steps=50, alpha=0.2)[0]
        tensor([2.])
    """
    if not isinstance(neumann_steps, int) or neumann_steps < 0:
        raise ValueError(f"neumann_steps must be an integer >= 0, got {neumann_steps!r}")
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha!r}")
    params, hyperparams = list(params), list(hyperparams)
    grads = torch.autograd.grad(inner_objective, params, create_graph=True)
    v = [g.detach().clone() for g in outer_gradient]
    if len(v) != len(params) or any(a.shape != p.shape for a, p in zip(v, params)):
        raise ValueError("outer_gradient must hold one tensor per parameter, with its shape")
    total = [t.clone() for t in v]
    first = _norm(v)
    for k in range(1, neumann_steps + 1):
        hv = torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True, allow_unused=True)
        v = [t + alpha * (h if h is not None else torch.zeros_like(t)) for t, h in zip(v, hv)]
        norm = _norm(v)
        if not torch.isfinite(norm) or norm > growth_limit * first + 1e-30:
            raise NeumannDivergenceError(
                f"the Neumann series diverged at term {k} (norm {float(norm):.3g}, first term {float(first):.3g}): "
                f"lower the Neumann step alpha (now {alpha:g}) or the number of terms (now {neumann_steps}), "
                "or use the first-order variant (neumann_steps=0)"
            )
        total = [s + t for s, t in zip(total, v)]
    u = [alpha * t for t in total]
    out = torch.autograd.grad(grads, hyperparams, grad_outputs=u, allow_unused=True)
    return [torch.zeros_like(h) if g is None else g for g, h in zip(out, hyperparams)]


def _norm(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """The Euclidean norm of the tensors' entries, summed in order (the sum starts from the first)."""
    return torch.sqrt(functools.reduce(torch.add, [(t**2).sum() for t in tensors]))
