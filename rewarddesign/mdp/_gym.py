"""Bridges between tabular MDPs and Gymnasium: read a model out of an env, or make an env of a model."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import ArrayLike, NDArray

from rewarddesign.mdp._tabular import TabularMDP, check_mdp

__all__ = ["from_gymnasium", "TabularEnv"]


def from_gymnasium(env: gym.Env[Any, Any], gamma: float = 0.99) -> tuple[TabularMDP, NDArray[np.float64]]:
    """Build a :class:`TabularMDP` and its reward ``[S, A, S']`` from an env that exposes its model.

    Toy-text envs (FrozenLake, CliffWalking, Taxi) publish ``env.unwrapped.P[s][a]``, a list of
    ``(probability, next_state, reward, terminated)``, and ``initial_state_distrib``. Where
    termination is a property of the next state (as in all three), those states become terminal
    and state indices stay those of the env. Otherwise one absorbing terminal state is appended at
    index ``S`` and terminating transitions lead there.

    Args:
        env: A Gymnasium env (wrappers are looked through) with discrete spaces and a model ``P``.
        gamma: Discount of the returned MDP.

    Returns:
        ``(mdp, reward)``, the reward the expected env reward of each transition.

    Example:
        >>> import gymnasium as gym
        >>> mdp, reward = from_gymnasium(gym.make("FrozenLake-v1"))
        >>> mdp.n_states, mdp.n_actions, int(mdp.terminal.sum())
        (16, 4, 5)
    """
    base = env.unwrapped
    model = getattr(base, "P", None)
    if not isinstance(model, dict):
        raise TypeError(f"env must expose its model as env.unwrapped.P (a dict), {base!r} does not")
    if not isinstance(env.observation_space, gym.spaces.Discrete) or not isinstance(
        env.action_space, gym.spaces.Discrete
    ):
        raise TypeError(
            f"env must have Discrete observation and action spaces, got {env.observation_space} and {env.action_space}"
        )
    n_states, n_actions = int(env.observation_space.n), int(env.action_space.n)
    shape = (n_states, n_actions, n_states)
    mass = {False: np.zeros(shape), True: np.zeros(shape)}  # probability mass by `terminated`
    reward_mass = {False: np.zeros(shape), True: np.zeros(shape)}
    for s in range(n_states):
        for a in range(n_actions):
            for prob, next_state, reward, terminated in model[s][a]:
                if not (math.isfinite(prob) and math.isfinite(reward)):
                    raise ValueError(
                        f"env.unwrapped.P[{s}][{a}] must hold finite probabilities and rewards, "
                        f"got probability {prob!r} and reward {reward!r}"
                    )
                mass[bool(terminated)][s, a, next_state] += prob
                reward_mass[bool(terminated)][s, a, next_state] += prob * reward

    terminal = mass[True].sum(axis=(0, 1)) > 0
    live = ~terminal
    into_terminal_ok = not np.any(mass[False][live][:, :, terminal] > 0)
    into_live_ok = not np.any(mass[True][live][:, :, live] > 0)
    initial = np.asarray(getattr(base, "initial_state_distrib", None), dtype=np.float64)
    if initial.shape != (n_states,):
        raise TypeError(f"env.unwrapped must have initial_state_distrib of shape {(n_states,)}, got {initial.shape}")

    if into_terminal_ok and into_live_ok and not np.any(initial[terminal] > 0):
        transitions = mass[False] + mass[True]
        rewards = np.divide(
            reward_mass[False] + reward_mass[True], transitions, out=np.zeros(shape), where=transitions > 0
        )
        transitions[terminal] = 0.0
        for s in terminal.nonzero()[0]:
            transitions[s, :, s] = 1.0
        rewards[terminal] = 0.0
        return TabularMDP(transitions, initial, gamma, terminal), rewards

    # Termination depends on more than the next state: route it to one appended absorbing state.
    absorbing = n_states
    transitions = np.zeros((n_states + 1, n_actions, n_states + 1))
    rewards = np.zeros_like(transitions)
    transitions[:n_states, :, :n_states] = mass[False]
    rewards[:n_states, :, :n_states] = np.divide(
        reward_mass[False], mass[False], out=np.zeros(shape), where=mass[False] > 0
    )
    ended = mass[True].sum(axis=2)
    transitions[:n_states, :, absorbing] = ended
    rewards[:n_states, :, absorbing] = np.divide(
        reward_mass[True].sum(axis=2), ended, out=np.zeros_like(ended), where=ended > 0
    )
    transitions[absorbing, :, absorbing] = 1.0
    terminal = np.zeros(n_states + 1, dtype=bool)
    terminal[absorbing] = True
    return TabularMDP(transitions, np.append(initial, 0.0), gamma, terminal), rewards


class TabularEnv(gym.Env[int, np.int64]):
    """A Gymnasium env that samples a :class:`TabularMDP` with a tabular reward.

    Observations and actions are ``Discrete``. An episode terminates on entering a terminal state
    and is truncated after ``horizon`` steps (never, when ``horizon`` is None).

    Args:
        mdp: The model.
        reward: ``[S]``, ``[S, A]`` or ``[S, A, S']``.
        horizon: Time limit in steps, or None.

    Example:
        >>> from rewarddesign.mdp import random_mdp
        >>> mdp = random_mdp(5, 2, rng=0)
        >>> env = TabularEnv(mdp, reward=[0.0, 0.0, 0.0, 0.0, 1.0], horizon=10)
        >>> obs, info = env.reset(seed=0)
        >>> env.observation_space.contains(obs)
        True
    """

    metadata = {"render_modes": []}
    observation_space: gym.spaces.Discrete  # holds the int observations, typed by Gymnasium as np.int64
    action_space: gym.spaces.Discrete

    def __init__(self, mdp: TabularMDP, reward: ArrayLike, horizon: int | None = None) -> None:
        check_mdp(mdp)
        if horizon is not None and (not isinstance(horizon, (int, np.integer)) or horizon < 1):
            raise ValueError(f"horizon must be a positive integer or None, got {horizon!r}")
        self.mdp = mdp
        self.reward = mdp.reward_array(reward)
        self.horizon = horizon
        self.observation_space = gym.spaces.Discrete(mdp.n_states)
        self.action_space = gym.spaces.Discrete(mdp.n_actions)
        self._cdf = np.cumsum(mdp.transitions, axis=2)
        self._initial_cdf = np.cumsum(mdp.initial)
        self._state = 0
        self._t = 0

    def _draw(self, cdf: NDArray[np.float64]) -> int:
        return min(int(np.searchsorted(cdf, self.np_random.random(), side="right")), self.mdp.n_states - 1)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self._state = self._draw(self._initial_cdf)
        self._t = 0
        return self._state, {}

    def step(self, action: int | np.integer) -> tuple[int, float, bool, bool, dict[str, Any]]:
        """One step; ``action`` must be an integer in ``[0, n_actions)`` (ValueError otherwise)."""
        if isinstance(action, (bool, np.bool_)) or not self.action_space.contains(action):
            raise ValueError(f"action must be an integer in [0, {self.mdp.n_actions}), got {action!r}")
        state = self._state
        next_state = self._draw(self._cdf[state, int(action)])
        self._state = next_state
        self._t += 1
        reward = float(self.reward[state, int(action), next_state])
        terminated = bool(self.mdp.terminal[next_state])
        truncated = self.horizon is not None and self._t >= self.horizon
        return next_state, reward, terminated, truncated, {}
