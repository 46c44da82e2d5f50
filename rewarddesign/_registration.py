"""The ``rewarddesign/...`` env ids, registered with Gymnasium by entry-point strings.

Registering imports nothing of the task catalogue: ``gym.make`` imports the env's module
(:mod:`rewarddesign.envs` and the task's module) the first time an id is made.
"""

from __future__ import annotations

import gymnasium as gym

#: ``id -> (entry point, max_episode_steps)`` of every env the project registers.
ENTRY_POINTS: dict[str, tuple[str, int | None]] = {
    "rewarddesign/GridMaze-v0": ("rewarddesign.envs.grid_maze:GridMaze", 100),
    "rewarddesign/CoverageGrid-v0": ("rewarddesign.envs.submodular_grids:coverage_grid", None),
    "rewarddesign/TwoRoomCoverage-v0": ("rewarddesign.envs.submodular_grids:two_room_grid", None),
    "rewarddesign/ItemCollection-v0": ("rewarddesign.envs.submodular_grids:item_collection_grid", None),
    "rewarddesign/ExperimentDesign-v0": ("rewarddesign.envs.submodular_grids:experiment_design_grid", None),
    "rewarddesign/AntCoverage-v0": ("rewarddesign.envs.submodular_grids:ant_coverage", None),
    "rewarddesign/TrustDilemma-v0": ("rewarddesign.envs.games:TrustDilemmaEnv", None),
    "rewarddesign/ContinuousGrid-v0": ("rewarddesign.envs.alignment:ContinuousGridWorld", 50),
    "rewarddesign/OfficeWorld-v0": ("rewarddesign.envs.office_world:office_world", 1000),
    "rewarddesign/CraftWorld-v0": ("rewarddesign.envs.craft_world:craft_world", 1000),
    "rewarddesign/LabelledPoint-v0": ("rewarddesign.envs.labelled_point:labelled_point", 200),
}


def register_envs() -> None:
    """Register the ids of :data:`ENTRY_POINTS` that are not registered yet."""
    for env_id, (entry_point, steps) in ENTRY_POINTS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, max_episode_steps=steps)
