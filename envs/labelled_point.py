"""A continuous labelled task: a point on the unit square visiting labelled regions, for SAC and TD3.

The agent starts at ``(0.1, 0.1)`` and moves by ``0.05 * action`` (``action`` in ``[-1, 1]^2``,
clipped to the square). Discs on the square are labelled; the labels of the discs the point is
in after a step are published as ``info["labels"]`` (the env's own reward is 0):

=====  ============  ======
label  centre        radius
=====  ============  ======
``a``  (0.8, 0.2)    0.1
``b``  (0.8, 0.8)    0.1
``c``  (0.5, 0.5)    0.15
=====  ============  ======

:data:`POINT_TASKS` holds tasks as LTLf formulas (``"a_then_b"``: reach ``a``, then ``b``, never
entering ``c``); ``gym.make("rewarddesign/LabelledPoint-v0", task="a_then_b", observation="flat")``
returns the env wrapped with the task's machine. Observation: the position, float32 ``[2]``.
The registered id has a time limit of 200 steps.

Example:
    >>> import gymnasium as gym
    >>> import rewarddesign.envs
    >>> env = gym.make("rewarddesign/LabelledPoint-v0", task="a_then_b", observation="flat")
    >>> env.observation_space.shape
    (5,)
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from rewarddesign.machines import RewardMachine, RewardMachineWrapper, from_ltlf

__all__ = ["LabelledPoint", "POINT_REGIONS", "POINT_TASKS", "labelled_point"]

#: ``label -> (centre x, centre y, radius)``.
POINT_REGIONS: dict[str, tuple[float, float, float]] = {
    "a": (0.8, 0.2, 0.1),
    "b": (0.8, 0.8, 0.1),
    "c": (0.5, 0.5, 0.15),
}
#: Tasks over the regions (LTLf).
POINT_TASKS: dict[str, str] = {
    "a_then_b": "F(a & F b) & G !c",
    "b_then_a": "F(b & F a) & G !c",
}


class LabelledPoint(gym.Env):
    """The labelled point (see the module docs).

    Args:
        speed: The longest move per step.
        start: The start position.
    """

    def __init__(self, speed: float = 0.05, start: tuple[float, float] = (0.1, 0.1)) -> None:
        if not 0 < speed <= 1:
            raise ValueError(f"speed must lie in (0, 1], got {speed!r}")
        self.speed = float(speed)
        self.start = np.asarray(start, dtype=np.float32)
        if self.start.shape != (2,) or np.any((self.start < 0) | (self.start > 1)):
            raise ValueError(f"start must be a point of the unit square, got {start!r}")
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.position = self.start.copy()
        self.tasks = dict(POINT_TASKS)
        self._regions = [(name, np.array(c[:2]), c[2]) for name, c in POINT_REGIONS.items()]

    def labels(self, position: NDArray[np.float32]) -> frozenset[str]:
        """The labels of the discs ``position`` lies in."""
        return frozenset(
            name for name, centre, radius in self._regions if np.sum((position - centre) ** 2) <= radius**2
        )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        super().reset(seed=seed)
        self.position = self.start.copy()
        return self.position.copy(), {"labels": self.labels(self.position)}

    def step(self, action: Any) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        move = np.clip(np.asarray(action, dtype=np.float32).reshape(2), -1.0, 1.0)
        if not np.all(np.isfinite(move)):
            raise ValueError(f"action must be finite, got {action!r}")
        self.position = np.clip(self.position + self.speed * move, 0.0, 1.0).astype(np.float32)
        return self.position.copy(), 0.0, False, False, {"labels": self.labels(self.position)}

    def machine(self, task: str) -> RewardMachine:
        """The reward machine of a task of :data:`POINT_TASKS` (by name) or of an LTLf formula."""
        return from_ltlf(self.tasks.get(task, task))


def labelled_point(task: str | None = None, observation: str = "flat", counterfactual: bool = False) -> gym.Env:
    """The labelled point; with ``task`` (a name of :data:`POINT_TASKS` or an LTLf formula), with its machine."""
    env = LabelledPoint()
    if task is None:
        return env
    return RewardMachineWrapper(env, env.machine(task), observation=observation, counterfactual=counterfactual)  # type: ignore[arg-type]
