"""Environments with submodular rewards: coverage, two rooms, item collection, experiment design, Ant.

Each env walks on a grid (or moves the MuJoCo Ant) and is rewarded by the marginal gain of a
monotone submodular objective ``F`` of the cells it visits, through
:class:`rewarddesign.submodular.SubmodularReward`, so an episode's return is ``F(visited)``; the
registered env is a :class:`SubmodularTask` holding the two.
The grid envs share one walker, :class:`GridWalk`: ``Discrete(rows * cols)`` cells (row-major),
five actions (stay, up, right, down, left; a move into a wall or off the grid stays), a given
start cell and a fixed horizon (the env truncates itself). The walker publishes its objective
(``objective``), its model (:meth:`GridWalk.model`, for :func:`rewarddesign.submodular.greedy_plan`)
and the horizon, so SubPO and the planner run on ``env.unwrapped.base`` directly.

By default the observation is a ``Dict`` of the cell, the visited cells and the step count
(``observation="visited"``), which a Markovian SB3 policy (``MultiInputPolicy``) needs, since the
marginal gain depends on the history; ``observation=None`` gives the bare cell index.
``credit="modular"`` gives the modular-RL baseline reward (``F({s_t})`` each step).

Registered ids (``gym.make`` keyword arguments pass through to the factories below):

- ``rewarddesign/CoverageGrid-v0``: :func:`coverage_grid`.
- ``rewarddesign/TwoRoomCoverage-v0``: :func:`two_room_grid`.
- ``rewarddesign/ItemCollection-v0``: :func:`item_collection_grid`.
- ``rewarddesign/ExperimentDesign-v0``: :func:`experiment_design_grid`.
- ``rewarddesign/AntCoverage-v0``: :func:`ant_coverage` (needs MuJoCo).

Example:
    >>> import gymnasium as gym
    >>> import rewarddesign.envs
    >>> env = gym.make("rewarddesign/CoverageGrid-v0", observation=None)
    >>> obs, info = env.reset(seed=0)
    >>> obs, reward, *_ = env.step(1)  # up: the start's 2 cells and 2 new ones
    >>> int(obs), reward, env.unwrapped.horizon
    (435, 4.0, 40)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from numpy.typing import ArrayLike

from rewarddesign.mdp import TabularMDP
from rewarddesign.submodular import (
    BaseSetFunction,
    CappedCollection,
    LogDetDesign,
    SetState,
    SubmodularReward,
    WeightedCoverage,
)
from rewarddesign.submodular.wrappers import Credit, Element

#: The observation option of the tasks: ``"visited"`` (cell, visited cells, step count) or None (the cell).
Observation = Literal["visited"] | None

__all__ = [
    "GridWalk",
    "SubmodularTask",
    "SENSOR",
    "coverage_grid",
    "two_room_grid",
    "item_collection_grid",
    "experiment_design_grid",
    "ant_coverage",
]

MOVES = np.array([(0, 0), (-1, 0), (0, 1), (1, 0), (0, -1)])  # stay, up, right, down, left

#: The default coverage footprint: a visited cell covers itself and its east neighbour, so each
#: visited state adds at most 2 covered cells and ``F <= 2 (H + 1)`` with unit weights.
SENSOR = ((0, 0), (0, 1))


class GridWalk(gym.Env):
    """A walk on a grid of free cells and walls, with a submodular objective of the visited cells.

    The env's own reward is 0; :class:`~rewarddesign.submodular.SubmodularReward` supplies the
    marginal gain (the registered ids put it on).

    Args:
        free: Boolean ``[rows, cols]``, True where the agent may stand.
        start: The start cell ``(row, col)``, a free cell.
        horizon: Steps per episode; the env truncates after that many.
        objective: ``F`` over the ``rows * cols`` cells (row-major).
        slip: Probability that the action is replaced by a uniformly random one.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 8}

    def __init__(
        self,
        free: ArrayLike,
        start: tuple[int, int],
        horizon: int,
        objective: BaseSetFunction,
        slip: float = 0.0,
        render_mode: str | None = None,
    ) -> None:
        free = np.asarray(free)
        if free.ndim != 2 or free.dtype != bool:
            raise ValueError(f"free must be a boolean grid [rows, cols], got {free.dtype} {free.shape}")
        self.rows, self.cols = free.shape
        r, c = start
        if not (0 <= r < self.rows and 0 <= c < self.cols) or not free[r, c]:
            raise ValueError(f"start {start} is not a free cell of the {self.rows} x {self.cols} grid")
        if not isinstance(horizon, (int, np.integer)) or horizon < 1:
            raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
        if objective.n_items != free.size:
            raise ValueError(f"objective has {objective.n_items} items, the grid {free.size} cells")
        if not 0.0 <= slip <= 1.0:
            raise ValueError(f"slip must lie in [0, 1], got {slip!r}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.free, self.start, self.horizon = free, int(r * self.cols + c), int(horizon)
        self.objective, self.slip, self.render_mode = objective, float(slip), render_mode
        self.observation_space = gym.spaces.Discrete(free.size)
        self.action_space = gym.spaces.Discrete(len(MOVES))
        self._next = self._successors()
        self._cell, self._t = self.start, 0
        self._trail: list[int] = []

    def _successors(self) -> np.ndarray:
        """``next[cell, action]``: where each action leads from each cell."""
        coords = np.stack(np.unravel_index(np.arange(self.free.size), self.free.shape), -1)
        target = coords[:, None, :] + MOVES[None, :, :]
        inside = (target[..., 0] >= 0) & (target[..., 0] < self.rows) & (target[..., 1] >= 0)
        inside &= target[..., 1] < self.cols
        target = np.where(inside[..., None], target, coords[:, None, :])
        blocked = ~self.free[target[..., 0], target[..., 1]]
        target = np.where(blocked[..., None], coords[:, None, :], target)
        return target[..., 0] * self.cols + target[..., 1]

    def model(self, gamma: float = 1.0) -> TabularMDP:
        """The walk as a :class:`~rewarddesign.mdp.TabularMDP` (the time limit is not part of it)."""
        n, a = self.free.size, len(MOVES)
        transitions = np.zeros((n, a, n))
        rows = np.arange(n)[:, None]
        transitions[rows, np.arange(a)[None, :], self._next] += 1.0 - self.slip
        for other in range(a):
            transitions[np.arange(n), :, self._next[:, other]] += self.slip / a
        initial = np.zeros(n)
        initial[self.start] = 1.0
        return TabularMDP(transitions, initial, gamma)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self._cell, self._t = self.start, 0
        self._trail = [self.start]
        return self._cell, {}

    def step(self, action: Any) -> tuple[int, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"action must be in {self.action_space}, got {action!r}")
        if self.slip and self.np_random.random() < self.slip:
            action = int(self.np_random.integers(len(MOVES)))
        self._cell = int(self._next[self._cell, int(action)])
        self._t += 1
        self._trail.append(self._cell)
        return self._cell, 0.0, False, self._t >= self.horizon, {}

    def render(self) -> np.ndarray | None:
        """An RGB image, 8 pixels a cell: walls black, free cells white, the trail blue, the agent red."""
        if self.render_mode is None:
            return None
        image = np.where(self.free[..., None], 255, 0).astype(np.uint8).repeat(3, -1)
        trail = np.unravel_index(np.asarray(self._trail or [self.start]), self.free.shape)
        image[trail] = (70, 110, 230)
        image[divmod(self._cell, self.cols)] = (220, 40, 40)
        return image.repeat(8, 0).repeat(8, 1)


class SubmodularTask(gym.Env):
    """A base env rewarded by :class:`~rewarddesign.submodular.SubmodularReward`, as one registered env.

    ``gym.make`` returns this as the unwrapped env, so the task's parts stay at hand:
    ``env.unwrapped.base`` (the walker, for SubPO), ``.objective`` (``F``), ``.horizon``,
    ``.model()`` and ``.visited`` (the set visited in this episode, with ``F`` of it).

    Args:
        base: The env that moves (a :class:`GridWalk`, or the Ant).
        objective: ``F``.
        element: ``element(obs, info) -> int``; by default the ``Discrete`` observation.
        observation: ``"visited"`` or None, as in :class:`~rewarddesign.submodular.SubmodularReward`
            (``"visited"`` includes the step count).
        credit: ``"marginal"`` or ``"modular"``.
    """

    def __init__(
        self,
        base: gym.Env,
        objective: BaseSetFunction,
        element: Element | None = None,
        observation: Observation = "visited",
        credit: Credit = "marginal",
    ) -> None:
        self.base, self.objective = base, objective
        self._reward = SubmodularReward(
            base, objective, element, observation=observation, time=observation is not None, credit=credit
        )
        self.observation_space, self.action_space = self._reward.observation_space, self._reward.action_space
        self.metadata, self.render_mode = base.metadata, base.render_mode

    @property
    def horizon(self) -> int | None:
        """Steps per episode, where the base env has a fixed horizon."""
        return getattr(self.base, "horizon", None)

    @property
    def visited(self) -> SetState:
        """The incremental state of this episode's visited set (``.items``, ``.value``)."""
        return self._reward.state

    def model(self, gamma: float = 1.0) -> TabularMDP:
        """The base walker's model, for :func:`rewarddesign.submodular.greedy_plan`."""
        if not isinstance(self.base, GridWalk):
            raise TypeError(f"{type(self.base).__name__} publishes no tabular model")
        return self.base.model(gamma)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        return self._reward.reset(seed=seed, options=options)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        return self._reward.step(action)

    def render(self) -> Any:
        return None if self.render_mode is None else self.base.render()

    def close(self) -> None:
        self._reward.close()


def _wrap(walk: GridWalk, observation: Observation, credit: Credit) -> SubmodularTask:
    return SubmodularTask(walk, walk.objective, observation=observation, credit=credit)


def _centre(shape: tuple[int, int]) -> tuple[int, int]:
    return shape[0] // 2, shape[1] // 2


def coverage_grid(
    size: int = 30,
    horizon: int = 40,
    start: tuple[int, int] | None = None,
    weights: str | np.ndarray = "constant",
    footprint: int | ArrayLike = SENSOR,
    weights_seed: int = 0,
    slip: float = 0.0,
    observation: Observation = "visited",
    credit: Credit = "marginal",
    render_mode: str | None = None,
) -> SubmodularTask:
    """Coverage of a ``size x size`` grid (``rewarddesign/CoverageGrid-v0``).

    ``F(S)`` sums the weights of the cells covered by the visited cells (each covers its
    ``footprint``). With the default footprint and unit weights ``F <= 2 (H + 1)``.

    Args:
        size: Side of the grid.
        horizon: ``H``, steps per episode.
        start: The start cell; the centre by default.
        weights: ``"constant"``, ``"bimodal"``, ``"gp"`` or an array ``[size * size]`` (see
            :meth:`~rewarddesign.submodular.WeightedCoverage.on_grid`).
        footprint: The covered cells as ``(row, col)`` offsets, or an int radius (a square).
        weights_seed: Seeds the random weights, so the task is the same in every instance.
        slip: Probability of a random action.
        observation: ``"visited"`` (cell, visited cells, step count) or None (the cell).
        credit: ``"marginal"`` (submodular RL) or ``"modular"`` (``F({s_t})`` per step).
        render_mode: None or ``"rgb_array"``.
    """
    shape = (size, size)
    if isinstance(footprint, (int, np.integer)):
        objective = WeightedCoverage.on_grid(shape, radius=int(footprint), weights=weights, rng=weights_seed)
    else:
        objective = WeightedCoverage.on_grid(shape, weights=weights, rng=weights_seed, footprint=footprint)
    walk = GridWalk(np.ones(shape, dtype=bool), start or _centre(shape), horizon, objective, slip, render_mode)
    return _wrap(walk, observation, credit)


def two_room_grid(
    rows: int = 15,
    cols: int = 31,
    door: int = 2,
    horizon: int = 40,
    start: tuple[int, int] | None = None,
    footprint: int | ArrayLike = SENSOR,
    slip: float = 0.0,
    observation: Observation = "visited",
    credit: Credit = "marginal",
    render_mode: str | None = None,
) -> SubmodularTask:
    """Two rooms joined by a door in the middle of the dividing wall (``rewarddesign/TwoRoomCoverage-v0``).

    The left room is small and holds the start; the right room is worth twice as much per cell,
    so a good policy leaves through the door early, where a myopic one keeps covering the near room.

    Args:
        rows: Rows of the grid.
        cols: Columns of the grid, the dividing wall included.
        door: Rows of the door (centred).
        horizon: Steps per episode.
        start: The start cell; by default the middle of the left room's far wall.
        footprint: Covered cells as ``(row, col)`` offsets.
        slip: Probability of a random action.
        observation: ``"visited"`` (cell, visited cells, step count) or None (the cell).
        credit: ``"marginal"`` or ``"modular"``.
        render_mode: None or ``"rgb_array"``.
    """
    wall = cols // 3
    if rows < 3 or cols < 7 or not 1 <= door <= rows:
        raise ValueError(f"need rows >= 3, cols >= 7 and 1 <= door <= rows, got {rows}, {cols}, {door}")
    free = np.ones((rows, cols), dtype=bool)
    free[:, wall] = False
    top = (rows - door) // 2
    free[top : top + door, wall] = True
    weights = np.where(free, 1.0, 0.0)
    weights[:, wall + 1 :] *= 2.0
    objective = WeightedCoverage.on_grid((rows, cols), weights=weights.reshape(-1), footprint=footprint)
    walk = GridWalk(free, start or (rows // 2, 0), horizon, objective, slip, render_mode)
    return _wrap(walk, observation, credit)


def item_collection_grid(
    size: int = 15,
    n_kinds: int = 4,
    items_per_kind: int = 12,
    cap: int = 3,
    horizon: int = 40,
    start: tuple[int, int] | None = None,
    layout_seed: int = 0,
    slip: float = 0.0,
    observation: Observation = "visited",
    credit: Credit = "marginal",
    render_mode: str | None = None,
) -> SubmodularTask:
    """Collect items of several kinds, each kind worth at most ``cap`` (``rewarddesign/ItemCollection-v0``).

    ``F(S) = sum_k min(|S & items_k|, cap)``: ``items_per_kind`` cells of each kind are placed at
    random (seeded by ``layout_seed``); the rest hold nothing. ``F <= n_kinds * cap``.

    Args:
        size: Side of the grid.
        n_kinds: Kinds of items.
        items_per_kind: Cells holding an item of each kind.
        cap: Items of one kind that count at most.
        horizon: Steps per episode.
        start: The start cell; the centre by default.
        layout_seed: Seeds where the items lie.
        slip: Probability of a random action.
        observation: ``"visited"`` (cell, visited cells, step count) or None (the cell).
        credit: ``"marginal"`` or ``"modular"``.
        render_mode: None or ``"rgb_array"``.
    """
    if n_kinds * items_per_kind > size * size - 1:
        raise ValueError(f"{n_kinds} x {items_per_kind} items do not fit on a {size} x {size} grid")
    start = start or _centre((size, size))
    kinds = np.full(size * size, -1)
    others = np.delete(np.arange(size * size), start[0] * size + start[1])
    cells = np.random.default_rng(layout_seed).permutation(others)
    kinds[cells[: n_kinds * items_per_kind]] = np.repeat(np.arange(n_kinds), items_per_kind)
    objective = CappedCollection(kinds, np.full(n_kinds, cap))
    walk = GridWalk(np.ones((size, size), dtype=bool), start, horizon, objective, slip, render_mode)
    return _wrap(walk, observation, credit)


def experiment_design_grid(
    size: int = 30,
    horizon: int = 40,
    lengthscale: float = 2.0,
    noise: float = 1.0,
    start: tuple[int, int] | None = None,
    slip: float = 0.0,
    observation: Observation = "visited",
    credit: Credit = "marginal",
    render_mode: str | None = None,
) -> SubmodularTask:
    """D-optimal experiment design on a grid (``rewarddesign/ExperimentDesign-v0``).

    Each visited cell is a noisy measurement of a Gaussian process with an RBF kernel over the
    cell coordinates; ``F(S) = 1/2 logdet(I + noise^-2 K_SS)`` is the information gained, so
    measurements close to earlier ones are worth little.

    Args:
        size: Side of the grid.
        horizon: Steps per episode.
        lengthscale: The kernel's lengthscale in cells.
        noise: The measurement noise.
        start: The start cell; the centre by default.
        slip: Probability of a random action.
        observation: ``"visited"`` (cell, visited cells, step count) or None (the cell).
        credit: ``"marginal"`` or ``"modular"``.
        render_mode: None or ``"rgb_array"``.
    """
    shape = (size, size)
    coords = np.stack(np.unravel_index(np.arange(size * size), shape), -1)
    objective = LogDetDesign.rbf(coords, lengthscale=lengthscale, noise=noise)
    walk = GridWalk(np.ones(shape, dtype=bool), start or _centre(shape), horizon, objective, slip, render_mode)
    return _wrap(walk, observation, credit)


def ant_coverage(
    cells: int = 100,
    extent: float = 20.0,
    credit: Credit = "marginal",
    **ant_kwargs: Any,
) -> SubmodularTask:
    """The MuJoCo Ant rewarded for the area it covers (``rewarddesign/AntCoverage-v0``).

    The x-y position marks a cell of a ``cells x cells`` grid over ``[-extent, extent]^2``
    (positions outside are clipped to the border cells); the reward is the marginal gain of unit
    weight coverage, the Ant's own reward is kept in ``info["original_reward"]``. The observation
    is Ant-v5's with the x-y position included.

    Args:
        cells: Grid cells per side.
        extent: Half the side of the covered square.
        credit: ``"marginal"`` or ``"modular"`` (1 per step on any cell, repeats included).
        **ant_kwargs: Keyword arguments of ``gym.make("Ant-v5")``.
    """
    if cells < 1 or not extent > 0:
        raise ValueError(f"need cells >= 1 and extent > 0, got {cells}, {extent}")
    os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering; must precede the first mujoco import
    ant_kwargs.setdefault("exclude_current_positions_from_observation", False)
    env = gym.make("Ant-v5", **ant_kwargs)
    width = 2 * extent / cells

    def element(obs: Any, info: Mapping[str, Any]) -> int:
        x, y = info["x_position"], info["y_position"]
        col = min(max(int((x + extent) // width), 0), cells - 1)
        row = min(max(int((y + extent) // width), 0), cells - 1)
        return row * cells + col

    objective = WeightedCoverage.on_grid((cells, cells), radius=0)
    return SubmodularTask(env, objective, element, observation=None, credit=credit)
