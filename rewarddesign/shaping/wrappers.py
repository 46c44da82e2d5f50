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
from numpy.typing import ArrayLike, NDArray

from rewarddesign._validation import as_float_array, check_finite, check_gamma
from rewarddesign.rewards.wrappers import (
    Bools,
    DesignedReward,
    Floats,
    Info,
    Infos,
    RewardTerm,
    potential_difference,
    unbatch,
)
from rewarddesign.shaping.potentials import (
    ActionPotential,
    ActionPotentialLike,
    Potential,
    PotentialLike,
    as_action_potential,
    as_potential,
)

__all__ = [
    "PotentialShapingTerm",
    "LookAheadAdviceTerm",
    "PotentialShaping",
    "LookAheadAdvice",
    "advised_action",
]


class PotentialShapingTerm(RewardTerm):
    """The reward term of potential-based shaping: ``gamma * (0 if terminated else phi(s', t+1)) - phi(s, t)``.

    Works with static potentials ``phi(s)`` and dynamic ones ``phi(s, t)`` alike (``t`` counts steps
    since the episode's reset). Its values go to ``info["shaping_reward"]`` and are added to the
    env's reward (mode ``"add"``). Drive it with :class:`PotentialShaping`,
    :class:`~rewarddesign.shaping.vector.VectorPotentialShaping` or
    :class:`~rewarddesign.shaping.vector.VecPotentialShaping`.

    Args:
        potential: A :class:`~rewarddesign.shaping.potentials.Potential` or anything
            :func:`~rewarddesign.shaping.potentials.as_potential` accepts.
        gamma: The learner's discount, in [0, 1]. Use the same gamma as the algorithm, else the
            invariance guarantee is lost.

    Raises:
        TypeError: The potential is of no accepted kind.
        ValueError: ``gamma`` lies outside [0, 1].
    """

    info_key = "shaping_reward"

    def __init__(self, potential: PotentialLike, gamma: float = 0.99) -> None:
        super().__init__(mode="add")
        self.gamma = check_gamma(gamma, allow_zero=True)
        self.potential: Potential = as_potential(potential)
        self._phi = self.potential.scalar_function()
        self._last_phi = np.zeros(0)
        self._t = np.zeros(0, dtype=np.int64)
        self._last_phi_one = 0.0
        self._t_one = 0

    def bind(self, observation_space: gym.Space, action_space: gym.Space, num_envs: int) -> None:
        self.potential.check_space(observation_space)
        self.num_envs = num_envs
        self._last_phi = np.zeros(num_envs)
        self._t = np.zeros(num_envs, dtype=np.int64)

    def reset(self, obs: Any, infos: Infos, mask: Bools) -> None:
        phi = self.potential.batch(obs, np.zeros(self.num_envs, dtype=np.int64))
        self._last_phi = np.where(mask, phi, self._last_phi)
        self._t[mask] = 0

    def step(
        self, obs: Any, act: Any, next_obs: Any, reward: Floats, terminated: Bools, truncated: Bools, infos: Infos
    ) -> Floats:
        self._t = self._t + 1
        next_phi = self.potential.batch(next_obs, self._t)
        values = potential_difference(self._last_phi, next_phi, terminated, self.gamma)
        self._last_phi = next_phi
        return values

    # one env: scalar potential calls, no arrays (the per-step cost of the Gymnasium form)
    def reset_one(self, obs: Any, info: Info) -> None:
        self._t_one = 0
        self._last_phi_one = self._phi(obs, 0)

    def step_one(
        self, obs: Any, act: Any, next_obs: Any, reward: float, terminated: bool, truncated: bool, info: Info
    ) -> float:
        t = self._t_one = self._t_one + 1
        next_phi = 0.0 if terminated else self._phi(next_obs, t)
        value = potential_difference(self._last_phi_one, next_phi, bool(terminated), self.gamma)
        self._last_phi_one = next_phi
        return value


class LookAheadAdviceTerm(RewardTerm):
    """The reward term of look-ahead advice: ``gamma * phi(s', a') - phi(s, a)`` with an action potential.

    ``a' ~ policy(s')`` is drawn from the agent's own policy, one observation at a time; at
    termination ``phi(s', .)`` counts as 0, at truncation it stays. Its values go to
    ``info["shaping_reward"]`` and are added to the env's reward (mode ``"add"``).

    Args:
        potential: An :class:`~rewarddesign.shaping.potentials.ActionPotential`, an array
            ``[S, A]`` or a callable ``fn(obs, action)``.
        gamma: The learner's discount, in [0, 1].
        policy: ``policy(obs) -> action`` for one observation, the agent's (sampling) policy; it can
            be set later with :meth:`set_policy`.
    """

    info_key = "shaping_reward"

    def __init__(
        self, potential: ActionPotentialLike, gamma: float = 0.99, policy: Callable[[Any], Any] | None = None
    ) -> None:
        super().__init__(mode="add")
        self.gamma = check_gamma(gamma, allow_zero=True)
        self.potential: ActionPotential = as_action_potential(potential)
        self.policy = policy

    def bind(self, observation_space: gym.Space, action_space: gym.Space, num_envs: int) -> None:
        self.potential.check_spaces(observation_space, action_space)
        self.num_envs = num_envs

    def set_policy(self, policy: Callable[[Any], Any]) -> None:
        """Set the policy that draws the look-ahead action ``a'``."""
        if not callable(policy):
            raise TypeError(f"policy must be callable, got {type(policy).__name__}")
        self.policy = policy

    def step_one(
        self, obs: Any, act: Any, next_obs: Any, reward: float, terminated: bool, truncated: bool, info: Info
    ) -> float:
        if self.policy is None:
            raise RuntimeError("look-ahead advice needs the agent's policy: pass policy= or call set_policy() first")
        next_phi = 0.0 if terminated else self.potential(next_obs, self.policy(next_obs))
        return potential_difference(self.potential(obs, act), next_phi, bool(terminated), self.gamma)

    def step(
        self, obs: Any, act: Any, next_obs: Any, reward: Floats, terminated: Bools, truncated: Bools, infos: Infos
    ) -> Floats:
        return np.array(
            [
                self.step_one(o, a, n, r, bool(d), bool(c), i)
                for o, a, n, r, d, c, i in zip(
                    unbatch(obs),
                    unbatch(act),
                    unbatch(next_obs),
                    reward,
                    terminated,
                    truncated,
                    infos,
                )
            ],
            dtype=np.float64,
        )


