"""The craft world of Toro Icarte et al. (JAIR 2022), after Andreas et al.'s crafting tasks: a labelled grid.

A 39 x 39 open grid inside a wall (the authors' first map, :data:`CRAFT_MAP`); the agent starts at
``A`` and moves up, right, down or left (deterministic; the outer wall stops it). Cells marked
``a`` to ``h`` hold raw materials, tools and workstations; the letter is the proposition that is
true while the agent stands there (published as ``info["labels"]``, the env's own reward is 0).

:data:`CRAFT_TASKS` holds five of the paper's ten tasks, numbered as in the authors' task files,
as LTLf formulas; each asks for objects in an order (some in any order), e.g. ``t8``: ``a`` and
``f`` in either order, then ``c``. ``gym.make("rewarddesign/CraftWorld-v0", task="t8")`` returns
the env wrapped with the task's machine. The env publishes its tabular moves
(:attr:`CraftWorld.next_state`) and the labels of each state (:attr:`CraftWorld.state_labels`).

Observation: ``Discrete(1681)``, the cell ``row * 41 + column`` (wall cells are never occupied).
Actions: ``Discrete(4)`` (up, right, down, left). The registered id has a time limit of 1000 steps.

Example:
    >>> import gymnasium as gym
    >>> import rewarddesign.envs
    >>> env = gym.make("rewarddesign/CraftWorld-v0", task="t2")
    >>> obs, info = env.reset(seed=0)
    >>> env.observation_space["obs"], info["machine_state"]
    (Discrete(1681), 0)
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rewarddesign.envs._labelled_grid import LabelledGrid
from rewarddesign.machines import RewardMachineWrapper

__all__ = ["CraftWorld", "CRAFT_TASKS", "CRAFT_MAP", "craft_world"]

#: The map: ``X`` wall, ``A`` start, ``a``-``h`` labelled cells (rows from the top).
CRAFT_MAP = (
    "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "X                                       X",
    "X                                       X",
    "X                c                      X",
    "X                                       X",
    "X            h        f                 X",
    "X                         d             X",
    "X                      d                X",
    "X                                       X",
    "X                                       X",
    "X                                       X",
    "X                                       X",
    "X                                       X",
    "X                                       X",
    "X                                       X",
    "X                                       X",
    "X         h          g                  X",
    "X   f                              f    X",
    "X                                       X",
    "X        d                              X",
    "X      d            A                   X",
    "X                                       X",
    "X                                       X",
    "X                                       X",
    "X                                       X",
    "X                          b            X",
    "X                   b                   X",
    "X                                       X",
    "X                    f                  X",
    "X                                 d     X",
    "X                                       X",
    "X                      c            a   X",
    "X                     f                 X",
    "X        a                      e       X",
    "X                                       X",
    "X                                       X",
    "Xa                             a        X",
    "X              g                        X",
    "X             e                         X",
    "X         a                             X",
    "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
)

#: Five of the paper's craft tasks (LTLf; numbered as in the authors' task files).
CRAFT_TASKS: dict[str, str] = {
    "t2": "F(a & F c)",
    "t5": "F(a & F e) & F(f & F e)",
    "t8": "F(a & F c) & F(f & F c)",
    "t9": "F(a & F(e & F g)) & F(f & F(e & F g))",
    "t10": "F(a & F(c & F(b & F h))) & F(f & F(b & F h))",
}
_MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))  # up, right, down, left (row, column)


class CraftWorld(LabelledGrid):
    """The craft world (see the module docs): labels in ``info["labels"]``, reward 0.

    Args:
        layout: Rows of ``X`` (wall), ``A`` (start, exactly one), letters (labels) and blanks.

    Attributes:
        next_state: int ``[S, A]``, the deterministic moves.
        state_labels: The label set of each state, ``[S]``.
        tasks: :data:`CRAFT_TASKS`.
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(self, layout: tuple[str, ...] = CRAFT_MAP, render_mode: str | None = None) -> None:
        rows = [str(row) for row in layout]
        if not rows or len({len(row) for row in rows}) != 1:
            raise ValueError("layout must be non-empty rows of one length")
        if sum(row.count("A") for row in rows) != 1:
            raise ValueError("layout must hold exactly one start 'A'")
        self.layout = tuple(rows)
        height, width = len(rows), len(rows[0])
        self.shape = (height, width)
        n = height * width
        self.render_mode = render_mode
        self.next_state = np.zeros((n, 4), dtype=np.int64)
        labels = []
        for r in range(height):
            for c in range(width):
                s = r * width + c
                ch = rows[r][c]
                if ch == "A":
                    self.start = s
                labels.append(frozenset({ch}) if ch not in " XA" else frozenset())
                for a, (dr, dc) in enumerate(_MOVES):
                    nr, nc = r + dr, c + dc
                    inside = 0 <= nr < height and 0 <= nc < width and rows[nr][nc] != "X"
                    self.next_state[s, a] = nr * width + nc if inside and ch != "X" else s
        self.state_labels: tuple[frozenset[str], ...] = tuple(labels)
        self.tasks = dict(CRAFT_TASKS)
        self._ready()

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        width = self.shape[1]
        rows = [list(row.replace("A", " ")) for row in self.layout]
        rows[self.state // width][self.state % width] = "A"
        return "\n".join("".join(row) for row in rows)


def craft_world(
    task: str | None = None, observation: str = "dict", counterfactual: bool = False, render_mode: str | None = None
) -> gym.Env:
    """The craft world; with ``task`` (a name of :data:`CRAFT_TASKS` or an LTLf formula), wrapped with its machine."""
    env = CraftWorld(render_mode=render_mode)
    if task is None:
        return env
    return RewardMachineWrapper(env, env.machine(task), observation=observation, counterfactual=counterfactual)  # type: ignore[arg-type]
