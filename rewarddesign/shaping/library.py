"""Named potentials, so that a command line or a benchmark suite can ask for one by name.

A factory takes the (unwrapped-or-wrapped) env and the discount and returns a
:class:`~rewarddesign.shaping.potentials.Potential`::

    @register_potential("my_env_progress")
    def _(env, gamma):
        return CallablePotential(lambda obs: obs[0])

Built in:

- ``optimal_value``: ``V*`` of the env's own reward, for tabular envs that publish their model
  (FrozenLake, CliffWalking, Taxi, ``rewarddesign/GridMaze-v0``).
- ``maze_distance``: minus the fewest moves to the goal of a ``GridMaze``, over the largest such distance.
- ``maze_manhattan``: minus the Manhattan distance to the goal of a ``GridMaze``, over the grid's
  size (a heuristic that ignores walls).
- ``cartpole_upright``: minus the pole angle over its failure threshold (``CartPole-v1``).
- ``mountaincar_energy``: the car's mechanical energy over the gravity constant (about -0.3 to
  1.3; ``MountainCar-v0``), see :func:`mountaincar_energy`.
- ``control_posture``: an upright posture (torso pitch, pole angle, distance to the target,
  torso height) of the Gymnasium MuJoCo and dm-control tasks of the ``control`` benchmark
  suite, chosen by env id; see :func:`control_posture`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from rewarddesign._validation import as_float_array, check_real
from rewarddesign.mdp import from_gymnasium
from rewarddesign.shaping.potentials import CallablePotential, Potential, TabularPotential, optimal_value_potential

__all__ = [
    "POTENTIALS",
    "register_potential",
    "get_potential",
    "mountaincar_energy",
    "control_posture",
    "CONTROL_POSTURES",
]

PotentialFactory = Callable[[gym.Env, float], Potential]

#: Registered potential factories by name.
POTENTIALS: dict[str, PotentialFactory] = {}


def register_potential(name: str) -> Callable[[PotentialFactory], PotentialFactory]:
    """Decorator that registers ``factory(env, gamma) -> Potential`` under ``name``."""

    def decorate(factory: PotentialFactory) -> PotentialFactory:
        if name in POTENTIALS:
            raise ValueError(f"a potential named {name!r} is registered already")
        POTENTIALS[name] = factory
        return factory

    return decorate


def get_potential(name: str, env: gym.Env, gamma: float) -> Potential:
    """Build the potential registered as ``name`` for ``env``.

    Raises:
        ValueError: No potential has that name.
    """
    if name not in POTENTIALS:
        raise ValueError(f"unknown potential {name!r}; registered: {', '.join(sorted(POTENTIALS))}")
    return POTENTIALS[name](env, gamma)


@register_potential("optimal_value")
def _optimal_value(env: gym.Env, gamma: float) -> Potential:
    mdp, reward = from_gymnasium(env, gamma=gamma)
    values = optimal_value_potential(mdp, reward).values
    n_states = int(getattr(env.observation_space, "n", len(values)))
    return TabularPotential(values[:n_states])  # drop an appended absorbing state


@register_potential("maze_distance")
def _maze_distance(env: gym.Env, gamma: float) -> Potential:
    distances = getattr(env.unwrapped, "distances", None)
    if not callable(distances):
        raise TypeError(f"maze_distance needs a GridMaze env, got {env.unwrapped!r}")
    distance = np.array(distances(), dtype=np.float64)
    reachable = np.isfinite(distance)
    distance[~reachable] = distance[reachable].max() + 1
    return TabularPotential(-distance / distance.max())


@register_potential("maze_manhattan")
def _maze_manhattan(env: gym.Env, gamma: float) -> Potential:
    cells, goal = getattr(env.unwrapped, "cells", None), getattr(env.unwrapped, "goal", None)
    if cells is None or goal is None:
        raise TypeError(f"maze_manhattan needs a GridMaze env, got {env.unwrapped!r}")
    cells = np.asarray(cells)
    distance = np.abs(cells - cells[goal]).sum(axis=1)
    return TabularPotential(-distance / distance.max())


@register_potential("cartpole_upright")
def _cartpole_upright(env: gym.Env, gamma: float) -> Potential:
    if env.observation_space.shape != (4,):
        raise ValueError(
            f"cartpole_upright needs a CartPole observation [4], got {env.observation_space} of {env.unwrapped!r}"
        )
    threshold = float(getattr(env.unwrapped, "theta_threshold_radians", 12 * 2 * np.pi / 360))

    def upright(obs: np.ndarray) -> np.ndarray:
        return -np.abs(np.asarray(obs)[..., 2]) / threshold

    return CallablePotential(upright, batched=True)


def mountaincar_energy(obs: np.ndarray, gravity: float = 0.0025) -> np.ndarray:
    """Mechanical energy of ``MountainCar`` states ``[..., 2]`` over the gravity constant.

    The car accelerates by ``-gravity cos(3 x)`` on the hill, the slope of the potential energy
    ``gravity sin(3 x) / 3``; the kinetic energy is ``v^2 / 2``.

    Raises:
        ValueError: ``obs`` is not ``[..., 2]`` (position, velocity), as a ``CartPole`` observation
            ``[4]`` is not, or ``gravity`` is not finite and > 0.
    """
    obs = as_float_array(obs, "obs")
    if obs.ndim == 0 or obs.shape[-1] != 2:
        raise ValueError(f"obs must be MountainCar states [..., 2] (position, velocity), got shape {obs.shape}")
    gravity = check_real(gravity, "gravity", low=0.0, low_open=True)
    position, velocity = obs[..., 0], obs[..., 1]
    return np.sin(3 * position) / 3 + 0.5 * velocity**2 / gravity


@register_potential("mountaincar_energy")
def _mountaincar_energy(env: gym.Env, gamma: float) -> Potential:
    if env.observation_space.shape != (2,):
        raise ValueError(
            f"mountaincar_energy needs a MountainCar observation [2], got {env.observation_space} of {env.unwrapped!r}"
        )
    gravity = float(getattr(env.unwrapped, "gravity", 0.0025))
    return CallablePotential(lambda obs: mountaincar_energy(obs, gravity), batched=True)


def _pitch(index: int, scale: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: -((x[..., index] / scale) ** 2)


#: ``control_posture`` by env id: ``(observation key or None, function of that part of the observation)``.
CONTROL_POSTURES: dict[str, tuple[str | None, Callable[[np.ndarray], np.ndarray]]] = {
    # Gymnasium MuJoCo: the torso's pitch (observation 1), over the range the task tolerates
    "HalfCheetah-v5": (None, _pitch(1, 1.0)),
    "Hopper-v5": (None, _pitch(1, 0.2)),
    "Walker2d-v5": (None, _pitch(1, 1.0)),
    # dm-control through shimmy: a part of the dict observation
    "dm_control/cartpole-swingup-v0": ("position", lambda x: x[..., 1]),  # cosine of the pole angle
    "dm_control/reacher-easy-v0": ("to_target", lambda x: -np.linalg.norm(x, axis=-1) / 0.2),
    "dm_control/cheetah-run-v0": ("position", _pitch(1, 1.0)),
    "dm_control/walker-walk-v0": ("height", lambda x: x[..., 0]),
}


def _dict_space(env: gym.Env) -> gym.spaces.Dict | None:
    """The innermost dict observation space under ``env``'s wrappers (before a flattening), if any."""
    space: gym.spaces.Dict | None = None
    while True:
        if isinstance(env.observation_space, gym.spaces.Dict):
            space = env.observation_space
        if not isinstance(env, gym.Wrapper):
            return space
        env = env.env


