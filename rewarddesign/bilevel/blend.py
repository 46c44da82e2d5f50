"""The blended reward of behaviour alignment, and state features for it.

``r_phi(s, a, s') = phi_1(s) + r_p(s, a, s') + sum_k phi_{2,k}(s) r_aux,k(s, a, s')`` with the
discount ``gamma_phi = sigmoid(w)``: ``phi_1`` a state bonus, ``phi_{2,k}`` how much of heuristic
``k`` to use in state ``s``. Both are linear in state features (or a small network of them), and
start from the naive sum ``r_p + sum_k r_aux,k`` with ``gamma = 0.99``.

Once learned, the blend is a reward like any other: :class:`BehaviorAlignedTerm` is its term of
the reward-wrapper family (:mod:`rewarddesign.rewards.wrappers`), :class:`BehaviorAlignedReward`
its Gymnasium form (``VectorDesignedReward`` and ``VecDesignedReward`` drive the same term for
vector envs). :func:`potential_shaping` turns a heuristic into the potential-shaping baseline of
:class:`~rewarddesign.bilevel.barfi.BehaviorAlignment`, with the library's one shaping formula.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from torch import nn

from rewarddesign._validation import as_float_array, check_finite, check_positive_int
from rewarddesign.rewards.functions import check_rewards
from rewarddesign.rewards.wrappers import Bools, DesignedReward, Floats, Infos, RewardTerm, potential_difference

__all__ = [
    "BlendedReward",
    "tile_coding",
    "blended_rewards",
    "flat_features",
    "BehaviorAlignedTerm",
    "BehaviorAlignedReward",
    "potential_shaping",
]


class BlendedReward(nn.Module):
    """``r_phi = phi_1(f) + r_p + sum_k phi_{2,k}(f) aux_k`` and ``gamma_phi = sigmoid(w)``.

    Args:
        n_features: Size ``d`` of the state features ``f(s)``.
        n_aux: Number of auxiliary (heuristic) rewards.
        gamma: Initial discount, in (0, 1).
        hidden: Hidden layer sizes of a small network from features to ``phi``; empty: linear.
        aux_init: Initial weight of every heuristic (1: the naive sum; 0: the primary reward alone).

    Example:
        >>> blend = BlendedReward(n_features=2, n_aux=1)
        >>> f, primary, aux = torch.ones(3, 2), torch.tensor([1.0, 0.0, -1.0]), torch.full((3, 1), 0.5)
        >>> blend(f, primary, aux)  # the naive sum to start with
        tensor([ 1.5000,  0.5000, -0.5000], grad_fn=<AddBackward0>)
        >>> round(blend.gamma.item(), 4)
        0.99
    """

    def __init__(
        self, n_features: int, n_aux: int, gamma: float = 0.99, hidden: Sequence[int] = (), aux_init: float = 1.0
    ) -> None:
        super().__init__()
        check_positive_int(n_features, "n_features")
        if isinstance(n_aux, bool) or not isinstance(n_aux, (int, np.integer)) or n_aux < 0:
            raise ValueError(f"n_aux must be an integer >= 0, got {n_aux!r}")
        if not 0 < gamma < 1:
            raise ValueError(f"gamma must be in (0, 1), got {gamma!r}")
        self.n_features, self.n_aux = n_features, n_aux
        layers: list[nn.Module] = []
        size = n_features
        for width in hidden:
            layers += [nn.Linear(size, width), nn.Tanh()]
            size = width
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(size, 1 + n_aux)  # [bonus phi_1, weights phi_2]
        with torch.no_grad():
            self.head.weight.zero_()
            self.head.bias.zero_()
            self.head.bias[1:] = aux_init
        self.gamma_logit = nn.Parameter(torch.tensor(math.log(gamma / (1 - gamma))))

    @property
    def gamma(self) -> torch.Tensor:
        return torch.sigmoid(self.gamma_logit)

    def phi(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(bonus [...], weights [..., K])`` at features ``[..., d]``."""
        out = self.head(self.body(features))
        return out[..., 0], out[..., 1:]

    def forward(self, features: torch.Tensor, primary: torch.Tensor, aux: torch.Tensor) -> torch.Tensor:
        """``features [..., d]``, ``primary [...]``, ``aux [..., K]`` -> blended rewards ``[...]``."""
        bonus, weights = self.phi(features)
        return bonus + primary + (weights * aux).sum(-1)


