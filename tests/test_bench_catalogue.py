"""The built-in suites: the ``control`` suite's tasks, references and potential, and ``control-full``."""

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

from rewarddesign import bench
from rewarddesign.bench import run_suite
from rewarddesign.bench.catalogue import CONTROL_PPO, CONTROL_REFERENCE_SCORES
from rewarddesign.shaping import get_potential


def test_the_control_suite_runs_ppo_at_rl_zoo_settings_on_tasks_with_published_levels():
    suite = bench.SUITES["control"].validate()
    assert suite.env_ids == ("Pendulum-v1", "InvertedPendulum-v5")
    assert suite.algos == ("ppo",) and suite.seeds == tuple(range(10))
    assert (suite.timesteps, suite.n_envs) == (100_000, 4)
    # RL Zoo's 0.9 on Pendulum; 0.99 on InvertedPendulum (protocol v2: at 0.9 runs collapsed late)
    assert suite.gamma == {"Pendulum-v1": 0.9, "InvertedPendulum-v5": 0.99}
    assert {spec.env_id: spec.gamma for spec in suite.runs()} == suite.gamma
    assert suite.algo_kwargs == {"ppo": CONTROL_PPO} and CONTROL_PPO["learning_rate"] == 1e-3
    assert set(suite.reference_scores) == set(suite.env_ids)
    for env_id, (low, high) in suite.reference_scores.items():
        assert low < high
        assert suite.solved_at == {e: h for e, (_, h) in CONTROL_REFERENCE_SCORES.items()}
        threshold = gym.spec(env_id).reward_threshold
        assert threshold is None or high == threshold  # Gymnasium's registered level where there is one
    runs = suite.runs()
    assert len(runs) == 2 * 2 * 10 + 10  # the learned HERON reward on Pendulum only
    assert {spec.env_id for spec in runs if spec.design.name == "heron"} == {"Pendulum-v1"}
    assert bench.REFERENCE_SCORES["Pendulum-v1"] == CONTROL_REFERENCE_SCORES["Pendulum-v1"]


@pytest.mark.parametrize(
    ("env_id", "obs", "expected"),
    [
        ("Pendulum-v1", [1.0, 0.0, 3.0], 1.0),  # upright
        ("Pendulum-v1", [-1.0, 0.0, 0.0], -1.0),  # hanging
        ("InvertedPendulum-v5", [0.5, 0.2, 0.0, 0.0], -1.0),  # at the angle that ends the episode
        ("InvertedDoublePendulum-v5", [0.0, 0.0, 0.0, 1.0, 1.0, 0, 0, 0, 0], 1.0),  # both poles up
        ("InvertedDoublePendulum-v5", [0.0, 0.0, 0.0, -1.0, 1.0, 0, 0, 0, 0], -1.0),  # both down
        ("InvertedDoublePendulum-v5", [0.0, 1.0, -1.0, 0.0, 0.0, 0, 0, 0, 0], 0.5),  # first flat, second up
        ("Reacher-v5", [0, 0, 0, 0, 0, 0, 0, 0, 0.06, 0.08], -0.5),  # 0.1 from the target
    ],
)
def test_control_upright_reads_the_right_observations(env_id, obs, expected):
    phi = get_potential("control_upright", gym.make(env_id), 0.9)
    assert phi(np.array(obs, dtype=np.float32)) == pytest.approx(expected)
    batch = np.stack([np.array(obs, dtype=np.float32)] * 3)
    assert phi.batch(batch) == pytest.approx([expected] * 3)


def test_control_upright_refuses_other_envs():
    with pytest.raises(ValueError, match=r"no control_upright potential for 'CartPole-v1'.*Pendulum-v1"):
        get_potential("control_upright", gym.make("CartPole-v1"), 0.9)


def test_a_tiny_control_sweep_shapes_the_inverted_pendulum(tmp_path):
    suite = dataclasses.replace(
        bench.SUITES["control"].subset(envs=["InvertedPendulum-v5"], seeds=[0]),
        timesteps=256,
        eval_freq=256,
        eval_episodes=1,
        algo_kwargs={"ppo": {**CONTROL_PPO, "n_steps": 64, "batch_size": 64, "n_epochs": 1}},
    )
    rows = run_suite(suite, tmp_path, progress=False, device="cpu")
    last = {r["design"]: r for r in rows if r["step"] == 256}
    assert set(last) == {"original", "upright"}
    assert all(r["true_return"] >= 1.0 for r in last.values())  # +1 a step while the pole stands
    # the shaped training reward differs from the true one that Monitor reports
    assert last["upright"]["designed_return"] != last["original"]["designed_return"]