def control_posture(env: gym.Env) -> Callable[[Any], np.ndarray]:
    """The batched posture potential of a control task, chosen by ``env``'s id.

    - Gymnasium ``HalfCheetah-v5``, ``Hopper-v5``, ``Walker2d-v5``: minus the squared pitch of the
      torso (observation 1) over the range the task tolerates (0.2 rad for the Hopper, 1 rad else):
      shaping pays for coming back upright and charges for tipping over.
    - dm-control ``cartpole-swingup``: the cosine of the pole angle (1 upright);
      ``reacher-easy``: minus the distance to the target over 0.2; ``cheetah-run``: minus the
      squared torso pitch; ``walker-walk``: the torso height. Observations may be the env's dicts
      or their flattening (``FlattenObservation``, as :func:`rewarddesign.train.train` uses).
    """
    env_id = env.spec.id if env.spec is not None else None
    if env_id not in CONTROL_POSTURES:
        raise ValueError(f"no control posture for {env_id!r}; known: {', '.join(CONTROL_POSTURES)}")
    key, fn = CONTROL_POSTURES[env_id]
    if key is None:
        return lambda obs: fn(np.asarray(obs, dtype=np.float64))
    if isinstance(env.observation_space, gym.spaces.Dict):
        return lambda obs: fn(np.asarray(obs[key], dtype=np.float64).reshape(*np.shape(obs[key])[:1], -1))
    inner = _dict_space(env)  # flattened: the key's slice of the vector, in the dict's order
    if inner is None:
        raise ValueError(f"{env_id} has neither a dict observation nor a flattened one")
    start = 0
    for name, sub in inner.spaces.items():
        size = gym.spaces.flatdim(sub)
        if name == key:
            part = slice(start, start + size)
            return lambda obs: fn(np.asarray(obs, dtype=np.float64)[..., part])
        start += size
    raise ValueError(f"{env_id}'s observation has no {key!r}")


@register_potential("control_posture")
def _control_posture(env: gym.Env, gamma: float) -> Potential:
    return CallablePotential(control_posture(env), batched=True)
