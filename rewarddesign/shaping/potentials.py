"""Potentials for shaping: ``phi(s)``, dynamic ``phi(s, t)`` and action potentials ``phi(s, a)``.

A potential is evaluated on one observation by calling it (the per-env wrappers do this each step)
and on a batch by :meth:`Potential.batch` (the vector wrappers do this). Every value is checked:
a potential that returns NaN, inf or a non-scalar raises at once, naming the observation.

Ways to make one, all accepted wherever a potential is asked for (see :func:`as_potential`):

- a callable ``fn(obs) -> float``: :class:`CallablePotential` (``batched=True`` when ``fn`` takes a batch),
- a callable ``fn(obs, t) -> float``: :class:`DynamicPotential` (Devlin and Kudenko 2012),
- an array ``[S]`` over a ``Discrete`` observation space: :class:`TabularPotential`,
- a ``torch.nn.Module`` mapping ``[B, obs_dim]`` to ``[B]`` or ``[B, 1]``: :class:`TorchPotential`,
- the optimal value of a tabular MDP: :func:`optimal_value_potential`.
"""

from __future__ import annotations

import abc
import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rewarddesign._validation import check_device
from rewarddesign.mdp import TabularMDP, value_iteration
from rewarddesign.rewards.wrappers import batch_length, batch_of_one, unbatch

__all__ = [
    "Potential",
    "CallablePotential",
    "DynamicPotential",
    "TabularPotential",
    "TorchPotential",
    "optimal_value_potential",
    "as_potential",
    "PotentialLike",
    "ActionPotential",
    "CallableActionPotential",
    "TabularActionPotential",
    "as_action_potential",
    "ActionPotentialLike",
    "PotentialValueError",
]


class PotentialValueError(ValueError):
    """A potential returned NaN or inf."""


def _scalar(value: Any, obs: Any, who: str) -> float:
    """``value`` as a finite float, or an error naming the potential and the observation."""
    if not isinstance(value, float):
        if np.ndim(value) != 0 or isinstance(value, (str, bytes)):
            raise TypeError(
                f"{who} must return a scalar, got {type(value).__name__} of shape {np.shape(value)} "
                f"for observation {obs!r}"
            )
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"{who} must return a real scalar, got {value!r} for observation {obs!r}") from None
    if not math.isfinite(value):
        raise PotentialValueError(f"{who} returned a non-finite value {value!r} for observation {obs!r}")
    return float(value)


