"""Gymnasium environments of rewarddesign, registered under the ``rewarddesign/`` namespace.

- ``rewarddesign/GridMaze-v0``: a sparse-reward maze with a published model (time limit 100).
"""

import gymnasium as gym
from rewarddesign.envs.grid_maze import DEFAULT_MAZE, GridMaze

__all__ = ["GridMaze", "DEFAULT_MAZE"]

if "rewarddesign/GridMaze-v0" not in gym.registry:
    gym.register(
        id="rewarddesign/GridMaze-v0", entry_point="rewarddesign.envs.grid_maze:GridMaze", max_episode_steps=100
    )
