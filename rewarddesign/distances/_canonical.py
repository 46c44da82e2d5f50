"""Canonicalisations of tabular rewards: EPIC, DARD, VAL (value-adjusted levelling) and minimal.

A canonicalisation ``c`` maps a reward ``R [S, A, S']`` to a representative of its equivalence
class: ``c(R) = c(R')`` whenever ``R'`` differs from ``R`` by potential shaping (and, for ``val``
and ``minimal``, by redistributing reward over next states with the same expectation). All
functions here are batched (``[B, S, A, S']``) and run on numpy arrays or, unchanged, on torch
tensors, so the same code serves the CPU and CUDA paths.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rewarddesign.mdp import TabularMDP
from rewarddesign.mdp._solve import solve_policy_values

__all__ = ["CANONICALIZATIONS", "epic", "dard", "val", "minimal"]

#: Accepted canonicalisation names.
CANONICALIZATIONS = ("epic", "dard", "val", "minimal", "none")


def _is_torch(x: Any) -> bool:
    return not isinstance(x, np.ndarray)


def epic(rewards: Any, gamma: float, state_dist: Any, action_dist: Any) -> Any:
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


def dard(rewards: Any, gamma: float, transitions: Any, action_dist: Any) -> Any:
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


def val(rewards: Any, mdp: TabularMDP, transitions: Any, policy: Any) -> Any:
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


def minimal(rewards: Any, mdp: TabularMDP, transitions: Any, norm: float, weights: Any | None) -> Any:
    """The canonicalisation of least norm: ``min_phi n(E_{S'}[R] + gamma T phi - phi)``, solved exactly.

    Over the class of ``R`` under potential shaping and next-state redistribution, the member
    ``c(s, a) = E_{S'~T(s,a)}[R(s,a,S')] + gamma (T phi)(s, a) - phi(s)`` of least norm. With
    ``norm=2`` this is a weighted least-squares problem in ``|S|`` unknowns, solved in closed
    form for the whole batch; with ``norm=1`` or ``inf`` a convex program (cvxpy), one per reward.
    ``phi`` is 0 in terminal states, as shaping requires.

    Args:
        rewards: ``[B, S, A, S']``.
        mdp: The model (gamma, terminal states).
        transitions: ``T`` in the same library as ``rewards``.
        norm: 1, 2 or ``inf``.
        weights: Optional ``[S, A, S']`` weights of the norm (uniform when None).
    """
    n_states, n_actions = mdp.n_states, mdp.n_actions
    live = ~mdp.terminal
    expected = _expected(rewards, transitions, mdp.terminal)  # [B, S, A]
    t_np = _numpy(transitions)
    # rows: live (s, a); unknowns: phi on live states
    rows = np.repeat(live, n_actions)
    design = mdp.gamma * t_np.reshape(n_states * n_actions, n_states)[:, live]
    design[np.arange(n_states * n_actions), np.repeat(np.cumsum(live) - 1, n_actions)] -= np.repeat(live, n_actions)
    design = design[rows]
    if weights is None:
        row_weights = np.full(int(rows.sum()), float(n_states))
    else:
        w = _numpy(weights)
        row_weights = w.sum(-1).reshape(-1)[rows]
    targets = expected.reshape(expected.shape[0], -1)[:, _index(rows, expected)]  # [B, L_rows]
    if norm == 2:
        scale = np.sqrt(row_weights)
        if _is_torch(targets):
            import torch

            a = torch.as_tensor(design * scale[:, None], dtype=targets.dtype, device=targets.device)
            b = (targets * torch.as_tensor(scale, dtype=targets.dtype, device=targets.device)).T
            phi = -torch.linalg.lstsq(a, b).solution.T  # [B, L]
            fitted = targets + phi @ torch.as_tensor(design.T, dtype=targets.dtype, device=targets.device)
        else:
            phi = -np.linalg.lstsq(design * scale[:, None], (targets * scale).T, rcond=None)[0].T
            fitted = targets + phi @ design.T
    else:
        fitted_np = np.stack([_minimal_convex(row, design, row_weights, norm) for row in _numpy(targets)])
        fitted = _like(fitted_np, targets)
    out = _zeros_like(expected).reshape(expected.shape[0], -1)
    out[:, _index(rows, out)] = fitted
    return _along_next_state(out.reshape(expected.shape), n_states)


def _minimal_convex(target: np.ndarray, design: np.ndarray, row_weights: np.ndarray, norm: float) -> np.ndarray:
    import cvxpy as cp

    phi = cp.Variable(design.shape[1])
    residual = target + design @ phi
    if norm == 1:
        objective = cp.sum(cp.multiply(row_weights, cp.abs(residual)))
    else:
        objective = cp.max(cp.abs(residual[row_weights > 0]))
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
