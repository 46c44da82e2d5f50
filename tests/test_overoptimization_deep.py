"""Deep-RL overoptimization: the callback logs gold, proxy and KL over a brief PPO run against a learned proxy."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO

from rewarddesign._seeding import GlobalRandomStream
from rewarddesign.overoptimization import KLPenaltyTerm, OveroptimizationCallback, TrainingPoint
from rewarddesign.preferences import RewardModel, VecLearnedReward
from rewarddesign.rewards import VecDesignedReward
from rewarddesign.train import make_vec_env

PPO_KWARGS = {"n_steps": 64, "batch_size": 64, "n_epochs": 10, "learning_rate": 1e-2}


def _brief_run(beta: float, rollouts: int = 4) -> tuple[OveroptimizationCallback, KLPenaltyTerm]:
    stream = GlobalRandomStream(0)
    env = gym.make("Pendulum-v1")
    proxy = RewardModel(env.observation_space, env.action_space, hidden_sizes=(8,), device="cpu", seed=0)
    with stream.active():
        reference = PPO("MlpPolicy", "Pendulum-v1", seed=0, device="cpu", **PPO_KWARGS)
        term = KLPenaltyTerm(reference, beta)
        venv = VecDesignedReward(VecLearnedReward(make_vec_env("Pendulum-v1", 4, 0), proxy), term)
        agent = PPO("MlpPolicy", venv, seed=0, device="cpu", **PPO_KWARGS)
        agent.policy.load_state_dict(reference.policy.state_dict())
        term.set_policy(agent)
        callback = OveroptimizationCallback(term)
        agent.learn(total_timesteps=rollouts * 4 * PPO_KWARGS["n_steps"], callback=callback)
    return callback, term


def test_brief_run_logs_gold_proxy_and_a_growing_kl_at_beta_zero():
    callback, term = _brief_run(beta=0.0)
    points = callback.points
    assert len(points) == 4 and all(isinstance(p, TrainingPoint) for p in points)
    assert [p.timesteps for p in points] == [256, 512, 768, 1024]
    # 200-step episodes in 4 envs x 64 steps: the first ones end in the fourth rollout
    ended = [p for p in points if p.episodes > 0]
    assert ended and all(np.isfinite(p.gold_return) and np.isfinite(p.proxy_return) for p in ended)
    assert all(p.gold_return < 0 for p in ended)  # Pendulum's rewards are negative
    # the agent starts as a copy of the reference: no KL in the first rollout, then it grows
    assert points[0].kl == 0.0
    assert points[-1].kl > 0.01
    assert term.last_log_ratio.shape == (4,)


def test_callback_needs_a_kl_term():
    with pytest.raises(TypeError, match="term must be a KLPenaltyTerm"):
        OveroptimizationCallback(object())  # type: ignore[arg-type]
