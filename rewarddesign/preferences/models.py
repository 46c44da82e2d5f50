"""Reward models learned from preferences: the Bradley-Terry loss, ensembles, normalisation.

A :class:`RewardModel` scores each step of a fragment, from observations and actions (an
:class:`~rewarddesign.rewards.MLPRewardNet`) or from reward factors (an MLP on the factor
vector); a fragment's predicted return is the sum of its steps' scores, and the Bradley-Terry
model says ``P(i preferred to j) = sigmoid(R_i - R_j)``. :class:`RewardEnsemble` trains several
models on bootstrap resamples and aggregates them by the mean, the worst case (WCO: the minimum
over members) or uncertainty weighting (UWO: mean minus a multiple of the spread), against
over-optimising one model's mistakes (Coste et al. 2023). Outputs are normalised by running
statistics of the steps seen in training (:meth:`RewardModel.update_normalizer`).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.torch_layers import create_mlp
from stable_baselines3.common.utils import get_device
from torch import nn
from torch.nn import functional as F

from rewarddesign.preferences.data import Fragments, PreferenceDataset
from rewarddesign.rewards import MLPRewardNet

__all__ = ["RewardModel", "RewardEnsemble", "bradley_terry_loss", "train_reward_model", "preference_accuracy"]

AGGREGATES = ("mean", "wco", "uwo")


def bradley_terry_loss(returns_first: torch.Tensor, returns_second: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of labels in ``{0, 0.5, 1}`` under ``P(first preferred) = sigmoid(R_first - R_second)``."""
    return F.binary_cross_entropy_with_logits(returns_first - returns_second, labels)


