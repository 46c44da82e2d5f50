import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rewarddesign  # noqa: F401
from rewarddesign.envs import GridMaze


@pytest.mark.parametrize("slip", [0.0, 0.2])
def test_grid_maze_passes_check_env(slip):
    env = gym.make("rewarddesign/GridMaze-v0", slip=slip)
    check_env(env.unwrapped, skip_render_check=False)


def test_grid_maze_shortest_path_reaches_goal_with_reward_one():
    env = GridMaze()
    distance = env.distances()
    obs, _ = env.reset(seed=0)
    steps, total = 0, 0.0
    while True:
        # move to a neighbour one step closer to the goal
        action = next(a for a in range(4) if distance[env._next[obs, a]] == distance[obs] - 1)
        obs, r, terminated, truncated, _ = env.step(action)
        steps, total = steps + 1, total + r
        if terminated:
            break
    assert steps == distance[env.start] and total == 1.0 and obs == env.goal


def test_grid_maze_renders_and_rejects_bad_layouts():
    env = GridMaze(render_mode="rgb_array")
    env.reset(seed=0)
    image = env.render()
    assert image.dtype == np.uint8 and image.shape == (9 * 16, 10 * 16, 3)
    assert "A" in GridMaze(render_mode="ansi").render()
    with pytest.raises(ValueError, match="exactly one 'G'"):
        GridMaze(["#####", "#S..#", "#####"])
    with pytest.raises(ValueError, match="slip"):
        GridMaze(slip=1.5)
