"""Exact KL-regularised control on tabular MDPs: soft value iteration with a reference prior.

The objective, from the initial distribution, is
``E[sum_t gamma^t (r_t - beta KL(pi(.|s_t) || ref(.|s_t)))]``. Its optimal values satisfy

``Q(s, a) = r(s, a) + gamma E[V(s')]``, ``V(s) = beta log sum_a ref(a|s) exp(Q(s, a) / beta)``,

and the optimal policy is ``pi(a|s) = ref(a|s) exp((Q(s, a) - V(s)) / beta)``. ``beta = 0`` is the
unregularised problem restricted to the reference's support (``V = max_a Q``, a greedy policy);
``beta = inf`` is the reference itself (``V = sum_a ref Q``).

The backup is monotone and shifts by ``gamma c`` when ``V`` shifts by ``c``, so the bounds of
MacQueen hold: after a sweep with change ``d = TV - V``, the fixed point lies in
``[TV + gamma/(1-gamma) min d, TV + gamma/(1-gamma) max d]`` (in an MDP without terminal states;
with terminal states the sup-norm bound ``gamma/(1-gamma) max |d|`` is used). Iteration stops when
that interval is narrower than ``tol`` relative to the values, and the midpoint is returned, so the
values are exact to the stated tolerance however slowly the plain iteration converges.
Everything is batched over betas (and rewards), runs with torch in float64 on the CPU or CUDA,
and uses the transitions' sparsity: a model with few successors per state-action pair is stored
as a sparse ``[S A, S]`` matrix.

Policy evaluation (returns and the discounted KL) is a linear solve per policy for small models
and the same bounded iteration with ``beta = inf`` for large ones.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from rewarddesign._validation import as_float_array, check_device, check_positive_int, check_real
from rewarddesign.mdp import TabularMDP, as_policy_matrix, check_mdp

__all__ = [
    "KLRegularizedSolution",
    "solve_kl_regularized",
    "kl_regularized_policy",
    "policy_kl",
    "policy_returns",
    "check_betas",
]

#: Models up to this many live states are evaluated by dense linear solves, larger ones iteratively.
DIRECT_SOLVE_STATES = 400


def check_betas(beta: ArrayLike, name: str = "beta") -> tuple[NDArray[np.float64], bool]:
    """``beta`` as a float array ``[B]`` of values in ``[0, inf]``, and whether it was a scalar.

    Raises:
        ValueError: An entry is NaN or negative, the array is empty or has more than one axis.
        TypeError: ``beta`` is not numeric.
    """
    try:
        array = np.asarray(beta, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or a 1-D array of numbers, got {beta!r}") from None
    if isinstance(beta, bool) or np.asarray(beta).dtype.kind == "b":
        raise TypeError(f"{name} must be a number or a 1-D array of numbers, got {beta!r}")
    scalar = array.ndim == 0
    array = array.reshape(-1) if scalar else array
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a number or a non-empty 1-D array, got shape {np.shape(beta)}")
    bad = np.isnan(array) | (array < 0)
    if np.any(bad):
        raise ValueError(f"{name} must hold values in [0, inf], got {array[bad][0]!r}")
    return array, scalar


def _check_gamma_below_one(mdp: TabularMDP) -> None:
    if mdp.gamma >= 1.0:
        raise ValueError(
            f"mdp.gamma must be below 1 for KL-regularised control (the discounted KL of an episodic "
            f"model need not be finite), got {mdp.gamma!r}"
        )


class _Model:
    """The MDP's transitions on a torch device: dense ``[S, A, S]`` or sparse ``[S A, S]``."""

    def __init__(self, mdp: TabularMDP, device: torch.device) -> None:
        self.mdp = mdp
        self.device = device
        self.n_states, self.n_actions = mdp.n_states, mdp.n_actions
        self.gamma = float(mdp.gamma)
        transitions = np.array(mdp.transitions)
        transitions[mdp.terminal] = 0.0  # nothing is collected after a terminal state
        successors = int((transitions > 0).sum(-1).max()) if transitions.size else 0
        self.sparse = successors * 8 <= self.n_states
        flat = transitions.reshape(self.n_states * self.n_actions, self.n_states)
        if self.sparse:
            rows, cols = np.nonzero(flat)
            counts = np.bincount(rows, minlength=flat.shape[0])
            crow = torch.as_tensor(np.concatenate([[0], np.cumsum(counts)]))
            with warnings.catch_warnings():  # torch calls its CSR support beta; matmul is all that is used
                warnings.simplefilter("ignore", UserWarning)
                self.matrix = torch.sparse_csr_tensor(
                    crow, torch.as_tensor(cols), torch.as_tensor(flat[rows, cols]), flat.shape
                ).to(device)
        else:
            self.matrix = torch.as_tensor(flat, device=device)
        self.dense = torch.as_tensor(transitions, device=device) if self.n_states <= DIRECT_SOLVE_STATES else None
        self.terminal = torch.as_tensor(np.array(mdp.terminal), device=device)
        self.any_terminal = bool(mdp.terminal.any())
        self.initial = torch.as_tensor(np.array(mdp.initial), device=device)

    def expect(self, values: torch.Tensor) -> torch.Tensor:
        """``E[V(s') | s, a]`` for values ``[B, S]``: ``[B, S, A]``."""
        batch = values.shape[0]
        out = self.matrix @ values.T  # [S A, B]
        return out.T.reshape(batch, self.n_states, self.n_actions)

    def tensor(self, array: ArrayLike) -> torch.Tensor:
        return torch.as_tensor(np.asarray(array, dtype=np.float64), device=self.device)


