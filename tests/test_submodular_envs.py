import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from rewarddesign.envs.submodular_grids import SENSOR, GridWalk, SubmodularTask
from rewarddesign.submodular import SubPO, WeightedCoverage, greedy_plan

GRIDS = [
    "rewarddesign/CoverageGrid-v0",
    "rewarddesign/TwoRoomCoverage-v0",
    "rewarddesign/ItemCollection-v0",
    "rewarddesign/ExperimentDesign-v0",
]


def random_episode(env, seed):
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    total, steps = 0.0, 0
    while True:
        _, reward, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
        total, steps = total + reward, steps + 1
        if terminated or truncated:
            return total, steps


@pytest.mark.parametrize("env_id", GRIDS)
@pytest.mark.parametrize("observation", ["visited", None])
def test_grid_envs_pass_check_env(env_id, observation):
    env = gym.make(env_id, observation=observation)
    check_env(env.unwrapped)
    assert isinstance(env.unwrapped, SubmodularTask) and isinstance(env.unwrapped.base, GridWalk)
    assert env.action_space.n == 5


@pytest.mark.parametrize("env_id", GRIDS)
def test_grid_episode_return_is_f_of_the_visited_cells(env_id):
    env = gym.make(env_id, observation=None)
    task = env.unwrapped
    for seed in range(3):
        total, steps = random_episode(env, seed)
        assert steps == task.horizon == 40
        assert total == pytest.approx(task.objective.value(task.base._trail)) == pytest.approx(task.visited.value)


def test_coverage_grid_matches_the_issue_setting():
    env = gym.make("rewarddesign/CoverageGrid-v0", observation=None)
    task = env.unwrapped
    assert task.observation_space.n == 900 and task.horizon == 40
    obs, _ = env.reset(seed=0)
    assert obs == 15 * 30 + 15  # the centre by default; start= moves it
    assert gym.make("rewarddesign/CoverageGrid-v0", start=(0, 0), observation=None).reset(seed=0)[0] == 0
    # each visited cell covers 2 cells: F <= 2 (H + 1) = 82
    for seed in range(20):
        assert random_episode(env, seed)[0] <= 82
    plan = greedy_plan(task.model(), task.objective, task.horizon)
    assert plan.value == 80.0  # 2 for the start, 2 per vertical step, 1 for each of two sideways steps


def test_model_matches_the_walk():
    task = gym.make("rewarddesign/TwoRoomCoverage-v0", observation=None).unwrapped
    mdp = task.model()
    walk = task.base
    rng = np.random.default_rng(0)
    walk.reset(seed=0)
    for _ in range(200):
        state, action = walk._cell, int(rng.integers(5))
        nxt = walk.step(action)[0]
        assert mdp.transitions[state, action, nxt] == 1.0
        assert walk.free.reshape(-1)[nxt]  # never inside the wall


def test_slip_model_rows_are_distributions():
    task = gym.make("rewarddesign/CoverageGrid-v0", size=5, slip=0.3, observation=None).unwrapped
    np.testing.assert_allclose(task.model().transitions.sum(-1), 1.0)


def test_visited_observation_tracks_the_history():
    env = gym.make("rewarddesign/CoverageGrid-v0", size=5, start=(2, 2))
    obs, _ = env.reset(seed=0)
    assert obs["visited"].sum() == 1 and obs["time"][0] == 0
    obs, *_ = env.step(2)  # right
    assert obs["visited"][[12, 13]].tolist() == [1, 1] and obs["time"][0] == 1


def test_modular_credit_counts_repeat_visits():
    env = gym.make("rewarddesign/CoverageGrid-v0", observation=None, credit="modular")
    env.reset(seed=0)
    rewards = [env.step(0)[1] for _ in range(5)]  # stay put
    assert rewards == [4.0, 2.0, 2.0, 2.0, 2.0]  # start and first step, then the same cell again
    assert env.unwrapped.visited.value == 2.0


def test_item_collection_is_capped():
    env = gym.make("rewarddesign/ItemCollection-v0", observation=None, horizon=400)
    assert random_episode(env, 0)[0] <= 4 * 3
    with pytest.raises(ValueError, match="do not fit"):
        gym.make("rewarddesign/ItemCollection-v0", size=3, n_kinds=3, items_per_kind=3)


def test_bad_grid_arguments():
    objective = WeightedCoverage.on_grid((3, 3), footprint=SENSOR)
    free = np.ones((3, 3), dtype=bool)
    with pytest.raises(ValueError, match="start"):
        GridWalk(free, (3, 0), 5, objective)
    with pytest.raises(ValueError, match="horizon"):
        GridWalk(free, (0, 0), 0, objective)
    with pytest.raises(ValueError, match="items"):
        GridWalk(np.ones((2, 2), dtype=bool), (0, 0), 5, objective)
    with pytest.raises(ValueError, match="footprint"):
        WeightedCoverage.on_grid((3, 3), footprint=[0, 1])
    with pytest.raises(ValueError, match="action"):
        walk = GridWalk(free, (0, 0), 5, objective)
        walk.reset(seed=0)
        walk.step(7)


def test_render_draws_the_trail():
    env = gym.make("rewarddesign/CoverageGrid-v0", size=5, render_mode="rgb_array")
    env.reset(seed=0)
    env.step(1)
    image = env.render()
    assert image.shape == (40, 40, 3) and image.dtype == np.uint8


def test_subpo_beats_modular_rl_on_a_small_coverage_grid():
    def train(credit):
        task = gym.make("rewarddesign/CoverageGrid-v0", size=8, horizon=12, observation=None).unwrapped
        agent = SubPO(
            task.base, task.objective, task.horizon, credit=credit, hidden_sizes=(), natural=True, max_kl=0.05, seed=0
        )
        agent.learn(60)
        return float(np.mean([e.value for e in agent.rollouts(32)]))

    subpo, modular = train("marginal"), train("modular")
    assert subpo >= 22 and subpo > modular + 3  # F <= 26 here; the modular reward is flat inside the grid


def test_ant_coverage_marks_cells_of_the_position():
    env = gym.make("rewarddesign/AntCoverage-v0")
    check_env(env.unwrapped, skip_render_check=True)
    task = env.unwrapped
    assert task.objective.n_items == 100 * 100
    _, info = env.reset(seed=0)
    total = 0.0
    for _ in range(50):
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        total += reward
        assert reward >= 0 and "original_reward" in info
        if terminated or truncated:
            break
    assert total == task.visited.value >= 1.0
    col, row = int((info["x_position"] + 20) // 0.4), int((info["y_position"] + 20) // 0.4)
    assert row * 100 + col in task.visited
