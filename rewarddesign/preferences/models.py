"""Reward models learned from preferences: the Bradley-Terry loss, ensembles, normalisation.

A :class:`RewardModel` scores each step of a fragment, from observations and actions (an
:class:`~rewarddesign.rewards.MLPRewardNet`), from reward factors (an MLP on the factor vector)
or from the observation and the factors (an MLP on both, HERON's reference model); a fragment's
predicted return is the sum of its steps' scores, and the Bradley-Terry
model says ``P(i preferred to j) = sigmoid(R_i - R_j)``. :class:`RewardEnsemble` trains several
models that differ in their seed (initial weights and minibatch order) on the same pairs, as
Coste et al. (ICLR 2024) do, or on bootstrap resamples of the pairs, and aggregates them by the
mean, the worst case (WCO: the minimum over members) or uncertainty weighting (UWO: the mean minus
``lambda`` times the variance over members), against over-optimising one model's mistakes.
Outputs are normalised by running statistics of the steps seen in training
(:meth:`RewardModel.update_normalizer`).

Seeding: a model's ``seed`` fixes its initial weights and :func:`train_reward_model`'s ``seed``
its minibatch order; neither touches torch's or numpy's global generators, so building or
training a reward model does not change what the rest of the process draws.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Sequence
from typing import Any, Literal, cast

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.torch_layers import create_mlp
from torch import nn
from torch.nn import functional as F

from rewarddesign._seeding import seeded_torch
from rewarddesign._validation import check_device, check_positive_int, check_real
from rewarddesign.preferences.data import Fragments, PreferenceDataset
from rewarddesign.rewards import MLPRewardNet

__all__ = [
    "RewardModel",
    "RewardEnsemble",
    "aggregate_members",
    "bradley_terry_loss",
    "train_reward_model",
    "preference_accuracy",
]

AGGREGATES = ("mean", "wco", "uwo", "uwo-std")
Aggregate = Literal["mean", "wco", "uwo", "uwo-std"]
#: What a :class:`RewardModel` scores: ``(obs, act)``, the reward factors, or the observation and the factors.
RewardInputs = Literal["obs_act", "factors", "obs_factors"]


def bradley_terry_loss(returns_first: torch.Tensor, returns_second: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of labels in ``{0, 0.5, 1}`` under ``P(first preferred) = sigmoid(R_first - R_second)``."""
    return F.binary_cross_entropy_with_logits(returns_first - returns_second, labels)


