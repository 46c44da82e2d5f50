"""Potential-based shaping as Gymnasium wrappers.

Shaping adds ``F = gamma * phi(s') - phi(s)`` to each reward. Summed over an episode with
discounting, the added terms telescope to ``gamma^T phi(s_T) - phi(s_0)``, which no policy can
change, so optimal policies stay optimal (Ng, Harada and Russell 1999). The promise holds only if
episode ends are handled right:

- ``terminated``: the MDP has ended, there is no future to bootstrap, and ``phi(s')`` counts as 0;
- ``truncated``: a time limit cut the episode, the agent bootstraps from ``s'``, and ``phi(s')`` stays.

Getting this wrong (adding ``gamma * phi(s_T)`` at termination, or dropping it at truncation)
rewards or punishes ending the episode, which changes optimal behaviour.

Example:
    >>> import gymnasium as gym
    >>> env = PotentialShaping(gym.make("CartPole-v1"), potential=lambda obs: -abs(obs[2]), gamma=0.99)
    >>> obs, info = env.reset(seed=0)
    >>> obs, reward, terminated, truncated, info = env.step(0)
    >>> abs(reward - info["original_reward"] - info["shaping_reward"]) < 1e-12
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from rewarddesign._validation import check_gamma
from rewarddesign.shaping.potentials import ActionPotential, Potential, as_action_potential, as_potential

__all__ = ["PotentialShaping", "LookAheadAdvice", "advised_action"]


class PotentialShaping(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Adds ``gamma * (0 if terminated else phi(s', t+1)) - phi(s, t)`` to the env's reward.

    Works with static potentials ``phi(s)`` and dynamic ones ``phi(s, t)`` alike (``t`` counts steps
    since reset). ``info["original_reward"]`` holds the env's reward and ``info["shaping_reward"]``
    the added term, so a ``Monitor`` placed inside this wrapper records the true return.

    Args:
        env: The env to shape.
        potential: A :class:`~rewarddesign.shaping.potentials.Potential` or anything
            :func:`~rewarddesign.shaping.potentials.as_potential` accepts.
        gamma: The learner's discount, in [0, 1]. Use the same gamma as the algorithm, else the
            invariance guarantee is lost.

    Raises:
        TypeError: The potential cannot take the env's observations, or returns a non-scalar.
        ValueError: ``gamma`` lies outside [0, 1], or the potential returns NaN or inf.
    """

    def __init__(self, env: gym.Env, potential: Any, gamma: float = 0.99) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, potential=potential, gamma=gamma)
        gym.Wrapper.__init__(self, env)
        self.gamma = check_gamma(gamma, allow_zero=True)
        self.potential: Potential = as_potential(potential)
        self.potential.check_space(env.observation_space)
        self._phi = self.potential.scalar_function()
        self._last_phi = 0.0
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._t = 0
        self._last_phi = self._phi(obs, 0)
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        t = self._t = self._t + 1
        next_phi = 0.0 if terminated else self._phi(obs, t)
        shaping = self.gamma * next_phi - self._last_phi
        self._last_phi = next_phi
        info["original_reward"] = reward
        info["shaping_reward"] = shaping
        return obs, reward + shaping, terminated, truncated, info


class LookAheadAdvice(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Look-ahead advice: adds ``gamma * phi(s', a') - phi(s, a)`` with an action potential.

    Wiewiora, Cottrell and Elkan (ICML 2003) showed that with this term the learned action values
    are ``Q(s, a) - phi(s, a)``, so an agent that acts by ``argmax_a Q_learned(s, a) + phi(s, a)``
    (see :func:`advised_action`) recovers the original optimal policy. The term needs the next
    action ``a'``, which a wrapper cannot see; it draws ``a' ~ policy(s')`` from the agent's own
    policy instead. For every policy this gives, in expectation, exactly
    ``gamma * E_{a'~pi}[phi(s', a')] - phi(s, a)``, so ``Q^pi_shaped = Q^pi - phi`` holds exactly
    for policy evaluation. At termination ``phi(s', .)`` counts as 0; at truncation it stays.

    Args:
        env: The env to shape.
        potential: An :class:`~rewarddesign.shaping.potentials.ActionPotential`, an array
            ``[S, A]`` or a callable ``fn(obs, action)``.
        gamma: The learner's discount, in [0, 1].
        policy: ``policy(obs) -> action``, the agent's (sampling) policy; it can be set later
            with :meth:`set_policy`, for instance once an SB3 model exists::

                env.set_policy(lambda obs: model.predict(obs, deterministic=False)[0])
    """

    def __init__(
        self, env: gym.Env, potential: Any, gamma: float = 0.99, policy: Callable[[Any], Any] | None = None
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, potential=potential, gamma=gamma, policy=policy)
        gym.Wrapper.__init__(self, env)
        self.gamma = check_gamma(gamma, allow_zero=True)
        self.potential: ActionPotential = as_action_potential(potential)
        self.potential.check_spaces(env.observation_space, env.action_space)
        self.policy = policy
        self._obs: Any = None

    def set_policy(self, policy: Callable[[Any], Any]) -> None:
        """Set the policy that draws the look-ahead action ``a'``."""
        if not callable(policy):
            raise TypeError(f"policy must be callable, got {type(policy).__name__}")
        self.policy = policy

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._obs = obs
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if self.policy is None:
            raise RuntimeError("LookAheadAdvice needs the agent's policy: pass policy= or call set_policy() first")
        phi_sa = self.potential(self._obs, action)
        obs, reward, terminated, truncated, info = self.env.step(action)
        next_phi = 0.0 if terminated else self.potential(obs, self.policy(obs))
        shaping = self.gamma * next_phi - phi_sa
        self._obs = obs
        info["original_reward"] = reward
        info["shaping_reward"] = shaping
        return obs, reward + shaping, terminated, truncated, info


def advised_action(q_values: Any, advice: Any) -> np.ndarray:
    """The action selection that matches look-ahead advice: ``argmax_a q(s, a) + phi(s, a)``.

    Args:
        q_values: Learned action values ``[A]`` or ``[B, A]``.
        advice: ``phi(s, a)`` of the same shape.

    Returns:
        Integer actions, ``[]`` or ``[B]``.

    Example:
        >>> advised_action([1.0, 0.0], [0.0, 2.0])
        array(1)
    """
    q = np.asarray(q_values, dtype=np.float64)
    phi = np.asarray(advice, dtype=np.float64)
    if q.shape != phi.shape:
        raise ValueError(f"q_values and advice must have the same shape, got {q.shape} and {phi.shape}")
    return np.asarray((q + phi).argmax(axis=-1))
