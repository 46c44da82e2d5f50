"""The part the labelled grid worlds share: deterministic moves from tables, labels in ``info``, tasks by name."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rewarddesign.machines import RewardMachine, from_ltlf

__all__ = ["LabelledGrid"]


class LabelledGrid(gym.Env):
    """A grid world whose moves are ``next_state [S, A]`` and whose state ``s`` shows ``state_labels[s]``.

    Subclasses set :attr:`next_state`, :attr:`state_labels`, :attr:`start` and :attr:`tasks`, then
    call :meth:`_ready`. The env's reward is 0; ``info["labels"]`` holds the labels of the state
    reached (and of the start state at reset).
    """

    next_state: np.ndarray
    state_labels: tuple[frozenset[str], ...]
    start: int
    tasks: dict[str, str]

    def _ready(self) -> None:
        self.observation_space = gym.spaces.Discrete(len(self.state_labels))
        self.action_space = gym.spaces.Discrete(self.next_state.shape[1])
        self._moves = self.next_state.tolist()
        self.state = self.start

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self.state = self.start
        return self.state, {"labels": self.state_labels[self.state]}

    def step(self, action: Any) -> tuple[int, float, bool, bool, dict[str, Any]]:
        try:
            self.state = self._moves[self.state][action]
        except (IndexError, TypeError):
            if not self.action_space.contains(action):
                raise ValueError(f"action must be in {self.action_space}, got {action!r}") from None
            self.state = self._moves[self.state][int(action)]
        return self.state, 0.0, False, False, {"labels": self.state_labels[self.state]}

    def machine(self, task: str) -> RewardMachine:
        """The reward machine of a task of :attr:`tasks` (by name) or of an LTLf formula over the labels."""
        return from_ltlf(self.tasks.get(task, task))
