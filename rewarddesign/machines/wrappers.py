"""Reward machines on Gymnasium and Stable-Baselines3 envs: the machine's reward, state and episode end.

:class:`RewardMachineWrapper` runs a :class:`~rewarddesign.machines.RewardMachine` beside an env:
after every step a *labeler* ``labeler(obs, action, next_obs, info)`` names the propositions that
are true, the machine moves, and

- the reward is the machine's (``info["original_reward"]`` keeps the env's, ``info["machine_reward"]``
  the machine's, ``info["machine_state"]`` the state reached, ``info["machine_labels"]`` the labels);
- the observation gains the machine state, in a form SB3's policies take: ``observation="dict"``
  gives ``Dict({"obs": env space, "machine": Discrete(K)})`` (``MultiInputPolicy``),
  ``observation="flat"`` a float32 ``Box``: the flattened env observation (one-hot for a
  ``Discrete`` one) followed by the machine state one-hot (``MlpPolicy``);
- the episode ends (``terminated``) when the machine reaches a terminal state, or when the env ends it.

The reward is computed by a :class:`MachineTerm`, a reward term of the library's one family
(:mod:`rewarddesign.rewards.wrappers`). Since the machine state changes the observation and can end
the episode, the vector forms wrap each env, so that the vector env resets an env whose machine
finished: ``gym.make_vec(env_id, n, vectorization_mode="sync", wrappers=[machine_wrapper(rm)])`` (Gymnasium) and
``rewarddesign.train.make_vec_env(env_id, n, seed, wrappers=[machine_wrapper(rm)])`` or SB3's
``make_vec_env(env_id, n, wrapper_class=machine_wrapper(rm))``. Where only the machine's reward
is wanted on an existing vector env (no observation change, no early end: a terminal state then
stays put and pays 0), ``VectorDesignedReward(envs, MachineTerm(rm))`` and
``VecDesignedReward(venv, MachineTerm(rm))`` work as for every other term.

With ``counterfactual=True`` every step's ``info["counterfactual"]`` holds the step as seen from
every non-terminal machine state (:class:`Counterfactuals`): the experience that
:class:`~rewarddesign.machines.crm.CounterfactualReplayBuffer` stores for off-policy learners (CRM).

Example:
    >>> import gymnasium as gym
    >>> from rewarddesign.machines import from_ltlf
    >>> rm = from_ltlf("F(left & F right)")
    >>> def labeler(obs, action, next_obs, info):
    ...     return {"left"} if next_obs[0] < -0.05 else {"right"} if next_obs[0] > 0.05 else set()
    >>> env = RewardMachineWrapper(gym.make("CartPole-v1"), rm, labeler, observation="flat")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, info["machine_state"]
    ((7,), 0)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from rewarddesign.machines.machine import RewardMachine, State
from rewarddesign.rewards.wrappers import Bools, DesignedReward, Floats, Info, Infos, RewardTerm, unbatch

__all__ = [
    "Labeler",
    "ObservationMode",
    "info_labeler",
    "MachineTerm",
    "RewardMachineWrapper",
    "Counterfactuals",
    "machine_wrapper",
]

#: ``labeler(obs, action, next_obs, info) -> the true propositions`` (a set of label names).
Labeler = Callable[[Any, Any, Any, Info], Iterable[str]]
#: How the observation carries the machine state: ``"dict"`` or ``"flat"``.
ObservationMode = Literal["dict", "flat"]


def info_labeler(key: str = "labels") -> Labeler:
    """A labeler that reads the labels the env publishes in ``info[key]`` (the library's tasks do).

    Example:
        >>> info_labeler()(None, 0, None, {"labels": frozenset({"coffee"})})
        frozenset({'coffee'})
    """

    def labeler(obs: Any, action: Any, next_obs: Any, info: Info) -> Iterable[str]:
        try:
            return info[key]
        except KeyError:
            raise KeyError(
                f"the env publishes no info[{key!r}]: give RewardMachineWrapper a labeler(obs, action, next_obs, info)"
            ) from None

    labeler.__name__ = f"info_labeler({key!r})"
    return labeler


def _check_machine(machine: Any) -> RewardMachine:
    if not isinstance(machine, RewardMachine):
        raise TypeError(f"machine must be a RewardMachine, got {type(machine).__name__}")
    return machine


def _check_labeler(labeler: Any) -> Labeler:
    if labeler is None:
        return info_labeler()
    if not callable(labeler):
        raise TypeError(f"labeler must be callable as labeler(obs, action, next_obs, info), got {labeler!r}")
    return labeler  # type: ignore[no-any-return]


def _frozen(labels: Any, labeler: Any) -> frozenset[str]:
    if type(labels) is frozenset:
        return labels
    if isinstance(labels, (str, bytes)) or labels is None:
        raise TypeError(f"labeler {labeler!r} must return a set of label names, got {labels!r}")
    return frozenset(labels)


class MachineTerm(RewardTerm):
    """The reward of a reward machine as a reward term (``info_key = "machine_reward"``, mode ``"replace"``).

    Keeps each env's machine state (:attr:`states`); a terminal state stays put and pays 0 (the
    per-env :class:`RewardMachineWrapper` ends the episode there instead).

    Args:
        machine: The reward machine.
        labeler: ``labeler(obs, action, next_obs, info)`` -> the true propositions; None reads
            ``info["labels"]`` (:func:`info_labeler`).

    Attributes:
        states: The current machine state of each env.
        labels: The labels of each env's last step.
    """

    info_key = "machine_reward"

    def __init__(self, machine: RewardMachine, labeler: Labeler | None = None) -> None:
        super().__init__(mode="replace")
        self.machine = _check_machine(machine)
        self.labeler = _check_labeler(labeler)
        self.states: list[State] = []
        self.labels: list[frozenset[str]] = []

    def bind(self, observation_space: gym.Space, action_space: gym.Space, num_envs: int) -> None:
        super().bind(observation_space, action_space, num_envs)
        self.states = [self.machine.initial] * num_envs
        self.labels = [frozenset()] * num_envs

    def reset(self, obs: Any, infos: Infos, mask: Bools) -> None:
        for i in np.flatnonzero(mask).tolist():
            self.states[i] = self.machine.initial
            self.labels[i] = frozenset()

    def reset_one(self, obs: Any, info: Info) -> None:
        self.states[0] = self.machine.initial
        self.labels[0] = frozenset()

    def step(
        self, obs: Any, act: Any, next_obs: Any, reward: Floats, terminated: Bools, truncated: Bools, infos: Infos
    ) -> Floats:
        rows, acts, next_rows = unbatch(obs), unbatch(act), unbatch(next_obs)
        values = np.zeros(len(reward), dtype=np.float64)
        for i in range(len(reward)):
            values[i] = self.step_env(i, rows[i], acts[i], next_rows[i], infos[i])
        return values

    def step_one(
        self, obs: Any, act: Any, next_obs: Any, reward: float, terminated: bool, truncated: bool, info: Info
    ) -> float:
        return self.step_env(0, obs, act, next_obs, info)

    def step_env(self, i: int, obs: Any, act: Any, next_obs: Any, info: Info) -> float:
        """Move env ``i``'s machine on one transition; its reward."""
        labels = _frozen(self.labeler(obs, act, next_obs, info), self.labeler)
        self.labels[i] = labels
        state = self.states[i]
        if state in self.machine.terminal:
            return 0.0
        self.states[i], value = self.machine.step(state, labels)
        return value


