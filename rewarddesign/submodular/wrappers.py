"""The marginal-gain reward: any Gymnasium env, rewarded by a submodular function of its visited states.

Each step visits an *element* of the set function's ground set (by default the observation of a
``Discrete`` observation space; otherwise ``element(obs, info) -> int``), and the reward is the
marginal gain ``F(S + x) - F(S)`` of that element given the elements visited so far in the
episode. The start observation is visited too; its gain is paid with the first step's reward,
so the return of an episode is exactly ``F(visited) - F(empty set)``.

The reward depends on the history, so a Markovian policy needs that history in its observation:
``observation="visited"`` adds a binary vector of the visited elements (and the step count, with
``time=True``) to a ``Dict`` observation that SB3's ``MultiInputPolicy`` takes.

The reward is :class:`MarginalGainTerm`, a term of the reward-wrapper family
(:mod:`rewarddesign.rewards.wrappers`): :class:`SubmodularReward` (Gymnasium, with the observation
options) and :class:`VecSubmodularReward` (SB3) drive it, and so does
``VectorDesignedReward(envs, MarginalGainTerm(F))`` for a Gymnasium vector env.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray
from stable_baselines3.common.vec_env import VecEnv

from rewarddesign.rewards.wrappers import (
    Bools,
    DesignedReward,
    Floats,
    Info,
    Infos,
    RewardMode,
    RewardTerm,
    VecDesignedReward,
)
from rewarddesign.submodular._functions import BaseSetFunction, SetState

__all__ = ["MarginalGainTerm", "SubmodularReward", "VecSubmodularReward"]

Element = Callable[[Any, Mapping[str, Any]], int]
Credit = Literal["marginal", "modular"]


def _default_element(space: gym.Space) -> Element:
    if not isinstance(space, gym.spaces.Discrete):
        raise TypeError(f"element= is needed for observations of {space}: a function (obs, info) -> element index")
    start = int(space.start)
    return lambda obs, info: int(obs) - start


class _Episode:
    """The visited set of one env's episode."""

    def __init__(self, function: BaseSetFunction, element: Element, modular: bool = False) -> None:
        self.function, self.element, self.modular = function, element, modular
        self.state: SetState = function.state()
        self.pending = 0.0

    def _credit(self, item: int) -> float:
        if self.modular:  # F({x}) - F(empty), whether or not x was visited before
            self.state.add(item)
            return self.function.state().add(item)
        return self.state.add(item)

    def reset(self, obs: Any, info: Mapping[str, Any]) -> None:
        self.state = self.function.state()
        self.pending = self._credit(self._item(obs, info))

    def step(self, obs: Any, info: Mapping[str, Any]) -> float:
        gain = self.pending + self._credit(self._item(obs, info))
        self.pending = 0.0
        return gain

    def _item(self, obs: Any, info: Mapping[str, Any]) -> int:
        item = self.element(obs, info)
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)):
            raise TypeError(f"element must return an int index of the ground set, got {type(item).__name__}: {item!r}")
        return int(item)

    def visited(self) -> NDArray[np.int8]:
        mask = np.zeros(self.function.n_items, dtype=np.int8)
        mask[self.state.items] = 1
        return mask


def _row(obs: Any, i: int) -> Any:
    if isinstance(obs, Mapping):
        return {key: value[i] for key, value in obs.items()}
    return obs[i]


