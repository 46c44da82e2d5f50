"""The marginal-gain reward: any Gymnasium env, rewarded by a submodular function of its visited states.

Each step visits an *element* of the set function's ground set (by default the observation of a
``Discrete`` observation space; otherwise ``element(obs, info) -> int``), and the reward is the
marginal gain ``F(S + x) - F(S)`` of that element given the elements visited so far in the
episode. The start observation is visited too; its gain is paid with the first step's reward,
so the return of an episode is exactly ``F(visited) - F(empty set)``.

The reward depends on the history, so a Markovian policy needs that history in its observation:
``observation="visited"`` adds a binary vector of the visited elements (and the step count, with
``time=True``) to a ``Dict`` observation that SB3's ``MultiInputPolicy`` takes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from rewarddesign.submodular._functions import BaseSetFunction, SetState

__all__ = ["SubmodularReward", "VecSubmodularReward"]

Element = Callable[[Any, dict[str, Any]], int]


def _default_element(space: gym.Space) -> Element:
    if not isinstance(space, gym.spaces.Discrete):
        raise TypeError(f"element= is needed for observations of {space}: a function (obs, info) -> element index")
    start = int(space.start)
    return lambda obs, info: int(obs) - start


class _Episode:
    """The per-episode bookkeeping shared by the Gymnasium and SB3 forms."""

    def __init__(self, function: BaseSetFunction, element: Element, modular: bool = False) -> None:
        self.function, self.element, self.modular = function, element, modular
        self.state: SetState = function.state()
        self.pending = 0.0

    def _credit(self, item: int) -> float:
        if self.modular:  # F({x}) - F(empty), whether or not x was visited before
            self.state.add(item)
            return self.function.state().add(item)
        return self.state.add(item)

    def reset(self, obs: Any, info: dict[str, Any]) -> None:
        self.state = self.function.state()
        self.pending = self._credit(self._item(obs, info))

    def step(self, obs: Any, info: dict[str, Any]) -> float:
        gain = self.pending + self._credit(self._item(obs, info))
        self.pending = 0.0
        return gain

    def _item(self, obs: Any, info: dict[str, Any]) -> int:
        item = self.element(obs, info)
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)):
            raise TypeError(f"element must return an int index of the ground set, got {type(item).__name__}: {item!r}")
        return int(item)

    def visited(self) -> np.ndarray:
        mask = np.zeros(self.function.n_items, dtype=np.int8)
        mask[self.state.items] = 1
        return mask


class SubmodularReward(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Rewards each step with the marginal gain of the element it visits.

    Args:
        env: The env.
        set_function: A set function from :mod:`rewarddesign.submodular`.
        element: ``element(obs, info) -> int`` maps an observation to its element; by default the
            index of a ``Discrete`` observation.
        mode: ``"replace"`` (the reward is the gain) or ``"add"`` (env reward plus gain).
        credit: ``"marginal"`` (the marginal gain, submodular RL) or ``"modular"`` (the baseline of
            modular RL: ``F({x}) - F(empty set)`` for each visited element, repeats counted again).
        observation: ``None`` (unchanged) or ``"visited"``: a ``Dict`` of the env's observation
            (``"observation"``) and a binary vector of the visited elements (``"visited"``).
        time: With ``observation="visited"``, also add the step count (``"time"``).

    ``info["original_reward"]`` keeps the env's reward and ``info["marginal_gain"]`` the gain.

    Example:
        >>> import gymnasium as gym
        >>> from rewarddesign.submodular import WeightedCoverage
        >>> env = SubmodularReward(gym.make("FrozenLake-v1", is_slippery=False), WeightedCoverage.on_grid((4, 4)))
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(2)   # right, from the corner
        >>> reward  # the start covers 4 cells, the next one 2 more
        6.0
    """

    def __init__(
        self,
        env: gym.Env,
        set_function: BaseSetFunction,
        element: Element | None = None,
        *,
        mode: str = "replace",
        credit: str = "marginal",
        observation: str | None = None,
        time: bool = False,
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self,
            set_function=set_function,
            element=element,
            mode=mode,
            credit=credit,
            observation=observation,
            time=time,
        )
        gym.Wrapper.__init__(self, env)
        if not isinstance(set_function, BaseSetFunction):
            raise TypeError(
                f"set_function must be a set function of rewarddesign.submodular, got {type(set_function).__name__}"
            )
        if mode not in ("replace", "add"):
            raise ValueError(f"mode must be 'replace' or 'add', got {mode!r}")
        if observation not in (None, "visited"):
            raise ValueError(f"observation must be None or 'visited', got {observation!r}")
        if credit not in ("marginal", "modular"):
            raise ValueError(f"credit must be 'marginal' or 'modular', got {credit!r}")
        self.set_function, self.mode, self.augment, self.time = set_function, mode, observation, time
        self._episode = _Episode(
            set_function, element or _default_element(env.observation_space), modular=credit == "modular"
        )
        self._t = 0
        if observation == "visited":
            spaces = {"observation": env.observation_space, "visited": gym.spaces.MultiBinary(set_function.n_items)}
            if time:
                spaces["time"] = gym.spaces.Box(0.0, np.inf, (1,), np.float32)
            self.observation_space = gym.spaces.Dict(spaces)

    @property
    def state(self) -> SetState:
        """The set of elements visited in this episode, with ``F`` of it."""
        return self._episode.state

    def _observe(self, obs: Any) -> Any:
        if self.augment is None:
            return obs
        out = {"observation": obs, "visited": self._episode.visited()}
        if self.time:
            out["time"] = np.array([self._t], dtype=np.float32)
        return out

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._t = 0
        self._episode.reset(obs, info)
        return self._observe(obs), info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._t += 1
        gain = self._episode.step(obs, info)
        info["original_reward"] = reward
        info["marginal_gain"] = gain
        designed = gain if self.mode == "replace" else float(reward) + gain
        return self._observe(obs), designed, terminated, truncated, info