class RewardModel(nn.Module):
    """A per-step reward learned from preferences.

    Three kinds of input, chosen by the arguments given (:attr:`inputs` says which):

    - ``observation_space`` and ``action_space``: ``"obs_act"``, the step's observation and action;
    - ``n_factors`` alone: ``"factors"``, the step's reward-factor vector ``[K]``;
    - ``observation_space`` and ``n_factors``: ``"obs_factors"``, the flattened observation the
      action was taken in followed by the step's factors (HERON's reference model on classic
      control, where the factors carry the action's effect).

    Args:
        observation_space: With ``action_space``: score ``(obs, act)`` steps; with ``n_factors``:
            score ``(obs, factors)`` steps (a ``Box`` space, flattened).
        action_space: The env's action space.
        n_factors: Alone: score the reward-factor vector ``[K]`` of each step; with
            ``observation_space``: the observation and the factors.
        hidden_sizes: Widths of the hidden layers.
        device: ``"auto"`` (CUDA when there is one), ``"cpu"``, ...
        seed: Fixes the initial weights. They are drawn from a fork of torch's CPU generator seeded
            with ``seed``, so the caller's global torch stream is left as it was; ``None`` draws
            them from torch's global generator as it stands (as ``torch.nn`` modules do).
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
        if action_space is not None and (observation_space is None or n_factors is not None):
            raise ValueError(
                "give either observation_space and action_space, n_factors, or observation_space and n_factors"
            )
        if observation_space is None and n_factors is None:
            raise ValueError(
                "give either observation_space and action_space, n_factors, or observation_space and n_factors"
            )
        if n_factors is not None:
            n_factors = check_positive_int(n_factors, "n_factors")
        self.n_factors = n_factors
        self.obs_dim = 0
        self.inputs: RewardInputs = "obs_act" if action_space is not None else "factors"
        if n_factors is not None and observation_space is not None:
            if not isinstance(observation_space, gym.spaces.Box):
                raise TypeError(
                    f"observation_space must be a gymnasium Box for an (obs, factors) model, got {observation_space!r}"
                )
            self.inputs, self.obs_dim = "obs_factors", int(gym.spaces.flatdim(observation_space))
        with seeded_torch(seed):  # built on the CPU, so the CPU generator draws every weight
            if n_factors is not None:
                self.net: nn.Sequential | MLPRewardNet = nn.Sequential(
                    *create_mlp(self.obs_dim + n_factors, 1, list(hidden_sizes), nn.ReLU)
                )
            else:
                assert observation_space is not None and action_space is not None  # checked above
                self.net = MLPRewardNet(observation_space, action_space, hidden_sizes=hidden_sizes, device="cpu")
        self.normalizer = RunningMeanStd(shape=())
        self.to(check_device(device))

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
            x = x.reshape(n * length, -1)
            if self.obs_dim:
                obs = torch.as_tensor(fragments.obs[index], dtype=torch.float32, device=self.device)
                x = torch.cat([self._check_obs(obs.reshape(n * length, -1)), x], dim=1)
            return self.net(x).reshape(n, length)
        obs = fragments.obs[index].reshape(n * length, *fragments.obs.shape[2:])
        acts = fragments.acts[index].reshape(n * length, *fragments.acts.shape[2:])
        net = self._obs_act_net()
        return net(*net.preprocess(obs, acts, obs, np.zeros(n * length))).reshape(n, length)

    def _check_obs(self, obs: torch.Tensor) -> torch.Tensor:
        if obs.shape[1] != self.obs_dim:
            raise ValueError(f"obs must hold {self.obs_dim} values per step for this model, got {obs.shape[1]}")
        return obs

    def _obs_act_net(self) -> MLPRewardNet:
        assert isinstance(self.net, MLPRewardNet)  # an (obs, act) model
        return self.net

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
        obs, net = np.asarray(obs), self._obs_act_net()
        with torch.no_grad():
            out = net(*net.preprocess(obs, act, obs, np.zeros(len(obs)))).cpu().numpy().astype(np.float64)
        return self.normalize(out) if normalized else out

    def predict_factors(self, factors: Any, obs: Any = None, *, normalized: bool = True) -> np.ndarray:
        """Rewards ``[B]`` of factor vectors ``[B, K]`` (for factor models and ``(obs, factors)`` models).

        Args:
            factors: ``[B, K]`` reward factors of the steps.
            obs: ``[B, ...]`` the observations the steps' actions were taken in; needed by an
                ``"obs_factors"`` model, ignored by a ``"factors"`` one.
            normalized: Standardise by the running statistics of the training steps.

        Raises:
            TypeError: The model scores ``(obs, act)`` (use :meth:`predict`).
            ValueError: An ``"obs_factors"`` model is given no ``obs``, or ``obs`` and ``factors``
                differ in their number of steps.
        """
        if self.n_factors is None:
            raise TypeError("this model scores (obs, act): use predict")
        x = torch.as_tensor(np.asarray(factors, dtype=np.float32), device=self.device).reshape(-1, self.n_factors)
        if self.obs_dim:
            if obs is None:
                raise ValueError("obs is required: this model scores the observation with the factors")
            o = torch.as_tensor(np.asarray(obs, dtype=np.float32), device=self.device).reshape(len(x), -1)
            x = torch.cat([self._check_obs(o), x], dim=1)
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
        """Load what :meth:`save` wrote into this (identically built) model.

        Raises:
            ValueError: The file is not one :meth:`save` wrote (it is read with ``weights_only=True``
                and nothing else is loaded, since a pickle could run code from the file).
        """
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, KeyError, AttributeError) as err:
            raise ValueError(
                f"path {str(path)!r} is not a reward model written by RewardModel.save; it was not loaded "
                f"({type(err).__name__})"
            ) from None
        if not isinstance(state, dict) or not {"_norm_mean", "_norm_var", "_norm_count"} <= set(state):
            raise ValueError(f"path {str(path)!r} is not a reward model written by RewardModel.save")
        self.normalizer.mean = np.array(float(state.pop("_norm_mean")))
        self.normalizer.var = np.array(float(state.pop("_norm_var")))
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

    ``seed`` fixes the minibatch order (and the resample), drawn from a numpy ``Generator`` of its
    own: training draws nothing from torch's or numpy's global generators and does not re-seed them.
    ``bootstrap`` trains on a resample of the pairs with replacement (an option for ensemble
    members). The normaliser is updated with the dataset's fragments afterwards.

    Raises:
        ValueError: The dataset is empty, ``epochs`` or ``batch_size`` is not an integer >= 1,
            ``lr`` is not finite and > 0, or ``weight_decay`` not finite and >= 0.
        TypeError: ``lr`` or ``weight_decay`` is not a real number.
    """
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    weight_decay = check_real(weight_decay, "weight_decay", low=0.0)
    if len(dataset) == 0:
        raise ValueError("dataset is empty: it holds no labelled pairs")
    rng = np.random.default_rng(seed)
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