class _SoftMax:
    """``beta log sum_a ref exp(q / beta)`` over the last axis of ``q [B, S, A]``, with its limits at 0 and inf.

    Written as ``m + beta log1p(sum_a ref expm1((q - m) / beta))`` (``m`` the largest ``q`` on the
    reference's support), which keeps full precision for very large betas. The betas are split once
    into finite positive ones, zeros and infinities, so each sweep computes only what it needs.
    """

    #: Above this beta the exponentials are taken with expm1/log1p (exp/log lose ``beta * eps``).
    WIDE = 10.0

    def __init__(self, ref: torch.Tensor, betas: torch.Tensor) -> None:
        self.ref = ref
        self.full_support = bool((ref > 0).all())
        self.minus_inf = torch.tensor(-math.inf, dtype=ref.dtype, device=ref.device)
        finite = (betas > 0) & torch.isfinite(betas)
        masks = (
            (finite & (betas <= self.WIDE), "soft"),
            (finite & (betas > self.WIDE), "wide"),
            (betas == 0, "max"),
            (torch.isinf(betas), "mean"),
        )
        self.groups = [(torch.nonzero(mask).reshape(-1), kind) for mask, kind in masks if bool(mask.any())]
        self.everything = len(self.groups) == 1
        self.scale = {kind: betas[mask][:, None] for mask, kind in masks[:2]}  # [F, 1]
        self.inverse = {kind: (1.0 / betas[mask])[:, None, None] for mask, kind in masks[:2]}

    def support(self, q: torch.Tensor) -> torch.Tensor:
        return q if self.full_support else torch.where(self.ref > 0, q, self.minus_inf)

    def _group(self, q: torch.Tensor, kind: str) -> torch.Tensor:
        if kind == "mean":
            return torch.einsum("bsa,sa->bs", q, self.ref)
        top = self.support(q).amax(-1)
        if kind == "max":
            return top
        y = (q - top[..., None]) * self.inverse[kind]
        terms = torch.exp(y) if kind == "soft" else torch.expm1(y)
        if not self.full_support:
            terms = torch.where(self.ref > 0, terms, 0.0)
        total = torch.einsum("bsa,sa->bs", terms, self.ref)
        return top + self.scale[kind] * (torch.log(total) if kind == "soft" else torch.log1p(total))

    def __call__(self, q: torch.Tensor) -> torch.Tensor:
        if self.everything:
            return self._group(q, self.groups[0][1])
        out = torch.empty(q.shape[:-1], dtype=q.dtype, device=q.device)
        for index, kind in self.groups:
            out[index] = self._group(q[index], kind)
        return out


