"""Norms, STARC distances, EPIC and DARD distances, and distance matrices for tabular rewards."""

from __future__ import annotations

import math
from typing import Any, Literal, TypeVar, cast, overload

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from rewarddesign._validation import as_float_array, check_device, check_finite, check_probabilities
from rewarddesign.distances import _canonical as canon
from rewarddesign.distances._canonical import Canonicalization, _numpy
from rewarddesign.mdp import TabularMDP, as_policy_matrix, check_mdp

__all__ = [
    "NormOrder",
    "DistanceKind",
    "canonicalize",
    "norm",
    "transition_weights",
    "standardize",
    "starc_distance",
    "epic_distance",
    "dard_distance",
    "distance_matrix",
    "pearson_distance",
]

#: A norm's order: a number p >= 1 (``math.inf`` for the maximum norm) or one of the names.
NormOrder = float | Literal["l1", "l2", "linf", "inf"]
#: What :func:`distance_matrix` computes.
DistanceKind = Literal["starc", "epic", "dard"]
#: Weights of a norm: an array ``[S, A, S']``, ``"transition"`` for :func:`transition_weights`, or None (uniform).
_NormWeights = ArrayLike | Literal["transition"] | None
#: Where to compute: None for numpy, else a torch device (``"cpu"``, ``"cuda"``, ``"auto"``).
_Device = str | torch.device | None
#: A float array in numpy or torch: these functions compute in the library of their input.
_Batch = TypeVar("_Batch", NDArray[np.float64], torch.Tensor)
_Rho = TypeVar("_Rho", float, NDArray[np.float64], torch.Tensor)

_NORM_NAMES = {"l1": 1.0, "l2": 2.0, "linf": math.inf, "inf": math.inf}


def _order(value: NormOrder, name: str) -> float:
    """A norm order: 1, 2, ``inf`` (or the names ``l1``, ``l2``, ``linf``), or any p >= 1."""
    if isinstance(value, str):
        if value.lower() not in _NORM_NAMES:
            raise ValueError(f"{name} must be one of {sorted(_NORM_NAMES)} or a number p >= 1, got {value!r}")
        return _NORM_NAMES[value.lower()]
    try:
        order = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number p >= 1 or one of {sorted(_NORM_NAMES)}, got {value!r}") from None
    if not order >= 1:
        raise ValueError(f"{name} must be a number p >= 1 or one of {sorted(_NORM_NAMES)}, got {value!r}")
    return order


def _rescaled(rewards: ArrayLike) -> ArrayLike:
    """Rewards wider than float64 (``np.longdouble``), each scaled by a power of two to a largest magnitude in [0.5, 1).

    Every distance here is invariant to scaling each reward by a positive factor, and a power of two
    scales exactly, so a distance of wide-float rewards is that of their float64 rounding after this
    scaling: rewards beyond float64's range keep their distances, and entries below float64's
    precision relative to a reward's largest entry round away. Anything else is returned as it is.
    """
    if not isinstance(rewards, np.ndarray) or rewards.dtype.kind != "f" or rewards.dtype.itemsize <= 8:
        return rewards
    if rewards.size == 0 or not np.all(np.isfinite(rewards)):
        return rewards  # the float64 checks name the problem
    axes = tuple(range(1, rewards.ndim)) if rewards.ndim == 4 else None
    _, exponent = np.frexp(np.abs(rewards).max(axis=axes, keepdims=True))  # 0 for an all-zero reward
    return np.ldexp(rewards, -exponent)


