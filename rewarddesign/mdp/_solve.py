"""Exact solvers for tabular MDPs: policy evaluation by a linear solve, value iteration, returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rewarddesign._validation import as_float_array, check_finite, check_positive_int
from rewarddesign.mdp._tabular import TabularMDP, as_policy_matrix, check_mdp

__all__ = ["OptimalSolution", "policy_evaluation", "value_iteration", "greedy_policy", "policy_return", "regret"]

if TYPE_CHECKING:
    import torch

#: A float array of numpy or torch: the solver runs in the library of its inputs.
_Array = TypeVar("_Array", "NDArray[np.float64]", "torch.Tensor")


def solve_policy_values(
    transitions: _Array, terminal: NDArray[np.bool_], gamma: float, expected: _Array, policy: _Array
) -> _Array:
    """``V^pi`` for a batch of expected rewards, by one linear solve with many right-hand sides.

    Works on numpy arrays and on torch tensors alike (whatever ``transitions`` is), so the torch
    paths of the library share this one implementation.

    Args:
        transitions: ``T [S, A, S']``.
        terminal: Boolean numpy mask ``[S]``; values there are 0 and nothing is collected after them.
        gamma: The discount.
        expected: Expected rewards ``[..., S, A]``.
        policy: Probabilities ``[S, A]``.

    Returns:
        Values ``[..., S]``, of the same library and device as ``transitions``.
    """
    is_torch = not isinstance(transitions, np.ndarray)
    live = np.flatnonzero(~terminal)
    # one body for both libraries: the arrays are handled dynamically, the signature says what comes back
    t: Any = transitions
    pi: Any = policy
    live_index: Any
    if is_torch:
        import torch

        live_index = torch.as_tensor(live, device=t.device)
        eye: Any = torch.eye(len(live), dtype=t.dtype, device=t.device)
        solve: Any = torch.linalg.solve
        zeros: Any = lambda shape: torch.zeros(shape, dtype=t.dtype, device=t.device)
    else:
        live_index, eye, solve, zeros = live, np.eye(len(live)), np.linalg.solve, np.zeros
    p_pi = (pi[:, :, None] * t).sum(1)[live_index][:, live_index]  # [L, L]
    r_pi = (pi * expected).sum(-1)[..., live_index]  # [..., L]
    batch_shape = tuple(r_pi.shape[:-1])
    rhs = r_pi.reshape(-1, len(live)).T  # [L, K]
    singular = ValueError(
        f"policy evaluation is singular for gamma={gamma}: with gamma = 1 every state must reach "
        "a terminal state under the policy (or use gamma < 1)"
    )
    system = eye - gamma * p_pi
    if gamma >= 1.0:  # round-off can hide a singular system from the solver: test its singular values
        # against the identity's scale (a condition number alone misses a 1 x 1 system 1 - (1 - 1e-16))
        sing = np.linalg.svd(system.detach().cpu().numpy() if is_torch else system, compute_uv=False)
        if sing.size and not sing.min() > 1e-12 * max(1.0, float(sing.max())):
            raise singular
    try:
        solution = solve(system, rhs).T.reshape(batch_shape + (len(live),))
    except (np.linalg.LinAlgError, RuntimeError):
        raise singular from None
    values = zeros(batch_shape + (len(terminal),))
    values[..., live_index] = solution
    return values


def _solve_values(mdp: TabularMDP, expected: NDArray[np.float64], policy: NDArray[np.float64]) -> NDArray[np.float64]:
    """Solve ``V = r_pi + gamma P_pi V`` for V, with ``V = 0`` in terminal states."""
    return solve_policy_values(mdp.transitions, mdp.terminal, mdp.gamma, expected, policy)


def _q_from_v(mdp: TabularMDP, expected: NDArray[np.float64], values: NDArray[np.float64]) -> NDArray[np.float64]:
    q = expected + mdp.gamma * mdp.transitions @ values
    q[mdp.terminal] = 0.0
    return q


def policy_evaluation(
    mdp: TabularMDP, reward: ArrayLike, policy: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Exact ``V^pi [S]`` and ``Q^pi [S, A]`` by one linear solve.

    Args:
        mdp: The model.
        reward: ``[S]``, ``[S, A]`` or ``[S, A, S']``.
        policy: Probabilities ``[S, A]`` or deterministic actions ``[S]``.

    Example:
        >>> import numpy as np
        >>> from rewarddesign.mdp import TabularMDP
        >>> mdp = TabularMDP(np.ones((1, 1, 1)), [1.0], gamma=0.5)
        >>> v, q = policy_evaluation(mdp, np.ones(1), np.zeros(1, dtype=int))
        >>> float(v[0])  # 1 / (1 - 0.5)
        2.0
    """
    check_mdp(mdp)
    policy = as_policy_matrix(policy, mdp.n_states, mdp.n_actions)
    expected = mdp.expected_reward(reward)
    values = _solve_values(mdp, expected, policy)
    return values, _q_from_v(mdp, expected, values)


def greedy_policy(q: ArrayLike) -> NDArray[np.intp]:
    """Deterministic greedy actions ``[S]`` (ties go to the lowest action index).

    Raises:
        ValueError: ``q`` holds NaN or inf (an argmax would pick the NaN's action), or has no actions.
    """
    values = check_finite(as_float_array(q, "q"), "q")
    if values.ndim == 0 or values.shape[-1] == 0:
        raise ValueError(f"q must be [..., A] with at least one action, got shape {values.shape}")
    return values.argmax(axis=-1)


@dataclass(frozen=True)
class OptimalSolution:
    """What :func:`value_iteration` returns: optimal ``q [S, A]``, ``v [S]`` and a greedy ``policy [S]``."""

    q: NDArray[np.float64]
    v: NDArray[np.float64]
    policy: NDArray[np.intp]
    iterations: int


def value_iteration(
    mdp: TabularMDP, reward: ArrayLike, *, tol: float = 1e-10, max_iterations: int = 100_000
) -> OptimalSolution:
    """Optimal action values, values and a greedy policy.

    Value iteration runs until successive values differ by less than ``tol``; the greedy policy is
    then polished by exact policy iteration (each step one linear solve), so the returned ``q`` is
    the exact value of an optimal policy, correct to the precision of the linear solve rather than
    to ``tol``.

    Raises:
        TypeError: ``mdp`` is not a :class:`~rewarddesign.mdp.TabularMDP`.
        ValueError: ``tol`` is not a positive finite number, or ``max_iterations`` not a positive integer.
        RuntimeError: Value iteration did not converge in ``max_iterations`` sweeps.
    """
    check_mdp(mdp)
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.integer, np.floating)) or not 0 < tol < np.inf:
        raise ValueError(f"tol must be a positive finite number, got {tol!r}")
    check_positive_int(max_iterations, "max_iterations")
    expected = mdp.expected_reward(reward)
    values = np.zeros(mdp.n_states)
    for iteration in range(1, max_iterations + 1):  # noqa: B007  (reported after the loop)
        q = _q_from_v(mdp, expected, values)
        new_values = q.max(axis=1)
        delta = np.max(np.abs(new_values - values))
        values = new_values
        if delta < tol:
            break
    else:
        raise RuntimeError(
            f"value iteration did not converge within max_iterations={max_iterations} (last change {delta})"
        )
    policy = greedy_policy(q)
    for _ in range(mdp.n_states * mdp.n_actions + 1):
        values = _solve_values(mdp, expected, as_policy_matrix(policy, mdp.n_states, mdp.n_actions))
        q = _q_from_v(mdp, expected, values)
        # improve only where another action is better by more than round-off, so the loop ends
        best = greedy_policy(q)
        improve = q[np.arange(mdp.n_states), best] > q[np.arange(mdp.n_states), policy] + 1e-12 * (1 + np.abs(q).max())
        if not improve.any():
            break
        policy = np.where(improve, best, policy)
    return OptimalSolution(q=q, v=values, policy=policy, iterations=iteration)


def policy_return(mdp: TabularMDP, reward: ArrayLike, policy: ArrayLike) -> float:
    """Expected discounted return of ``policy`` from the initial distribution."""
    values, _ = policy_evaluation(mdp, reward, policy)
    return float(mdp.initial @ values)


def regret(mdp: TabularMDP, reward: ArrayLike, policy: ArrayLike) -> float:
    """Optimal return minus the return of ``policy`` (both under ``reward``); never negative up to round-off."""
    optimal = value_iteration(check_mdp(mdp), reward)
    return float(mdp.initial @ optimal.v) - policy_return(mdp, reward, policy)
