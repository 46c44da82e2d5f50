"""A learned vector reward: one Bradley-Terry reward head per factor, trained from per-factor preferences.

Where HERON (:class:`rewarddesign.preferences.HeronGatherer`) turns a ranking of reward factors
into one scalar preference, :class:`VectorRewardModel` keeps the factors apart: head ``k`` is a
:class:`rewarddesign.preferences.RewardModel` on ``(obs, act)`` trained on pairs of fragments
labelled by factor ``k`` alone (a one-level HERON comparison: the fragment whose signed factor
sum is higher by more than ``sigma_k`` standard deviations is preferred; closer pairs are
dropped). :class:`LearnedVectorReward` gives the heads' normalised outputs as the env's reward
vector, ready for every scalarising wrapper of :mod:`rewarddesign.multiobjective`.

Example:
    >>> import gymnasium as gym
    >>> from rewarddesign.factors import FactorSpec, RewardFactors
    >>> from rewarddesign.preferences import Fragments
    >>> from rewarddesign.rollouts import rollout
    >>> spec = FactorSpec(("x", "-x"), (1.0, 1.0), lambda env, obs, act, next_obs, r, term, info: [obs[0], -obs[0]])
    >>> env = RewardFactors(gym.make("CartPole-v1"), spec)
    >>> fragments = Fragments.from_trajectories(rollout(None, env, n_episodes=20, seed=0), 5, np.random.default_rng(0))
    >>> model = VectorRewardModel(env.observation_space, env.action_space, n_objectives=2, seed=0, device="cpu")
    >>> losses = train_vector_reward_model(model, fragments, signs=spec.signs, n_pairs=200, epochs=2, seed=0)
    >>> len(losses), model.predict(np.zeros((3, 4)), np.zeros(3, dtype=int)).shape
    (2, (3, 2))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from torch import nn

from rewarddesign._validation import check_positive_int
from rewarddesign.factors import require_factor_spec
from rewarddesign.preferences import Fragments, HeronGatherer, RewardModel, random_pairs, train_reward_model

__all__ = ["VectorRewardModel", "train_vector_reward_model", "LearnedVectorReward"]


class VectorRewardModel(nn.Module):
    """``K`` reward heads on ``(obs, act)``, one per objective.

    Args:
        observation_space: The env's observation space.
        action_space: The env's action space.
        n_objectives: ``K``.
        hidden_sizes: Widths of each head's hidden layers.
        device: ``"auto"``, ``"cpu"``, ...
        seed: Head ``k`` is built with seed ``seed + k`` (None: torch's global generator as it stands).
    """

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        n_objectives: int,
        *,
        hidden_sizes: Sequence[int] = (64, 64),
        device: torch.device | str = "auto",
        seed: int | None = None,
    ) -> None:
        super().__init__()
        k = check_positive_int(n_objectives, "n_objectives")
        self.heads = nn.ModuleList(
            RewardModel(
                observation_space,
                action_space,
                hidden_sizes=hidden_sizes,
                device=device,
                seed=None if seed is None else seed + i,
            )
            for i in range(k)
        )
        self.n_objectives = k

    def head(self, k: int) -> RewardModel:
        """Head ``k``."""
        head = self.heads[k]
        assert isinstance(head, RewardModel)
        return head

    def predict(self, obs: ArrayLike, act: ArrayLike, *, normalized: bool = True) -> NDArray[np.float64]:
        """Reward vectors ``[B, K]`` of steps ``obs [B, ...]``, ``act [B, ...]``."""
        return np.stack(
            [self.head(k).predict(np.asarray(obs), act, normalized=normalized) for k in range(self.n_objectives)],
            axis=1,
        )


def train_vector_reward_model(
    model: VectorRewardModel,
    fragments: Fragments,
    *,
    signs: Sequence[float] | None = None,
    sigmas: ArrayLike = 0.1,
    n_pairs: int = 1000,
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
) -> list[list[float]]:
    """Train each head on pairs labelled by its own factor; return each head's mean loss per epoch.

    Head ``k`` sees ``n_pairs`` random pairs of the fragments, labelled by a one-factor HERON
    comparison of factor ``k`` (``signs[k]``: +1 if more is better, -1 if less is; margin
    ``sigmas[k]`` times the factor sums' standard deviation; undecided pairs dropped), and is
    trained by :func:`rewarddesign.preferences.train_reward_model`.

    Args:
        model: The model.
        fragments: Fragments with reward factors ``[N, L, K]``.
        signs: Per factor; None for all +1.
        sigmas: Margin per factor (or one for all), ``>= 0``.
        n_pairs: Pairs drawn per head.
        epochs: Training epochs per head.
        batch_size: Pairs per minibatch.
        lr: Adam's learning rate.
        seed: Seeds the pairs and the minibatch order (head ``k`` from ``seed + k``).

    Returns:
        ``[K][epochs]`` mean losses.

    Raises:
        ValueError: The fragments hold no factors or not ``K`` of them; a head has no decided pair.
    """
    if fragments.factors is None or fragments.factors.shape[2] != model.n_objectives:
        got = None if fragments.factors is None else fragments.factors.shape[2]
        raise ValueError(f"fragments must hold {model.n_objectives} reward factors per step, got {got}")
    k = model.n_objectives
    sign = np.ones(k) if signs is None else np.asarray(signs, dtype=np.float64).reshape(-1)
    sigma = np.broadcast_to(np.asarray(sigmas, dtype=np.float64), (k,))
    check_positive_int(n_pairs, "n_pairs")
    losses = []
    for i in range(k):
        single = Fragments(fragments.obs, fragments.acts, fragments.factors[:, :, i : i + 1], fragments.rewards)
        rng = np.random.default_rng(seed + i)
        first, second = random_pairs(len(single), n_pairs, rng)
        dataset = HeronGatherer([0], [float(sign[i])], [float(sigma[i])])(single, first, second)
        if len(dataset) == 0:
            raise ValueError(f"no pair is decided by factor {i}: lower sigmas[{i}] or give more varied fragments")
        losses.append(
            train_reward_model(model.head(i), dataset, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed + i)
        )
    return losses


class LearnedVectorReward(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """The heads of a :class:`VectorRewardModel` as the env's reward vector ``[K]``.

    ``info["original_reward"]`` keeps the env's reward; ``reward_space`` is an unbounded ``Box`` of
    shape ``(K,)``. If the env publishes reward factors with as many entries, the model's
    objectives take their names (``factor_names``).

    Args:
        env: The env (the observation and action spaces the model was built on).
        model: The trained model.
    """

    def __init__(self, env: gym.Env, model: VectorRewardModel) -> None:
        if not isinstance(model, VectorRewardModel):
            raise TypeError(f"model must be a VectorRewardModel, got {type(model).__name__}")
        gym.utils.RecordConstructorArgs.__init__(self, model=model, _disable_deepcopy=True)
        gym.Wrapper.__init__(self, env)
        self.model = model
        self.reward_space = gym.spaces.Box(-np.inf, np.inf, shape=(model.n_objectives,), dtype=np.float64)
        try:
            names = require_factor_spec(env).names
        except ValueError:
            names = tuple(f"objective {k}" for k in range(model.n_objectives))
        self.factor_names = (
            names if len(names) == model.n_objectives else tuple(f"objective {k}" for k in range(model.n_objectives))
        )
        self._obs: Any = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._obs = obs
        return obs, info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        vector = self.model.predict(np.asarray(self._obs)[None], np.asarray(action)[None])[0]
        self._obs = obs
        info["original_reward"] = reward
        return obs, vector, terminated, truncated, info