class MarginalGainTerm(RewardTerm):
    """The reward term of submodular RL: the marginal gain ``F(S + x) - F(S)`` of the element visited.

    Its values go to ``info["marginal_gain"]``. Each env keeps the set ``S`` of the elements
    visited in its episode; the start observation's gain is paid with the first step's value.

    Args:
        set_function: A set function from :mod:`rewarddesign.submodular`.
        element: ``element(obs, info) -> int`` maps an observation to its element; by default the
            index of a ``Discrete`` observation.
        mode: ``"replace"`` (the reward is the gain) or ``"add"`` (env reward plus gain).
        credit: ``"marginal"`` (the marginal gain, submodular RL) or ``"modular"`` (the baseline of
            modular RL: ``F({x}) - F(empty set)`` for each visited element, repeats counted again).

    Raises:
        TypeError: ``set_function`` is not a set function of the library.
        ValueError: ``mode`` or ``credit`` is none of the accepted values.
    """

    info_key = "marginal_gain"

    def __init__(
        self,
        set_function: BaseSetFunction,
        element: Element | None = None,
        *,
        mode: RewardMode = "replace",
        credit: Credit = "marginal",
    ) -> None:
        super().__init__(mode)
        if not isinstance(set_function, BaseSetFunction):
            raise TypeError(
                f"set_function must be a set function of rewarddesign.submodular, got {type(set_function).__name__}"
            )
        if credit not in ("marginal", "modular"):
            raise ValueError(f"credit must be 'marginal' or 'modular', got {credit!r}")
        self.set_function, self.element, self.credit = set_function, element, credit
        self.episodes: list[_Episode] = []

    def bind(self, observation_space: gym.Space, action_space: gym.Space, num_envs: int) -> None:
        element = self.element or _default_element(observation_space)
        modular = self.credit == "modular"
        self.num_envs = num_envs
        self.episodes = [_Episode(self.set_function, element, modular) for _ in range(num_envs)]

    def reset(self, obs: Any, infos: Infos, mask: Bools) -> None:
        for i in np.flatnonzero(mask).tolist():
            self.episodes[i].reset(_row(obs, i), infos[i])

    def step(
        self, obs: Any, act: Any, next_obs: Any, reward: Floats, terminated: Bools, truncated: Bools, infos: Infos
    ) -> Floats:
        return np.array([episode.step(_row(next_obs, i), infos[i]) for i, episode in enumerate(self.episodes)])

    def reset_one(self, obs: Any, info: Info) -> None:
        self.episodes[0].reset(obs, info)

    def step_one(
        self, obs: Any, act: Any, next_obs: Any, reward: float, terminated: bool, truncated: bool, info: Info
    ) -> float:
        return self.episodes[0].step(next_obs, info)


class SubmodularReward(DesignedReward):
    """Rewards each step with the marginal gain of the element it visits (:class:`MarginalGainTerm`).

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

    term: MarginalGainTerm

    def __init__(
        self,
        env: gym.Env,
        set_function: BaseSetFunction,
        element: Element | None = None,
        *,
        mode: RewardMode = "replace",
        credit: Credit = "marginal",
        observation: Literal["visited"] | None = None,
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
        if observation not in (None, "visited"):
            raise ValueError(f"observation must be None or 'visited', got {observation!r}")
        super().__init__(env, MarginalGainTerm(set_function, element, mode=mode, credit=credit))
        self.set_function, self.augment, self.time = set_function, observation, time
        self._t = 0
        if observation == "visited":
            spaces = {"observation": env.observation_space, "visited": gym.spaces.MultiBinary(set_function.n_items)}
            if time:
                spaces["time"] = gym.spaces.Box(0.0, np.inf, (1,), np.float32)
            self.observation_space = gym.spaces.Dict(spaces)

    @property
    def mode(self) -> RewardMode:
        """``"replace"`` or ``"add"``."""
        return self.term.mode

    @property
    def state(self) -> SetState:
        """The set of elements visited in this episode, with ``F`` of it."""
        return self.term.episodes[0].state

    def _observe(self, obs: Any) -> Any:
        if self.augment is None:
            return obs
        out = {"observation": obs, "visited": self.term.episodes[0].visited()}
        if self.time:
            out["time"] = np.array([self._t], dtype=np.float32)
        return out

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        obs, info = super().reset(seed=seed, options=options)
        self._t = 0
        return self._observe(obs), info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        self._t += 1
        return self._observe(obs), reward, terminated, truncated, info


class VecSubmodularReward(VecDesignedReward):
    """The marginal-gain reward for an SB3 ``VecEnv``: env by env the rewards of :class:`SubmodularReward`.

    A done env's final element is taken from ``infos[i]["terminal_observation"]``, and the new
    episode starts from the returned observation. Observations are passed through unchanged; use
    the per-env wrapper (inside the VecEnv) to augment them. For a Gymnasium vector env, use
    ``VectorDesignedReward(envs, MarginalGainTerm(...))``.

    Args:
        venv: The vectorised env.
        set_function: The set function.
        element: ``element(obs, info) -> int``; by default the index of a ``Discrete`` observation.
        mode: ``"replace"`` or ``"add"``.
        credit: ``"marginal"`` or ``"modular"``.
    """

    term: MarginalGainTerm

    def __init__(
        self,
        venv: VecEnv,
        set_function: BaseSetFunction,
        element: Element | None = None,
        *,
        mode: RewardMode = "replace",
        credit: Credit = "marginal",
    ) -> None:
        super().__init__(venv, MarginalGainTerm(set_function, element, mode=mode, credit=credit))