class RewardModel(nn.Module):
    """A per-step reward learned from preferences.

    Args:
        observation_space: With ``action_space``: score ``(obs, act)`` steps.
        action_space: The env's action space.
        n_factors: Instead of spaces: score the reward-factor vector ``[K]`` of each step.
        hidden_sizes: Widths of the hidden layers.
        device: ``"auto"`` (CUDA when there is one), ``"cpu"``, ...
        seed: Seeds torch before the initial weights are drawn (as SB3's ``seed`` does); ``None``
            draws them from torch's generator as it stands.
    """

    def __init__(
        self,
        observation_space: gym.Space | None = None,
        action_space: gym.Space | None = None,
        *,
        n_factors: int | None = None,
        hidden_sizes: Sequence[int] = (64, 64),
        device: torch.device | str = "auto",
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if (observation_space is None) == (n_factors is None) or (observation_space is None) != (action_space is None):
            raise ValueError("give either observation_space and action_space, or n_factors")
        self.n_factors = n_factors
        if seed is not None:
            torch.manual_seed(seed)
        if n_factors is not None:
            self.net: nn.Module = nn.Sequential(*create_mlp(int(n_factors), 1, list(hidden_sizes), nn.ReLU))
        else:
            self.net = MLPRewardNet(observation_space, action_space, hidden_sizes=hidden_sizes, device="cpu")
        self.normalizer = RunningMeanStd(shape=())
        self.to(get_device(device))

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def step_rewards(self, fragments: Fragments, index: Any = None) -> torch.Tensor:
        """Raw scores ``[P, L]`` of the steps of fragments ``index`` (all by default)."""
        index = np.arange(len(fragments)) if index is None else np.asarray(index)
        n, length = len(index), fragments.length
        if self.n_factors is not None:
            if fragments.factors is None or fragments.factors.shape[2] != self.n_factors:
                got = None if fragments.factors is None else fragments.factors.shape[2]
                raise ValueError(f"the model scores {self.n_factors} reward factors, the fragments have {got}")
            x = torch.as_tensor(fragments.factors[index], dtype=torch.float32, device=self.device)
            return self.net(x.reshape(n * length, -1)).reshape(n, length)
        obs = fragments.obs[index].reshape(n * length, *fragments.obs.shape[2:])
        acts = fragments.acts[index].reshape(n * length, *fragments.acts.shape[2:])
        tensors = self.net.preprocess(obs, acts, obs, np.zeros(n * length))
        return self.net(*tensors).reshape(n, length)

    def fragment_returns(self, fragments: Fragments, index: Any = None) -> torch.Tensor:
        """Predicted returns ``[P]``: the sum of the steps' raw scores."""
        return self.step_rewards(fragments, index).sum(1)

    def update_normalizer(self, fragments: Fragments) -> None:
        """Update the running mean and variance of the outputs with every step of ``fragments``."""
        with torch.no_grad():
            self.normalizer.update(self.step_rewards(fragments).reshape(-1).cpu().numpy().astype(np.float64))

    def normalize(self, rewards: np.ndarray) -> np.ndarray:
        return (rewards - self.normalizer.mean) / np.sqrt(self.normalizer.var + 1e-8)

    def predict(
        self, obs: Any, act: Any, next_obs: Any = None, done: Any = None, *, normalized: bool = True
    ) -> np.ndarray:
        """The reward-function protocol for ``(obs, act)`` models: float64 ``[B]``."""
        if self.n_factors is not None:
            raise TypeError("this model scores reward factors: use predict_factors")
        obs = np.asarray(obs)
        with torch.no_grad():
            out = self.net(*self.net.preprocess(obs, act, obs, np.zeros(len(obs)))).cpu().numpy().astype(np.float64)
        return self.normalize(out) if normalized else out

    def predict_factors(self, factors: Any, *, normalized: bool = True) -> np.ndarray:
        """Rewards ``[B]`` of factor vectors ``[B, K]`` (for factor models)."""
        if self.n_factors is None:
            raise TypeError("this model scores (obs, act): use predict")
        x = torch.as_tensor(np.asarray(factors, dtype=np.float32), device=self.device).reshape(-1, self.n_factors)
        with torch.no_grad():
            out = self.net(x).reshape(-1).cpu().numpy().astype(np.float64)
        return self.normalize(out) if normalized else out

    def save(self, path: str) -> None:
        """Weights and normalisation statistics (tensors only; loaded with ``weights_only=True``)."""
        state = {k: v.cpu() for k, v in self.state_dict().items()}
        state["_norm_mean"] = torch.tensor(self.normalizer.mean, dtype=torch.float64)
        state["_norm_var"] = torch.tensor(self.normalizer.var, dtype=torch.float64)
        state["_norm_count"] = torch.tensor(self.normalizer.count, dtype=torch.float64)
        torch.save(state, path)

    def load(self, path: str) -> RewardModel:
        """Load what :meth:`save` wrote into this (identically built) model."""
        state = torch.load(path, map_location=self.device, weights_only=True)
        self.normalizer.mean = float(state.pop("_norm_mean"))
        self.normalizer.var = float(state.pop("_norm_var"))
        self.normalizer.count = float(state.pop("_norm_count"))
        self.load_state_dict(state)
        return self


def train_reward_model(
    model: RewardModel,
    dataset: PreferenceDataset,
    *,
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
    bootstrap: bool = False,
) -> list[float]:
    """Fit ``model`` to the labelled pairs by the Bradley-Terry loss; return the mean loss per epoch.

    ``bootstrap`` trains on a resample of the pairs with replacement (for ensemble members). The
    normaliser is updated with the dataset's fragments afterwards.
    """
    if len(dataset) == 0:
        raise ValueError("the preference dataset is empty")
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    pairs = rng.integers(len(dataset), size=len(dataset)) if bootstrap else np.arange(len(dataset))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    labels = torch.as_tensor(dataset.labels, dtype=torch.float32, device=model.device)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(pairs)
        total = 0.0
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            loss = bradley_terry_loss(
                model.fragment_returns(dataset.fragments, dataset.first[batch]),
                model.fragment_returns(dataset.fragments, dataset.second[batch]),
                labels[batch],
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / len(order))
    model.update_normalizer(dataset.fragments)
    return losses


def preference_accuracy(model: RewardModel | RewardEnsemble, dataset: PreferenceDataset) -> float:
    """The fraction of strict labels (0 or 1) whose preferred fragment the model predicts the higher return."""
    strict = dataset.labels != 0.5
    if not np.any(strict):
        raise ValueError("the dataset has no strict preferences")
    with torch.no_grad():
        first = model.fragment_returns(dataset.fragments, dataset.first[strict])
        second = model.fragment_returns(dataset.fragments, dataset.second[strict])
    predicted = (first > second).cpu().numpy()
    return float(np.mean(predicted == (dataset.labels[strict] == 1.0)))


class RewardEnsemble(nn.Module):
    """Several reward models aggregated by the mean, the worst case or uncertainty weighting.

    Args:
        members: Models of the same kind (build one and pass ``RewardEnsemble.of(model, n)``).
        aggregate: ``"mean"``, ``"wco"`` (the minimum over members) or ``"uwo"`` (mean minus
            ``uwo_penalty`` times the standard deviation over members).
        uwo_penalty: The weight of the spread in UWO.
    """

    def __init__(self, members: Sequence[RewardModel], aggregate: str = "mean", uwo_penalty: float = 1.0) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {len(members)}")
        if aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
        self.members = nn.ModuleList(members)
        self.aggregate, self.uwo_penalty = aggregate, float(uwo_penalty)

    @classmethod
    def of(cls, model: RewardModel, n: int, aggregate: str = "mean", seed: int = 0, **kwargs: Any) -> RewardEnsemble:
        """``n`` copies of ``model``, each re-initialised from its own seed."""
        members = []
        for k in range(n):
            member = copy.deepcopy(model)
            torch.manual_seed(seed + k)
            for layer in member.modules():
                if isinstance(layer, nn.Linear):
                    layer.reset_parameters()
            members.append(member)
        return cls(members, aggregate, **kwargs)

    def _combine(self, values: torch.Tensor | np.ndarray) -> Any:
        """Aggregate ``[M, ...]`` over members."""
        if isinstance(values, np.ndarray):
            if self.aggregate == "mean":
                return values.mean(0)
            if self.aggregate == "wco":
                return values.min(0)
            return values.mean(0) - self.uwo_penalty * values.std(0)
        if self.aggregate == "mean":
            return values.mean(0)
        if self.aggregate == "wco":
            return values.min(0).values
        return values.mean(0) - self.uwo_penalty * values.std(0, unbiased=False)

    def fragment_returns(self, fragments: Fragments, index: Any = None) -> torch.Tensor:
        return self._combine(torch.stack([m.fragment_returns(fragments, index) for m in self.members]))

    def predict(
        self, obs: Any, act: Any, next_obs: Any = None, done: Any = None, *, normalized: bool = True
    ) -> np.ndarray:
        return self._combine(np.stack([m.predict(obs, act, normalized=normalized) for m in self.members]))

    def predict_factors(self, factors: Any, *, normalized: bool = True) -> np.ndarray:
        return self._combine(np.stack([m.predict_factors(factors, normalized=normalized) for m in self.members]))

    def train_members(self, dataset: PreferenceDataset, seed: int = 0, **kwargs: Any) -> list[list[float]]:
        """Train each member on its own bootstrap resample of the pairs."""
        return [
            train_reward_model(m, dataset, seed=seed + k, bootstrap=True, **kwargs) for k, m in enumerate(self.members)
        ]