def _unit_scaled(batch: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each reward of ``batch [B, S, A, S']`` scaled by a power of two to a largest magnitude in [0.5, 1).

    Every distance here is invariant to scaling a reward by a positive factor, and a power of two
    scales exactly; after it, no square or sum of the distances overflows or underflows and their
    cut-offs (a norm or a variance that counts as 0) are relative to the reward's largest entry.
    An all-zero reward stays as it is.
    """
    _, exponent = np.frexp(np.abs(batch).max(axis=(1, 2, 3), keepdims=True))
    return np.ldexp(batch, -exponent)


def _rewards(
    rewards: ArrayLike, mdp: TabularMDP, name: str = "rewards", *, rescale: bool = False
) -> tuple[NDArray[np.float64], bool]:
    """Rewards as ``[B, S, A, S']`` float64 and whether the input was a single reward.

    With ``rescale`` (for distances only), wide-float rewards are first scaled as :func:`_rescaled`
    says, and every reward is then scaled as :func:`_unit_scaled` says.
    """
    check_mdp(mdp)
    array = as_float_array(_rescaled(rewards) if rescale else rewards, name)
    shape = (mdp.n_states, mdp.n_actions, mdp.n_states)
    if array.ndim == 4 and array.shape[1:] == shape:
        if array.shape[0] == 0:
            raise ValueError(f"{name} must hold at least one reward, got an empty batch of shape {array.shape}")
        batch, single = check_finite(array, name), False
    elif array.shape == shape:  # a full reward: a view, not a copy (canonicalisations never write to it)
        batch, single = check_finite(array, name)[None], True
    elif array.ndim in (1, 2, 3):
        batch, single = mdp.reward_array(array, name)[None], True
    else:
        raise ValueError(f"{name} must have shape [S, A, S']={shape} or [B, S, A, S'], got {array.shape}")
    return (_unit_scaled(batch) if rescale else batch), single


def _distribution(value: ArrayLike | None, size: int, name: str) -> NDArray[np.float64]:
    if value is None:
        return np.full(size, 1.0 / size)
    array = as_float_array(value, name)
    if array.shape != (size,):
        raise ValueError(f"{name} must have shape {(size,)}, got {array.shape}")
    return check_probabilities(array, name, atol=1e-6)


def transition_weights(
    mdp: TabularMDP, state_dist: ArrayLike | None = None, action_dist: ArrayLike | None = None
) -> NDArray[np.float64]:
    """Weights ``D_S(s) D_A(a) T(s, a, s')`` ``[S, A, S']`` for transition-weighted norms (uniform D by default)."""
    check_mdp(mdp)
    ds = _distribution(state_dist, mdp.n_states, "state_dist")
    da = _distribution(action_dist, mdp.n_actions, "action_dist")
    return ds[:, None, None] * da[None, :, None] * mdp.transitions


def _weights(weights: _NormWeights, mdp: TabularMDP) -> NDArray[np.float64] | None:
    if weights is None:
        return None
    if isinstance(weights, str):
        if weights != "transition":
            raise ValueError(f"weights must be None, 'transition' or an array [S, A, S'], got {weights!r}")
        return transition_weights(mdp)
    array = check_finite(as_float_array(weights, "weights"), "weights")
    if array.shape != (mdp.n_states, mdp.n_actions, mdp.n_states) or np.any(array < 0):
        raise ValueError(f"weights must be non-negative of shape [S, A, S'], got shape {array.shape}")
    return array


def _backend(device: _Device) -> torch.device | None:
    return None if device is None else check_device(device)


def _to(array: NDArray[np.float64], device: torch.device | None) -> Any:
    return array if device is None else torch.tensor(array, dtype=torch.float64, device=device)


def _canonicalize(
    rewards: NDArray[np.float64],
    mdp: TabularMDP,
    method: Canonicalization,
    device: torch.device | None,
    *,
    state_dist: ArrayLike | None = None,
    action_dist: ArrayLike | None = None,
    policy: ArrayLike | None = None,
    norm: NormOrder = 2,
    weights: NDArray[np.float64] | None = None,
    method_name: str = "canonicalization",
) -> Any:
    if not isinstance(method, str) or method not in canon.CANONICALIZATIONS:
        raise ValueError(f"{method_name} must be one of {list(canon.CANONICALIZATIONS)}, got {method!r}")
    batch = _to(rewards, device)
    transitions = _to(mdp.transitions, device)
    ds = _to(_distribution(state_dist, mdp.n_states, "state_dist"), device)
    da = _to(_distribution(action_dist, mdp.n_actions, "action_dist"), device)
    if method == "none":
        return batch
    if method == "epic":
        return canon.epic(batch, mdp.gamma, ds, da)
    if method == "dard":
        return canon.dard(batch, mdp.gamma, transitions, da)
    if method == "val":
        pi = np.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions) if policy is None else policy
        pi = as_policy_matrix(pi, mdp.n_states, mdp.n_actions)
        return canon.val(batch, mdp, transitions, _to(pi, device))
    order = _order(norm, "norm")
    if order not in (1.0, 2.0, math.inf):
        raise ValueError(f"the minimal canonicalisation supports norms 1, 2 and inf, got {norm!r}")
    return canon.minimal(batch, mdp, transitions, order, None if weights is None else _to(weights, device))


@overload
def canonicalize(
    reward: ArrayLike,
    mdp: TabularMDP,
    method: Canonicalization = ...,
    *,
    state_dist: ArrayLike | None = ...,
    action_dist: ArrayLike | None = ...,
    policy: ArrayLike | None = ...,
    norm: NormOrder = ...,
    weights: _NormWeights = ...,
    device: None = ...,
) -> NDArray[np.float64]: ...


@overload
def canonicalize(
    reward: ArrayLike,
    mdp: TabularMDP,
    method: Canonicalization = ...,
    *,
    state_dist: ArrayLike | None = ...,
    action_dist: ArrayLike | None = ...,
    policy: ArrayLike | None = ...,
    norm: NormOrder = ...,
    weights: _NormWeights = ...,
    device: str | torch.device,
) -> torch.Tensor: ...


def canonicalize(
    reward: ArrayLike,
    mdp: TabularMDP,
    method: Canonicalization = "val",
    *,
    state_dist: ArrayLike | None = None,
    action_dist: ArrayLike | None = None,
    policy: ArrayLike | None = None,
    norm: NormOrder = 2,
    weights: _NormWeights = None,
    device: _Device = None,
) -> NDArray[np.float64] | torch.Tensor:
    """Canonicalise one reward ``[S, A, S']`` (``[S]``, ``[S, A]`` broadcast) or a batch ``[B, S, A, S']``.

    Args:
        reward: The reward(s).
        mdp: The model: transitions, discount, terminal states.
        method: ``"epic"``, ``"dard"``, ``"val"``, ``"minimal"`` or ``"none"``.
        state_dist: ``D_S [S]`` for ``epic`` (uniform by default).
        action_dist: ``D_A [A]`` for ``epic`` and ``dard`` (uniform by default).
        policy: The fixed policy of ``val``, ``[S, A]`` or ``[S]`` (uniform by default).
        norm: The norm that ``minimal`` minimises: 1, 2 or ``inf``.
        weights: Weights ``[S, A, S']`` of that norm, or ``"transition"``.
        device: None for numpy; ``"auto"``, ``"cpu"`` or ``"cuda"`` to compute with torch there
            (then a float64 tensor is returned).

    Returns:
        The canonicalised reward(s), the shape of the input after broadcasting.

    Example:
        >>> import numpy as np
        >>> from rewarddesign.mdp import random_mdp
        >>> mdp = random_mdp(4, 2, gamma=0.9, rng=0)
        >>> reward = np.random.default_rng(0).normal(size=(4, 2, 4))
        >>> shaped = reward + 0.9 * np.arange(4.0)[None, None, :] - np.arange(4.0)[:, None, None]
        >>> bool(np.allclose(canonicalize(reward, mdp), canonicalize(shaped, mdp)))
        True
    """
    rewards, single = _rewards(reward, mdp, "reward")
    out = _canonicalize(
        rewards,
        mdp,
        method,
        _backend(device),
        state_dist=state_dist,
        action_dist=action_dist,
        policy=policy,
        norm=norm,
        weights=_weights(weights, mdp),
        method_name="method",
    )
    return out[0] if single else out


def norm(x: _Batch, p: NormOrder = 2, weights: _Batch | None = None) -> _Batch:
    """``(sum w |x|^p)^(1/p)`` over the last three axes (``max |x|`` where ``w > 0`` for ``p = inf``).

    Args:
        x: ``[..., S, A, S']``, numpy or torch.
        p: 1, 2, ``inf``, ``"l1"``, ``"l2"``, ``"linf"`` or any p >= 1.
        weights: ``[S, A, S']`` non-negative, in the library of ``x``, or None for unit weights.

    Returns:
        ``[...]`` in the library of ``x`` (a numpy scalar for a single numpy ``[S, A, S']``).
    """
    order = _order(p, "p")
    absolute: Any = abs(x)
    if order == math.inf:
        if weights is not None:
            absolute = absolute * (weights > 0)
        return absolute.amax((-1, -2, -3)) if isinstance(x, torch.Tensor) else absolute.max((-1, -2, -3))
    powered = absolute**order
    if weights is not None:
        powered = powered * weights
    return powered.sum((-1, -2, -3)) ** (1.0 / order)


def standardize(
    canonical: _Batch, p: NormOrder = 2, weights: _Batch | None = None, atol: float | _Batch = 1e-12
) -> _Batch:
    """``c(R) / n(c(R))``, and ``c(R)`` itself where ``n(c(R)) = 0`` (the zero-norm rule of STARC).

    ``atol`` (a number, or one per reward of the batch) is the norm below which ``c(R)`` counts
    as 0; the distance functions set it relative to the size of ``R``, so that round-off in the
    canonical form of a pure shaping term is not blown up to unit norm.
    """
    size: Any = norm(canonical, p, weights)
    zero = size <= atol
    return canonical * ~zero[..., None, None, None] / (size + zero * 1.0)[..., None, None, None]


def _starc_parts(
    rewards: NDArray[np.float64],
    mdp: TabularMDP,
    canonicalization: Canonicalization,
    norm_p: NormOrder,
    weights: _NormWeights,
    device: _Device,
    **kw: Any,  # state_dist, action_dist, policy: passed on to _canonicalize
) -> tuple[Any, NDArray[np.float64] | None, torch.device | None]:
    _order(norm_p, "norm")
    w = _weights(weights, mdp)
    dev = _backend(device)
    canonical = _canonicalize(rewards, mdp, canonicalization, dev, norm=norm_p, weights=w, **kw)
    size = norm(rewards, 2)  # [B]: the scale of each reward, for a relative zero-norm test
    atol = _to(1e-10 * size + 1e-300, dev)
    return standardize(canonical, norm_p, None if w is None else _to(w, dev), atol), w, dev


def starc_distance(
    r1: ArrayLike,
    r2: ArrayLike,
    mdp: TabularMDP,
    canonicalization: Canonicalization = "val",
    norm: NormOrder = 2,
    metric: NormOrder = 2,
    *,
    weights: _NormWeights = None,
    policy: ArrayLike | None = None,
    state_dist: ArrayLike | None = None,
    action_dist: ArrayLike | None = None,
    device: _Device = None,
) -> float | NDArray[np.float64]:
    """The STARC distance ``m(s(R1), s(R2))`` with ``s(R) = c(R) / n(c(R))`` (Skalse et al., ICLR 2024).

    ``r1`` and ``r2`` may be batches ``[B, S, A, S']``: two batches of one length are compared
    pair by pair, and a single reward is compared with every reward of the other batch.

    Args:
        r1: A reward ``[S, A, S']`` (``[S]``, ``[S, A]`` broadcast) or a batch ``[B, S, A, S']``.
        r2: Another, same shape rules.
        mdp: The model.
        canonicalization: ``"val"``, ``"minimal"``, ``"epic"``, ``"dard"`` or ``"none"``.
        norm: The norm ``n`` (1, 2, ``inf``, or names ``l1``, ``l2``, ``linf``).
        metric: The norm whose induced metric ``m`` compares standardised rewards.
        weights: Weights ``[S, A, S']`` of both norms, or ``"transition"``.
        policy: The policy of ``val``.
        state_dist: ``D_S`` of ``epic``.
        action_dist: ``D_A`` of ``epic`` and ``dard``.
        device: None for numpy, else the torch device to compute on.

    Returns:
        A float when both are single rewards, else one distance per pair ``[B]``; 0 exactly when
        the rewards are equivalent, 2 for ``R`` and ``-R`` with L2/L2. Scaling either reward by any
        positive factor leaves it unchanged.
    """
    return _pair_distances(
        r1,
        r2,
        mdp,
        "starc",
        canonicalization=canonicalization,
        norm=norm,
        metric=metric,
        weights=weights,
        policy=policy,
        state_dist=state_dist,
        action_dist=action_dist,
        coverage=None,
        device=device,
    )


def _coverage(
    mdp: TabularMDP, coverage: ArrayLike | None, state_dist: ArrayLike | None, action_dist: ArrayLike | None
) -> NDArray[np.float64]:
    if coverage is None:
        ds = _distribution(state_dist, mdp.n_states, "state_dist")
        da = _distribution(action_dist, mdp.n_actions, "action_dist")
        return ds[:, None, None] * da[None, :, None] * ds[None, None, :]
    array = as_float_array(coverage, "coverage")
    if array.shape != (mdp.n_states, mdp.n_actions, mdp.n_states):
        raise ValueError(f"coverage must have shape [S, A, S'], got {array.shape}")
    return check_probabilities(array.reshape(-1), "coverage", atol=1e-6).reshape(array.shape)


def _pearson_matrix(x: Any, weights: Any) -> Any:
    """Weighted Pearson correlations between the rows of ``x [B, N]`` under ``weights [N]``."""
    centred = x - (x * weights).sum(-1)[:, None]
    cov = (centred * weights) @ centred.T
    var = cov.diagonal()
    return _correlation(cov, var[:, None], var[None, :])


def _correlation(cov: Any, var_a: Any, var_b: Any) -> Any:
    """``cov / sqrt(var_a var_b)`` clipped to [-1, 1], with the rule for constant rewards.

    A constant reward canonicalises to 0: two of them are the same (rho 1); with another, rho 0.
    """
    scale = (var_a * var_b) ** 0.5
    rho = cov / (scale + (scale == 0) * 1.0)
    zero_a = var_a <= 1e-24  # relative: the distances scale each reward to a largest entry in [0.5, 1)
    zero_b = var_b <= 1e-24
    rho = rho * ~(zero_a | zero_b) + (zero_a & zero_b) * 1.0
    return rho.clip(-1.0, 1.0)


def pearson_distance(rho: _Rho) -> _Rho:
    """``sqrt((1 - rho) / 2)``, in [0, 1], of a correlation or an array of them (numpy or torch).

    Raises:
        ValueError: ``rho`` is NaN or outside [-1, 1].
    """
    r: Any = rho  # the same arithmetic on a float, a numpy array or a tensor
    inside = (r >= -1.0) & (r <= 1.0) if isinstance(r, (np.ndarray, torch.Tensor)) else -1.0 <= r <= 1.0
    if not bool(inside.all() if isinstance(inside, (np.ndarray, torch.Tensor)) else inside):
        raise ValueError(f"rho must be a correlation in [-1, 1], got {rho!r}")
    return cast(_Rho, ((1.0 - r) / 2.0) ** 0.5)


def _pearson_rows(
    kind: Literal["epic", "dard"],
    rewards: NDArray[np.float64],
    mdp: TabularMDP,
    coverage: ArrayLike | None,
    state_dist: ArrayLike | None,
    action_dist: ArrayLike | None,
    device: _Device,
) -> tuple[Any, Any]:
    """The canonical rewards as rows ``[B, N]`` and the coverage weights ``[N]`` they are correlated under."""
    dev = _backend(device)
    canonical = _canonicalize(rewards, mdp, kind, dev, state_dist=state_dist, action_dist=action_dist)
    weights = _to(_coverage(mdp, coverage, state_dist, action_dist).reshape(-1), dev)
    return canonical.reshape(canonical.shape[0], -1), weights


def epic_distance(
    r1: ArrayLike,
    r2: ArrayLike,
    mdp: TabularMDP,
    *,
    state_dist: ArrayLike | None = None,
    action_dist: ArrayLike | None = None,
    coverage: ArrayLike | None = None,
    device: _Device = None,
) -> float | NDArray[np.float64]:
    """EPIC: the Pearson distance of EPIC-canonicalised rewards under a coverage distribution.

    ``coverage [S, A, S']`` defaults to ``D_S x D_A x D_S`` (uniform). 0 for equivalent rewards,
    1 for ``R`` and ``-R``; unchanged when either reward is scaled by a positive factor. Batches
    broadcast as in :func:`starc_distance` (then one distance per pair ``[B]``).
    """
    return _pair_distances(r1, r2, mdp, "epic", **_pearson_options(state_dist, action_dist, coverage, device))


def dard_distance(
    r1: ArrayLike,
    r2: ArrayLike,
    mdp: TabularMDP,
    *,
    action_dist: ArrayLike | None = None,
    coverage: ArrayLike | None = None,
    device: _Device = None,
) -> float | NDArray[np.float64]:
    """DARD: the Pearson distance of DARD-canonicalised rewards (uses the transition model).

    Batches broadcast as in :func:`starc_distance` (then one distance per pair ``[B]``).
    """
    return _pair_distances(r1, r2, mdp, "dard", **_pearson_options(None, action_dist, coverage, device))


def _pearson_options(
    state_dist: ArrayLike | None, action_dist: ArrayLike | None, coverage: ArrayLike | None, device: _Device
) -> dict[str, Any]:
    """The options of :func:`_distance_rows` for EPIC and DARD (the STARC ones at their defaults, unused)."""
    return {
        "canonicalization": "val",
        "norm": 2,
        "metric": 2,
        "weights": None,
        "policy": None,
        "state_dist": state_dist,
        "action_dist": action_dist,
        "coverage": coverage,
        "device": device,
    }


def distance_matrix(
    rewards: ArrayLike,
    mdp: TabularMDP,
    kind: DistanceKind = "starc",
    *,
    canonicalization: Canonicalization = "val",
    norm: NormOrder = 2,
    metric: NormOrder = 2,
    weights: _NormWeights = None,
    policy: ArrayLike | None = None,
    state_dist: ArrayLike | None = None,
    action_dist: ArrayLike | None = None,
    coverage: ArrayLike | None = None,
    device: _Device = None,
) -> NDArray[np.float64]:
    """Distances between all pairs of ``rewards [B, S, A, S']``: a symmetric ``[B, B]`` array.

    Args:
        rewards: The batch.
        mdp: The model.
        kind: ``"starc"`` (with ``canonicalization``, ``norm`` and ``metric``), ``"epic"`` or ``"dard"``.
        device: None for numpy, else the torch device (``"cuda"``) that computes the whole batch.

    Other arguments are those of :func:`starc_distance`, :func:`epic_distance` and :func:`dard_distance`.
    """
    batch, _ = _rewards(rewards, mdp, rescale=True)
    rows, pearson_weights, order = _distance_rows(
        batch,
        mdp,
        kind,
        canonicalization=canonicalization,
        norm=norm,
        metric=metric,
        weights=weights,
        policy=policy,
        state_dist=state_dist,
        action_dist=action_dist,
        coverage=coverage,
        device=device,
    )
    if pearson_weights is not None:
        return _numpy(pearson_distance(_pearson_matrix(rows, pearson_weights)))
    if isinstance(rows, torch.Tensor):
        # the direct kernel: the matrix-product shortcut for p = 2 loses ~1e-7 on near-equal rewards
        return _numpy(torch.cdist(rows[None], rows[None], p=order, compute_mode="donot_use_mm_for_euclid_dist")[0])
    from scipy.spatial.distance import cdist

    distances = cdist(rows, rows, "chebyshev") if order == math.inf else cdist(rows, rows, "minkowski", p=order)
    return distances.astype(np.float64, copy=False)


def _distance_rows(
    batch: NDArray[np.float64],
    mdp: TabularMDP,
    kind: DistanceKind,
    *,
    canonicalization: Canonicalization,
    norm: NormOrder,
    metric: NormOrder,
    weights: _NormWeights,
    policy: ArrayLike | None,
    state_dist: ArrayLike | None,
    action_dist: ArrayLike | None,
    coverage: ArrayLike | None,
    device: _Device,
) -> tuple[Any, Any, float]:
    """What the distances compare, one row ``[N]`` per reward of ``batch``.

    Returns ``(rows, pearson_weights, order)``: for EPIC and DARD the canonical rewards and the
    coverage weights of their Pearson correlation; for STARC the standardised rewards (weighted
    for the metric), None and the metric's order, so that the distance is the ``order``-norm of a
    difference of rows.
    """
    if kind in ("epic", "dard"):
        rows, pearson_weights = _pearson_rows(kind, batch, mdp, coverage, state_dist, action_dist, device)
        return rows, pearson_weights, 2.0
    if kind != "starc":
        raise ValueError(f"kind must be one of ['starc', 'epic', 'dard'], got {kind!r}")
    order = _order(metric, "metric")
    kw = {"policy": policy, "state_dist": state_dist, "action_dist": action_dist}
    standard, w, dev = _starc_parts(batch, mdp, canonicalization, norm, weights, device, **kw)
    flat = standard.reshape(standard.shape[0], -1)
    if w is not None and order != math.inf:
        flat = flat * _to(w.reshape(-1), dev) ** (1.0 / order)
    elif w is not None:
        flat = flat * _to((w.reshape(-1) > 0).astype(np.float64), dev)
    return flat, None, order


def _pair_distances(
    r1: ArrayLike, r2: ArrayLike, mdp: TabularMDP, kind: DistanceKind, **options: Any
) -> float | NDArray[np.float64]:
    """The distances of ``r1[i]`` to ``r2[i]``, a single reward paired with every reward of the other batch.

    Linear in the batch size: each reward's row is computed once and only the pairs are compared.
    """
    first, single1 = _rewards(r1, mdp, "r1", rescale=True)
    second, single2 = _rewards(r2, mdp, "r2", rescale=True)
    n1, n2 = len(first), len(second)
    if n1 != n2 and 1 not in (n1, n2):
        raise ValueError(
            f"r1 and r2 must be batches of the same length, or one of them a single reward, got {n1} and {n2} rewards"
        )
    size = max(n1, n2)
    rows, pearson_weights, order = _distance_rows(np.concatenate([first, second]), mdp, kind, **options)
    a, b = rows[np.arange(size) % n1], rows[n1 + np.arange(size) % n2]
    if pearson_weights is not None:
        centred_a = a - (a * pearson_weights).sum(-1)[:, None]
        centred_b = b - (b * pearson_weights).sum(-1)[:, None]
        var_a = (centred_a * centred_a * pearson_weights).sum(-1)
        var_b = (centred_b * centred_b * pearson_weights).sum(-1)
        out = pearson_distance(_correlation((centred_a * centred_b * pearson_weights).sum(-1), var_a, var_b))
    else:
        gap: Any = abs(a - b)
        if order == math.inf:
            out = gap.amax(-1) if isinstance(gap, torch.Tensor) else gap.max(-1)
        else:
            out = (gap**order).sum(-1) ** (1.0 / order)
    values = _numpy(out).astype(np.float64, copy=False)
    return float(values[0]) if single1 and single2 else values