def _check_batch(values: Any, size: int, who: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape == (size, 1):
        array = array[:, 0]
    if array.shape != (size,):
        raise TypeError(f"{who} must return one scalar per observation, shape {(size,)}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        index = int(np.argwhere(~np.isfinite(array))[0, 0])
        raise PotentialValueError(f"{who} returned a non-finite value {array[index]!r} at batch index {index}")
    return array


def _sample(space: gym.Space) -> Any:
    """A sample of ``space`` drawn from a seeded copy, so the user's space RNG stays untouched."""
    space = copy.deepcopy(space)
    space.seed(0)
    return space.sample()


class Potential(abc.ABC):
    """A state potential ``phi(s)``, or ``phi(s, t)`` when :attr:`time_dependent`.

    Subclasses implement :meth:`__call__` for one observation and may override :meth:`batch` with
    a vectorised version.
    """

    #: Whether the value depends on the time step ``t`` since reset (a dynamic potential).
    time_dependent: bool = False

    @abc.abstractmethod
    def __call__(self, obs: Any, t: int = 0) -> float:
        """``phi(obs, t)`` for one observation, a finite float."""

    def scalar_function(self) -> Callable[[Any, int], float]:
        """The fastest checked callable ``(obs, t) -> float`` for one observation.

        The per-env wrappers call it once per step; subclasses return a flatter closure than
        :meth:`__call__` where that saves time.
        """
        return self.__call__

    def batch(self, obs: Any, t: np.ndarray | None = None) -> np.ndarray:
        """``phi`` for a batch of observations (leading axis ``B``) and steps ``t [B]``: float ``[B]``."""
        rows = unbatch(obs)
        steps = np.zeros(len(rows), dtype=np.int64) if t is None else np.asarray(t)
        return np.array([self(o, int(k)) for o, k in zip(rows, steps)], dtype=np.float64)

    def check_space(self, space: gym.Space, name: str = "env") -> None:
        """Raise if this potential cannot take observations of ``space``.

        The default evaluates the potential on a (seeded) sample of the space.
        """
        try:
            sample = _sample(space)
            self(sample, 0)
        except PotentialValueError:
            raise
        except (TypeError, ValueError, IndexError, KeyError, RuntimeError) as err:
            raise TypeError(
                f"potential {self!r} cannot take observations of {name}'s observation space {space}: {err}"
            ) from err


class CallablePotential(Potential):
    """``phi(s) = fn(obs)``.

    Args:
        fn: Maps one observation to a scalar, or a batch ``[B, ...]`` to ``[B]`` when ``batched``.
        batched: Whether ``fn`` takes batches (then single observations are passed with a batch axis).

    Example:
        >>> import numpy as np
        >>> phi = CallablePotential(lambda obs: -abs(obs[2]))
        >>> phi(np.array([0.0, 0.0, 0.1, 0.0]))
        -0.1
    """

    def __init__(self, fn: Callable[..., Any], *, batched: bool = False) -> None:
        if not callable(fn):
            raise TypeError(f"potential must be callable, got {type(fn).__name__}")
        self.fn = fn
        self.batched = batched

    def _apply(self, obs: Any, t: Any) -> Any:
        """Call the user's function; the dynamic subclass passes ``t`` too."""
        return self.fn(obs)

    def __call__(self, obs: Any, t: int = 0) -> float:
        if self.batched:
            return float(_check_batch(self._apply(batch_of_one(obs), np.array([t])), 1, f"potential {self.fn!r}")[0])
        return _scalar(self._apply(obs, t), obs, f"potential {self.fn!r}")

    def scalar_function(self) -> Callable[[Any, int], float]:
        if self.batched or self.time_dependent:
            return self.__call__
        fn = self.fn

        def phi(obs: Any, t: int = 0) -> float:
            value = fn(obs)
            if type(value) is float and value - value == 0.0:  # fast path: a finite python float
                return value
            return _scalar(value, obs, f"potential {fn!r}")

        return phi

    def batch(self, obs: Any, t: np.ndarray | None = None) -> np.ndarray:
        if self.batched:
            size = batch_length(obs)
            steps = np.zeros(size, dtype=np.int64) if t is None else np.asarray(t)
            return _check_batch(self._apply(obs, steps), size, f"potential {self.fn!r}")
        return super().batch(obs, t)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({getattr(self.fn, '__name__', self.fn)!s})"


class DynamicPotential(CallablePotential):
    """A dynamic potential ``phi(s, t) = fn(obs, t)``, ``t`` the step count since reset.

    Shaping with ``gamma * phi(s', t + 1) - phi(s, t)`` keeps policy invariance (Devlin and Kudenko,
    "Dynamic potential-based reward shaping", AAMAS 2012).

    Args:
        fn: Maps ``(obs, t)`` to a scalar, or ``(obs [B, ...], t [B])`` to ``[B]`` when ``batched``.
        batched: Whether ``fn`` takes batches.

    Example:
        >>> phi = DynamicPotential(lambda obs, t: float(obs) - 0.1 * t)
        >>> phi(1.0, t=2)
        0.8
    """

    time_dependent = True

    def _apply(self, obs: Any, t: Any) -> Any:
        return self.fn(obs, t)


class TabularPotential(Potential):
    """``phi(s) = values[s]`` over a ``Discrete(S)`` observation space.

    Args:
        values: Float array ``[S]``, finite.

    Example:
        >>> phi = TabularPotential([0.0, 0.5, 1.0])
        >>> phi(2)
        1.0
    """

    def __init__(self, values: Any) -> None:
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 1 or array.size == 0:
            raise ValueError(f"potential values must be a non-empty array [S], got shape {array.shape}")
        if not np.all(np.isfinite(array)):
            index = int(np.argwhere(~np.isfinite(array))[0, 0])
            raise ValueError(f"potential values must be finite, got {array[index]!r} at state {index}")
        self.values = array
        self.values.setflags(write=False)
        self._list = array.tolist()  # python floats: indexing a list is the fastest scalar lookup

    def __call__(self, obs: Any, t: int = 0) -> float:
        try:
            return self._list[obs]
        except (TypeError, IndexError):
            index = int(obs) if np.ndim(obs) == 0 and float(obs).is_integer() else None
            if index is None or not 0 <= index < len(self._list):
                raise ValueError(
                    f"tabular potential over {len(self._list)} states cannot take observation {obs!r}"
                ) from None
            return self._list[index]

    def batch(self, obs: Any, t: np.ndarray | None = None) -> np.ndarray:
        index = np.asarray(obs).astype(np.int64).reshape(-1)
        if np.any((index < 0) | (index >= len(self.values))):
            raise ValueError(f"tabular potential over {len(self.values)} states cannot take observations {obs!r}")
        return self.values[index]

    def check_space(self, space: gym.Space, name: str = "env") -> None:
        if not isinstance(space, gym.spaces.Discrete) or space.n != len(self.values) or space.start != 0:
            raise TypeError(
                f"a tabular potential over {len(self.values)} states needs a Discrete({len(self.values)}) "
                f"observation space, {name} has {space}"
            )

    def __repr__(self) -> str:
        return f"TabularPotential(n_states={len(self.values)})"


class TorchPotential(Potential):
    """``phi(s) = module(obs)`` for a torch module from ``[B, obs_dim]`` to ``[B]`` or ``[B, 1]``.

    Observations are flattened to float32. Evaluation runs without gradient, on ``device``.

    Args:
        module: The network.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or a ``torch.device``.
    """

    def __init__(self, module: torch.nn.Module, device: torch.device | str = "auto") -> None:
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        self.device = check_device(device)
        self.module = module.to(self.device)

    def batch(self, obs: Any, t: np.ndarray | None = None) -> np.ndarray:
        array = np.asarray(obs, dtype=np.float32)
        tensor = torch.as_tensor(array.reshape(array.shape[0], -1), device=self.device)
        with torch.no_grad():
            out = self.module(tensor)
        return _check_batch(out.detach().cpu().numpy(), array.shape[0], f"potential {type(self.module).__name__}")

    def __call__(self, obs: Any, t: int = 0) -> float:
        return float(self.batch(np.asarray(obs)[None])[0])

    def __repr__(self) -> str:
        return f"TorchPotential({type(self.module).__name__}, device={self.device})"


#: What :func:`as_potential` accepts: a :class:`Potential`, a ``torch.nn.Module``, an array ``[S]``
#: (tabular) or a callable on one observation.
PotentialLike = Potential | torch.nn.Module | np.ndarray | Sequence[float] | Callable[[Any], Any]


def optimal_value_potential(mdp: TabularMDP, reward: Any) -> TabularPotential:
    """The optimal value ``V*`` of ``reward`` in ``mdp`` as a potential (0 in terminal states).

    Shaping with ``V*`` turns each action's shaped Q-value into its advantage, the classic
    best-case potential (Ng, Harada and Russell 1999).
    """
    return TabularPotential(value_iteration(mdp, reward).v)


def as_potential(potential: PotentialLike) -> Potential:
    """Turn what users pass into a :class:`Potential`.

    Accepts a :class:`Potential`, a ``torch.nn.Module``, an array ``[S]`` (tabular) or a callable on
    one observation. A callable ``fn(obs, t)`` must be wrapped in :class:`DynamicPotential`.
    """
    if isinstance(potential, Potential):
        return potential
    if isinstance(potential, torch.nn.Module):
        return TorchPotential(potential)
    if isinstance(potential, (np.ndarray, list, tuple)):
        return TabularPotential(potential)
    if callable(potential):
        return CallablePotential(potential)
    raise TypeError(
        "potential must be a Potential, a callable on observations, an array [S] or a torch module, "
        f"got {type(potential).__name__}"
    )


class ActionPotential(abc.ABC):
    """An action potential ``phi(s, a)`` for look-ahead advice (Wiewiora, Cottrell and Elkan 2003)."""

    @abc.abstractmethod
    def __call__(self, obs: Any, action: Any) -> float:
        """``phi(obs, action)``, a finite float."""

    def action_values(self, obs: Any, n_actions: int) -> np.ndarray:
        """``phi(obs, a)`` for every action of a ``Discrete(n_actions)`` space: float ``[A]``."""
        return np.array([self(obs, a) for a in range(n_actions)])

    def check_spaces(self, observation_space: gym.Space, action_space: gym.Space, name: str = "env") -> None:
        """Raise if the potential cannot take ``(obs, action)`` pairs of these spaces."""
        try:
            self(_sample(observation_space), _sample(action_space))
        except PotentialValueError:
            raise
        except (TypeError, ValueError, IndexError, KeyError, RuntimeError) as err:
            raise TypeError(f"action potential {self!r} cannot take the spaces of {name}: {err}") from err


class CallableActionPotential(ActionPotential):
    """``phi(s, a) = fn(obs, action)``.

    Example:
        >>> phi = CallableActionPotential(lambda obs, a: float(a == 1))
        >>> phi(0, 1)
        1.0
    """

    def __init__(self, fn: Callable[[Any, Any], Any]) -> None:
        if not callable(fn):
            raise TypeError(f"action potential must be callable, got {type(fn).__name__}")
        self.fn = fn

    def __call__(self, obs: Any, action: Any) -> float:
        return _scalar(self.fn(obs, action), (obs, action), f"action potential {self.fn!r}")


class TabularActionPotential(ActionPotential):
    """``phi(s, a) = values[s, a]`` over ``Discrete`` observation and action spaces.

    Example:
        >>> phi = TabularActionPotential([[0.0, 1.0], [2.0, 3.0]])
        >>> phi(1, 0)
        2.0
    """

    def __init__(self, values: Any) -> None:
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 2 or array.size == 0:
            raise ValueError(f"action potential values must be a non-empty array [S, A], got shape {array.shape}")
        if not np.all(np.isfinite(array)):
            index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
            raise ValueError(f"action potential values must be finite, got {array[index]!r} at {index}")
        self.values = array
        self.values.setflags(write=False)

    def __call__(self, obs: Any, action: Any) -> float:
        s, a = int(obs), int(action)
        if not (0 <= s < self.values.shape[0] and 0 <= a < self.values.shape[1]):
            raise ValueError(
                f"tabular action potential of shape {self.values.shape} cannot take "
                f"(obs, action) = ({obs!r}, {action!r})"
            )
        return float(self.values[s, a])

    def action_values(self, obs: Any, n_actions: int) -> np.ndarray:
        return self.values[int(obs)].copy()

    def check_spaces(self, observation_space: gym.Space, action_space: gym.Space, name: str = "env") -> None:
        expected = getattr(observation_space, "n", None), getattr(action_space, "n", None)
        if expected != self.values.shape:
            raise TypeError(
                f"a tabular action potential of shape {self.values.shape} needs Discrete spaces of those sizes, "
                f"{name} has {observation_space} and {action_space}"
            )


#: What :func:`as_action_potential` accepts: an :class:`ActionPotential`, an array ``[S, A]`` or a
#: callable ``fn(obs, action)``.
ActionPotentialLike = ActionPotential | np.ndarray | Sequence[Sequence[float]] | Callable[[Any, Any], Any]


def as_action_potential(potential: ActionPotentialLike) -> ActionPotential:
    """Accepts an :class:`ActionPotential`, an array ``[S, A]`` or a callable ``fn(obs, action)``."""
    if isinstance(potential, ActionPotential):
        return potential
    if isinstance(potential, (np.ndarray, list, tuple)):
        return TabularActionPotential(potential)
    if callable(potential):
        return CallableActionPotential(potential)
    raise TypeError(
        f"action potential must be an ActionPotential, an array [S, A] or a callable, got {type(potential).__name__}"
    )
