"""Recording the episodes an env lives through, whoever steps it (a learner in training, a user).

:class:`EpisodeRecorder` wraps an env and keeps every finished episode as a
:class:`~rewarddesign.rollouts.Trajectory`: D4RL's ``medium-replay`` data is what a learner saw
while it trained, recorded so.

Example:
    >>> import gymnasium as gym
    >>> env = EpisodeRecorder(gym.make("Pendulum-v1", max_episode_steps=5))
    >>> _ = env.reset(seed=0)
    >>> for _ in range(5):
    ...     _ = env.step(env.action_space.sample())
    >>> [len(t) for t in env.trajectories], env.trajectories[0].truncated
    ([5], True)
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from rewarddesign.rollouts import Trajectory

__all__ = ["EpisodeRecorder"]


class EpisodeRecorder(gym.Wrapper):
    """Records every finished episode of the env it wraps as a :class:`~rewarddesign.rollouts.Trajectory`.

    Observations, actions, rewards, the step infos (so ``info["reward_factors"]`` where the env
    publishes its factors) and how the episode ended land in :attr:`trajectories`; an unfinished
    episode is dropped.

    Args:
        env: The env to record.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.trajectories: list[Trajectory] = []
        self._current: dict[str, list[Any]] | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._current = {"obs": [np.array(obs, copy=True)], "acts": [], "rews": [], "infos": []}
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        current = self._current
        if current is not None:
            current["obs"].append(np.array(obs, copy=True))
            current["acts"].append(np.array(action, copy=True))
            current["rews"].append(float(reward))
            current["infos"].append(dict(info))
            if terminated or truncated:
                self.trajectories.append(
                    Trajectory(
                        obs=np.stack(current["obs"]),
                        acts=np.stack(current["acts"]),
                        rews=np.asarray(current["rews"], dtype=np.float64),
                        infos=tuple(current["infos"]),
                        terminated=bool(terminated),
                        truncated=bool(truncated),
                    )
                )
                self._current = None
        return obs, reward, terminated, truncated, info