def tile_coding(low: ArrayLike, high: ArrayLike, bins: int | Sequence[int]) -> Callable[[np.ndarray], np.ndarray]:
    """One-hot features of a regular grid of tiles over a box: ``obs [B, D] -> float [B, prod(bins)]``.

    Observations outside the box fall in the edge tiles; NaN or inf observations raise ``ValueError``.

    Raises:
        ValueError: ``low`` or ``high`` is not finite or not ``[D]`` with ``low < high``, or a bin
            count is not an integer >= 1.

    Example:
        >>> features = tile_coding([0, 0], [1, 1], 5)
        >>> features(np.array([[0.5, 0.5]])).argmax(), features(np.array([[0.5, 0.5]])).shape
        (np.int64(12), (1, 25))
    """
    low = check_finite(as_float_array(low, "low"), "low")
    high = check_finite(as_float_array(high, "high"), "high")
    if low.ndim != 1 or high.shape != low.shape or np.any(high <= low):
        raise ValueError(f"low and high must be of one shape [D] with low < high, got {low} and {high}")
    per_dim = list(bins) if isinstance(bins, Sequence) and not isinstance(bins, str) else [bins] * len(low)
    if len(per_dim) != len(low):
        raise ValueError(f"bins must be one int or one per dimension ({len(low)}), got {bins!r}")
    counts = np.array([check_positive_int(b, "bins") for b in per_dim], dtype=np.int64)
    size = int(np.prod(counts))

    def features(obs: np.ndarray) -> np.ndarray:
        obs = check_finite(as_float_array(obs, "obs"), "obs").reshape(-1, len(low))
        index = np.clip(((obs - low) / (high - low) * counts).astype(np.int64), 0, counts - 1)
        flat = np.ravel_multi_index(index.T, counts)
        out = np.zeros((len(obs), size))
        out[np.arange(len(obs)), flat] = 1.0
        return out

    features.size = size  # type: ignore[attr-defined]
    return features


def flat_features(obs: ArrayLike) -> NDArray[np.float64]:
    """The default state features: the flattened observation, ``obs [B, ...] -> float [B, d]``."""
    array = np.asarray(obs, dtype=np.float64)
    return array.reshape(len(array), -1)


def blended_rewards(
    blend: BlendedReward,
    features: Callable[[np.ndarray], np.ndarray],
    aux_rewards: Sequence[Callable[..., Any]],
    obs: ArrayLike,
    act: ArrayLike,
    next_obs: ArrayLike,
    done: ArrayLike,
    primary: ArrayLike,
    device: torch.device | str = "cpu",
) -> NDArray[np.float64]:
    """The blend's rewards of a batch of transitions, in numpy, without gradient.

    Args:
        blend: The blend.
        features: ``obs [B, ...] -> float [B, d]``, the features the blend was learned with.
        aux_rewards: The heuristics ``(obs, act, next_obs, done) -> float [B]``, in the blend's order.
        obs: Observations ``[B, ...]``.
        act: Actions ``[B]``.
        next_obs: Next observations ``[B, ...]``.
        done: Episode ends ``[B]``, as passed to the heuristics.
        primary: The env's rewards ``[B]``.
        device: Where the blend's parameters are.

    Returns:
        float ``[B]``.

    Raises:
        ValueError: A heuristic or the primary reward is not finite ``[B]``, or the features are
            not ``[B, blend.n_features]``.
    """
    obs_arr = np.asarray(obs, dtype=np.float32)
    batch = len(obs_arr)
    primary_arr = check_rewards(primary, batch, "primary reward")
    columns = [
        check_rewards(fn(obs, act, next_obs, done), batch, f"auxiliary reward {k}") for k, fn in enumerate(aux_rewards)
    ]
    aux = np.stack(columns, axis=-1) if columns else np.zeros((batch, 0))
    feats = np.asarray(features(obs_arr.reshape(batch, -1)), dtype=np.float64)
    if feats.shape != (batch, blend.n_features):
        raise ValueError(f"features must return [B, {blend.n_features}], got shape {feats.shape}")

    def as_t(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.float32, device=device)

    with torch.no_grad():
        return blend(as_t(feats), as_t(primary_arr), as_t(aux)).cpu().numpy().astype(np.float64)


