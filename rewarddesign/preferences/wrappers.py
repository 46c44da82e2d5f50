"""Environments rewarded by a learned reward model (Gymnasium and SB3 VecEnv forms).

The learned reward replaces the env's reward (``mode="replace"``) or is added to it
(``mode="add"``); ``info["original_reward"]`` keeps the env's own reward, so a ``Monitor`` inside
the wrapper reports the true return, and ``info["learned_reward"]`` holds the (scaled) model's
reward. Models on ``(obs, act)`` score the observation the action was taken in; models on reward
factors read ``info["reward_factors"]`` of the step (and models on the observation and the
factors both).

The reward is :class:`LearnedRewardTerm`, a term of the reward-wrapper family
(:mod:`rewarddesign.rewards.wrappers`), one batched model call per step:
:class:`LearnedReward` (Gymnasium) and :class:`VecLearnedReward` (SB3) drive it, and so does
``VectorDesignedReward(envs, LearnedRewardTerm(model))`` for a Gymnasium vector env.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from rewarddesign.factors import stack_factors
from rewarddesign.preferences.models import RewardEnsemble, RewardModel
from rewarddesign.rewards.wrappers import (
    Bools,
    DesignedReward,
    Floats,
    Infos,
    RewardMode,
    RewardTerm,
    VecDesignedReward,
)

__all__ = ["LearnedRewardTerm", "LearnedReward", "VecLearnedReward"]


def _on_factors(model: RewardModel | RewardEnsemble) -> bool:
    if isinstance(model, RewardEnsemble):
        return model.members[0].n_factors is not None
    return model.n_factors is not None


class LearnedRewardTerm(RewardTerm):
    """The reward term of a learned reward model: ``scale * model(obs, act)`` or ``scale * model(factors)``.

    Its values go to ``info["learned_reward"]``.

    Args:
        model: A :class:`~rewarddesign.preferences.models.RewardModel` or
            :class:`~rewarddesign.preferences.models.RewardEnsemble`.
        mode: ``"replace"`` (the reward is the learned one) or ``"add"`` (env reward plus it).
        scale: Multiplies the learned reward.

    Raises:
        TypeError: ``model`` is neither a reward model nor an ensemble.
        ValueError: ``mode`` is neither ``"replace"`` nor ``"add"``.
    """

    info_key = "learned_reward"

    def __init__(self, model: RewardModel | RewardEnsemble, mode: RewardMode = "replace", scale: float = 1.0) -> None:
        super().__init__(mode)
        if not isinstance(model, (RewardModel, RewardEnsemble)):
            raise TypeError(f"model must be a RewardModel or a RewardEnsemble, got {type(model).__name__}")
        self.model, self.scale = model, float(scale)
        self._factors = _on_factors(model)

    def step(
        self, obs: Any, act: Any, next_obs: Any, reward: Floats, terminated: Bools, truncated: Bools, infos: Infos
    ) -> Floats:
        if self._factors:
            return self.scale * np.asarray(self.model.predict_factors(stack_factors(infos), obs), dtype=np.float64)
        return self.scale * np.asarray(self.model.predict(np.asarray(obs), np.asarray(act)), dtype=np.float64)


class LearnedReward(DesignedReward):
    """An env whose reward is a learned model's (or the env's plus the model's): :class:`LearnedRewardTerm`.

    Args:
        env: The env.
        model: A :class:`~rewarddesign.preferences.models.RewardModel` or ``RewardEnsemble``.
        mode: ``"replace"`` or ``"add"``.
        scale: Multiplies the learned reward.
    """

    term: LearnedRewardTerm

    def __init__(
        self, env: gym.Env, model: RewardModel | RewardEnsemble, mode: RewardMode = "replace", scale: float = 1.0
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, model=model, mode=mode, scale=scale)
        super().__init__(env, LearnedRewardTerm(model, mode, scale))

    @property
    def model(self) -> RewardModel | RewardEnsemble:
        """The reward model."""
        return self.term.model


class VecLearnedReward(VecDesignedReward):
    """The SB3 VecEnv form of :class:`LearnedReward`: one batched model call per step.

    Args:
        venv: The vectorised env.
        model: A :class:`~rewarddesign.preferences.models.RewardModel` or ``RewardEnsemble``.
        mode: ``"replace"`` or ``"add"``.
        scale: Multiplies the learned reward.
    """

    term: LearnedRewardTerm

    def __init__(
        self, venv: VecEnv, model: RewardModel | RewardEnsemble, mode: RewardMode = "replace", scale: float = 1.0
    ) -> None:
        super().__init__(venv, LearnedRewardTerm(model, mode, scale))

    @property
    def model(self) -> RewardModel | RewardEnsemble:
        """The reward model."""
        return self.term.model
