"""The KL penalty for deep RL: ``-beta (log pi(a|s) - log ref(a|s))`` added to each step's reward.

:class:`KLPenaltyTerm` is a :class:`~rewarddesign.rewards.RewardTerm` (mode ``"add"``), so it runs
in every env form of the reward-wrapper family (``DesignedReward``, ``VectorDesignedReward``,
``VecDesignedReward`` for SB3). It scores the action each step took under the policy being
trained and under a frozen reference policy (both SB3 policies or models) and adds
``-beta`` times the log-ratio, the per-step form of the KL-regularised objective that RLHF
optimises. Its value goes to ``info["kl_penalty"]`` and the log-ratios of the last step to
:attr:`KLPenaltyTerm.last_log_ratio` (also at ``beta = 0``, where the penalty is 0): their mean over
the agent's own steps is an unbiased estimate of the KL per step, ``E_s KL(pi(.|s) || ref(.|s))``
over the states the agent visits.
Stack it outside a learned-reward wrapper (``VecLearnedReward``) to optimise a learned proxy with a
KL penalty, with a ``Monitor`` innermost for the gold return; :class:`OveroptimizationCallback`
logs the gold return, the proxy return and the KL over training::

    venv = VecLearnedReward(make_vec_env("Pendulum-v1", 4, seed), proxy)       # Monitor inside: gold
    term = KLPenaltyTerm(reference, beta)
    agent = PPO("MlpPolicy", VecDesignedReward(venv, term), seed=seed)
    term.set_policy(agent)
    callback = OveroptimizationCallback(term)
    agent.learn(50_000, callback=callback)
    callback.points                       # (timesteps, gold return, proxy return, KL per step) per rollout
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from rewarddesign._validation import check_real
from rewarddesign.rewards import RewardTerm
from rewarddesign.rewards.wrappers import Bools, Floats, Infos
from rewarddesign.train import RewardDesignCallback

__all__ = ["KLPenaltyTerm", "action_log_prob", "TrainingPoint", "OveroptimizationCallback"]


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
        #: ``log pi(a|s) - log ref(a|s)`` of the last step, float ``[num_envs]`` (empty before the first).
        self.last_log_ratio: NDArray[np.float64] = np.zeros(0)

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
        # measured at beta = 0 too, so that the unpenalised run's KL can be logged
        log_ratio = action_log_prob(self.policy, obs, act) - action_log_prob(self.reference, obs, act)
        self.last_log_ratio = log_ratio
        if self.beta == 0.0:
            return np.zeros(len(reward))
        return 0.0 - self.beta * log_ratio  # 0.0 - x: a zero penalty prints as 0.0, not -0.0


@dataclass(frozen=True)
class TrainingPoint:
    """One rollout's measurements of :class:`OveroptimizationCallback`.

    Attributes:
        timesteps: Env steps done at the end of the rollout.
        gold_return: Mean gold (env) return of the training episodes that ended in the rollout
            (NaN if none ended).
        proxy_return: Mean proxy return (the sum of ``info[proxy_key]``) of the same episodes.
        kl: Mean ``log pi(a|s) - log ref(a|s)`` over the rollout's steps: the KL per step.
        episodes: Episodes that ended in the rollout.
    """

    timesteps: int
    gold_return: float
    proxy_return: float
    kl: float
    episodes: int


class OveroptimizationCallback(RewardDesignCallback):
    """Logs the gold return, the proxy return and the KL to the reference after every rollout.

    A :class:`~rewarddesign.train.RewardDesignCallback` (which logs the designed and the true
    return) that also sums the proxy reward ``info[proxy_key]`` over each episode and averages
    :attr:`KLPenaltyTerm.last_log_ratio` over the steps of each rollout. The gold return is the
    ``Monitor``'s (``info["episode"]["r"]``), so a ``Monitor`` must sit inside the reward wrappers.
    The measurements land in :attr:`points` and in the logger as ``overopt/gold_return``,
    ``overopt/proxy_return`` and ``overopt/kl``.

    Args:
        term: The KL term of the training env (stepped by its ``VecDesignedReward``).
        proxy_key: The info key of the proxy reward (``"learned_reward"`` for ``VecLearnedReward``).

    Raises:
        TypeError: ``term`` is not a :class:`KLPenaltyTerm`.
    """

    def __init__(self, term: KLPenaltyTerm, proxy_key: str = "learned_reward") -> None:
        super().__init__()
        if not isinstance(term, KLPenaltyTerm):
            raise TypeError(f"term must be a KLPenaltyTerm, got {type(term).__name__}")
        self.term, self.proxy_key = term, str(proxy_key)
        self.points: list[TrainingPoint] = []
        self._proxy = np.zeros(0)
        self._gold_done: list[float] = []
        self._proxy_done: list[float] = []
        self._log_ratio_sum, self._steps = 0.0, 0

    def _on_training_start(self) -> None:
        super()._on_training_start()
        self._proxy = np.zeros(self.training_env.num_envs)

    def _on_step(self) -> bool:
        infos, dones = self.locals["infos"], self.locals["dones"]
        for i, info in enumerate(infos):
            self._proxy[i] += float(info.get(self.proxy_key, np.nan))
        self._log_ratio_sum += float(np.sum(self.term.last_log_ratio))
        self._steps += len(self.term.last_log_ratio)
        for i in np.flatnonzero(dones):
            episode = infos[i].get("episode")
            if episode is not None:
                self._gold_done.append(float(episode["r"]))
                self._proxy_done.append(float(self._proxy[i]))
            self._proxy[i] = 0.0
        return super()._on_step()

    def _on_rollout_end(self) -> None:
        super()._on_rollout_end()
        nan = float("nan")
        point = TrainingPoint(
            timesteps=int(self.num_timesteps),
            gold_return=float(np.mean(self._gold_done)) if self._gold_done else nan,
            proxy_return=float(np.mean(self._proxy_done)) if self._proxy_done else nan,
            kl=self._log_ratio_sum / self._steps if self._steps else nan,
            episodes=len(self._gold_done),
        )
        self.points.append(point)
        self.logger.record("overopt/gold_return", point.gold_return)
        self.logger.record("overopt/proxy_return", point.proxy_return)
        self.logger.record("overopt/kl", point.kl)
        self._gold_done, self._proxy_done = [], []
        self._log_ratio_sum, self._steps = 0.0, 0
