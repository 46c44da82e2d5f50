"""How the learned offline policies act: through :func:`rewarddesign.rollouts.rollout`, in the env they need.

Every learner of :mod:`rewarddesign.offline` is an :class:`Agent`: it has SB3's
``predict(observation, deterministic=...)`` on a batch of observations, so
:func:`~rewarddesign.rollouts.rollout` runs it, and :meth:`Agent.wrap_env` gives the env it acts
in. Markov policies (behaviour cloning, IQL) act in the env as it is. A sequence policy (OPPO)
reads the last observations of the episode: it acts in the env wrapped by
:class:`ObservationWindow`, whose observation is that window, so the policy itself keeps no state
between calls.

Example:
    >>> import gymnasium as gym
    >>> env = ObservationWindow(gym.make("Pendulum-v1"), length=4)
    >>> obs, _ = env.reset(seed=0)
    >>> obs.shape, obs[:, -1].tolist()  # three padding rows, then the first observation
    ((4, 4), [0.0, 0.0, 0.0, 1.0])
    >>> obs, *_ = env.step(env.action_space.sample())
    >>> obs[:, -1].tolist()
    [0.0, 0.0, 1.0, 1.0]
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from rewarddesign._validation import check_positive_int
from rewarddesign.rollouts import SupportsPredict

__all__ = ["Agent", "ObservationWindow"]


class Agent(SupportsPredict, Protocol):
    """What a learned offline policy offers: SB3's ``predict`` (actions ``[B, act_dim]`` for a batch of
    observations of :meth:`wrap_env`'s env; no recurrent state) and the env it acts in."""

    def wrap_env(self, env: gym.Env) -> gym.Env:
        """``env`` as this policy acts in it (wrapped, or as it is)."""
        ...


class ObservationWindow(gym.ObservationWrapper):
    """Observations become the window of the episode's last ``length`` observations.

    The observation is float32 ``[length, obs_dim + 1]``: row ``i`` holds an observation and a last
    column of 1, oldest first and the current one last; at an episode's start the window is
    left-padded with rows of zeros (last column 0). With ``history=True`` each row also holds the
    action taken at that step (zeros for the current step, not taken yet) and the step's index in
    the episode: ``[length, obs_dim + act_dim + 2]``, columns observation, action, timestep, mark.

    Args:
        env: An env with flat ``Box`` observations (and, with ``history``, flat ``Box`` actions).
        length: Steps in the window.
        history: Add the steps' actions and timesteps.
    """

    def __init__(self, env: gym.Env, length: int, history: bool = False) -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise ValueError(f"ObservationWindow needs flat Box observations, got {space}")
        self.length = check_positive_int(length, "length")
        self.history = bool(history)
        self._obs_dim = space.shape[0]
        self._act_dim = 0
        if self.history:
            actions = env.action_space
            if not isinstance(actions, gym.spaces.Box) or len(actions.shape) != 1:
                raise ValueError(f"ObservationWindow(history=True) needs flat Box actions, got {actions}")
            self._act_dim = actions.shape[0] + 1  # the action and the timestep
        self._shape = (self.length, self._obs_dim + self._act_dim + 1)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, self._shape, np.float32)
        self._history: deque[NDArray[np.float32]] = deque(maxlen=self.length)
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        self._history.clear()
        self._t = 0
        return super().reset(seed=seed, options=options)

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        if self.history and self._history:  # the current row's action, now taken
            self._history[-1][self._obs_dim : self._obs_dim + self._act_dim - 1] = np.asarray(action).reshape(-1)
        return super().step(action)

    def observation(self, observation: Any) -> NDArray[np.float32]:
        row = np.zeros(self._shape[1] - 1, dtype=np.float32)
        row[: self._obs_dim] = np.asarray(observation, dtype=np.float32).reshape(-1)
        if self.history:
            row[-1] = self._t
        self._t += 1
        self._history.append(row)
        window = np.zeros(self._shape, dtype=np.float32)
        window[self.length - len(self._history) :, :-1] = np.stack(self._history)
        window[self.length - len(self._history) :, -1] = 1.0
        return window