def _iterate(
    model: _Model,
    backup: Any,
    shape: tuple[int, ...],
    tol: float,
    max_iterations: int,
    state_axis: int = -1,
) -> tuple[torch.Tensor, int]:
    """Iterate ``V <- backup(V)`` until the MacQueen bounds (or the sup-norm bound) close.

    Values are ``[B, S]`` (``state_axis=-1``) or ``[S, B]`` (``state_axis=0``).
    """
    gamma = model.gamma
    values = torch.zeros(shape, dtype=torch.float64, device=model.device)
    if gamma == 0.0:
        return backup(values), 1
    factor = gamma / (1.0 - gamma)
    live = ~model.terminal if state_axis == -1 else (~model.terminal)[:, None]
    best_width, stale = math.inf, 0
    for iteration in range(1, max_iterations + 1):
        new = backup(values)
        change = new - values
        if model.any_terminal:
            width = factor * change.abs().amax(state_axis) * 2.0
            shift = torch.zeros_like(width)
        else:
            low, high = change.amin(state_axis), change.amax(state_axis)
            width = factor * (high - low)
            shift = factor * (low + high) / 2.0
        scale = 1.0 + new.abs().amax(state_axis)
        values = new
        ratio = float((width / scale).max())
        if ratio <= tol:
            return values + shift.unsqueeze(state_axis) * live, iteration
        # round-off floor: the bound stopped shrinking for many sweeps at a width near machine precision
        if ratio < best_width * 0.999:
            best_width, stale = ratio, 0
        else:
            stale += 1
        if stale > 50 and ratio < 1e-9:
            return values + shift.unsqueeze(state_axis) * live, iteration
    raise RuntimeError(
        f"soft value iteration did not converge within max_iterations={max_iterations} "
        f"(relative bound width {ratio:.3g} > tol {tol:g})"
    )


@dataclass(frozen=True)
class KLRegularizedSolution:
    """What :func:`solve_kl_regularized` returns (a leading batch axis ``[B]`` when several betas were given).

    Attributes:
        betas: The KL weights ``[B]``.
        policy: Optimal policies ``[B, S, A]``.
        v: Regularised optimal values ``[B, S]`` (reward minus ``beta`` times the discounted KL).
        q: Regularised optimal action values ``[B, S, A]``.
        objective: ``initial @ v``: the optimal regularised return ``[B]``.
        iterations: Sweeps of soft value iteration.
    """

    betas: NDArray[np.float64]
    policy: NDArray[np.float64]
    v: NDArray[np.float64]
    q: NDArray[np.float64]
    objective: NDArray[np.float64]
    iterations: int


def _expected_rewards(mdp: TabularMDP, reward: ArrayLike, name: str = "reward") -> NDArray[np.float64]:
    """``[S, A]`` expected rewards of ``[S]``, ``[S, A]`` or ``[S, A, S']``; a batch ``[B, S, A]`` passes as it is."""
    array = as_float_array(reward, name)
    if array.ndim == 3 and array.shape[1:] == (mdp.n_states, mdp.n_actions) and array.shape[0] != mdp.n_states:
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must be finite, got NaN or inf")
        out = np.array(array)
        out[:, mdp.terminal] = 0.0
        return out
    return mdp.expected_reward(array)


