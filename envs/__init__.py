"""Gymnasium environments of rewarddesign, registered under the ``rewarddesign/`` namespace.

- ``rewarddesign/GridMaze-v0``: a sparse-reward maze with a published model (time limit 100).
- Submodular rewards (:mod:`rewarddesign.envs.submodular_grids`): ``rewarddesign/CoverageGrid-v0``,
  ``rewarddesign/TwoRoomCoverage-v0``, ``rewarddesign/ItemCollection-v0``,
  ``rewarddesign/ExperimentDesign-v0`` and ``rewarddesign/AntCoverage-v0`` (MuJoCo).
- ``rewarddesign/ContinuousGrid-v0``: a point moving to a goal box on the unit square, with good
  and bad heuristic rewards (:mod:`rewarddesign.envs.alignment`; time limit 50).
- ``rewarddesign/TrustDilemma-v0``: the repeated stag hunt against a trembling partner
  (:mod:`rewarddesign.envs.games`, which also holds PettingZoo envs for games).
- Reward factors of control tasks (:mod:`rewarddesign.envs.reward_factors`):
  :func:`with_reward_factors` makes Pendulum, MountainCarContinuous and MuJoCo locomotion envs
  publish the terms of their reward.

``import rewarddesign`` registers the ids with entry-point strings, so neither it nor this
package imports a task module until it is used: ``gym.make`` imports the env's module, and the
names below are imported from their modules on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers only: at run time the names load on first access
    from rewarddesign.envs.grid_maze import DEFAULT_MAZE, GridMaze
    from rewarddesign.envs.reward_factors import REWARD_FACTORS, with_reward_factors

__all__ = ["GridMaze", "DEFAULT_MAZE", "REWARD_FACTORS", "with_reward_factors"]

_MODULES = {
    "GridMaze": "grid_maze",
    "DEFAULT_MAZE": "grid_maze",
    "REWARD_FACTORS": "reward_factors",
    "with_reward_factors": "reward_factors",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
