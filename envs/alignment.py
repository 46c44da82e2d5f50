"""Environments with heuristic auxiliary rewards, good and bad, for learning how to use heuristics.

The designer's primary reward says what the task is; a heuristic auxiliary reward says what the
designer guesses will help. :mod:`rewarddesign.bilevel` learns how much of each heuristic to use;
these envs come with one heuristic that helps and one that misleads, as batched reward functions
``(obs, act, next_obs, done) -> float [B]`` (the protocol of :mod:`rewarddesign.rewards`), and a
state (or state-action) potential of the same heuristic for the shaping baseline.

- :class:`ContinuousGridWorld` (``rewarddesign/ContinuousGrid-v0``): the unit square, four moves of
  0.2 (10% of the time a random one), start (0.125, 0.125), the goal box [0.75, 0.99]^2 worth +100
  and ending the episode, -0.1 a step, 50 steps. Heuristics: :func:`grid_goal_distance` (good:
  minus the distance to the goal) and :func:`grid_centre_bonus` (bad: +50 a step inside the centre
  box [0.4, 0.6]^2, a distractor worth more than the goal).
- ``CartPole-v1``: :func:`cartpole_pd_agreement` (good: +1 for pushing the way a PD controller on
  the pole would) and :func:`cartpole_pd_disagreement` (bad: +1 for pushing the other way).
- ``MountainCar-v0``: :func:`mountaincar_energy_gain` (good: the gain in mechanical energy, which
  pumping the car up and down the valley earns) and :func:`mountaincar_push_right` (bad: a bonus
  for pushing towards the goal, which alone never gets the car up the hill).

Example:
    >>> import gymnasium as gym
    >>> import numpy as np
    >>> import rewarddesign.envs
    >>> env = gym.make("rewarddesign/ContinuousGrid-v0")
    >>> obs, _ = env.reset(seed=0)
    >>> obs
    array([0.125, 0.125], dtype=float32)
    >>> grid_centre_bonus(obs[None], np.array([0]), np.array([[0.5, 0.5]]), np.array([False]))
    array([50.])
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import ArrayLike, NDArray

from rewarddesign.shaping import mountaincar_energy

__all__ = [
    "ContinuousGridWorld",
    "GOAL_LOW",
    "GOAL_HIGH",
    "CENTRE_LOW",
    "CENTRE_HIGH",
    "grid_goal_distance",
    "grid_centre_bonus",
    "grid_goal_potential",
    "grid_centre_potential",
    "cartpole_pd_action",
    "cartpole_pd_agreement",
    "cartpole_pd_disagreement",
    "cartpole_pd_potential",
    "mountaincar_energy_gain",
    "mountaincar_push_right",
]

GOAL_LOW, GOAL_HIGH = 0.75, 0.99
CENTRE_LOW, CENTRE_HIGH = 0.4, 0.6
_GOAL_CENTRE = np.array([(GOAL_LOW + GOAL_HIGH) / 2] * 2)
_MOVES = np.array([[0.0, 1.0], [0.0, -1.0], [-1.0, 0.0], [1.0, 0.0]])  # up, down, left, right


class ContinuousGridWorld(gym.Env):
    """A point on the unit square moving in four directions towards a goal box.

    Args:
        step_size: Length of a move.
        slip: Probability that a random move replaces the chosen one.
        goal_reward: Paid on entering the goal box, which ends the episode.
        step_cost: Paid every step (as a negative reward).
        start: Start position.

    Observation: the position ``float32 [2]``. Actions: up, down, left, right. The info of each
    step says whether the goal was reached (``"success"``). Wrap with a time limit (the registered
    id has 50 steps).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        step_size: float = 0.2,
        slip: float = 0.1,
        goal_reward: float = 100.0,
        step_cost: float = 0.1,
        start: tuple[float, float] = (0.125, 0.125),
        render_mode: str | None = None,
    ) -> None:
        if not 0 < step_size <= 1 or not 0 <= slip <= 1:
            raise ValueError(f"need 0 < step_size <= 1 and 0 <= slip <= 1, got {step_size}, {slip}")
        self.step_size, self.slip = float(step_size), float(slip)
        self.goal_reward, self.step_cost = float(goal_reward), float(step_cost)
        self.start = np.asarray(start, dtype=np.float32)
        if self.start.shape != (2,) or np.any((self.start < 0) | (self.start > 1)):
            raise ValueError(f"start must be a point of the unit square, got {start!r}")
        self.observation_space = spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
        self.action_space = spaces.Discrete(4)
        self.render_mode = render_mode
        self.position = self.start.copy()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        super().reset(seed=seed)
        self.position = self.start.copy()
        return self.position.copy(), {}

    def step(self, action: Any) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"action must be in {self.action_space}, got {action!r}")
        move = int(action)
        if self.np_random.random() < self.slip:
            move = int(self.np_random.integers(4))
        self.position = np.clip(self.position + self.step_size * _MOVES[move], 0.0, 1.0).astype(np.float32)
        success = bool(np.all((self.position >= GOAL_LOW) & (self.position <= GOAL_HIGH)))
        reward = -self.step_cost + (self.goal_reward if success else 0.0)
        return self.position.copy(), reward, success, False, {"success": success}

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        size = 100
        image = np.full((size, size, 3), 255, dtype=np.uint8)
        lo, hi = int(GOAL_LOW * size), int(GOAL_HIGH * size)
        image[size - hi : size - lo, lo:hi] = (120, 200, 120)
        lo, hi = int(CENTRE_LOW * size), int(CENTRE_HIGH * size)
        image[size - hi : size - lo, lo:hi] = (230, 180, 120)
        x, y = (self.position * (size - 1)).astype(int)
        image[max(size - 1 - y - 2, 0) : size - y + 1, max(x - 2, 0) : x + 3] = (40, 40, 200)
        return image


