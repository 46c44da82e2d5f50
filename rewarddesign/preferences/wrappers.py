"""Environments rewarded by a learned reward model (Gymnasium and SB3 VecEnv forms).

The learned reward replaces the env's reward (``mode="replace"``) or is added to it
(``mode="add"``); ``info["true_reward"]`` keeps the env's own reward, so a ``Monitor`` inside the
wrapper reports the true return. Models on ``(obs, act)`` score the observation the action was
taken in; models on reward factors read ``info["reward_factors"]`` of the step.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from rewarddesign.rewards import TransitionRewardWrapper

__all__ = ["LearnedReward", "VecLearnedReward"]

MODES = ("replace", "add")


def _score(model: Any, obs: np.ndarray, act: np.ndarray, infos: list[dict[str, Any]]) -> np.ndarray:
    if getattr(model, "n_factors", None) is not None or (
        hasattr(model, "members") and model.members[0].n_factors is not None
    ):
        try:
            factors = np.stack([np.asarray(info["reward_factors"], dtype=np.float64) for info in infos])
        except KeyError as error:
            raise KeyError("a reward model on factors needs info['reward_factors'] from the env") from error
        return model.predict_factors(factors)
    return model.predict(obs, act)


class LearnedReward(TransitionRewardWrapper, gym.utils.RecordConstructorArgs):
    """An env whose reward is a learned model's (or the env's plus the model's).

    Args:
        env: The env.
        model: A :class:`~rewarddesign.preferences.models.RewardModel` or ``RewardEnsemble``.
        mode: ``"replace"`` or ``"add"``.
        scale: Multiplies the learned reward.
    """

    def __init__(self, env: gym.Env, model: Any, mode: str = "replace", scale: float = 1.0) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        gym.utils.RecordConstructorArgs.__init__(self, model=model, mode=mode, scale=scale)
        super().__init__(env)
        self.model, self.mode, self.scale = model, mode, float(scale)

    def transition_reward(self, obs: Any, action: Any, next_obs: Any, reward: float, terminated: bool, info: dict):
        learned = self.scale * float(_score(self.model, np.asarray(obs)[None], np.asarray(action)[None], [info])[0])
        new = learned if self.mode == "replace" else reward + learned
        return new, dict(info, true_reward=reward, learned_reward=learned)


class VecLearnedReward(VecEnvWrapper):
    """The SB3 VecEnv form of :class:`LearnedReward`: one batched model call per step."""

    def __init__(self, venv: VecEnv, model: Any, mode: str = "replace", scale: float = 1.0) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        super().__init__(venv)
        self.model, self.mode, self.scale = model, mode, float(scale)
        self._obs: np.ndarray | None = None
        self._actions: np.ndarray | None = None

    def reset(self) -> Any:
        self._obs = self.venv.reset()
        return self._obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)
        self.venv.step_async(actions)

    def step_wait(self) -> Any:
        obs, rewards, dones, infos = self.venv.step_wait()
        learned = self.scale * _score(self.model, np.asarray(self._obs), self._actions, infos)
        for info, true, value in zip(infos, rewards, learned):
            info["true_reward"], info["learned_reward"] = float(true), float(value)
        self._obs = obs  # after an autoreset the next step starts from the reset observation, as SB3 returns it
        out = learned if self.mode == "replace" else rewards + learned
        return obs, out.astype(np.float32), dones, infos
