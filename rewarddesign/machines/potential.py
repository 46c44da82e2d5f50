"""Automatic reward shaping from a reward machine (Toro Icarte et al., JAIR 2022, section 5).

The machine alone is treated as an MDP whose actions are its edges: from ``u`` the agent may take
any label set's transition, earning its reward. Value iteration on it (:func:`machine_values`)
gives ``v(u)``, how much reward is still to be had from ``u`` when every label set could be
produced at will; the potential is ``phi(u) = -v(u)`` as in the authors' reference
implementation, 0 at terminal states. Adding ``gamma * phi(u') - phi(u)`` is potential-based
shaping on the product of env and machine (``phi`` depends on the machine state only), so the
optimal policies of the product MDP are those of the machine's reward (Ng et al. 1999):
:func:`~rewarddesign.machines.product_mdp` and :func:`~rewarddesign.mdp.value_iteration` check
it exactly on a small task.

:class:`MachinePotential` applies it through the library's potential shaping, on the
observations of :class:`~rewarddesign.machines.RewardMachineWrapper`::

    env = RewardMachineWrapper(task, rm)
    env = PotentialShaping(env, MachinePotential(rm, gamma=0.9), gamma=0.9)

With counterfactual experience (CRM) the rows a step adds for the other machine states need the
same shaping; :func:`machine_shaping` applies both (:class:`ShapedCounterfactuals` shapes the rows)::

    env = RewardMachineWrapper(task, rm, counterfactual=True)
    env = machine_shaping(env, MachinePotential(rm, gamma=0.9), gamma=0.9)

Example:
    >>> from rewarddesign.machines import from_ltlf
    >>> rm = from_ltlf("a & X b")  # a now, b at the next step
    >>> [round(float(v), 3) for v in machine_values(rm, gamma=0.9)]
    [0.9, 1.0, 0.0]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from rewarddesign._validation import check_gamma
from rewarddesign.machines.machine import RewardMachine
from rewarddesign.shaping.potentials import Potential
from rewarddesign.shaping.wrappers import PotentialShaping

__all__ = ["machine_values", "machine_potential", "MachinePotential", "ShapedCounterfactuals", "machine_shaping"]


def _check_machine(machine: Any) -> RewardMachine:
    if not isinstance(machine, RewardMachine):
        raise TypeError(f"machine must be a RewardMachine, got {type(machine).__name__}")
    return machine


def machine_values(
    machine: RewardMachine,
    gamma: float = 0.9,
    labels: Iterable[Iterable[str]] | None = None,
    tol: float = 1e-10,
) -> NDArray[np.float64]:
    """Optimal values ``v [U]`` of the machine as an MDP over its edges (order of ``machine.states``).

    ``v(u) = max over label sets L of r(u, L) + gamma * v(u'(u, L))``, ``v`` = 0 at terminal states.

    Args:
        machine: The reward machine.
        gamma: The discount of the value iteration, in (0, 1).
        labels: The label sets the env can produce (a grid world with one object per cell never
            shows two labels at once); None: every subset of the machine's names. A machine made
            by :func:`~rewarddesign.machines.from_ltlf` has edges for label sets the env may never
            produce (``coffee & office``), and the values should not count on them.
        tol: Stop when values change by less.

    Raises:
        TypeError: ``machine`` is not a reward machine.
        ValueError: ``gamma`` is not in (0, 1).
    """
    machine = _check_machine(machine)
    gamma = check_gamma(gamma)
    if gamma >= 1.0:
        raise ValueError(f"gamma must lie in (0, 1) for value iteration on the machine, got {gamma!r}")
    index = machine.index
    if labels is None:
        live = [u for u in machine.states if u not in machine.terminal]
        options = {u: [(v, r) for _, v, r in machine.successors(u)] for u in live}
    else:
        if isinstance(labels, (str, bytes)):
            raise TypeError(f"labels must be a collection of label sets, got the string {labels!r}")
        sets = {frozenset(x) & machine.names for x in labels}
        if not sets:
            raise ValueError("labels must hold at least one label set")
        options = {u: [machine.step(u, x) for x in sets] for u in machine.states if u not in machine.terminal}
    moves = {u: [(index(v), r) for v, r in options[u]] for u in machine.states if u not in machine.terminal}
    values = np.zeros(machine.n_states)
    while True:
        new = values.copy()
        for u, options in moves.items():
            new[index(u)] = max(r + gamma * values[v] for v, r in options)
        if np.max(np.abs(new - values)) < tol:
            return new
        values = new


def machine_potential(
    machine: RewardMachine, gamma: float = 0.9, labels: Iterable[Iterable[str]] | None = None
) -> NDArray[np.float64]:
    """The shaping potential ``phi [U] = -v`` of :func:`machine_values` (0 at terminal states).

    Example:
        >>> from rewarddesign.machines import from_ltlf
        >>> [round(float(p), 3) for p in machine_potential(from_ltlf("F a"), 0.9)]
        [-1.0, 0.0]
    """
    return -machine_values(machine, gamma, labels) + 0.0  # + 0.0: no negative zeros


class MachinePotential(Potential):
    """``phi(obs)``: the machine potential of the machine state in a wrapper's observation.

    The observation is one of :class:`~rewarddesign.machines.RewardMachineWrapper`.

    Reads ``obs["machine"]`` (``observation="dict"``) or the one-hot tail (``observation="flat"``).

    Args:
        machine: The reward machine of the wrapper.
        gamma: The discount of the value iteration on the machine (:func:`machine_values`).
        labels: The label sets the env can produce (:func:`machine_values`).
        values: Potentials ``[U]`` to use instead (finite); ``gamma`` is then unused.
    """

    def __init__(
        self,
        machine: RewardMachine,
        gamma: float = 0.9,
        labels: Iterable[Iterable[str]] | None = None,
        values: Any = None,
    ) -> None:
        self.machine = _check_machine(machine)
        if values is None:
            array = machine_potential(machine, gamma, labels)
        else:
            array = np.asarray(values, dtype=np.float64)
            if array.shape != (machine.n_states,) or not np.all(np.isfinite(array)):
                raise ValueError(f"values must be finite floats [{machine.n_states}], got {values!r}")
        self.values = array
        self._list = array.tolist()
        self._n = machine.n_states

    def __call__(self, obs: Any, t: int = 0) -> float:
        if isinstance(obs, dict):
            return self._list[int(obs["machine"])]
        tail = np.asarray(obs)[-self._n :]
        return self._list[int(np.argmax(tail))]

    def batch(self, obs: Any, t: np.ndarray | None = None) -> np.ndarray:
        if isinstance(obs, dict):
            return self.values[np.asarray(obs["machine"], dtype=np.int64).reshape(-1)]
        return self.values[np.argmax(np.asarray(obs)[:, -self._n :], axis=1)]

    def check_space(self, space: gym.Space, name: str = "env") -> None:
        if isinstance(space, gym.spaces.Dict) and "machine" in space.spaces:
            inner = space.spaces["machine"]
            if isinstance(inner, gym.spaces.Discrete) and inner.n == self._n:
                return
        elif isinstance(space, gym.spaces.Box) and space.shape is not None and space.shape[-1] >= self._n:
            return
        raise TypeError(
            f"a machine potential over {self._n} states needs a RewardMachineWrapper observation space, "
            f"{name} has {space}"
        )

    def __repr__(self) -> str:
        return f"MachinePotential(states={self._n})"


class ShapedCounterfactuals(gym.Wrapper):
    """Shapes the counterfactual rows of each step with a machine potential, as the real step is shaped.

    Wraps an env whose steps carry CRM rows in ``info["counterfactual"]``
    (:class:`~rewarddesign.machines.RewardMachineWrapper` with ``counterfactual=True``, usually
    already inside :class:`~rewarddesign.shaping.PotentialShaping`): row ``k``, from machine state
    ``u_k`` to ``u_k'``, gets ``gamma * (0 if the row ends else phi(u_k')) - phi(u_k)`` added to its
    reward, so a CRM replay buffer learns the shaped reward from every row and the row of the real
    machine state equals the shaped real step. Steps without rows pass unchanged.

    Args:
        env: The env whose steps carry the rows.
        potential: The machine potential of the shaping.
        gamma: The shaping's discount (the agent's).
    """

    def __init__(self, env: gym.Env, potential: MachinePotential, gamma: float) -> None:
        super().__init__(env)
        if not isinstance(potential, MachinePotential):
            raise TypeError(f"potential must be a MachinePotential, got {type(potential).__name__}")
        self.potential, self.gamma = potential, check_gamma(gamma)

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        rows = info.get("counterfactual")
        if rows is not None:
            after = np.where(rows.terminated, 0.0, self.potential.batch(rows.next_obs))
            shaped = rows.rewards + self.gamma * after - self.potential.batch(rows.obs)
            info["counterfactual"] = dataclasses.replace(rows, rewards=shaped)
        return obs, reward, bool(terminated), bool(truncated), info


def machine_shaping(env: gym.Env, potential: MachinePotential, gamma: float) -> gym.Env:
    """The machine's automatic shaping on a machine-wrapped env, its CRM rows included.

    ``PotentialShaping(env, potential, gamma)``, then :class:`ShapedCounterfactuals` so that the
    counterfactual rows (when the wrapper emits them) are shaped the same way.

    Args:
        env: A :class:`~rewarddesign.machines.RewardMachineWrapper` (or an env around one).
        potential: The machine potential (:class:`MachinePotential`).
        gamma: The agent's discount.
    """
    return ShapedCounterfactuals(PotentialShaping(env, potential, gamma=gamma), potential, gamma)