def aggregate_members(values: Any, aggregate: Aggregate = "mean", uwo_penalty: float = 1.0) -> Any:
    """Aggregate members' outputs ``[M, ...]`` over the first axis (numpy array or torch tensor).

    ``"mean"``: the mean; ``"wco"``: the minimum; ``"uwo"``: the mean minus ``uwo_penalty`` times
    the population variance ``(1/M) sum_m (R_m - mean)^2`` (Coste et al., ICLR 2024);
    ``"uwo-std"``: the mean minus ``uwo_penalty`` times the standard deviation (not the paper's).

    Example:
        >>> aggregate_members(np.array([[1.0, 0.0], [3.0, 0.0]]), "uwo", uwo_penalty=0.5)  # mean 2, variance 1
        array([1.5, 0. ])
        >>> aggregate_members(np.array([[1.0, 0.0], [5.0, 0.0]]), "uwo-std", uwo_penalty=0.5)  # mean 3, std 2
        array([2., 0.])
    """
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
    uwo_penalty = check_real(uwo_penalty, "uwo_penalty", low=0.0)
    if aggregate == "wco":
        return values.min(0) if isinstance(values, np.ndarray) else values.min(0).values
    mean = values.mean(0)
    if aggregate == "mean":
        return mean
    variance = ((values - mean) ** 2).mean(0)  # the population variance over members
    return mean - uwo_penalty * (variance if aggregate == "uwo" else variance**0.5)


class RewardEnsemble(nn.Module):
    """Several reward models aggregated by the mean, the worst case or uncertainty weighting.

    With ``R_m`` the members' outputs (a step's reward or a fragment's return) and ``M`` members:

    - ``"mean"``: ``mean_m R_m``;
    - ``"wco"`` (worst-case optimisation): ``min_m R_m``;
    - ``"uwo"`` (uncertainty-weighted optimisation, Coste et al., ICLR 2024):
      ``mean_m R_m - uwo_penalty * var_m R_m``, the intra-ensemble variance
      ``(1/M) sum_m (R_m - mean)^2``, as in the paper;
    - ``"uwo-std"``: the same with the standard deviation ``sqrt(var_m R_m)`` in place of the
      variance (a variant in the reward's own units, not the paper's).

    The variance is in squared reward units, so ``uwo_penalty`` depends on the scale of the
    outputs (normalised ones by default in :meth:`predict`).

    Args:
        members: Models of the same kind (build one and pass ``RewardEnsemble.of(model, n)``).
        aggregate: ``"mean"``, ``"wco"``, ``"uwo"`` or ``"uwo-std"``.
        uwo_penalty: ``lambda >= 0``, the weight of the spread in UWO.

    The rule itself is :func:`aggregate_members`.
    """

    def __init__(self, members: Sequence[RewardModel], aggregate: Aggregate = "mean", uwo_penalty: float = 1.0) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {len(members)}")
        if aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
        if not np.isfinite(uwo_penalty) or uwo_penalty < 0:
            raise ValueError(f"uwo_penalty must be finite and >= 0, got {uwo_penalty!r}")
        self.members = nn.ModuleList(members)
        self.aggregate: Aggregate = aggregate
        self.uwo_penalty = float(uwo_penalty)

    def _models(self) -> list[RewardModel]:
        return cast(list[RewardModel], list(self.members))

    @classmethod
    def of(
        cls, model: RewardModel, n: int, aggregate: Aggregate = "mean", seed: int = 0, **kwargs: Any
    ) -> RewardEnsemble:
        """``n`` copies of ``model``, member ``k`` re-initialised from seed ``seed + k``.

        The weights are drawn as :class:`RewardModel` draws them from its ``seed`` (member ``k``
        starts as ``RewardModel(..., seed=seed + k)`` does), without touching torch's global generator.
        """
        if n < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got n={n}")
        members = []
        for k in range(n):
            member = copy.deepcopy(model)
            device = member.device
            member.to("cpu")  # redraw on the CPU generator, whatever the device
            with seeded_torch(seed + k):
                for layer in member.modules():
                    if isinstance(layer, nn.Linear):
                        layer.reset_parameters()
            members.append(member.to(device))
        return cls(members, aggregate, **kwargs)

    def _combine(self, values: torch.Tensor | np.ndarray) -> Any:
        return aggregate_members(values, self.aggregate, self.uwo_penalty)

    def fragment_returns(self, fragments: Fragments, index: Any = None) -> torch.Tensor:
        return self._combine(torch.stack([m.fragment_returns(fragments, index) for m in self._models()]))

    def predict(
        self, obs: Any, act: Any, next_obs: Any = None, done: Any = None, *, normalized: bool = True
    ) -> np.ndarray:
        return self._combine(np.stack([m.predict(obs, act, normalized=normalized) for m in self._models()]))

    def predict_factors(self, factors: Any, obs: Any = None, *, normalized: bool = True) -> np.ndarray:
        return self._combine(np.stack([m.predict_factors(factors, obs, normalized=normalized) for m in self._models()]))

    def train_members(
        self, dataset: PreferenceDataset, seed: int = 0, bootstrap: bool = False, **kwargs: Any
    ) -> list[list[float]]:
        """Train member ``k`` with :func:`train_reward_model` and seed ``seed + k``; its losses per epoch.

        By default every member sees the same pairs and the members differ only by their seeds
        (initial weights from :meth:`of`, minibatch order from here), as in Coste et al. (ICLR
        2024); ``bootstrap=True`` trains each on its own resample of the pairs with replacement.
        """
        return [
            train_reward_model(m, dataset, seed=seed + k, bootstrap=bootstrap, **kwargs)
            for k, m in enumerate(self._models())
        ]