def _solve(
    model: _Model,
    expected: torch.Tensor,
    ref: torch.Tensor,
    betas: torch.Tensor,
    tol: float,
    max_iterations: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """Values ``[B, S]``, action values and policies ``[B, S, A]`` for expected rewards ``[B|1, S, A]``."""
    log_ref = torch.log(ref)
    live = (~model.terminal)[None, :]
    gamma = model.gamma
    soft_max = _SoftMax(ref, betas)

    def q_of(values: torch.Tensor) -> torch.Tensor:
        q = torch.add(expected, model.expect(values), alpha=gamma)
        return q * live[..., None] if model.any_terminal else q

    def backup(values: torch.Tensor) -> torch.Tensor:
        v = soft_max(q_of(values))
        return v * live if model.any_terminal else v

    values, iterations = _iterate(model, backup, (len(betas), model.n_states), tol, max_iterations)
    q = q_of(values)
    b = betas[:, None, None]
    finite = (b > 0) & torch.isfinite(b)
    safe_b = torch.where(finite, b, torch.ones_like(b))
    logits = torch.where(ref > 0, log_ref + (q - values[..., None]) / safe_b, torch.full_like(q, -math.inf))
    soft = torch.softmax(logits, -1)
    support_q = torch.where(ref > 0, q, torch.full_like(q, -math.inf))
    greedy = torch.nn.functional.one_hot(support_q.argmax(-1), model.n_actions).to(q.dtype)
    policy = torch.where(finite, soft, torch.where(b == 0, greedy, ref.expand_as(q)))
    policy = torch.where(model.terminal[None, :, None], ref.expand_as(q), policy)
    return values, q, policy, iterations


def _check_reference(mdp: TabularMDP, reference: ArrayLike) -> NDArray[np.float64]:
    return as_policy_matrix(reference, mdp.n_states, mdp.n_actions, "reference")


def _check_tol(tol: float, max_iterations: int) -> tuple[float, int]:
    tol = check_real(tol, "tol", low=0.0, low_open=True)
    return tol, check_positive_int(max_iterations, "max_iterations")


def solve_kl_regularized(
    mdp: TabularMDP,
    reward: ArrayLike,
    reference: ArrayLike,
    beta: ArrayLike,
    *,
    tol: float = 1e-12,
    max_iterations: int = 100_000,
    device: torch.device | str = "cpu",
) -> KLRegularizedSolution:
    """Optimal KL-regularised policies, values and action values for one or many betas.

    Args:
        mdp: The model; ``mdp.gamma`` must be below 1.
        reward: ``[S]``, ``[S, A]`` or ``[S, A, S']``; or a batch of expected rewards ``[B, S, A]``,
            one per beta.
        reference: The prior policy ``[S, A]`` (or deterministic actions ``[S]``). Actions outside
            its support get probability 0 at every beta.
        beta: The KL weight, a number or a 1-D array ``[B]`` of numbers in ``[0, inf]``.
        tol: Stop when the bound on the values' error is below ``tol`` times ``1 + max |V|``.
        max_iterations: Sweeps allowed.
        device: Where torch computes (``"cpu"``, ``"cuda"``, ``"auto"``).

    Raises:
        TypeError: ``mdp`` is not a :class:`~rewarddesign.mdp.TabularMDP` or ``beta`` is not numeric.
        ValueError: A bad shape, a reference whose rows are not distributions, a negative or NaN
            beta, ``mdp.gamma`` of 1, or a bad ``tol``/``max_iterations``.
        RuntimeError: No convergence in ``max_iterations`` sweeps.
    """
    check_mdp(mdp)
    _check_gamma_below_one(mdp)
    betas, _ = check_betas(beta)
    tol, max_iterations = _check_tol(tol, max_iterations)
    ref_np = _check_reference(mdp, reference)
    expected_np = _expected_rewards(mdp, reward)
    if expected_np.ndim == 3 and expected_np.shape[0] != len(betas):
        raise ValueError(
            f"a batch of rewards [B, S, A] needs one beta per reward, got {expected_np.shape[0]} rewards "
            f"and {len(betas)} betas"
        )
    model = _Model(mdp, check_device(device))
    expected = model.tensor(expected_np)
    expected = expected[None] if expected.ndim == 2 else expected
    values, q, policy, iterations = _solve(
        model, expected, model.tensor(ref_np), model.tensor(betas), tol, max_iterations
    )
    v_np = values.cpu().numpy()
    return KLRegularizedSolution(
        betas=betas,
        policy=policy.cpu().numpy(),
        v=v_np,
        q=q.cpu().numpy(),
        objective=v_np @ mdp.initial,
        iterations=iterations,
    )


def kl_regularized_policy(
    mdp: TabularMDP,
    reward: ArrayLike,
    reference: ArrayLike,
    beta: ArrayLike,
    *,
    tol: float = 1e-12,
    max_iterations: int = 100_000,
    device: torch.device | str = "cpu",
) -> NDArray[np.float64]:
    """The policy maximising ``E[sum_t gamma^t (r_t - beta KL(pi(.|s_t) || reference(.|s_t)))]`` from ``mdp.initial``.

    Soft value iteration with the reference as prior, solved to the precision ``tol`` (see the
    module's notes on the bounds that certify it). ``beta = inf`` gives the reference, ``beta = 0``
    a greedy optimal policy on the reference's support (ties to the lowest action).

    Args:
        mdp: The model; ``mdp.gamma`` must be below 1.
        reward: ``[S]``, ``[S, A]`` or ``[S, A, S']``.
        reference: The prior policy ``[S, A]``.
        beta: A number, or a 1-D array ``[B]`` to solve for every beta at once.
        tol: Relative precision of the values.
        max_iterations: Sweeps allowed.
        device: Where torch computes.

    Returns:
        The policy ``[S, A]`` for a scalar beta, policies ``[B, S, A]`` for an array of betas.

    Example:
        >>> import numpy as np
        >>> from rewarddesign.mdp import random_mdp
        >>> mdp = random_mdp(4, 2, gamma=0.9, rng=0)
        >>> reference = np.full((4, 2), 0.5)
        >>> reward = np.array([[1.0, 0.0]] * 4)
        >>> kl_regularized_policy(mdp, reward, reference, np.inf)[0]
        array([0.5, 0.5])
        >>> kl_regularized_policy(mdp, reward, reference, 0.0)[0]
        array([1., 0.])
        >>> kl_regularized_policy(mdp, reward, reference, [0.1, 1.0, 10.0]).shape
        (3, 4, 2)
    """
    _, scalar = check_betas(beta)
    solution = solve_kl_regularized(mdp, reward, reference, beta, tol=tol, max_iterations=max_iterations, device=device)
    return solution.policy[0] if scalar else solution.policy


def _state_kl(policy: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """``KL(pi(.|s) || ref(.|s))`` ``[B, S]`` (``0 log 0 = 0``; inf where pi leaves ref's support)."""
    inside = policy > 0
    log_pi = torch.log(torch.where(inside, policy, torch.ones_like(policy)))
    terms = torch.where(inside, policy * (log_pi - torch.log(ref)), torch.zeros_like(policy))
    return terms.sum(-1)


def _evaluate(
    model: _Model, policy: torch.Tensor, rewards: torch.Tensor, tol: float = 1e-12, max_iterations: int = 100_000
) -> torch.Tensor:
    """Values ``[B, R, S]`` of policies ``[B, S, A]`` on expected rewards ``[B|1, R, S, A]``."""
    batch, n_rewards = policy.shape[0], rewards.shape[1]
    r_pi = (policy[:, None] * rewards).sum(-1) * (~model.terminal)  # [B, R, S]
    if model.gamma == 0.0:
        return r_pi
    if model.dense is not None:
        live = torch.nonzero(~model.terminal).reshape(-1)
        p_pi = torch.einsum("bsa,sat->bst", policy, model.dense)[:, live][:, :, live]  # [B, L, L]
        eye = torch.eye(len(live), dtype=p_pi.dtype, device=p_pi.device)
        solution = torch.linalg.solve(eye - model.gamma * p_pi, r_pi[..., live].transpose(1, 2))  # [B, L, R]
        values = torch.zeros((batch, n_rewards, model.n_states), dtype=r_pi.dtype, device=r_pi.device)
        values[..., live] = solution.transpose(1, 2)
        return values
    # values kept state-major, [S, B R]: the transition matrix multiplies them without a transpose
    live = (~model.terminal)[:, None]
    n_states, n_actions = model.n_states, model.n_actions
    r_states = r_pi.reshape(batch * n_rewards, n_states).T.contiguous()  # [S, B R]
    weights = policy.permute(1, 2, 0)[..., None]  # [S, A, B, 1]

    def backup(values: torch.Tensor) -> torch.Tensor:
        following = (model.matrix @ values).reshape(n_states, n_actions, batch, n_rewards)
        out = torch.add(r_states, (following * weights).sum(1).reshape(n_states, -1), alpha=model.gamma)
        return out * live if model.any_terminal else out

    values, _ = _iterate(model, backup, (n_states, batch * n_rewards), tol, max_iterations, state_axis=0)
    return values.T.reshape(batch, n_rewards, n_states)


def _as_policies(mdp: TabularMDP, policy: ArrayLike, name: str = "policy") -> tuple[NDArray[np.float64], bool]:
    array = np.asarray(policy)
    if array.ndim == 3:
        return np.stack([as_policy_matrix(p, mdp.n_states, mdp.n_actions, name) for p in array]), False
    return as_policy_matrix(policy, mdp.n_states, mdp.n_actions, name)[None], True


def policy_kl(
    mdp: TabularMDP, policy: ArrayLike, reference: ArrayLike, *, device: torch.device | str = "cpu"
) -> float | NDArray[np.float64]:
    """``E_{s_0 ~ initial}[sum_t gamma^t KL(pi(.|s_t) || reference(.|s_t))]``, exactly.

    Terminal states contribute nothing (no action is taken there). A policy that puts mass on an
    action the reference never takes, in a state it reaches, has infinite KL.

    Args:
        mdp: The model; ``mdp.gamma`` must be below 1.
        policy: ``[S, A]`` (or deterministic actions ``[S]``), or a batch ``[B, S, A]``.
        reference: ``[S, A]``.
        device: Where torch computes.

    Returns:
        A float, or ``[B]`` for a batch of policies.

    Example:
        >>> import numpy as np
        >>> from rewarddesign.mdp import random_mdp
        >>> mdp = random_mdp(3, 2, gamma=0.5, rng=0)
        >>> reference = np.full((3, 2), 0.5)
        >>> policy_kl(mdp, reference, reference)
        0.0
        >>> round(policy_kl(mdp, np.zeros(3, dtype=int), reference), 6)  # log 2 / (1 - 0.5)
        1.386294
    """
    check_mdp(mdp)
    _check_gamma_below_one(mdp)
    ref_np = _check_reference(mdp, reference)
    policies, single = _as_policies(mdp, policy)
    model = _Model(mdp, check_device(device))
    pi, ref = model.tensor(policies), model.tensor(ref_np)
    kl = _state_kl(pi, ref)  # [B, S]
    reachable_inf = torch.isinf(kl)
    if bool(reachable_inf.any()):
        # infinite where a state with infinite KL is reached: evaluate reachability with an indicator
        indicator = reachable_inf.to(torch.float64)[:, None, :, None].expand(-1, 1, -1, mdp.n_actions)
        reach = _evaluate(model, pi, indicator) @ model.initial  # [B, 1]
        kl = torch.where(reachable_inf, torch.zeros_like(kl), kl)
        values = _evaluate(model, pi, kl[:, None, :, None].expand(-1, 1, -1, mdp.n_actions)) @ model.initial
        out = torch.where(reach[:, 0] > 0, torch.full_like(values[:, 0], math.inf), values[:, 0])
    else:
        out = (_evaluate(model, pi, kl[:, None, :, None].expand(-1, 1, -1, mdp.n_actions)) @ model.initial)[:, 0]
    result = out.clamp_min(0.0).cpu().numpy()
    return float(result[0]) if single else result


def policy_returns(
    mdp: TabularMDP, rewards: ArrayLike, policy: ArrayLike, *, device: torch.device | str = "cpu"
) -> NDArray[np.float64]:
    """Exact discounted returns from ``mdp.initial`` of policies ``[B, S, A]`` on rewards ``[R, ...]``: ``[B, R]``.

    Args:
        mdp: The model; ``mdp.gamma`` must be below 1.
        rewards: A stack of rewards, each ``[S]``, ``[S, A]`` or ``[S, A, S']``.
        policy: ``[S, A]`` or ``[B, S, A]``.
        device: Where torch computes.
    """
    check_mdp(mdp)
    _check_gamma_below_one(mdp)
    policies, _ = _as_policies(mdp, policy)
    stack = [mdp.expected_reward(r) for r in as_float_array(rewards, "rewards")]
    model = _Model(mdp, check_device(device))
    values = _evaluate(model, model.tensor(policies), model.tensor(np.stack(stack))[None])
    return (values @ model.initial).cpu().numpy()