@dataclass(frozen=True, eq=False)
class Counterfactuals:
    """One real step seen from each non-terminal machine state ``u`` (CRM's experiences).

    Row ``k`` is the transition the product env would have made had the machine been in
    ``states[k]``: the observation with ``states[k]``, the one reached, the machine's reward and
    whether the episode would have ended. The real step is one of the rows.

    Attributes:
        states: The machine states, ``[K]``.
        obs: The observations ``[K, ...]`` (a dict of such arrays for ``observation="dict"``).
        next_obs: The observations reached ``[K, ...]``.
        rewards: float ``[K]``.
        terminated: bool ``[K]``.
    """

    states: tuple[State, ...]
    obs: Any
    next_obs: Any
    rewards: NDArray[np.float64]
    terminated: NDArray[np.bool_]

    def __eq__(self, other: object) -> bool:
        """Equal when every field holds equal values (arrays compared elementwise)."""
        if not isinstance(other, Counterfactuals) or self.states != other.states:
            return False

        def same(a: Any, b: Any) -> bool:
            if isinstance(a, dict):
                return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
            return bool(np.array_equal(a, b))

        return all(same(getattr(self, f), getattr(other, f)) for f in ("obs", "next_obs", "rewards", "terminated"))

    __hash__ = None  # type: ignore[assignment]


