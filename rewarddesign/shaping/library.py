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
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np

from rewarddesign.mdp import from_gymnasium
from rewarddesign.shaping.potentials import CallablePotential, Potential, TabularPotential, optimal_value_potential

__all__ = ["POTENTIALS", "register_potential", "get_potential", "mountaincar_energy"]

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
    return TabularPotential(values[: env.observation_space.n])  # drop an appended absorbing state


@register_potential("maze_distance")
def _maze_distance(env: gym.Env, gamma: float) -> Potential:
    maze = env.unwrapped
    if not hasattr(maze, "distances"):
        raise TypeError(f"maze_distance needs a GridMaze env, got {maze!r}")
    distance = maze.distances()
    reachable = np.isfinite(distance)
    distance[~reachable] = distance[reachable].max() + 1
    return TabularPotential(-distance / distance.max())


@register_potential("maze_manhattan")
def _maze_manhattan(env: gym.Env, gamma: float) -> Potential:
    maze = env.unwrapped
    if not hasattr(maze, "cells") or not hasattr(maze, "goal"):
        raise TypeError(f"maze_manhattan needs a GridMaze env, got {maze!r}")
    cells = np.asarray(maze.cells)
    distance = np.abs(cells - cells[maze.goal]).sum(axis=1)
    return TabularPotential(-distance / distance.max())


@register_potential("cartpole_upright")
def _cartpole_upright(env: gym.Env, gamma: float) -> Potential:
    threshold = float(getattr(env.unwrapped, "theta_threshold_radians", 12 * 2 * np.pi / 360))

    def upright(obs: np.ndarray) -> np.ndarray:
        return -np.abs(np.asarray(obs)[..., 2]) / threshold

    return CallablePotential(upright, batched=True)


def mountaincar_energy(obs: np.ndarray, gravity: float = 0.0025) -> np.ndarray:
    """Mechanical energy of ``MountainCar`` states ``[..., 2]`` over the gravity constant.

    The car accelerates by ``-gravity cos(3 x)`` on the hill, the slope of the potential energy
    ``gravity sin(3 x) / 3``; the kinetic energy is ``v^2 / 2``.
    """
    obs = np.asarray(obs, dtype=np.float64)
    position, velocity = obs[..., 0], obs[..., 1]
    return np.sin(3 * position) / 3 + 0.5 * velocity**2 / gravity


@register_potential("mountaincar_energy")
def _mountaincar_energy(env: gym.Env, gamma: float) -> Potential:
    gravity = float(getattr(env.unwrapped, "gravity", 0.0025))
    return CallablePotential(lambda obs: mountaincar_energy(obs, gravity), batched=True)
