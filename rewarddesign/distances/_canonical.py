"""Canonicalisations of tabular rewards: EPIC, DARD, VAL (value-adjusted levelling) and minimal.

A canonicalisation ``c`` maps a reward ``R [S, A, S']`` to a representative of its equivalence
class: ``c(R) = c(R')`` whenever ``R'`` differs from ``R`` by potential shaping (and, for ``val``
and ``minimal``, by redistributing reward over next states with the same expectation). All
functions here are batched (``[B, S, A, S']``) and run on numpy arrays or, unchanged, on torch
tensors, so the same code serves the CPU and CUDA paths.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args

import numpy as np
from numpy.typing import NDArray

from rewarddesign.mdp import TabularMDP
from rewarddesign.mdp._solve import solve_policy_values

if TYPE_CHECKING:
    import torch

__all__ = ["Canonicalization", "CANONICALIZATIONS", "epic", "dard", "val", "minimal"]

#: A canonicalisation's name.
Canonicalization = Literal["epic", "dard", "val", "minimal", "none"]
#: Accepted canonicalisation names.
CANONICALIZATIONS: tuple[Canonicalization, ...] = get_args(Canonicalization)

#: A batch of float arrays in numpy or torch: each function computes in the library of its input.
_Batch = TypeVar("_Batch", "NDArray[np.float64]", "torch.Tensor")


def _is_torch(x: object) -> bool:
    return not isinstance(x, np.ndarray)


def epic(rewards: _Batch, gamma: float, state_dist: _Batch, action_dist: _Batch) -> _Batch:
    """EPIC canonicalisation (Gleave et al. 2021), batched.

    ``c(R)(s,a,s') = R(s,a,s') + E[gamma R(s',A,S') - R(s,A,S') - gamma R(S,A,S')]`` with
    ``S, S' ~ state_dist`` and ``A ~ action_dist``, all independent.

    Args:
        rewards: ``[B, S, A, S']``.
        gamma: The discount.
        state_dist: ``[S]``.
        action_dist: ``[A]``.
    """
    m = _einsum("bxas,a,s->bx", rewards, action_dist, state_dist)  # [B, S], without a full-size temporary
    mean = (m * state_dist[None, :]).sum(-1)  # [B]
    out = rewards + gamma * m[:, None, None, :]  # the only full-size array this allocates
    out -= m[:, :, None, None] + gamma * mean[:, None, None, None]
    return out


def dard(rewards: _Batch, gamma: float, transitions: _Batch, action_dist: _Batch) -> _Batch:
    """DARD canonicalisation (Wulfe et al. 2022), batched, without an ``S^4`` tensor.

    ``c(R)(s,a,s') = R(s,a,s') + E[gamma R(s',A,S'') - R(s,A,S') - gamma R(S',A,S'')]`` with
    ``A ~ action_dist``, ``S' ~ T(s, A)`` and ``S'' ~ T(s', A)``. The last term is
    ``sum_a D(a) (T_a R_a T_a^T)[s, s']``, two products of ``[S, S]`` matrices per action.
    """
    u = _einsum("bxas,xas,a->bx", rewards, transitions, action_dist)  # [B, S]
    # y[b, s, a, t''] = sum_x T[s, a, x] R[b, x, a, t'']
    y = _einsum("sax,bxay->bsay", transitions, rewards)
    # term[b, s, s'] = sum_a D(a) sum_y y[b, s, a, y] T[s', a, y]
    term = _einsum("bsay,tay,a->bst", y, transitions, action_dist)
    out = rewards + gamma * u[:, None, None, :]
    out -= u[:, :, None, None] + gamma * term[:, :, None, :]
    return out


def _einsum(spec: str, *arrays: Any) -> Any:
    if _is_torch(arrays[0]):
        import torch

        return torch.einsum(spec, *arrays)
    return np.einsum(spec, *arrays, optimize=True)


def _expected(rewards: Any, transitions: Any, terminal: np.ndarray) -> Any:
    """``E_{S'~T(s,a)} R(s, a, S')`` as ``[B, S, A]``, zero in terminal states."""
    expected = _einsum("bsat,sat->bsa", rewards, transitions)
    if terminal.any():
        expected[:, _index(terminal, expected)] = 0.0
    return expected


def _index(mask: np.ndarray, like: Any) -> Any:
    if _is_torch(like):
        import torch

        return torch.as_tensor(np.flatnonzero(mask), device=like.device)
    return np.flatnonzero(mask)


def val(rewards: _Batch, mdp: TabularMDP, transitions: _Batch, policy: _Batch) -> _Batch:
    """Value-adjusted levelling: ``c(R)(s,a,s') = E_{S'~T(s,a)}[R(s,a,S') - V^pi(s) + gamma V^pi(S')]``.

    ``V^pi`` is the value of ``R`` itself under the fixed ``policy``, so ``c(R)`` is the advantage
    ``Q^pi(s, a) - V^pi(s)`` of ``R``, constant along ``s'``. One linear solve serves the batch.
    """
    expected = _expected(rewards, transitions, mdp.terminal)
    values = solve_policy_values(transitions, mdp.terminal, mdp.gamma, expected, policy)  # [B, S]
    q = expected + mdp.gamma * _einsum("sat,bt->bsa", transitions, values)
    if mdp.terminal.any():
        q[:, _index(mdp.terminal, q)] = 0.0
    advantage = q - values[:, :, None]
    return _along_next_state(advantage, mdp.n_states)


def _along_next_state(values: Any, n_states: int) -> Any:
    """``[B, S, A]`` repeated along a last axis of length ``S'``."""
    if _is_torch(values):
        return values[..., None].expand(*values.shape, n_states).clone()
    return np.repeat(values[..., None], n_states, axis=-1)


def minimal(rewards: _Batch, mdp: TabularMDP, transitions: _Batch, norm: float, weights: _Batch | None) -> _Batch:
    """The canonicalisation of least norm: the member of ``R``'s class of least ``norm``, solved exactly.

    The class of ``R`` under potential shaping and next-state redistribution is every ``R'`` with
    ``E_{S'~T(s,a)}[R'(s,a,S')] = c(s, a) := E_{S'~T(s,a)}[R(s,a,S')] + gamma (T phi)(s, a) - phi(s)``
    in every live state, for some potential ``phi`` (0 in terminal states); what ``R'`` does in
    terminal states, and on next states that ``T`` never reaches, does not count and is set to 0.
    Given ``c``, each row ``(s, a)`` is spread over next states in the cheapest way for the norm
    with weights ``w``:

    * L2: ``R'(s,a,.) = c (T/w) / sum_{s'} T^2/w`` at squared cost ``c^2 / sum_{s'} T^2/w``
      (unweighted: ``c T / |T|^2``, so not constant along ``s'`` unless ``T`` is uniform);
    * L1: all of ``c`` on a next state of least ``w/T``, ``R'(s,a,s*) = c / T(s,a,s*)``, at cost
      ``|c| min_{s'} w/T``;
    * L-inf: ``R'(s,a,s') = c`` wherever ``T > 0``, at cost ``|c|`` (``sum_{s'} T = 1``).

    A row with a next state of weight 0 that ``T`` reaches costs nothing (its reward is put there).
    What remains is a problem in ``phi`` alone: weighted least squares for L2 (closed form, one
    solve for the whole batch, numpy or torch), a weighted L1 or an L-inf regression for the others
    (a convex program with cvxpy, one per reward).

    Args:
        rewards: ``[B, S, A, S']``.
        mdp: The model (gamma, terminal states).
        transitions: ``T`` in the same library as ``rewards``.
        norm: 1, 2 or ``inf``.
        weights: Optional ``[S, A, S']`` weights of the norm (uniform when None).

    Returns:
        ``R'`` as ``[B, S, A, S']``, equivalent to ``R`` and of least norm in its class.
    """
    n_states, n_actions = mdp.n_states, mdp.n_actions
    live = ~mdp.terminal
    expected = _expected(rewards, transitions, mdp.terminal)  # [B, S, A]
    t_np = _numpy(transitions)
    w_np = np.ones_like(t_np) if weights is None else _numpy(weights)
    cost, direction = _row_costs(t_np, w_np, norm)  # [S, A], [S, A, S']
    # rows: live (s, a); unknowns: phi on live states
    rows = np.repeat(live, n_actions)
    design = mdp.gamma * t_np.reshape(n_states * n_actions, n_states)[:, live]
    design[np.arange(n_states * n_actions), np.repeat(np.cumsum(live) - 1, n_actions)] -= np.repeat(live, n_actions)
    design = design[rows]
    row_costs = cost.reshape(-1)[rows]
    targets = expected.reshape(expected.shape[0], -1)[:, _index(rows, expected)]  # [B, L_rows]
    if norm == 2:
        # weighted least squares by a pseudo-inverse computed once on the host, then one product for the
        # batch (numpy or torch, any device). Singular values below 1e-12 of the design's scale count as
        # 0: with gamma = 1 a constant phi does nothing, and a row of T that sums to 1 - 1e-16 must not
        # turn that into a huge phi.
        scale = np.sqrt(row_costs)
        scaled = design * scale[:, None]
        u, sing, vt = np.linalg.svd(scaled, full_matrices=False)
        keep = sing > 1e-12 * max(float(scale.max(initial=0.0)), float(sing.max(initial=0.0)))
        solve = (vt[keep].T / sing[keep]) @ u[:, keep].T * scale[None, :]  # phi = -solve @ target
        phi = -(targets @ _like(np.ascontiguousarray(solve.T), targets))  # [B, L]
        fitted = targets + phi @ _like(np.ascontiguousarray(design.T), targets)
    else:
        fitted_np = np.stack([_minimal_convex(row, design, row_costs, norm) for row in _numpy(targets)])
        fitted = _like(fitted_np, targets)
    out = _zeros_like(expected).reshape(expected.shape[0], -1)
    out[:, _index(rows, out)] = fitted
    return out.reshape(expected.shape)[..., None] * _like(direction, expected)


def _row_costs(transitions: np.ndarray, weights: np.ndarray, norm: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row ``(s, a)``: the cost factor ``k`` and the direction ``D [S, A, S']`` of the cheapest redistribution.

    A row of expectation ``c`` costs ``k c^2`` (L2), ``k |c|`` (L1) or ``k |c|`` inside a maximum
    (L-inf, ``k`` 0 or 1) when it is ``c D``; ``sum_{s'} T D = 1`` in every row.
    """
    support = transitions > 0
    free = support & (weights <= 0)  # reached next states whose reward the norm does not see
    has_free = np.any(free, axis=-1)
    direction = np.zeros_like(transitions)
    cost = np.zeros(transitions.shape[:2])
    with np.errstate(divide="ignore", invalid="ignore"):
        if norm == 1:
            ratio = np.where(support, weights / np.where(support, transitions, 1.0), np.inf)
            best = ratio.argmin(-1)  # a free next state has ratio 0
            cost = np.asarray(np.take_along_axis(ratio, best[..., None], -1)[..., 0])
            t_best = np.take_along_axis(transitions, best[..., None], -1)
            np.put_along_axis(direction, best[..., None], 1.0 / t_best, -1)
            return cost, direction
        if norm == 2:
            seen = support & ~has_free[..., None]
            ratio = np.where(seen, transitions / np.where(seen, weights, 1.0), 0.0)  # T / w
            total = (ratio * transitions).sum(-1)  # sum T^2 / w
            cost = np.where(has_free, 0.0, 1.0 / np.where(has_free, 1.0, total))
            direction = np.where(has_free[..., None], 0.0, ratio / np.where(has_free, 1.0, total)[..., None])
            free_t = np.where(free, transitions, 0.0)
            free_total = (free_t**2).sum(-1)
            direction += np.where(has_free[..., None], free_t / np.where(has_free, free_total, 1.0)[..., None], 0.0)
            return cost, direction
    # L-inf: c on every reached next state; with a free one, c / sum of T over the free ones there
    cost = (~has_free).astype(np.float64)
    free_mass = np.where(free, transitions, 0.0).sum(-1)
    direction = np.where(has_free[..., None], free / np.where(has_free, free_mass, 1.0)[..., None], support * 1.0)
    return cost, direction


def _minimal_convex(target: np.ndarray, design: np.ndarray, row_costs: np.ndarray, norm: float) -> np.ndarray:
    import cvxpy as cp

    counted = row_costs > 0
    if not counted.any():  # every row can be spread where the norm does not look: any phi will do
        return target
    phi = cp.Variable(design.shape[1])
    residual = target[counted] + design[counted] @ phi
    if norm == 1:
        objective = cp.sum(cp.multiply(row_costs[counted], cp.abs(residual)))
    else:
        objective = cp.max(cp.abs(residual))
    problem = cp.Problem(cp.Minimize(objective))
    problem.solve()
    if phi.value is None:
        raise RuntimeError(f"the minimal canonicalisation's convex program failed: status {problem.status}")
    return target + design @ phi.value


def _numpy(x: Any) -> np.ndarray:
    """A numpy array of ``x``, copied to the host when it is a torch tensor."""
    return x.detach().cpu().numpy() if _is_torch(x) else np.asarray(x)


def _like(array: np.ndarray, like: Any) -> Any:
    if _is_torch(like):
        import torch

        return torch.as_tensor(array, dtype=like.dtype, device=like.device)
    return array


def _zeros_like(x: Any) -> Any:
    if _is_torch(x):
        import torch

        return torch.zeros_like(x)
    return np.zeros_like(x)
