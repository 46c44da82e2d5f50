"""The office world of Toro Icarte et al. (ICML 2018, JAIR 2022): a labelled grid for reward-machine tasks.

A 12 x 9 grid of 3 x 3 rooms joined by doors; the agent starts in cell ``(2, 1)`` and moves up,
right, down or left (deterministic; a wall keeps it in place). Some cells hold an object, the
proposition that is true while the agent stands on it:

=========  ==========================================
label      cells ``(x, y)``
=========  ==========================================
``a``      (1, 1)
``b``      (1, 7)
``c``      (10, 7)
``d``      (10, 1)
``mail``   (7, 4)
``coffee`` (8, 2), (3, 6)
``office`` (4, 4)
``plant``  (4, 1), (7, 1), (4, 7), (7, 7), (1, 4), (10, 4)
=========  ==========================================

The env's own reward is 0: the task is a reward machine over these labels, published as
``info["labels"]`` after every step (and at reset). :data:`OFFICE_TASKS` holds the paper's four
tasks as LTLf formulas; ``gym.make("rewarddesign/OfficeWorld-v0", task="coffee")`` returns the
env wrapped with the task's machine (:class:`~rewarddesign.machines.RewardMachineWrapper`),
without ``task`` the labelled env alone. The env publishes its tabular model (:meth:`OfficeWorld.model`)
and the labels of each state (:attr:`OfficeWorld.state_labels`) for exact solutions on the product MDP.

Observation: ``Discrete(108)``, the cell ``y * 12 + x``. Actions: ``Discrete(4)`` (up, right,
down, left). The registered id has a time limit of 1000 steps.

Example:
    >>> import gymnasium as gym
    >>> import rewarddesign.envs
    >>> env = gym.make("rewarddesign/OfficeWorld-v0")
    >>> obs, info = env.reset(seed=0)
    >>> obs, reward, terminated, truncated, info = env.step(3)  # left: onto a
    >>> sorted(info["labels"]), reward
    (['a'], 0.0)
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rewarddesign.envs._labelled_grid import LabelledGrid
from rewarddesign.machines import RewardMachineWrapper
from rewarddesign.mdp import TabularMDP

__all__ = ["OfficeWorld", "OFFICE_TASKS", "OFFICE_OBJECTS", "office_world"]

WIDTH, HEIGHT = 12, 9
START = (2, 1)
#: ``(x, y) -> label`` of the objects.
OFFICE_OBJECTS: dict[tuple[int, int], str] = {
    (1, 1): "a",
    (1, 7): "b",
    (10, 7): "c",
    (10, 1): "d",
    (7, 4): "mail",
    (8, 2): "coffee",
    (3, 6): "coffee",
    (4, 4): "office",
    (4, 1): "plant",
    (7, 1): "plant",
    (4, 7): "plant",
    (7, 7): "plant",
    (1, 4): "plant",
    (10, 4): "plant",
}
#: The paper's four office tasks (LTLf over the labels).
OFFICE_TASKS: dict[str, str] = {
    "coffee": "F(coffee & F office) & G !plant",
    "mail": "F(mail & F office) & G !plant",
    "patrol": "F(a & F(b & F(c & F d))) & G !plant",
    "coffee_and_mail": "F(coffee & F office) & F(mail & F office) & G !plant",
}
_MOVES = ((0, 1), (1, 0), (0, -1), (-1, 0))  # up, right, down, left


def _blocked() -> set[tuple[int, int, int]]:
    """``(x, y, action)`` moves a wall stops: the 3 x 3 rooms' walls, less the doors."""
    walls = set()
    for x in range(WIDTH):
        for y in (0, 3, 6):
            walls.add((x, y, 2))
            walls.add((x, y + 2, 0))
    for y in range(HEIGHT):
        for x in (0, 3, 6, 9):
            walls.add((x, y, 3))
            walls.add((x + 2, y, 1))
    for y in (1, 7):
        for x in (2, 5, 8):
            walls.discard((x, y, 1))
            walls.discard((x + 1, y, 3))
    for x in (1, 4, 7, 10):
        walls.discard((x, 5, 0))
        walls.discard((x, 6, 2))
    for x in (1, 10):
        walls.discard((x, 2, 0))
        walls.discard((x, 3, 2))
    return walls


class OfficeWorld(LabelledGrid):
    """The office world (see the module docs): labels in ``info["labels"]``, reward 0.

    Attributes:
        next_state: int ``[S, A]``, the deterministic moves.
        state_labels: The label set of each state, ``[S]``.
        tasks: :data:`OFFICE_TASKS`.
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        walls = _blocked()
        self.next_state = np.zeros((WIDTH * HEIGHT, 4), dtype=np.int64)
        for y in range(HEIGHT):
            for x in range(WIDTH):
                for a, (dx, dy) in enumerate(_MOVES):
                    nx, ny = (x, y) if (x, y, a) in walls else (x + dx, y + dy)
                    self.next_state[y * WIDTH + x, a] = ny * WIDTH + nx
        self.state_labels: tuple[frozenset[str], ...] = tuple(
            frozenset({OFFICE_OBJECTS[(s % WIDTH, s // WIDTH)]})
            if (s % WIDTH, s // WIDTH) in OFFICE_OBJECTS
            else frozenset()
            for s in range(WIDTH * HEIGHT)
        )
        self.tasks = dict(OFFICE_TASKS)
        self.start = START[1] * WIDTH + START[0]
        self._ready()

    def model(self, gamma: float = 0.9) -> TabularMDP:
        """The tabular model (deterministic moves from the start cell)."""
        n = WIDTH * HEIGHT
        transitions = np.zeros((n, 4, n))
        transitions[np.arange(n)[:, None], np.arange(4)[None, :], self.next_state] = 1.0
        return TabularMDP(transitions, np.eye(n)[self.start], gamma)

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        rows = []
        for y in reversed(range(HEIGHT)):
            row = ""
            for x in range(WIDTH):
                s = y * WIDTH + x
                label = OFFICE_OBJECTS.get((x, y), ".")
                row += "A" if s == self.state else label[0] if label != "office" else "o"
            rows.append(row)
        return "\n".join(rows)


def office_world(
    task: str | None = None, observation: str = "dict", counterfactual: bool = False, render_mode: str | None = None
) -> gym.Env:
    """The office world; with ``task`` (a name of :data:`OFFICE_TASKS` or an LTLf formula), wrapped with its machine."""
    env = OfficeWorld(render_mode=render_mode)
    if task is None:
        return env
    return RewardMachineWrapper(env, env.machine(task), observation=observation, counterfactual=counterfactual)  # type: ignore[arg-type]