class RewardMachineWrapper(DesignedReward):
    """An env whose reward, observation and episode end follow a reward machine (see the module docs).

    Args:
        env: The env.
        machine: The reward machine.
        labeler: ``labeler(obs, action, next_obs, info)`` -> the true propositions after the step;
            None reads ``info["labels"]`` (the library's labelled tasks publish it).
        observation: ``"dict"`` (``{"obs": ..., "machine": int}``) or ``"flat"`` (float32 vector:
            flattened env observation, then the machine state one-hot).
        counterfactual: Add :class:`Counterfactuals` to every step's ``info["counterfactual"]``.

    Attributes:
        machine: The reward machine.
        machine_state: The current machine state.

    Raises:
        TypeError: ``machine`` is not a :class:`~rewarddesign.machines.RewardMachine`, ``labeler``
            is not callable, or ``observation="flat"`` for an env space that does not flatten to a Box.
        ValueError: ``observation`` is not ``"dict"`` or ``"flat"``.
    """

    def __init__(
        self,
        env: gym.Env,
        machine: RewardMachine,
        labeler: Labeler | None = None,
        observation: ObservationMode = "dict",
        counterfactual: bool = False,
    ) -> None:
        if observation not in ("dict", "flat"):
            raise ValueError(f"observation must be 'dict' or 'flat', got {observation!r}")
        # the spec records what rebuilds this wrapper (machines compare by structure); first record wins
        gym.utils.RecordConstructorArgs.__init__(
            self,
            machine=machine,
            labeler=labeler,
            observation=observation,
            counterfactual=counterfactual,
            _disable_deepcopy=True,
        )
        term = MachineTerm(machine, labeler)
        super().__init__(env, term)
        self.term: MachineTerm = term
        self.machine = term.machine
        self.mode: ObservationMode = observation
        self.counterfactual = bool(counterfactual)
        self._n = machine.n_states
        self._index = {state: machine.index(state) for state in machine.states}
        self._live = tuple(state for state in machine.states if state not in machine.terminal)
        self._live_index = np.array([self._index[state] for state in self._live], dtype=np.int64)
        self._terminal = machine.terminal
        self._effects: dict[frozenset[str], tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.bool_]]] = {}
        self._dict = observation == "dict"
        space = env.observation_space
        self._discrete = isinstance(space, gym.spaces.Discrete)
        self._box = isinstance(space, gym.spaces.Box)
        if observation == "dict":
            self.observation_space = gym.spaces.Dict({"obs": space, "machine": gym.spaces.Discrete(self._n)})
        else:
            try:
                flat = gym.spaces.flatten_space(space)
            except NotImplementedError as err:
                raise TypeError(f"observation='flat' needs an env space that flattens, got {space}: {err}") from None
            if not isinstance(flat, gym.spaces.Box):
                raise TypeError(f"observation='flat' needs an env space that flattens to a Box, got {space}")
            low = np.concatenate([flat.low.astype(np.float32).ravel(), np.zeros(self._n, np.float32)])
            high = np.concatenate([flat.high.astype(np.float32).ravel(), np.ones(self._n, np.float32)])
            self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)
            self._d = int(flat.shape[0])
            self._width = self._d + self._n
            self._eye = np.eye(self._n, dtype=np.float32)
            self._start = int(space.start) if isinstance(space, gym.spaces.Discrete) else 0
        self._raw: Any = None

    @property
    def machine_state(self) -> State:
        """The machine's current state."""
        return self.term.states[0]

    def _flat(self, obs: Any) -> NDArray[np.float32]:
        """The env observation, flattened to float32 (``observation="flat"``)."""
        if self._box:
            return np.asarray(obs, dtype=np.float32).reshape(-1)
        return np.asarray(gym.spaces.flatten(self.env.observation_space, obs), dtype=np.float32)

    def augment(self, obs: Any, state: State) -> Any:
        """The wrapper's observation for the env observation ``obs`` with the machine in ``state``."""
        index = self._index[state]
        if self._dict:
            return {"obs": obs, "machine": index}
        out = np.zeros(self._width, dtype=np.float32)
        if self._discrete:
            out[int(obs) - self._start] = 1.0
        else:
            out[: self._d] = self._flat(obs)
        out[self._d + index] = 1.0
        return out

    def _batch(self, obs: Any, indices: NDArray[np.int64]) -> Any:
        """Observations ``[K, ...]`` of one env observation with the machine states of ``indices [K]``."""
        k = len(indices)
        if self._dict:
            return {"obs": np.repeat(np.asarray(obs)[None], k, axis=0), "machine": indices}
        out = np.zeros((k, self._width), dtype=np.float32)
        if self._discrete:
            out[:, int(obs) - self._start] = 1.0
        else:
            out[:, : self._d] = self._flat(obs)
        out[:, self._d :] = self._eye[indices]
        return out

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        obs, info = super().reset(seed=seed, options=options)
        self._raw = obs
        state = self.term.states[0]
        info["machine_state"] = state
        return self.augment(obs, state), info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        previous = self._raw
        obs, reward, terminated, truncated, info = self.env.step(action)
        value = self._step_one(previous, action, obs, reward, terminated, truncated, info)  # pyright: ignore[reportArgumentType]
        self._raw = obs
        term = self.term
        state = term.states[0]
        info["original_reward"] = reward
        info["machine_reward"] = value
        info["machine_state"] = state
        info["machine_labels"] = term.labels[0]
        if self.counterfactual:
            info["counterfactual"] = self._counterfactuals(previous, obs, bool(terminated))
        return self.augment(obs, state), value, bool(terminated) or state in self._terminal, truncated, info

    def _counterfactuals(self, obs: Any, next_obs: Any, env_terminated: bool) -> Counterfactuals:
        labels = self.term.labels[0]
        effect = self._effects.get(labels)
        if effect is None:
            moves = [self.machine.step(state, labels) for state in self._live]
            effect = (
                np.array([self._index[v] for v, _ in moves], dtype=np.int64),
                np.array([r for _, r in moves], dtype=np.float64),
                np.array([v in self._terminal for v, _ in moves], dtype=bool),
            )
            self._effects[labels] = effect
        targets, rewards, ended = effect
        return Counterfactuals(
            states=self._live,
            obs=self._batch(obs, self._live_index),
            next_obs=self._batch(next_obs, targets),
            rewards=rewards.copy(),
            terminated=ended | env_terminated,
        )


def machine_wrapper(
    machine: RewardMachine,
    labeler: Labeler | None = None,
    observation: ObservationMode = "dict",
    counterfactual: bool = False,
) -> Callable[[gym.Env], RewardMachineWrapper]:
    """A one-argument wrapper factory, for ``gym.make_vec(wrappers=...)``, SB3's ``wrapper_class`` and ``train``.

    Example:
        >>> from rewarddesign.machines import from_ltlf
        >>> wrap = machine_wrapper(from_ltlf("F a"), lambda *_: set())
        >>> envs = gym.make_vec("CartPole-v1", 2, vectorization_mode="sync", wrappers=[wrap])
        >>> envs.single_observation_space["machine"]
        Discrete(2)
    """
    _check_machine(machine)
    _check_labeler(labeler)
    if observation not in ("dict", "flat"):
        raise ValueError(f"observation must be 'dict' or 'flat', got {observation!r}")

    def wrap(env: gym.Env) -> RewardMachineWrapper:
        return RewardMachineWrapper(env, machine, labeler, observation=observation, counterfactual=counterfactual)

    return wrap