class VecSubmodularReward(VecEnvWrapper):
    """The marginal-gain reward for an SB3 ``VecEnv``: env by env the rewards of :class:`SubmodularReward`.

    A done env's observation is already the next episode's first one (SB3 autoreset): its final
    element is taken from ``infos[i]["terminal_observation"]``, and the new episode starts from
    the returned observation. Observations are passed through unchanged; use the per-env wrapper
    (inside the VecEnv) to augment them.

    Args:
        venv: The vectorised env.
        set_function: The set function.
        element: ``element(obs, info) -> int``; by default the index of a ``Discrete`` observation.
        mode: ``"replace"`` or ``"add"``.
    """

    def __init__(
        self, venv: VecEnv, set_function: BaseSetFunction, element: Element | None = None, mode: str = "replace"
    ) -> None:
        super().__init__(venv)
        if not isinstance(set_function, BaseSetFunction):
            raise TypeError(
                f"set_function must be a set function of rewarddesign.submodular, got {type(set_function).__name__}"
            )
        if mode not in ("replace", "add"):
            raise ValueError(f"mode must be 'replace' or 'add', got {mode!r}")
        element = element or _default_element(venv.observation_space)
        self.mode = mode
        self._episodes = [_Episode(set_function, element) for _ in range(self.num_envs)]

    def reset(self) -> Any:
        obs = self.venv.reset()
        for i, episode in enumerate(self._episodes):
            episode.reset(obs[i], self.reset_infos[i] if i < len(self.reset_infos) else {})
        return obs

    def step_wait(self) -> tuple[Any, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        obs, rewards, dones, infos = self.venv.step_wait()
        gains = np.zeros(self.num_envs)
        for i, (episode, info) in enumerate(zip(self._episodes, infos)):
            final = info["terminal_observation"] if dones[i] else obs[i]
            gains[i] = episode.step(final, info)
            info["original_reward"] = float(rewards[i])
            info["marginal_gain"] = gains[i]
            if dones[i]:
                episode.reset(obs[i], {})
        designed = gains if self.mode == "replace" else rewards + gains
        return obs, designed.astype(np.float32), dones, infos
