"""Trajectories and rollouts: one record of what a policy did, and one loop that makes it.

A :class:`Trajectory` is one episode (or the part of one that was run): the observations
``obs [T + 1, ...]`` including the last one, the actions ``acts [T, ...]``, the rewards
``rews [T]`` (float64), optionally the ``T`` step ``infos``, and whether it ended by
``terminated`` (the MDP's end: no bootstrap) or ``truncated`` (a time limit or a cut: bootstrap).
:func:`flatten_trajectories` turns a list of them into :class:`Transitions`, the batched
``(obs, acts, next_obs, rews, terminated, truncated)`` view that learners train on.

:func:`rollout` is the one loop that makes them. It runs

* a policy that is an SB3 model or policy (anything with ``predict(obs, deterministic=...)``), a
  torch ``nn.Module`` (float32 observation batch tensor -> action batch tensor), a plain callable
  (observation batch array -> action batch array), or ``None`` (uniformly random actions);
* on a Gymnasium ``Env``, a sequence of ``Env`` stepped in lockstep, a Gymnasium ``VectorEnv``
  (any autoreset mode) or an SB3 ``VecEnv``;
* for ``n_episodes`` episodes or ``n_steps`` transitions (exactly one of them).

Policies always see a batch: ``[B, *obs_shape]`` observations in, ``[B, *action_shape]`` actions
out, where ``B`` is the number of envs that need an action at that step (an env whose episodes are
done, or which a ``NEXT_STEP`` vector env is resetting, is not asked). Policies are stateless (no
recurrent state is carried between calls).

Observations. An array space (``Box``, ``Discrete``, ``MultiDiscrete``, ``MultiBinary``) gives
arrays: ``Trajectory.obs`` is ``[T + 1, *obs_shape]``. A ``Dict`` space gives a dict of such arrays
stacked along the same leading axis (``{key: [T + 1, ...]}``, as SB3's dict observations and its
``MultiInputPolicy`` take them), a ``Tuple`` space a tuple of them, nested as the space is: the
:data:`Observations` type. Policies see the batch in the same form (an SB3 model gets the dict
batch, a torch module a dict of float32 tensors, a callable the dict of arrays).

Seeds. ``seed=s`` resets env ``i`` (of ``n``) with ``s + i`` once, at the start, as Gymnasium's
vector envs and SB3's ``VecEnv.seed`` do; later episodes continue each env's own random stream
(unseeded resets), so one env and a vector env of one copy give the same trajectories. The random
actions of ``policy=None`` come from one action-space copy per env, seeded from
``np.random.SeedSequence(s)``; the draws of SB3 ``predict(deterministic=False)`` and of torch
modules come from a torch generator state owned by the rollout (torch's global generator is
forked around each call, so it is left as it was). Same seed, same trajectories, whatever the
process did before. ``seed=None`` seeds nothing: the envs and torch draw from where they stand.

Budgets. With ``n_steps``, env ``i`` of ``n`` runs ``n_steps // n`` transitions (one more for the
first ``n_steps % n`` envs), so exactly ``n_steps`` come back; the last, unfinished episode of each
env is returned cut and marked ``truncated`` (as D4RL's datasets mark time-outs), so a cut is not
told apart from a time limit. With ``n_episodes``, env ``i`` runs exactly
``(n_episodes + i) // n`` episodes, a quota fixed in advance: taking the first ``n_episodes`` to
finish would favour short episodes (they finish first), a bias that fixed quotas do not have. The
list comes back ordered by env, then by time.

Example:
    >>> import gymnasium as gym
    >>> from rewarddesign.rollouts import flatten_trajectories, rollout
    >>> trajectories = rollout(None, gym.make("CartPole-v1"), n_episodes=2, seed=0)
    >>> [len(t.obs) == len(t) + 1 for t in trajectories]
    [True, True]
    >>> all(t.terminated or t.truncated for t in trajectories)
    True
    >>> again = rollout(None, gym.make("CartPole-v1"), n_episodes=2, seed=0)
    >>> [len(t) for t in trajectories] == [len(t) for t in again]
    True
    >>> transitions = flatten_trajectories(trajectories)
    >>> len(transitions) == sum(len(t) for t in trajectories)
    True
    >>> cut = rollout(None, gym.make("CartPole-v1"), n_steps=5, seed=0)
    >>> len(cut), len(cut[0]), cut[0].truncated
    (1, 5, True)
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeAlias

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from numpy.typing import ArrayLike, NDArray
from pettingzoo.utils.env import ParallelEnv
from stable_baselines3.common.vec_env import VecEnv
from torch import nn
from typing_extensions import TypeVar

from rewarddesign._seeding import TorchStream
from rewarddesign._vector_info import info_row

__all__ = [
    "EnvLike",
    "Observations",
    "PolicyLike",
    "SupportsPredict",
    "Trajectory",
    "Transitions",
    "episode_returns",
    "flatten_trajectories",
    "rollout",
    "rollout_parallel",
]


class SupportsPredict(Protocol):
    """What SB3 models and policies have: ``predict(obs, deterministic=...) -> (actions, state)``."""

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = False,
    ) -> tuple[Any, Any]: ...


PolicyLike: TypeAlias = "SupportsPredict | nn.Module | Callable[[NDArray[Any]], ArrayLike] | None"
"""What :func:`rollout` runs: an object with ``predict(obs, deterministic=...)`` (an SB3 model or
policy), a torch ``nn.Module``, a callable ``obs [B, ...] -> actions [B, ...]``, or ``None``."""

EnvLike: TypeAlias = "gym.Env[Any, Any] | Sequence[gym.Env[Any, Any]] | VectorEnv[Any, Any, Any] | VecEnv"
"""Where :func:`rollout` runs: a Gymnasium env, envs stepped in lockstep, a vector env, an SB3 VecEnv."""


Observations: TypeAlias = "NDArray[Any] | dict[str, Observations] | tuple[Observations, ...]"
"""Observations stacked along a leading axis: an array, or for a ``Dict``/``Tuple`` observation space
a dict/tuple of them (nested as the space is), every array with the same number of rows."""

ObsT = TypeVar("ObsT", bound=Observations, default=NDArray[Any])


def _as_observations(x: Any, name: str) -> Observations:
    """``x`` as :data:`Observations`: mappings as dicts with str keys, tuples as tuples, the rest as arrays."""
    if isinstance(x, Mapping):
        if not x:
            raise ValueError(f"{name} must not be an empty dict")
        out: dict[str, Observations] = {}
        for key, value in x.items():
            if not isinstance(key, str):
                raise TypeError(f"{name} must have str keys, got {key!r}")
            out[key] = _as_observations(value, f"{name}[{key!r}]")
        return out
    if isinstance(x, tuple):
        if not x:
            raise ValueError(f"{name} must not be an empty tuple")
        return tuple(_as_observations(value, f"{name}[{k}]") for k, value in enumerate(x))
    return np.asarray(x)


def _obs_map(fn: Callable[..., Any], first: Any, *rest: Any, name: str = "obs") -> Any:
    """``fn`` applied leaf by leaf to observations of one structure (arrays, dicts and tuples of them)."""
    if isinstance(first, Mapping):
        for other in rest:
            if not isinstance(other, Mapping) or set(other) != set(first):
                got = sorted(other) if isinstance(other, Mapping) else type(other).__name__
                raise ValueError(f"{name} must all have the keys {sorted(first)}, got {got}")
        return {key: _obs_map(fn, first[key], *(o[key] for o in rest), name=f"{name}[{key!r}]") for key in first}
    if isinstance(first, tuple):
        for other in rest:
            if not isinstance(other, tuple) or len(other) != len(first):
                raise ValueError(f"{name} must all be tuples of {len(first)}, got {type(other).__name__}")
        return tuple(_obs_map(fn, part, *(o[k] for o in rest), name=f"{name}[{k}]") for k, part in enumerate(first))
    for other in rest:
        if isinstance(other, (Mapping, tuple)):
            raise ValueError(f"{name} must all be arrays, got a {type(other).__name__}")
    return fn(first, *rest)


def _obs_len(obs: Observations, name: str) -> int:
    """The number of rows of every array of ``obs`` (a ValueError unless they agree)."""
    lengths: dict[str, int] = {}

    def visit(x: Any, path: str) -> None:
        if isinstance(x, dict):
            for key, value in x.items():
                visit(value, f"{path}[{key!r}]")
        elif isinstance(x, tuple):
            for k, value in enumerate(x):
                visit(value, f"{path}[{k}]")
        else:
            if np.ndim(x) < 1:
                raise ValueError(f"{path} needs a leading (row) axis, got shape {np.shape(x)}")
            lengths[path] = len(x)

    visit(obs, name)
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{name} must hold equally many rows in every entry, got {lengths}")
    return next(iter(lengths.values()))


def _obs_rows(obs: ObsT, key: Any) -> ObsT:
    """``obs[key]`` for every array of ``obs``."""
    return _obs_map(lambda a: a[key], obs)


def _stack_obs(observations: Sequence[Any], name: str = "obs") -> Observations:
    """One observation per row (arrays, numbers, dicts or tuples of them) stacked into :data:`Observations`."""
    return _obs_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *observations, name=name)


def _obs_row(batch: Any, i: int) -> Any:
    """Env ``i``'s observation from a vector env's batch (an array, or a dict/tuple of arrays)."""
    return _obs_map(lambda a: np.asarray(a)[i], batch)


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be a bool, got {value!r}")


@dataclasses.dataclass(frozen=True, eq=False)
class Trajectory(Generic[ObsT]):
    """One episode, or the part of one that was run.

    Attributes:
        obs: Observations ``[T + 1, ...]``, the last one included (after the last action): an array,
            or a dict/tuple of arrays with ``T + 1`` rows each (see :data:`Observations`).
        acts: Actions ``[T, ...]``.
        rews: Rewards ``[T]`` (float64, finite).
        infos: The ``T`` step infos, or ``None`` when they were not recorded.
        terminated: Whether the episode ended in a terminal state of the MDP (no bootstrap).
        truncated: Whether it was cut (time limit, or a rollout's step budget): bootstrap from
            ``obs[-1]``. Neither flag is set for an episode that is still running; :func:`rollout`
            sets at most one (a step that both terminates and hits the time limit is terminated,
            as SB3's ``VecEnv`` reports it).
    """

    obs: ObsT
    acts: NDArray[Any]
    rews: NDArray[np.float64]
    infos: tuple[dict[str, Any], ...] | None = None
    terminated: bool = False
    truncated: bool = False

    def __post_init__(self) -> None:
        obs, acts = _as_observations(self.obs, "obs"), np.asarray(self.acts)
        if acts.ndim < 1:
            raise ValueError(f"acts needs a leading time axis, got shape {acts.shape}")
        n_obs = _obs_len(obs, "obs")
        if n_obs != len(acts) + 1:
            raise ValueError(
                f"obs must hold one more row than acts (the final observation), got {n_obs} observations "
                f"for {len(acts)} actions"
            )
        try:
            rews = np.asarray(self.rews, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(f"rews must be numeric, got {self.rews!r}") from error
        if rews.shape != (len(acts),):
            raise ValueError(f"rews must have shape ({len(acts)},) (one per action), got {rews.shape}")
        if not np.all(np.isfinite(rews)):
            bad = np.flatnonzero(~np.isfinite(rews))
            raise ValueError(f"rews must be finite, got {rews[bad[:3]].tolist()} at steps {bad[:3].tolist()}")
        infos = self.infos
        if infos is not None:
            infos = tuple(infos)
            if len(infos) != len(acts):
                raise ValueError(f"infos must hold one dict per step ({len(acts)}), got {len(infos)}")
            if not all(isinstance(info, Mapping) for info in infos):
                raise TypeError("infos must be dicts")
        object.__setattr__(self, "obs", obs)
        object.__setattr__(self, "acts", acts)
        object.__setattr__(self, "rews", rews)
        object.__setattr__(self, "infos", infos)
        object.__setattr__(self, "terminated", _as_bool(self.terminated, "terminated"))
        object.__setattr__(self, "truncated", _as_bool(self.truncated, "truncated"))

    def __len__(self) -> int:
        """The number of steps ``T``."""
        return len(self.acts)

    def undiscounted_return(self) -> float:
        """The sum of the rewards."""
        return float(self.rews.sum())

    def discounted_return(self, gamma: float) -> float:
        """``sum_t gamma^t r_t`` (no bootstrap after a truncation)."""
        gamma = _check_gamma(gamma)
        return float(np.dot(gamma ** np.arange(len(self.rews)), self.rews))


def _no_flags() -> NDArray[np.bool_]:
    return _NO_FLAGS


_NO_FLAGS: NDArray[np.bool_] = np.zeros(0, dtype=bool)  # the default of Transitions' flags: all False


@dataclasses.dataclass(frozen=True, eq=False)
class Transitions(Generic[ObsT]):
    """Transitions of one or more trajectories, batched along the first axis.

    Built by :func:`flatten_trajectories`, or directly from arrays (samples of transitions that
    came from no trajectory: then only ``obs``, ``acts`` and ``next_obs`` are needed).

    Attributes:
        obs: ``[N, ...]`` (or a dict/tuple of such arrays, see :data:`Observations`); acts: ``[N, ...]``;
            next_obs: ``[N, ...]``, of the same structure as ``obs``.
        rews: ``[N]`` float64, or ``None`` when the rewards were not recorded.
        terminated: ``[N]`` bool, set on the last step of a terminated trajectory: no bootstrap from
            ``next_obs`` (default: all False).
        truncated: ``[N]`` bool, set on the last step of a truncated trajectory (default: all False).
        infos: ``N`` step infos, or ``None`` when any trajectory had none.
    """

    obs: ObsT
    acts: NDArray[Any]
    next_obs: ObsT
    rews: NDArray[np.float64] | None = None
    terminated: NDArray[np.bool_] = dataclasses.field(default_factory=_no_flags)
    truncated: NDArray[np.bool_] = dataclasses.field(default_factory=_no_flags)
    infos: tuple[dict[str, Any], ...] | None = None

    def __post_init__(self) -> None:
        acts = np.asarray(self.acts)
        if acts.ndim < 1:
            raise ValueError(f"acts needs a leading (row) axis, got shape {acts.shape}")
        n = len(acts)
        obs, next_obs = _as_observations(self.obs, "obs"), _as_observations(self.next_obs, "next_obs")

        def same_row_shape(a: NDArray[Any], b: NDArray[Any]) -> None:
            if a.shape[1:] != b.shape[1:]:
                raise ValueError(f"obs and next_obs must have rows of one shape, got {a.shape} and {b.shape}")

        _obs_map(same_row_shape, obs, next_obs, name="obs and next_obs")  # the same structure and row shapes
        for name, value in (("obs", obs), ("next_obs", next_obs)):
            if _obs_len(value, name) != n:
                raise ValueError(f"{name} must have {n} rows (one per action), got {_obs_len(value, name)}")
        rews = None
        if self.rews is not None:
            try:
                rews = np.asarray(self.rews, dtype=np.float64)
            except (TypeError, ValueError) as error:
                raise TypeError(f"rews must be numeric or None, got {self.rews!r}") from error
            if rews.shape != (n,):
                raise ValueError(f"rews must have shape ({n},) (one per action), got {rews.shape}")
        flags = {}
        for name in ("terminated", "truncated"):
            value = getattr(self, name)
            flag = np.zeros(n, dtype=bool) if value is _NO_FLAGS else np.asarray(value)
            if flag.dtype != np.bool_ or flag.shape != (n,):
                raise ValueError(f"{name} must be a bool array of shape ({n},), got {flag.dtype} {flag.shape}")
            flags[name] = flag
        if self.infos is not None and len(self.infos) != n:
            raise ValueError(f"infos must have {n} entries, got {len(self.infos)}")
        object.__setattr__(self, "obs", obs)
        object.__setattr__(self, "acts", acts)
        object.__setattr__(self, "next_obs", next_obs)
        object.__setattr__(self, "rews", rews)
        object.__setattr__(self, "terminated", flags["terminated"])
        object.__setattr__(self, "truncated", flags["truncated"])

    def __len__(self) -> int:
        return len(self.acts)

    @property
    def dones(self) -> NDArray[np.bool_]:
        """``terminated | truncated``: where an episode's record ends."""
        return self.terminated | self.truncated

    def __getitem__(self, key: int | slice | ArrayLike) -> Transitions[ObsT]:
        """The transitions at ``key`` (an index, slice, index array or boolean mask), as Transitions."""
        if isinstance(key, (int, np.integer)):
            key = slice(int(key), int(key) + 1 if int(key) != -1 else None)
        elif not isinstance(key, slice):
            key = np.asarray(key)
        infos = None
        if self.infos is not None:
            infos = tuple(np.asarray(self.infos, dtype=object)[key].tolist()) if len(self.infos) else ()
        return Transitions(
            _obs_rows(self.obs, key),
            self.acts[key],
            _obs_rows(self.next_obs, key),
            None if self.rews is None else self.rews[key],
            self.terminated[key],
            self.truncated[key],
            infos,
        )


def flatten_trajectories(trajectories: Iterable[Trajectory[ObsT]]) -> Transitions[ObsT]:
    """All the transitions of ``trajectories``, concatenated in order.

    Raises:
        ValueError: If there are no trajectories, or their observations differ in structure (dict keys).
        TypeError: If an element is not a :class:`Trajectory`.
    """
    trajectories = list(trajectories)
    if not trajectories:
        raise ValueError("trajectories must not be empty")
    for i, traj in enumerate(trajectories):
        if not isinstance(traj, Trajectory):
            raise TypeError(f"trajectories[{i}] must be a Trajectory, got {type(traj).__name__}")
    ends = [np.zeros(len(t), dtype=bool) for t in trajectories]
    terminated = [end.copy() for end in ends]
    truncated = [end.copy() for end in ends]
    for traj, term, trunc in zip(trajectories, terminated, truncated):
        if len(traj):
            term[-1], trunc[-1] = traj.terminated, traj.truncated
    infos: tuple[dict[str, Any], ...] | None = None
    if all(t.infos is not None for t in trajectories):
        infos = tuple(info for t in trajectories for info in t.infos or ())
    concat = lambda *parts: np.concatenate(parts)  # noqa: E731
    return Transitions(
        obs=_obs_map(concat, *(_obs_rows(t.obs, slice(None, -1)) for t in trajectories), name="trajectories' obs"),
        acts=np.concatenate([t.acts for t in trajectories]),
        next_obs=_obs_map(concat, *(_obs_rows(t.obs, slice(1, None)) for t in trajectories), name="trajectories' obs"),
        rews=np.concatenate([t.rews for t in trajectories]),
        terminated=np.concatenate(terminated),
        truncated=np.concatenate(truncated),
        infos=infos,
    )


def _check_gamma(gamma: float) -> float:
    gamma = float(gamma)
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    return gamma


def episode_returns(trajectories: Iterable[Trajectory[Any]], gamma: float = 1.0) -> NDArray[np.float64]:
    """``[N]`` returns ``sum_t gamma^t r_t`` of the trajectories (``gamma = 1``: undiscounted)."""
    gamma = _check_gamma(gamma)
    return np.array([t.discounted_return(gamma) for t in trajectories], dtype=np.float64)


# ---------------------------------------------------------------------------------------- policies


def _torch_stream(seed: np.random.SeedSequence | None, device: torch.device) -> TorchStream:
    """The torch stream that one rollout owns for a policy's sampling (none without a seed)."""
    return TorchStream(None if seed is None else int(seed.generate_state(1, np.uint64)[0] % (2**63)), device)


def _module_device(module: nn.Module) -> torch.device:
    for tensor in module.parameters():
        return tensor.device
    for tensor in module.buffers():
        return tensor.device
    return torch.device("cpu")


def _batch_policy(
    policy: Any,
    action_space: gym.Space[Any],
    n: int,
    deterministic: bool,
    streams: list[np.random.SeedSequence] | None,
) -> Callable[[Observations, list[int]], NDArray[Any]]:
    """``act(obs [B, ...], rows) -> actions [B, ...]`` for the envs ``rows``."""
    action_seed, torch_seed = (None, None) if streams is None else streams
    if policy is None:
        row_seeds = (action_seed or np.random.SeedSequence()).spawn(n)
        samplers = []
        for ss in row_seeds:
            space = copy.deepcopy(action_space)
            space.seed(int(ss.generate_state(1)[0]))
            samplers.append(space)
        return lambda obs, rows: np.stack([np.asarray(samplers[i].sample()) for i in rows])
    if callable(getattr(policy, "predict", None)):
        device = getattr(policy, "device", torch.device("cpu"))
        stream = _torch_stream(torch_seed, torch.device(device))

        def act_predict(obs: Observations, rows: list[int]) -> NDArray[Any]:
            with stream.active():
                actions, _ = policy.predict(obs, deterministic=deterministic)
            return np.asarray(actions)

        return act_predict
    if isinstance(policy, nn.Module):
        device = _module_device(policy)
        stream = _torch_stream(torch_seed, device)

        def act_module(obs: Observations, rows: list[int]) -> NDArray[Any]:
            with stream.active(), torch.no_grad():
                out = policy(_obs_map(lambda a: torch.as_tensor(a, dtype=torch.float32, device=device), obs))
            return np.asarray(out.detach().cpu()) if isinstance(out, torch.Tensor) else np.asarray(out)

        return act_module
    if callable(policy):
        return lambda obs, rows: np.asarray(policy(obs))
    raise TypeError(
        "policy must be an SB3 model or policy (predict), a torch nn.Module, a callable obs batch -> action batch "
        f"or None, got {type(policy).__name__}"
    )


# ------------------------------------------------------------------------------------------- envs

_Step = tuple[Any, float, bool, bool, dict[str, Any]]


class _Runner(Protocol):
    n: int
    observation_space: gym.Space[Any]
    action_space: gym.Space[Any]

    def reset(self, seeds: list[int | None]) -> list[Any]: ...

    def step(self, actions: dict[int, Any]) -> tuple[dict[int, _Step], dict[int, Any]]:
        """Results of the rows in ``actions``, and the first observations of rows restarted meanwhile."""
        ...

    def restart(self, rows: list[int]) -> dict[int, Any]:
        """Start new episodes on ``rows``: their first observations, or none when the next step starts them."""
        ...


class _SingleRunner:
    """Gymnasium envs stepped in lockstep; only the rows asked are stepped."""

    def __init__(self, envs: Sequence[gym.Env]) -> None:
        self.envs = list(envs)
        self.n = len(self.envs)
        self.observation_space = self.envs[0].observation_space
        self.action_space = self.envs[0].action_space

    def reset(self, seeds: list[int | None]) -> list[Any]:
        return [env.reset(seed=seed)[0] for env, seed in zip(self.envs, seeds)]

    def step(self, actions: dict[int, Any]) -> tuple[dict[int, _Step], dict[int, Any]]:
        results = {}
        for i, action in actions.items():
            obs, reward, terminated, truncated, info = self.envs[i].step(action)
            results[i] = (obs, float(reward), bool(terminated), bool(truncated), info)
        return results, {}

    def restart(self, rows: list[int]) -> dict[int, Any]:
        return {i: self.envs[i].reset()[0] for i in rows}


class _VectorRunner:
    """A Gymnasium vector env in any autoreset mode; every row steps, the rows not asked with filler actions."""

    def __init__(self, env: VectorEnv) -> None:
        self.env = env
        self.n = env.num_envs
        self.observation_space = env.single_observation_space
        self.action_space = env.single_action_space
        self.mode = AutoresetMode(env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP))
        self.filler = _filler_actions(self.action_space, self.n)
        self.pending: set[int] = set()
        self.started: dict[int, Any] = {}

    def reset(self, seeds: list[int | None]) -> list[Any]:
        obs, _ = self.env.reset(seed=None if seeds[0] is None else seeds[0])
        return [_obs_row(obs, i) for i in range(self.n)]

    def step(self, actions: dict[int, Any]) -> tuple[dict[int, _Step], dict[int, Any]]:
        for i, action in actions.items():
            self.filler[i] = action
        obs, rewards, terminated, truncated, infos = self.env.step(np.stack(self.filler))
        restarted = {i: _obs_row(obs, i) for i in self.pending}
        self.pending = set()
        results = {}
        done = np.logical_or(terminated, truncated)
        for i in actions:
            info = info_row(infos, i)
            final = _obs_row(obs, i)
            if done[i] and self.mode == AutoresetMode.SAME_STEP:
                self.started[i] = final
                final = infos["final_obs"][i]
                info = info_row(infos["final_info"], i) if "final_info" in infos else {}
            results[i] = (final, float(rewards[i]), bool(terminated[i]), bool(truncated[i]), info)
        if self.mode == AutoresetMode.DISABLED and done.any():
            new_obs, _ = self.env.reset(options={"reset_mask": np.asarray(done, dtype=bool)})
            for i in np.flatnonzero(done):
                self.started[int(i)] = _obs_row(new_obs, int(i))
        return results, restarted

    def restart(self, rows: list[int]) -> dict[int, Any]:
        if self.mode == AutoresetMode.NEXT_STEP:
            self.pending.update(rows)
            return {}
        return {i: self.started.pop(i) for i in rows}


class _VecEnvRunner:
    """An SB3 VecEnv: it resets a finished env within the step; the final observation is in the info."""

    def __init__(self, env: VecEnv) -> None:
        self.env = env
        self.n = env.num_envs
        self.observation_space = env.observation_space
        self.action_space = env.action_space
        self.filler = _filler_actions(self.action_space, self.n)
        self.started: dict[int, Any] = {}

    def reset(self, seeds: list[int | None]) -> list[Any]:
        if seeds[0] is not None:
            self.env.seed(seeds[0])  # env i is reset with seeds[0] + i
        obs = self.env.reset()
        return [_obs_row(obs, i) for i in range(self.n)]

    def step(self, actions: dict[int, Any]) -> tuple[dict[int, _Step], dict[int, Any]]:
        for i, action in actions.items():
            self.filler[i] = action
        batch, rewards, dones, infos = self.env.step(np.stack(self.filler))
        results = {}
        for i in actions:
            info = dict(infos[i])
            final = _obs_row(batch, i)
            truncated = terminated = False
            if dones[i]:
                self.started[i] = final
                final = info.pop("terminal_observation")
                truncated = bool(info.get("TimeLimit.truncated", False))
                terminated = not truncated
            results[i] = (final, float(rewards[i]), terminated, truncated, info)
        return results, {}

    def restart(self, rows: list[int]) -> dict[int, Any]:
        return {i: self.started.pop(i) for i in rows}


def _filler_actions(space: gym.Space[Any], n: int) -> list[Any]:
    """Valid actions for rows that step without being asked (their results are not recorded)."""
    space = copy.deepcopy(space)
    space.seed(0)
    return [space.sample() for _ in range(n)]


_ARRAY_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


def _is_observation_space(space: gym.Space[Any]) -> bool:
    """An array space, or a Dict/Tuple of them (nested)."""
    if isinstance(space, spaces.Dict):
        return all(_is_observation_space(s) for s in space.spaces.values())
    if isinstance(space, spaces.Tuple):
        return all(_is_observation_space(s) for s in space.spaces)
    return isinstance(space, _ARRAY_SPACES)


def _runner(env: Any) -> _Runner:
    if isinstance(env, VecEnv):
        runner: _Runner = _VecEnvRunner(env)
    elif isinstance(env, VectorEnv):
        runner = _VectorRunner(env)
    elif isinstance(env, gym.Env):
        runner = _SingleRunner([env])
    elif isinstance(env, Sequence) and not isinstance(env, (str, bytes)):
        envs = list(env)
        if not envs:
            raise ValueError("env must not be an empty sequence")
        for i, e in enumerate(envs):
            if not isinstance(e, gym.Env):
                raise TypeError(f"env[{i}] must be a gymnasium.Env, got {type(e).__name__}")
        if len({id(e) for e in envs}) != len(envs):
            raise ValueError("env must not hold the same env object twice")
        runner = _SingleRunner(envs)
    else:
        raise TypeError(
            "env must be a gymnasium Env, a sequence of them, a gymnasium VectorEnv or an SB3 VecEnv, "
            f"got {type(env).__name__}"
        )
    if not _is_observation_space(runner.observation_space):
        raise TypeError(
            "the observation space must be an array space (Box, Discrete, MultiDiscrete, MultiBinary) or a "
            f"Dict/Tuple of them, got {runner.observation_space}"
        )
    return runner


# ---------------------------------------------------------------------------------------- rollout


def _check_budget(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def rollout(
    policy: PolicyLike,
    env: EnvLike,
    *,
    n_episodes: int | None = None,
    n_steps: int | None = None,
    seed: int | None = None,
    deterministic: bool = False,
    record_infos: bool = True,
) -> list[Trajectory[Any]]:
    """Run ``policy`` on ``env`` for ``n_episodes`` episodes or ``n_steps`` transitions.

    See the module's docstring for the policy and env forms, the seeds and the budgets.

    Args:
        policy: An object with ``predict(obs, deterministic=...)`` (an SB3 model or policy), a torch
            ``nn.Module`` (float32 observation batch -> action batch), a callable (observation batch
            array -> action batch), or ``None`` for uniformly random actions.
        env: A Gymnasium ``Env``, a sequence of them (stepped in lockstep, each asked only while it
            runs), a Gymnasium ``VectorEnv`` or an SB3 ``VecEnv``. The rollout resets it.
        n_episodes: The number of whole episodes (env ``i`` of ``n`` runs ``(n_episodes + i) // n``).
        n_steps: The number of transitions; each env's last episode comes back cut and ``truncated``.
        seed: Resets env ``i`` with ``seed + i`` and seeds the random actions and the torch draws of
            the policy; ``None`` seeds nothing.
        deterministic: Passed to ``predict`` (the other policy forms decide for themselves).
        record_infos: Whether to keep the step infos in the trajectories.

    Returns:
        The trajectories, ordered by env and then by time; their observations are arrays, or
        dicts/tuples of arrays for a ``Dict``/``Tuple`` observation space (:data:`Observations`).

    Raises:
        ValueError: Unless exactly one of ``n_episodes`` and ``n_steps`` is a positive int, or if the
            policy returns a batch of the wrong shape.
        TypeError: For an unsupported policy or env.
    """
    n_episodes = _check_budget(n_episodes, "n_episodes")
    n_steps = _check_budget(n_steps, "n_steps")
    if (n_episodes is None) == (n_steps is None):
        raise ValueError(f"give exactly one of n_episodes and n_steps, got n_episodes={n_episodes}, n_steps={n_steps}")
    if seed is not None and (isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    deterministic = _as_bool(deterministic, "deterministic")
    runner = _runner(env)
    n = runner.n
    streams = None if seed is None else np.random.SeedSequence(int(seed)).spawn(2)
    act = _batch_policy(policy, runner.action_space, n, deterministic, streams)
    action_shape = runner.action_space.shape

    if n_episodes is not None:
        quota = [(n_episodes + i) // n for i in range(n)]
    else:
        assert n_steps is not None
        quota = [n_steps // n + (1 if i < n_steps % n else 0) for i in range(n)]

    acting, pending, idle = 0, 1, 2
    status = [acting if q > 0 else idle for q in quota]
    steps = [0] * n
    finished: list[list[Trajectory[Any]]] = [[] for _ in range(n)]
    buffers: list[dict[str, list[Any]]] = [{} for _ in range(n)]
    obs: list[Any] = [None] * n

    def start(i: int, first: Any) -> None:
        obs[i] = first
        buffers[i] = {"obs": [first], "acts": [], "rews": [], "infos": []}

    def finish(i: int, terminated: bool, truncated: bool) -> None:
        b = buffers[i]
        finished[i].append(
            Trajectory(
                obs=_stack_obs(b["obs"]),
                acts=np.stack(b["acts"]),
                rews=np.asarray(b["rews"], dtype=np.float64),
                infos=tuple(b["infos"]) if record_infos else None,
                terminated=terminated,
                truncated=truncated,
            )
        )

    def wants_more(i: int) -> bool:
        return len(finished[i]) < quota[i] if n_episodes is not None else steps[i] < quota[i]

    seeds = [None if seed is None else int(seed) + i for i in range(n)]
    for i, first in enumerate(runner.reset(seeds)):
        if status[i] == acting:
            start(i, first)

    while acting in status or pending in status:
        rows = [i for i in range(n) if status[i] == acting]
        actions: dict[int, Any] = {}
        if rows:
            batch = act(_stack_obs([obs[i] for i in rows]), rows)
            shape_ok = action_shape is None or batch.shape[1:] == action_shape
            if batch.ndim < 1 or len(batch) != len(rows) or not shape_ok:
                raise ValueError(
                    f"policy must return actions of shape {(len(rows), *(action_shape or ()))} for "
                    f"{len(rows)} observations, got {batch.shape}"
                )
            actions = {i: batch[k] for k, i in enumerate(rows)}
        results, restarted = runner.step(actions)
        for i, first in restarted.items():
            if status[i] == pending:
                start(i, first)
                status[i] = acting
        again = []
        for i in rows:
            next_obs, reward, terminated, truncated, info = results[i]
            b = buffers[i]
            b["obs"].append(next_obs)
            b["acts"].append(np.asarray(actions[i]))
            b["rews"].append(reward)
            if record_infos:
                b["infos"].append(info)
            obs[i] = next_obs
            steps[i] += 1
            if terminated or truncated:
                finish(i, terminated, truncated and not terminated)  # as SB3 reports it: the end wins
                if wants_more(i):
                    again.append(i)
                else:
                    status[i] = idle
            elif n_steps is not None and steps[i] >= quota[i]:
                finish(i, False, True)  # the budget cuts the running episode
                status[i] = idle
        if again:
            started = runner.restart(again)
            for i in again:
                if i in started:
                    start(i, started[i])
                else:
                    status[i] = pending
    return [traj for row in finished for traj in row]


def rollout_parallel(
    policies: Mapping[str, PolicyLike],
    env: ParallelEnv,
    *,
    n_episodes: int,
    seed: int | None = None,
    deterministic: bool = False,
    record_infos: bool = True,
) -> list[dict[str, Trajectory[Any]]]:
    """Run every agent of a PettingZoo parallel env with its own policy for ``n_episodes`` episodes.

    An episode runs until no agent is left; each agent's :class:`Trajectory` holds the steps it
    acted in (an agent that is done stops acting while the others go on), its final observation
    being the one the env returned on its last step. Each agent's policy is any form that
    :func:`rollout` takes and sees a batch of one observation. ``seed`` resets the env with
    ``seed`` once, at the start (later episodes continue the env's own stream), and seeds the
    agents' random actions and torch draws (one stream per agent, in ``env.possible_agents``
    order); for an episode reset with a seed of its own, run one episode per call.

    Args:
        policies: The policy of every agent of ``env.possible_agents``.
        env: A PettingZoo ``ParallelEnv``.
        n_episodes: The number of episodes.
        seed: The seed, or ``None`` (nothing seeded).
        deterministic: Passed to ``predict`` policies.
        record_infos: Whether to keep the agents' step infos.

    Returns:
        One ``{agent: trajectory}`` per episode, for the agents the reset started.

    Raises:
        ValueError: For a bad ``n_episodes``, a missing policy, or an env that returns no
            observation for an agent that acted.
    """
    budget = _check_budget(n_episodes, "n_episodes")
    if budget is None:
        raise ValueError("n_episodes must be a positive int, got None")
    if seed is not None and (isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    agents = list(env.possible_agents)
    missing = [a for a in agents if a not in policies]
    if missing:
        raise ValueError(f"policies must hold a policy for every agent, missing {missing}")
    streams = None if seed is None else np.random.SeedSequence(int(seed)).spawn(len(agents))
    acts = {
        a: _batch_policy(
            policies[a],
            env.action_space(a),
            1,
            _as_bool(deterministic, "deterministic"),
            None if streams is None else streams[k].spawn(2),
        )
        for k, a in enumerate(agents)
    }
    episodes: list[dict[str, Trajectory[Any]]] = []
    for episode in range(budget):
        obs, _ = env.reset(seed=None if seed is None or episode > 0 else int(seed))
        record: dict[str, dict[str, list[Any]]] = {
            a: {"obs": [obs[a]], "acts": [], "rews": [], "infos": []} for a in env.agents
        }
        ends: dict[str, tuple[bool, bool]] = {}
        while env.agents:
            actions = {}
            for a in env.agents:
                action = acts[a](_stack_obs([obs[a]]), [0])
                if len(action) != 1:
                    raise ValueError(f"the policy of {a} must return a batch of one action, got shape {action.shape}")
                actions[a] = action[0]
            obs, rewards, terminations, truncations, infos = env.step(actions)
            for a, action in actions.items():
                if a not in obs:
                    raise ValueError(f"the env returned no observation for agent {a} after it acted")
                r = record[a]
                r["obs"].append(obs[a])
                r["acts"].append(np.asarray(action))
                r["rews"].append(float(rewards.get(a, 0.0)))
                r["infos"].append(dict(infos.get(a, {})))
                terminated = bool(terminations.get(a, False))
                ends[a] = (terminated, bool(truncations.get(a, False)) and not terminated)
        episodes.append(
            {
                a: Trajectory(
                    obs=_stack_obs(r["obs"]),
                    acts=np.stack(r["acts"]),
                    rews=np.asarray(r["rews"], dtype=np.float64),
                    infos=tuple(r["infos"]) if record_infos else None,
                    terminated=ends[a][0],
                    truncated=ends[a][1],
                )
                for a, r in record.items()
                if r["acts"]
            }
        )
    return episodes