class _PotentialShapingForm:
    """What the three forms of potential shaping expose of their term: :attr:`gamma` and :attr:`potential`."""

    term: PotentialShapingTerm

    @property
    def gamma(self) -> float:
        """The discount of the shaping term."""
        return self.term.gamma

    @property
    def potential(self) -> Potential:
        """The potential."""
        return self.term.potential


class PotentialShaping(_PotentialShapingForm, DesignedReward):
    """Adds ``gamma * (0 if terminated else phi(s', t+1)) - phi(s, t)`` to the env's reward.

    The Gymnasium form of :class:`PotentialShapingTerm`. Works with static potentials ``phi(s)``
    and dynamic ones ``phi(s, t)`` alike (``t`` counts steps since reset).
    ``info["original_reward"]`` holds the env's reward and ``info["shaping_reward"]`` the added
    term, so a ``Monitor`` placed inside this wrapper records the true return.

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

    def __init__(self, env: gym.Env, potential: PotentialLike, gamma: float = 0.99) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, potential=potential, gamma=gamma)
        DesignedReward.__init__(self, env, PotentialShapingTerm(potential, gamma))


class LookAheadAdvice(DesignedReward):
    """Look-ahead advice: adds ``gamma * phi(s', a') - phi(s, a)`` with an action potential.

    Wiewiora, Cottrell and Elkan (ICML 2003) showed that with this term the learned action values
    are ``Q(s, a) - phi(s, a)``, so an agent that acts by ``argmax_a Q_learned(s, a) + phi(s, a)``
    (see :func:`advised_action`) recovers the original optimal policy. The term needs the next
    action ``a'``, which a wrapper cannot see; it draws ``a' ~ policy(s')`` from the agent's own
    policy instead. For every policy this gives, in expectation, exactly
    ``gamma * E_{a'~pi}[phi(s', a')] - phi(s, a)``, so ``Q^pi_shaped = Q^pi - phi`` holds exactly
    for policy evaluation. At termination ``phi(s', .)`` counts as 0; at truncation it stays.
    The Gymnasium form of :class:`LookAheadAdviceTerm` (``info["shaping_reward"]`` the added term).

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
        self,
        env: gym.Env,
        potential: ActionPotentialLike,
        gamma: float = 0.99,
        policy: Callable[[Any], Any] | None = None,
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, potential=potential, gamma=gamma, policy=policy)
        self.term: LookAheadAdviceTerm
        super().__init__(env, LookAheadAdviceTerm(potential, gamma, policy))

    @property
    def gamma(self) -> float:
        """The discount of the advice term."""
        return self.term.gamma

    @property
    def potential(self) -> ActionPotential:
        """The action potential."""
        return self.term.potential

    @property
    def policy(self) -> Callable[[Any], Any] | None:
        """The policy that draws ``a'``."""
        return self.term.policy

    def set_policy(self, policy: Callable[[Any], Any]) -> None:
        """Set the policy that draws the look-ahead action ``a'``."""
        self.term.set_policy(policy)


def advised_action(q_values: ArrayLike, advice: ArrayLike) -> NDArray[np.int64]:
    """The action selection that matches look-ahead advice: ``argmax_a q(s, a) + phi(s, a)``.

    Args:
        q_values: Learned action values ``[A]`` or ``[B, A]``.
        advice: ``phi(s, a)`` of the same shape.

    Returns:
        Integer actions, ``[]`` or ``[B]``.

    Raises:
        ValueError: The arrays differ in shape, are not ``[A]`` or ``[B, A]`` with ``A >= 1``, or
            hold NaN or inf (an argmax would pick a NaN's action silently).
        TypeError: An argument is not a numeric array.

    Example:
        >>> advised_action([1.0, 0.0], [0.0, 2.0])
        array(1)
    """
    q = check_finite(as_float_array(q_values, "q_values"), "q_values")
    phi = check_finite(as_float_array(advice, "advice"), "advice")
    if q.shape != phi.shape:
        raise ValueError(f"q_values and advice must have the same shape, got {q.shape} and {phi.shape}")
    if q.ndim not in (1, 2) or q.shape[-1] == 0:
        raise ValueError(f"q_values must be [A] or [B, A] with at least one action, got shape {q.shape}")
    return np.asarray((q + phi).argmax(axis=-1))
