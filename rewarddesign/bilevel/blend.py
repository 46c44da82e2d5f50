"""The blended reward of behaviour alignment, and state features for it.

``r_phi(s, a, s') = phi_1(s) + r_p(s, a, s') + sum_k phi_{2,k}(s) r_aux,k(s, a, s')`` with the
discount ``gamma_phi = sigmoid(w)``: ``phi_1`` a state bonus, ``phi_{2,k}`` how much of heuristic
``k`` to use in state ``s``. Both are linear in state features (or a small network of them), and
start from the naive sum ``r_p + sum_k r_aux,k`` with ``gamma = 0.99``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["BlendedReward", "tile_coding"]


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
        if n_features < 1 or n_aux < 0:
            raise ValueError(f"need n_features >= 1 and n_aux >= 0, got {n_features}, {n_aux}")
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


def tile_coding(low: Any, high: Any, bins: int | Sequence[int]) -> Callable[[np.ndarray], np.ndarray]:
    """One-hot features of a regular grid of tiles over a box: ``obs [B, D] -> float [B, prod(bins)]``.

    Example:
        >>> features = tile_coding([0, 0], [1, 1], 5)
        >>> features(np.array([[0.5, 0.5]])).argmax(), features(np.array([[0.5, 0.5]])).shape
        (np.int64(12), (1, 25))
    """
    low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    counts = np.broadcast_to(np.asarray(bins, dtype=np.int64), low.shape)
    if low.ndim != 1 or high.shape != low.shape or np.any(high <= low) or np.any(counts < 1):
        raise ValueError(f"need low < high of one shape [D] and bins >= 1, got {low}, {high}, {bins}")
    size = int(np.prod(counts))

    def features(obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.float64).reshape(-1, len(low))
        index = np.clip(((obs - low) / (high - low) * counts).astype(np.int64), 0, counts - 1)
        flat = np.ravel_multi_index(index.T, counts)
        out = np.zeros((len(obs), size))
        out[np.arange(len(obs)), flat] = 1.0
        return out

    features.size = size  # type: ignore[attr-defined]
    return features