class BehaviorAlignedTerm(RewardTerm):
    """The reward term of a (frozen) learned blend: ``r_phi(s, a, s')`` replaces the env's reward.

    Its values go to ``info["aligned_reward"]`` (mode ``"replace"``: the blend holds the primary
    reward already).

    Args:
        blend: The learned :class:`BlendedReward` (copied, frozen, on the CPU).
        aux_rewards: The heuristics the blend was learned with, in the same order.
        features: The state features the blend was learned with (default :func:`flat_features`).

    Raises:
        ValueError: The number of heuristics does not match the blend's.
    """

    info_key = "aligned_reward"

    def __init__(
        self,
        blend: BlendedReward,
        aux_rewards: Sequence[Callable[..., Any]],
        features: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        super().__init__(mode="replace")
        if len(aux_rewards) != blend.n_aux:
            raise ValueError(f"the blend has {blend.n_aux} heuristic weights, got {len(aux_rewards)} aux_rewards")
        self.blend = copy.deepcopy(blend).cpu().eval()
        for p in self.blend.parameters():
            p.requires_grad_(False)
        self.aux_rewards, self.features = list(aux_rewards), features or flat_features

    @property
    def gamma(self) -> float:
        """The learned discount."""
        return self.blend.gamma.item()

    def step(
        self, obs: Any, act: Any, next_obs: Any, reward: Floats, terminated: Bools, truncated: Bools, infos: Infos
    ) -> Floats:
        return blended_rewards(self.blend, self.features, self.aux_rewards, obs, act, next_obs, terminated, reward)


class BehaviorAlignedReward(DesignedReward):
    """An env whose reward is a (frozen) learned blend of its own reward and heuristics.

    The Gymnasium form of :class:`BehaviorAlignedTerm`. ``info["original_reward"]`` keeps the
    env's reward (so a ``Monitor`` inside reports the true return) and ``info["aligned_reward"]``
    the blend. Train any SB3 algorithm on it, with the learned discount as its ``gamma``
    (:attr:`gamma`).

    Args:
        env: The env (its reward is the primary reward).
        blend: The learned :class:`BlendedReward` (copied).
        aux_rewards: The heuristics the blend was learned with, in the same order.
        features: The state features the blend was learned with.
    """

    term: BehaviorAlignedTerm

    def __init__(
        self,
        env: gym.Env,
        blend: BlendedReward,
        aux_rewards: Sequence[Callable[..., Any]],
        features: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, blend=blend, aux_rewards=aux_rewards, features=features)
        super().__init__(env, BehaviorAlignedTerm(blend, aux_rewards, features))

    @property
    def blend(self) -> BlendedReward:
        """The frozen blend."""
        return self.term.blend

    @property
    def gamma(self) -> float:
        """The learned discount."""
        return self.term.gamma


def _potential_values(values: Any, size: int) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    return check_rewards(array[:, 0] if array.shape == (size, 1) else array, size, "potential")


def potential_shaping(
    potential: Callable[..., Any], gamma: float = 0.99, *, action: bool = False
) -> Callable[..., NDArray[np.float64]]:
    """A heuristic used as a potential: the ``shaping=`` of behaviour alignment's potential baseline.

    State potentials (``potential(obs [B]) -> [B]``) give ``gamma phi(s') - phi(s)``, with
    ``phi(s') = 0`` where the episode terminated; action potentials (``action=True``,
    ``potential(obs [B], act [B]) -> [B]``) give look-ahead advice ``gamma phi(s', a') - phi(s, a)``
    with the next action the learner took (0 after an episode's last step). Either leaves the
    optimal policies of the primary reward as they are. The rule is
    :func:`~rewarddesign.rewards.wrappers.potential_difference`, as in the shaping wrappers.

    Args:
        potential: The heuristic, batched.
        gamma: The discount, in (0, 1].
        action: Whether ``potential`` takes actions too (look-ahead advice).

    Returns:
        ``shaping(obs, act, next_obs, next_act, terminated) -> float [B]`` (``next_act`` -1 after
        an episode's last step).

    Raises:
        ValueError: ``gamma`` lies outside (0, 1].
    """
    if not 0 < gamma <= 1:
        raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")

    def shaping(obs: Any, act: Any, next_obs: Any, next_act: Any, terminated: Any) -> NDArray[np.float64]:
        done = np.asarray(terminated, dtype=bool)
        size = len(done)
        if not action:
            return potential_difference(
                _potential_values(potential(obs), size), _potential_values(potential(next_obs), size), done, gamma
            )
        nxt = np.asarray(next_act)
        later = np.where(nxt >= 0, _potential_values(potential(next_obs, np.maximum(nxt, 0)), size), 0.0)
        return potential_difference(_potential_values(potential(obs, act), size), later, done, gamma)

    return shaping
