import csv
import json

import gymnasium as gym
import numpy as np
import pytest
import torch

from rewarddesign.train import ALGORITHMS, load_policy, make_vec_env, save_policy, train

PPO_SMALL = {"n_steps": 256, "batch_size": 64, "n_epochs": 2}


def test_ppo_on_shaped_cartpole_trains_and_logs_both_returns(tmp_path):
    result = train(
        "CartPole-v1",
        "ppo",
        2048,
        seed=0,
        shaping="cartpole_upright",
        log_dir=tmp_path,
        eval_freq=1024,
        eval_episodes=3,
        algo_kwargs=PPO_SMALL,
        device="cpu",
    )
    model = result.model
    assert model.num_timesteps == 2048
    with open(tmp_path / "progress.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2048 // 256
    last = rows[-1]
    true, designed = float(last["rollout/true_return_mean"]), float(last["rollout/designed_return_mean"])
    # Monitor is inside the shaping: SB3's own episode return is the true one
    assert float(last["rollout/ep_rew_mean"]) == pytest.approx(true)
    # CartPole pays 1 a step; the upright potential lies in [-1, 0], so the designed return differs
    assert np.isfinite(designed) and designed != pytest.approx(true)
    assert any(path.name.startswith("events.out.tfevents") for path in tmp_path.iterdir())
    assert float(last["train/n_updates"]) > 0 and np.isfinite(float(last["train/value_loss"]))
    # evaluations on the true reward at 0, 1024, 2048
    assert [step for step, *_ in result.evaluations] == [0, 1024, 2048]
    assert len(result.true_returns) == len(result.designed_returns) > 0


def test_ppo_on_the_maze_beats_random_with_shaping():
    # 16k steps with the distance potential learn the 17-step path; the untrained policy never gets there.
    result = train(
        "rewarddesign/GridMaze-v0",
        "ppo",
        16_384,
        seed=0,
        shaping="maze_distance",
        n_envs=4,
        eval_freq=4096,
        eval_episodes=1,
        algo_kwargs={"n_steps": 128, "batch_size": 128, "n_epochs": 4, "ent_coef": 0.01},
        device="cpu",
    )
    assert result.evaluations[0][1] == 0.0
    assert result.evaluations[-1][1] == 1.0


@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
def test_every_algorithm_runs_and_round_trips_through_safe_save(algo, tmp_path):
    env_id = "Pendulum-v1" if algo in ("sac", "td3") else "CartPole-v1"
    kwargs = {"ppo": {"n_steps": 64, "batch_size": 32}, "a2c": {"n_steps": 8}}.get(algo, {"learning_starts": 32})
    shaping = "cartpole_upright" if env_id == "CartPole-v1" else (lambda obs: float(obs[0]))
    result = train(env_id, algo, 128, seed=1, shaping=shaping, algo_kwargs=kwargs, device="cpu")
    path = save_policy(result.model, tmp_path / algo, env_id, shaping=str(shaping))
    assert json.loads((path / "metadata.json").read_text())["algo"] == algo
    loaded = load_policy(path, device="cpu")
    obs = np.stack([gym.make(env_id).observation_space.sample() for _ in range(4)])
    np.testing.assert_allclose(
        loaded.predict(obs, deterministic=True)[0], result.model.predict(obs, deterministic=True)[0], rtol=1e-6
    )
    # the policy file holds tensors only: it loads with weights_only=True
    state = torch.load(path / "policy.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())


def test_bad_training_arguments_raise():
    with pytest.raises(ValueError, match="algo must be one of"):
        train("CartPole-v1", "reinforce", 10)
    with pytest.raises(ValueError, match="timesteps"):
        train("CartPole-v1", "ppo", 0)
    with pytest.raises(ValueError, match="gamma"):
        train("CartPole-v1", "ppo", 10, gamma=1.5)
    with pytest.raises(ValueError, match="unknown potential"):
        make_vec_env("CartPole-v1", shaping="no_such_potential")
    with pytest.raises(TypeError, match="GridMaze"):
        make_vec_env("CartPole-v1", shaping="maze_distance")
    with pytest.raises(ValueError, match="n_envs"):
        make_vec_env("CartPole-v1", n_envs=0)


def test_evaluate_rolls_out_the_true_reward_with_the_seed():
    from stable_baselines3.common.evaluation import evaluate_policy

    from rewarddesign.train import Evaluation, evaluate

    model = train("Pendulum-v1", "sac", 64, seed=1, algo_kwargs={"learning_starts": 32}, device="cpu").model
    evaluation = evaluate(model, "Pendulum-v1", 3, seed=7)
    assert isinstance(evaluation, Evaluation) and evaluation.returns.shape == (3,)
    assert evaluation.mean == pytest.approx(evaluation.returns.mean()) and evaluation.std >= 0
    # the same episodes as SB3's evaluation on the same seeded env (its Monitor rounds returns to 1e-6)
    sb3, _ = evaluate_policy(
        model, make_vec_env("Pendulum-v1", 1, 7), n_eval_episodes=3, deterministic=True, return_episode_rewards=True
    )
    np.testing.assert_allclose(evaluation.returns, sb3, atol=1e-5)
    np.testing.assert_array_equal(evaluate(model, "Pendulum-v1", 3, seed=7).returns, evaluation.returns)
    with pytest.raises(ValueError, match="n_episodes"):
        evaluate(model, "Pendulum-v1", 0)
