"""The one family of reward wrappers: a batched reward term, driven in three env forms.

Every wrapper of the library that changes the reward (potential shaping, look-ahead advice,
submodular marginal gains, learned rewards, the behaviour-aligned blend, weighted reward factors)
is a :class:`RewardTerm`: an object that sees transitions in batches and keeps per-env episode
state. One definition runs in all three forms:

- :class:`DesignedReward`: a ``gymnasium.Wrapper`` (a batch of one, with a fast path for terms
  that give one);
- :class:`VectorDesignedReward`: a Gymnasium ``VectorWrapper``, any autoreset mode (``NEXT_STEP``,
  ``SAME_STEP``, ``DISABLED``);
- :class:`VecDesignedReward`: a Stable-Baselines3 ``VecEnvWrapper`` (``terminal_observation``,
  ``TimeLimit.truncated``).

Each form hands the term the transition ``(obs, act, next_obs, reward, terminated, truncated,
infos)`` of every env, ``next_obs`` being the observation the step reached (the final observation
of an episode, not the next episode's first one), and tells it where an episode starts
(:meth:`RewardTerm.reset` with a mask of envs). The term returns its values ``[B]``, and the form
combines them with the env's reward by the term's :attr:`~RewardTerm.mode`:

- ``"replace"``: the reward is the term's value (a learned reward, a marginal gain, a blend);
- ``"add"``: the reward is the env's reward plus the term's value (shaping, advice).

Every form writes the env's own reward to ``info["original_reward"]`` and the term's value to
``info[term.info_key]`` (per env in SB3's ``infos[i]``, arrays ``[num_envs]`` with their ``"_key"``
masks in a Gymnasium vector env's ``info``), so a ``Monitor`` placed inside the wrapper reports
the true return. The keys of the library's terms:

======================  =====================  ==========================================
term                    ``info_key``           mode
======================  =====================  ==========================================
potential shaping       ``"shaping_reward"``   ``"add"``
look-ahead advice       ``"shaping_reward"``   ``"add"``
submodular gain         ``"marginal_gain"``    ``"replace"`` or ``"add"``
learned reward          ``"learned_reward"``   ``"replace"`` or ``"add"``
behaviour-aligned blend ``"aligned_reward"``   ``"replace"``
weighted factor sum     ``"factor_reward"``    ``"replace"``
======================  =====================  ==========================================

The potential-shaping rule itself is :func:`potential_difference`, shared by the shaping wrappers,
their tabular counterparts and the behaviour-alignment baseline.

Example:
    >>> import gymnasium as gym, numpy as np
    >>> class Bonus(RewardTerm):
    ...     info_key = "bonus"
    ...     def __init__(self):
    ...         super().__init__(mode="add")
    ...     def step(self, obs, act, next_obs, reward, terminated, truncated, infos):
    ...         return np.full(len(reward), 0.5)
    >>> env = DesignedReward(gym.make("CartPole-v1"), Bonus())
    >>> _ = env.reset(seed=0)
    >>> _, reward, _, _, info = env.step(0)
    >>> reward, info["original_reward"], info["bonus"]
    (1.5, 1.0, 0.5)
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, overload

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper
from gymnasium.vector.utils import concatenate, create_empty_array
from numpy.typing import ArrayLike, NDArray
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from rewarddesign._validation import check_gamma
from rewarddesign._vector_info import info_row

__all__ = [
    "RewardMode",
    "Floats",
    "Bools",
    "Info",
    "Infos",
    "RewardTerm",
    "DesignedReward",
    "VectorDesignedReward",
    "VecDesignedReward",
    "potential_difference",
    "check_mode",
    "batch_length",
    "unbatch",
    "batch_of_one",
]

#: How a term's value and the env's reward make the new reward: ``"replace"`` or ``"add"``.
RewardMode = Literal["replace", "add"]
#: A float array ``[B]`` (rewards, a term's values).
Floats = NDArray[np.float64]
#: A bool array ``[B]`` (``terminated``, ``truncated``, reset masks).
Bools = NDArray[np.bool_]
#: One env's step info.
Info = Mapping[str, Any]
#: The step infos of a batch of envs, one per env.
Infos = Sequence[Mapping[str, Any]]


@overload
def potential_difference(phi: float, next_phi: float, terminated: bool, gamma: float) -> float: ...


@overload
def potential_difference(
    phi: ArrayLike, next_phi: ArrayLike, terminated: ArrayLike, gamma: float
) -> NDArray[np.float64]: ...


def potential_difference(phi: Any, next_phi: Any, terminated: Any, gamma: float) -> Any:
    """The potential-shaping term ``F = gamma * (0 if terminated else phi(s')) - phi(s)``.

    Ng, Harada and Russell (1999): summed with discounting over an episode, ``F`` telescopes to a
    constant of the start state, so optimal policies are kept. At termination the future is worth
    0 and so is ``phi(s')``; at truncation ``phi(s')`` stays (the learner bootstraps from ``s'``).
    Works elementwise on floats and on arrays alike (broadcasting).

    Args:
        phi: ``phi(s)`` (or ``phi(s, a)``).
        next_phi: ``phi(s')`` (or ``phi(s', a')``); its value where ``terminated`` is ignored.
        terminated: Whether ``s'`` ends the episode (a bool or a bool array).
        gamma: The learner's discount, in [0, 1].

    Returns:
        ``F``, a float or a float array.

    Raises:
        ValueError: ``gamma`` is NaN or outside [0, 1] (TypeError when it is not a number).

    Example:
        >>> potential_difference(1.0, 2.0, False, 0.5), potential_difference(1.0, 2.0, True, 0.5)
        (0.0, -1.0)
    """
    if not (isinstance(gamma, (float, int, np.floating, np.integer)) and 0.0 <= gamma <= 1.0):
        check_gamma(gamma, allow_zero=True)  # raises, naming gamma
    if isinstance(terminated, (bool, np.bool_)):
        return gamma * (0.0 if terminated else next_phi) - phi
    return gamma * np.where(terminated, 0.0, next_phi) - phi


def check_mode(mode: str) -> RewardMode:
    """``mode`` if it is ``"replace"`` or ``"add"``, else a ValueError naming it."""
    if mode not in ("replace", "add"):
        raise ValueError(f"mode must be 'replace' or 'add', got {mode!r}")
    return mode  # type: ignore[return-value]


def batch_of_one(x: Any) -> Any:
    """One element (an array, a number, or a dict or tuple of them) as a batch of one, in Gymnasium's layout."""
    if isinstance(x, Mapping):
        return {key: batch_of_one(value) for key, value in x.items()}
    if isinstance(x, tuple):
        return tuple(batch_of_one(value) for value in x)
    return np.expand_dims(np.asarray(x), 0)


def batch_length(batch: Any) -> int:
    """The number of elements ``B`` of a batch in Gymnasium's layout (the leading axis of its arrays).

    A batch of a ``Dict`` or ``Tuple`` space is a dict or tuple of batches (nested as the space
    is), so its length is that of its arrays, never the number of its keys or entries.

    Raises:
        ValueError: The arrays of the batch differ in length, or it holds none.

    Example:
        >>> batch_length((np.zeros((3, 2)), np.zeros(3)))
        3
    """
    lengths = set()

    def visit(part: Any) -> None:
        if isinstance(part, Mapping):
            for value in part.values():
                visit(value)
        elif isinstance(part, tuple):
            for value in part:
                visit(value)
        else:
            lengths.add(len(part))

    visit(batch)
    if len(lengths) != 1:
        raise ValueError(f"batch must hold arrays of one leading length, got lengths {sorted(lengths)}")
    return lengths.pop()


def unbatch(batch: Any) -> list[Any]:
    """The elements of a batch in Gymnasium's layout, one per row.

    Args:
        batch: An array ``[B, ...]``, or a dict or tuple of batches (nested as a ``Dict`` or
            ``Tuple`` space is); every array has the leading length ``B`` (:func:`batch_length`).

    Returns:
        ``B`` elements, each structured as the batch is (an array row, a dict, a tuple).

    Example:
        >>> [tuple(int(v) for v in row) for row in unbatch((np.array([0, 1, 2]), np.array([2, 1, 0])))]
        [(0, 2), (1, 1), (2, 0)]
    """
    size = batch_length(batch)

    def rows(part: Any) -> list[Any]:
        if isinstance(part, Mapping):
            columns = {key: rows(value) for key, value in part.items()}
            return [{key: column[i] for key, column in columns.items()} for i in range(size)]
        if isinstance(part, tuple):
            columns_ = [rows(value) for value in part]
            return [tuple(column[i] for column in columns_) for i in range(size)]
        return [part[i] for i in range(size)]

    return rows(batch)


def _replace_rows(space: gym.Space[Any], batch: Any, rows: NDArray[np.intp], values: Sequence[Any]) -> Any:
    """A copy of ``batch`` (a batch of ``space``) with its element ``rows[k]`` replaced by ``values[k]``."""
    if isinstance(batch, np.ndarray):  # the common case of an array space: no per-row work
        out = np.array(batch, copy=True)
        for row, value in zip(rows.tolist(), values):
            out[row] = value
        return out
    items = unbatch(batch)
    for row, value in zip(rows.tolist(), values):
        items[row] = value
    return concatenate(space, items, create_empty_array(space, len(items)))


class _VectorInfos(Sequence[Mapping[str, Any]]):
    """Per-env info views of a Gymnasium vector env's batched info, built only when read.

    Where ``final`` is set (``SAME_STEP``), env ``i``'s view is the ended step's info
    (``info["final_info"]``); where ``repeat`` is set (the reset step of ``NEXT_STEP``), it is
    ``previous[i]``, the info of the step that ended the episode.
    """

    def __init__(
        self,
        info: Mapping[str, Any],
        num_envs: int,
        final: NDArray[np.bool_] | None = None,
        repeat: NDArray[np.bool_] | None = None,
        previous: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        self._info, self._num_envs, self._final, self._repeat, self._previous = info, num_envs, final, repeat, previous

    def __len__(self) -> int:
        return self._num_envs

    def __getitem__(self, i: int) -> Mapping[str, Any]:  # type: ignore[override]
        if not 0 <= i < self._num_envs:
            raise IndexError(i)
        if self._repeat is not None and self._previous is not None and self._repeat[i]:
            return self._previous[i]
        if self._final is not None and self._final[i]:
            return info_row(self._info["final_info"], i)
        return info_row(self._info, i)


class RewardTerm(abc.ABC):
    """A reward design seen on batches of transitions, with per-env episode state.

    Subclasses set :attr:`info_key` and implement :meth:`step`; those with episode state
    implement :meth:`bind` (allocate it, check the spaces) and :meth:`reset`. Batches are in
    Gymnasium's layout for every space (for a ``Dict`` or ``Tuple`` space a dict or tuple of
    batches, nested as the space is): :func:`batch_length` and :func:`unbatch` read them. A term that is
    cheaper on one env than on a batch of one may override :meth:`reset_one` and
    :meth:`step_one` (the Gymnasium form calls only these two). A term instance serves one
    wrapper: its state belongs to that wrapper's envs.

    Args:
        mode: ``"replace"`` (the reward is the term's value) or ``"add"`` (the env's reward plus it).

    Attributes:
        info_key: The ``info`` key of the term's values.
        mode: ``"replace"`` or ``"add"``.
        num_envs: The number of envs of the wrapper that drives the term (set by :meth:`bind`).
    """

    info_key: ClassVar[str]

    def __init__(self, mode: RewardMode = "replace") -> None:
        self.mode: RewardMode = check_mode(mode)
        self.num_envs = 0

    def bind(self, observation_space: gym.Space, action_space: gym.Space, num_envs: int) -> None:
        """Called once by the wrapper: check the (single-env) spaces and allocate state for ``num_envs`` envs.

        Raises:
            TypeError: The term cannot work on these spaces.
        """
        self.num_envs = num_envs

    def reset(self, obs: Any, infos: Infos, mask: Bools) -> None:  # noqa: B027
        """Start new episodes where ``mask [B]`` is True; ``obs [B, ...]`` and ``infos`` are those of all envs."""

    @abc.abstractmethod
    def step(
        self, obs: Any, act: Any, next_obs: Any, reward: Floats, terminated: Bools, truncated: Bools, infos: Infos
    ) -> Floats:
        """The term's values ``[B]`` for the transitions ``obs --act--> next_obs`` of every env.

        Args:
            obs: Observations ``[B, ...]`` the actions were taken in.
            act: Actions ``[B, ...]``.
            next_obs: Observations ``[B, ...]`` the step reached (final ones where an episode ended).
            reward: The env's rewards, float ``[B]``.
            terminated: bool ``[B]``.
            truncated: bool ``[B]``.
            infos: The step's info of each env.
        """

    def reset_one(self, obs: Any, info: Info) -> None:
        """:meth:`reset` of a single env (one observation, one info)."""
        self.reset(batch_of_one(obs), (info,), np.ones(1, dtype=bool))

    def step_one(
        self, obs: Any, act: Any, next_obs: Any, reward: float, terminated: bool, truncated: bool, info: Info
    ) -> float:
        """:meth:`step` of a single env: one transition, one float."""
        values = self.step(
            batch_of_one(obs),
            batch_of_one(act),
            batch_of_one(next_obs),
            np.array([reward], dtype=np.float64),
            np.array([terminated]),
            np.array([truncated]),
            (info,),
        )
        return float(values[0])


def _check_term(term: Any) -> RewardTerm:
    if not isinstance(term, RewardTerm):
        raise TypeError(f"term must be a RewardTerm, got {type(term).__name__}")
    return term


class DesignedReward(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """A Gymnasium env whose reward a :class:`RewardTerm` replaces or adds to.

    ``info["original_reward"]`` keeps the env's reward and ``info[term.info_key]`` the term's
    value. Subclasses (:class:`~rewarddesign.shaping.PotentialShaping`,
    :class:`~rewarddesign.submodular.SubmodularReward`, ...) build their term from their arguments.

    Args:
        env: The env.
        term: The reward term (used by this wrapper alone).
    """

    def __init__(self, env: gym.Env, term: RewardTerm) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, term=term, _disable_deepcopy=True)
        gym.Wrapper.__init__(self, env)
        self.term = _check_term(term)
        term.bind(env.observation_space, env.action_space, 1)
        self._key = term.info_key
        self._replace = term.mode == "replace"
        self._step_one = term.step_one
        self._obs: Any = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self.term.reset_one(obs, info)
        self._obs = obs
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        value = self._step_one(self._obs, action, obs, reward, terminated, truncated, info)  # pyright: ignore[reportArgumentType]
        self._obs = obs
        info["original_reward"] = reward
        info[self._key] = value
        return obs, (value if self._replace else reward + value), terminated, truncated, info  # pyright: ignore[reportOperatorIssue]


class VectorDesignedReward(VectorWrapper):
    """A Gymnasium vector env whose rewards a :class:`RewardTerm` replaces or adds to (any autoreset mode).

    Env by env, the rewards are those of :class:`DesignedReward` around each env, across
    automatic resets:

    - ``NEXT_STEP`` (the default): the step after an episode's end resets that env and returns
      reward 0; the term adds nothing to it (the term is shown that env's last transition's info
      again, and its value there is dropped) and starts the new episode;
    - ``SAME_STEP``: the final observation is read from ``info["final_obs"]`` and the ended step's
      info from ``info["final_info"]``;
    - ``DISABLED``: the user resets finished envs with ``reset(options={"reset_mask": mask})``,
      and the term restarts exactly those.

    ``info["original_reward"]`` and ``info[term.info_key]`` are arrays ``[num_envs]``.

    Args:
        env: The vector env.
        term: The reward term (used by this wrapper alone).
    """

    def __init__(self, env: VectorEnv, term: RewardTerm) -> None:
        super().__init__(env)
        self.term = _check_term(term)
        term.bind(env.single_observation_space, env.single_action_space, self.num_envs)
        self.autoreset_mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        self._obs: Any = None
        self._infos: Sequence[Mapping[str, Any]] = [{}] * self.num_envs
        self._resetting = np.zeros(self.num_envs, dtype=bool)
        self._all = np.ones(self.num_envs, dtype=bool)

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        mask = self._all
        if options is not None and "reset_mask" in options:  # read first: vector envs pop it from options
            mask = np.array(options["reset_mask"], dtype=bool)
        obs, info = self.env.reset(seed=seed, options=options)  # pyright: ignore[reportArgumentType]
        infos = _VectorInfos(info, self.num_envs)
        self.term.reset(obs, infos, mask)
        self._resetting[mask] = False
        self._obs, self._infos = obs, infos
        return obs, info

    def step(
        self, actions: Any
    ) -> tuple[Any, NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]]:
        obs, rewards, terminated, truncated, info = self.env.step(actions)
        done = np.logical_or(terminated, truncated)
        next_obs, infos = obs, _VectorInfos(info, self.num_envs)
        same_step = self.autoreset_mode == AutoresetMode.SAME_STEP and done.any()
        resetting = self.autoreset_mode == AutoresetMode.NEXT_STEP and self._resetting.any()
        if same_step:  # obs holds the next episodes' first observations where an episode ended
            rows = np.flatnonzero(done)
            next_obs = _replace_rows(self.single_observation_space, obs, rows, [info["final_obs"][i] for i in rows])
            infos = _VectorInfos(info, self.num_envs, final=done)
        elif resetting:  # those envs only reset: the term sees their last step's info again; its value is dropped
            infos = _VectorInfos(info, self.num_envs, repeat=self._resetting, previous=self._infos)
        values = np.asarray(
            self.term.step(self._obs, actions, next_obs, np.asarray(rewards, np.float64), terminated, truncated, infos),
            dtype=np.float64,
        )
        if resetting:
            values = np.where(self._resetting, 0.0, values)
            self.term.reset(obs, _VectorInfos(info, self.num_envs), self._resetting)
        elif same_step:
            self.term.reset(obs, _VectorInfos(info, self.num_envs), done)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            self._resetting = done
        self._obs, self._infos = obs, infos
        info = dict(info)
        info["original_reward"], info["_original_reward"] = rewards, self._all
        info[self.term.info_key], info["_" + self.term.info_key] = values, self._all
        new = values if self.term.mode == "replace" else rewards + values
        return obs, new, terminated, truncated, info


def _base_venv(venv: VecEnv) -> VecEnv:
    while isinstance(venv, VecEnvWrapper):
        venv = venv.venv
    return venv


class VecDesignedReward(VecEnvWrapper):
    """A Stable-Baselines3 ``VecEnv`` whose rewards a :class:`RewardTerm` replaces or adds to.

    Env by env, the rewards are those of :class:`DesignedReward` around each env, across
    automatic resets: a done env's final observation is read from
    ``infos[i]["terminal_observation"]``, ``infos[i]["TimeLimit.truncated"]`` tells truncation
    from termination, and the returned observation starts the next episode. Place ``Monitor``
    inside (as ``make_vec_env`` does) so episode statistics report the true return;
    ``infos[i]["original_reward"]`` and ``infos[i][term.info_key]`` hold both parts.

    Args:
        venv: The SB3 vectorised env.
        term: The reward term (used by this wrapper alone).
    """

    def __init__(self, venv: VecEnv, term: RewardTerm) -> None:
        super().__init__(venv)
        self.term = _check_term(term)
        term.bind(venv.observation_space, venv.action_space, self.num_envs)
        self._obs: Any = None
        self._actions: Any = None
        self._all = np.ones(self.num_envs, dtype=bool)

    def _reset_infos(self) -> list[dict[str, Any]]:
        infos = getattr(_base_venv(self.venv), "reset_infos", None)
        return list(infos) if infos is not None and len(infos) == self.num_envs else [{}] * self.num_envs

    def reset(self) -> Any:
        obs = self.venv.reset()
        self.term.reset(obs, self._reset_infos(), self._all)
        self._obs = obs
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions
        self.venv.step_async(actions)

    def step_wait(self) -> tuple[Any, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        obs, rewards, dones, infos = self.venv.step_wait()
        done = np.asarray(dones, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        next_obs = obs
        if done.any():
            rows = np.flatnonzero(done)
            truncated[rows] = [bool(infos[i].get("TimeLimit.truncated", False)) for i in rows]
            next_obs = _replace_rows(
                self.observation_space, obs, rows, [infos[i]["terminal_observation"] for i in rows]
            )
        terminated = done & ~truncated
        original = np.asarray(rewards, dtype=np.float64)
        values = np.asarray(
            self.term.step(self._obs, self._actions, next_obs, original, terminated, truncated, infos), dtype=np.float64
        )
        if done.any():
            self.term.reset(obs, self._reset_infos(), done)
        self._obs = obs
        for info, r, v in zip(infos, original.tolist(), values.tolist()):
            info["original_reward"] = r
            info[self.term.info_key] = v
        new = values if self.term.mode == "replace" else original + values
        return obs, new.astype(rewards.dtype, copy=False), dones, infos