def _mountaincar_states(obs: ArrayLike, name: str) -> NDArray[np.float64]:
    array = np.asarray(obs, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"{name} must be MountainCar states [B, 2] (position, velocity), got shape {array.shape}")
    return array


def _positions(obs: ArrayLike) -> NDArray[np.float64]:
    array = np.asarray(obs, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"expected grid positions [B, 2], got shape {array.shape}")
    return array


def grid_goal_distance(obs: ArrayLike, act: ArrayLike, next_obs: ArrayLike, done: ArrayLike) -> NDArray[np.float64]:
    """Good heuristic: minus the distance from the next position to the goal box's centre."""
    return -np.linalg.norm(_positions(next_obs) - _GOAL_CENTRE, axis=1)


def grid_centre_bonus(obs: ArrayLike, act: ArrayLike, next_obs: ArrayLike, done: ArrayLike) -> NDArray[np.float64]:
    """Bad heuristic: +50 for each step that ends inside the centre box [0.4, 0.6]^2."""
    position = _positions(next_obs)
    return 50.0 * np.all((position >= CENTRE_LOW) & (position <= CENTRE_HIGH), axis=1)


def grid_goal_potential(obs: ArrayLike) -> NDArray[np.float64]:
    """The good heuristic as a state potential: minus the distance to the goal box's centre."""
    return -np.linalg.norm(_positions(obs) - _GOAL_CENTRE, axis=1)


def grid_centre_potential(obs: ArrayLike) -> NDArray[np.float64]:
    """The bad heuristic as a state potential: 50 inside the centre box, else 0."""
    position = _positions(obs)
    return 50.0 * np.all((position >= CENTRE_LOW) & (position <= CENTRE_HIGH), axis=1)


def cartpole_pd_action(obs: ArrayLike, gains: tuple[float, float] = (1.0, 0.5)) -> NDArray[np.int64]:
    """The push (0 left, 1 right) of a PD controller on the pole: right when ``k_p theta + k_d theta' > 0``."""
    array = np.asarray(obs, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"expected CartPole observations [B, 4], got shape {array.shape}")
    return (gains[0] * array[:, 2] + gains[1] * array[:, 3] > 0).astype(np.int64)


def cartpole_pd_agreement(obs: ArrayLike, act: ArrayLike, next_obs: ArrayLike, done: ArrayLike) -> NDArray[np.float64]:
    """Good heuristic: +1 for pushing the way the PD controller on the pole would."""
    return (np.asarray(act).reshape(-1) == cartpole_pd_action(obs)).astype(np.float64)


def cartpole_pd_disagreement(
    obs: ArrayLike, act: ArrayLike, next_obs: ArrayLike, done: ArrayLike, bonus: float = 1.0
) -> NDArray[np.float64]:
    """Bad heuristic: ``bonus`` for pushing against the PD controller on the pole."""
    return bonus * (np.asarray(act).reshape(-1) != cartpole_pd_action(obs)).astype(np.float64)


def cartpole_pd_potential(obs: ArrayLike, act: ArrayLike) -> NDArray[np.float64]:
    """The good heuristic as a state-action potential (look-ahead advice): 1 where ``act`` is the PD push."""
    return (np.asarray(act).reshape(-1) == cartpole_pd_action(obs)).astype(np.float64)


def mountaincar_energy_gain(
    obs: ArrayLike, act: ArrayLike, next_obs: ArrayLike, done: ArrayLike
) -> NDArray[np.float64]:
    """Good heuristic: the gain in mechanical energy (over the gravity constant) of the step.

    Raises:
        ValueError: ``obs`` or ``next_obs`` is not a batch of MountainCar states ``[B, 2]``.
    """
    return mountaincar_energy(_mountaincar_states(next_obs, "next_obs")) - mountaincar_energy(
        _mountaincar_states(obs, "obs")
    )


def mountaincar_push_right(
    obs: ArrayLike, act: ArrayLike, next_obs: ArrayLike, done: ArrayLike, bonus: float = 1.0
) -> NDArray[np.float64]:
    """Bad heuristic: ``bonus`` for pushing right (action 2), towards the goal (too weak to climb it directly)."""
    return bonus * (np.asarray(act).reshape(-1) == 2).astype(np.float64)
