"""A sparse-reward grid maze with a published model, for shaping experiments.

The agent walks from ``S`` to ``G`` on a grid of walls (``#``) and free cells (``.``); reaching the
goal pays 1 and terminates, every other step pays 0. With probability ``slip`` the move goes in a
uniformly random direction. Like Gymnasium's toy-text envs, the env publishes its model
(``P[s][a]`` and ``initial_state_distrib``), so :func:`rewarddesign.mdp.from_gymnasium` solves it
exactly.

Example:
    >>> import gymnasium as gym
    >>> import rewarddesign.envs
    >>> env = gym.make("rewarddesign/GridMaze-v0")
    >>> env.observation_space, env.action_space
    (Discrete(36), Discrete(4))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["GridMaze", "DEFAULT_MAZE"]

DEFAULT_MAZE = (
    "##########",
    "#S...#...#",
    "#.##.#.#.#",
    "#..#...#.#",
    "##.####.##",
    "#..#....G#",
    "#.##.###.#",
    "#....#...#",
    "##########",
)

MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))  # up, right, down, left


class GridMaze(gym.Env):
    """Grid maze with a sparse goal reward.

    Args:
        layout: Rows of ``#`` (wall), ``.`` (free), ``S`` (start, exactly one) and ``G`` (goal, exactly one).
        slip: Probability that a move goes in a uniformly random direction instead, in [0, 1].
        render_mode: ``"ansi"`` (text), ``"rgb_array"`` (an image, 16 pixels a cell) or None.

    Attributes:
        cells: ``[S, 2]`` (row, column) of each state.
        goal: The goal's state index.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(self, layout: Sequence[str] = DEFAULT_MAZE, slip: float = 0.0, render_mode: str | None = None) -> None:
        rows = [str(row) for row in layout]
        if not rows or len({len(row) for row in rows}) != 1:
            raise ValueError(f"layout must be equally long rows, got lengths {[len(r) for r in rows]}")
        if not 0.0 <= slip <= 1.0:
            raise ValueError(f"slip must lie in [0, 1], got {slip!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        grid = np.array([list(row) for row in rows])
        bad = set(np.unique(grid)) - set("#.SG")
        if bad:
            raise ValueError(f"layout may only hold '#', '.', 'S' and 'G', got {sorted(bad)}")
        for mark in "SG":
            if (grid == mark).sum() != 1:
                raise ValueError(f"layout must hold exactly one {mark!r}, got {(grid == mark).sum()}")
        self.layout = tuple(rows)
        self.slip = float(slip)
        self.render_mode = render_mode
        self.cells = np.argwhere(grid != "#")
        index = {tuple(cell): i for i, cell in enumerate(self.cells.tolist())}
        self.start = index[tuple(np.argwhere(grid == "S")[0])]
        self.goal = index[tuple(np.argwhere(grid == "G")[0])]
        n_states = len(self.cells)
        self.observation_space = gym.spaces.Discrete(n_states)
        self.action_space = gym.spaces.Discrete(len(MOVES))

        self._next = np.zeros((n_states, len(MOVES)), dtype=np.int64)
        for s, (r, c) in enumerate(self.cells.tolist()):
            for a, (dr, dc) in enumerate(MOVES):
                self._next[s, a] = index.get((r + dr, c + dc), s)
        self.initial_state_distrib = np.zeros(n_states)
        self.initial_state_distrib[self.start] = 1.0
        self.P: dict[int, dict[int, list[tuple[float, int, float, bool]]]] = {}
        for s in range(n_states):
            self.P[s] = {}
            for a in range(len(MOVES)):
                if s == self.goal:
                    self.P[s][a] = [(1.0, s, 0.0, True)]
                    continue
                probs = np.full(len(MOVES), self.slip / len(MOVES))
                probs[a] += 1.0 - self.slip
                outcomes: dict[int, float] = {}
                for move, p in enumerate(probs):
                    if p > 0:
                        target = int(self._next[s, move])
                        outcomes[target] = outcomes.get(target, 0.0) + float(p)
                self.P[s][a] = [(p, t, float(t == self.goal), t == self.goal) for t, p in outcomes.items()]
        self._state = self.start

    def distances(self) -> np.ndarray:
        """Fewest moves from each state to the goal, ``[S]`` (``inf`` where the goal is unreachable)."""
        distance = np.full(len(self.cells), np.inf)
        distance[self.goal] = 0
        frontier = [self.goal]
        while frontier:
            nxt = []
            for s in np.flatnonzero(np.isinf(distance)):
                if np.any(np.isin(self._next[s], frontier)):
                    distance[s] = distance[frontier[0]] + 1
                    nxt.append(int(s))
            frontier = nxt
        return distance

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self._state = self.start
        return self._state, {}

    def step(self, action: Any) -> tuple[int, float, bool, bool, dict[str, Any]]:
        action = int(action)
        if self.slip > 0.0 and self.np_random.random() < self.slip:
            action = int(self.np_random.integers(len(MOVES)))
        self._state = int(self._next[self._state, action])
        reached = self._state == self.goal
        return self._state, float(reached), reached, False, {}

    def render(self) -> str | np.ndarray | None:
        r, c = self.cells[self._state]
        if self.render_mode == "ansi":
            rows = [list(row.replace("S", ".")) for row in self.layout]
            rows[r][c] = "A"
            return "\n".join("".join(row) for row in rows)
        if self.render_mode == "rgb_array":
            grid = np.array([list(row) for row in self.layout])
            image = np.where((grid == "#")[..., None], 40, 235).astype(np.uint8).repeat(3, axis=2)
            goal_r, goal_c = self.cells[self.goal]
            image[goal_r, goal_c] = (60, 180, 75)
            image[r, c] = (0, 90, 200)
            return image.repeat(16, axis=0).repeat(16, axis=1)
        return None
