"""The KL penalty for deep RL: ``-beta (log pi(a|s) - log ref(a|s))`` added to each step's reward.

:class:`KLPenaltyTerm` is a :class:`~rewarddesign.rewards.RewardTerm` (mode ``"add"``), so it runs
in every env form of the reward-wrapper family (``DesignedReward``, ``VectorDesignedReward``,
``VecDesignedReward`` for SB3). It scores the action each step took under the policy being
trained and under a frozen reference policy (both SB3 policies or models) and adds
``-beta`` times the log-ratio, the per-step form of the KL-regularised objective that RLHF
optimises. Its value goes to ``info["kl_penalty"]``; the mean log-ratio over the agent's own steps
(``-info["kl_penalty"] / beta``) is an unbiased estimate of the KL per step, to log over training.
Stack it outside a learned-reward wrapper (``VecLearnedReward``) to optimise a learned proxy with a
KL penalty, with a ``Monitor`` innermost for the gold return.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from rewarddesign._validation import check_real
from rewarddesign.rewards import RewardTerm
from rewarddesign.rewards.wrappers import Bools, Floats, Infos

__all__ = ["KLPenaltyTerm", "action_log_prob"]


def _policy(policy: Any, name: str) -> Any:
    inner = getattr(policy, "policy", policy)
    if not callable(getattr(inner, "get_distribution", None)) or not callable(getattr(inner, "obs_to_tensor", None)):
        raise TypeError(f"{name} must be an SB3 policy or model with a distribution, got {type(policy).__name__}")
    return inner


def action_log_prob(policy: Any, obs: Any, actions: Any) -> NDArray[np.float64]:
    """``log pi(a|s)`` ``[B]`` of actions ``[B, ...]`` in observations ``[B, ...]`` under an SB3 policy (or model)."""
    inner = _policy(policy, "policy")
    with torch.no_grad():
        obs_tensor, _ = inner.obs_to_tensor(obs)
        act = torch.as_tensor(np.asarray(actions), device=inner.device)
        distribution = inner.get_distribution(obs_tensor)
        return distribution.log_prob(act).reshape(-1).cpu().numpy().astype(np.float64)


class KLPenaltyTerm(RewardTerm):
    """``-beta (log pi(a|s) - log ref(a|s))`` for the policy being trained and a frozen reference.

    Args:
        reference: The frozen reference, an SB3 policy or model.
        beta: The KL weight, finite and >= 0.
        policy: The policy being trained (an SB3 policy or model); may be set later with
            :meth:`set_policy`, once the model that wraps the env exists.

    Example:
        >>> import gymnasium as gym
        >>> from stable_baselines3 import PPO
        >>> from rewarddesign.rewards import DesignedReward
        >>> reference = PPO("MlpPolicy", "CartPole-v1", seed=0, device="cpu")
        >>> term = KLPenaltyTerm(reference, beta=0.1, policy=reference)
        >>> env = DesignedReward(gym.make("CartPole-v1"), term)
        >>> _ = env.reset(seed=0)
        >>> _, reward, *_, info = env.step(0)
        >>> reward, info["kl_penalty"]  # the policy is its own reference: no penalty
        (1.0, 0.0)
    """

    info_key = "kl_penalty"

    def __init__(self, reference: Any, beta: float, policy: Any = None) -> None:
        super().__init__(mode="add")
        self.reference = _policy(reference, "reference")
        self.beta = check_real(beta, "beta", low=0.0)
        self.policy = None if policy is None else _policy(policy, "policy")

    def set_policy(self, policy: Any) -> None:
        """The policy being trained (an SB3 policy or model)."""
        self.policy = _policy(policy, "policy")

    def step(
        self,
        obs: Any,
        act: Any,
        next_obs: Any,
        reward: Floats,
        terminated: Bools,
        truncated: Bools,
        infos: Infos,
    ) -> Floats:
        if self.policy is None:
            raise RuntimeError("KLPenaltyTerm has no policy yet: call set_policy(model) before stepping")
        if self.beta == 0.0:
            return np.zeros(len(reward))
        log_ratio = action_log_prob(self.policy, obs, act) - action_log_prob(self.reference, obs, act)
        return 0.0 - self.beta * log_ratio  # 0.0 - x: a zero penalty prints as 0.0, not -0.0
