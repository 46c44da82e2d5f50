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


def test_save_policy_keeps_named_policy_kwargs_and_refuses_the_rest(tmp_path):
    kwargs = {"n_steps": 64, "batch_size": 32}
    policy_kwargs = {"activation_fn": torch.nn.ReLU, "net_arch": {"pi": [16, 8], "vf": [12]}}
    model = train("CartPole-v1", "ppo", 64, algo_kwargs={**kwargs, "policy_kwargs": policy_kwargs}, device="cpu").model
    path = save_policy(model, tmp_path / "relu", "CartPole-v1")
    stored = json.loads((path / "metadata.json").read_text())["policy_kwargs"]
    assert stored == {"activation_fn": {"$class": "torch.nn.ReLU"}, "net_arch": {"pi": [16, 8], "vf": [12]}}
    loaded = load_policy(path, device="cpu")
    assert loaded.policy_kwargs == policy_kwargs
    assert [type(m) for m in loaded.policy.mlp_extractor.policy_net] == [torch.nn.Linear, torch.nn.ReLU] * 2
    obs = np.stack([gym.make("CartPole-v1").observation_space.sample() for _ in range(8)])
    with torch.no_grad():
        for a, b in zip(
            loaded.policy.predict_values(torch.as_tensor(obs)), model.policy.predict_values(torch.as_tensor(obs))
        ):
            torch.testing.assert_close(a, b)

    class Custom(torch.nn.ReLU):
        pass

    model.policy_kwargs = {"activation_fn": Custom}
    with pytest.raises(ValueError, match=r"policy_kwargs\['activation_fn'\]"):
        save_policy(model, tmp_path / "custom", "CartPole-v1")
    model.policy_kwargs = {"net_arch": [16, lambda: 8]}
    with pytest.raises(ValueError, match=r"policy_kwargs\['net_arch'\]\[1\]"):
        save_policy(model, tmp_path / "custom", "CartPole-v1")
    assert not (tmp_path / "custom").exists()  # refused before anything is written


def test_load_policy_refuses_bad_files_with_its_own_message(tmp_path):
    model = train("CartPole-v1", "ppo", 64, algo_kwargs={"n_steps": 64, "batch_size": 32}, device="cpu").model
    path = save_policy(model, tmp_path / "policy", "CartPole-v1")
    with pytest.raises(FileNotFoundError, match="no saved policy"):
        load_policy(tmp_path / "nowhere", device="cpu")
    with pytest.raises(ValueError, match="is a file"):
        load_policy(path / "policy.pt", device="cpu")
    torch.save({"weights": object()}, path / "policy.pt")  # a pickle of an object: could run code when loaded
    with pytest.raises(ValueError, match="not a weights file written by save_policy") as err:
        load_policy(path, device="cpu")
    assert "weights_only" not in str(err.value) and err.value.__cause__ is None
    (path / "policy.pt").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a weights file"):
        load_policy(path, device="cpu")
    torch.save({"w": torch.zeros(2)}, path / "policy.pt")
    with pytest.raises(ValueError, match="do not fit"):
        load_policy(path, device="cpu")
    (path / "metadata.json").write_text("{not json")
    with pytest.raises(ValueError, match="damaged"):
        load_policy(path, device="cpu")
    (path / "metadata.json").write_text(
        json.dumps({"algo": "ppo", "policy_kwargs": {"activation_fn": {"$class": "os.system"}}})
    )
    with pytest.raises(ValueError, match="no class of torch.nn"):
        load_policy(path, device="cpu")


def test_train_refuses_a_discount_other_than_gamma_a_bad_seed_and_a_missing_device():
    with pytest.raises(ValueError, match=r"algo_kwargs\['gamma'\] = 0.5 conflicts with gamma = 0.99"):
        train("CartPole-v1", "ppo", 10, shaping="cartpole_upright", algo_kwargs={"gamma": 0.5})
    with pytest.raises(ValueError, match=r"algo_kwargs\['gamma'\] must lie in \[0, 1\]"):
        train("CartPole-v1", "ppo", 10, algo_kwargs={"gamma": 2.0})
    result = train(
        "CartPole-v1", "ppo", 32, gamma=0.9, algo_kwargs={"gamma": 0.9, "n_steps": 32, "batch_size": 32}, device="cpu"
    )
    assert result.model.gamma == 0.9
    for seed in (-1, 2**32, 1.5, True):
        with pytest.raises(ValueError, match="seed must be an integer"):
            train("CartPole-v1", "ppo", 10, seed=seed)
    with pytest.raises(ValueError, match="eval_episodes"):
        train("CartPole-v1", "ppo", 10, eval_episodes=0)
    with pytest.raises(ValueError, match="needs a Box action space, but CartPole-v1 has Discrete"):
        train("CartPole-v1", "sac", 10, device="cpu")
    with pytest.raises(ValueError, match="device must be"):
        train("CartPole-v1", "ppo", 10, device="gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            train("CartPole-v1", "ppo", 10, device="cuda")
    else:
        with pytest.raises(ValueError, match="CUDA device"):
            train("CartPole-v1", "ppo", 10, device=f"cuda:{torch.cuda.device_count()}")
