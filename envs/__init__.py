"""Gymnasium environments of rewarddesign, registered under the ``rewarddesign/`` namespace.

- ``rewarddesign/GridMaze-v0``: a sparse-reward maze with a published model (time limit 100).
- Submodular rewards (:mod:`rewarddesign.envs.submodular_grids`): ``rewarddesign/CoverageGrid-v0``,
  ``rewarddesign/TwoRoomCoverage-v0``, ``rewarddesign/ItemCollection-v0``,
  ``rewarddesign/ExperimentDesign-v0`` and ``rewarddesign/AntCoverage-v0`` (MuJoCo).
- ``rewarddesign/ContinuousGrid-v0``: a point moving to a goal box on the unit square, with good
  and bad heuristic rewards (:mod:`rewarddesign.envs.alignment`; time limit 50).
- ``rewarddesign/TrustDilemma-v0``: the repeated stag hunt against a trembling partner
  (:mod:`rewarddesign.envs.games`, which also holds PettingZoo envs for games).

Entry points are strings, so registering imports nothing heavy.
"""

import gymnasium as gym
from rewarddesign.envs.grid_maze import DEFAULT_MAZE, GridMaze

__all__ = ["GridMaze", "DEFAULT_MAZE"]

_ENTRY_POINTS = {
    "rewarddesign/GridMaze-v0": ("rewarddesign.envs.grid_maze:GridMaze", 100),
    "rewarddesign/CoverageGrid-v0": ("rewarddesign.envs.submodular_grids:coverage_grid", None),
    "rewarddesign/TwoRoomCoverage-v0": ("rewarddesign.envs.submodular_grids:two_room_grid", None),
    "rewarddesign/ItemCollection-v0": ("rewarddesign.envs.submodular_grids:item_collection_grid", None),
    "rewarddesign/ExperimentDesign-v0": ("rewarddesign.envs.submodular_grids:experiment_design_grid", None),
    "rewarddesign/AntCoverage-v0": ("rewarddesign.envs.submodular_grids:ant_coverage", None),
    "rewarddesign/TrustDilemma-v0": ("rewarddesign.envs.games:TrustDilemmaEnv", None),
    "rewarddesign/ContinuousGrid-v0": ("rewarddesign.envs.alignment:ContinuousGridWorld", 50),
}

for _id, (_entry_point, _steps) in _ENTRY_POINTS.items():
    if _id not in gym.registry:
        gym.register(id=_id, entry_point=_entry_point, max_episode_steps=_steps)
