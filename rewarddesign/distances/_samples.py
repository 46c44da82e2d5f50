"""Reward distances from samples, for continuous spaces and learned rewards.

The rewards are reward functions ``(obs, act, next_obs, done) -> r`` (batched numpy) or
:class:`~rewarddesign.rewards.RewardNet` models; the data is a set of transitions, a
:class:`rewarddesign.rollouts.Transitions` (from :func:`~rewarddesign.rollouts.flatten_trajectories`,
or built from sampled ``obs``, ``acts`` and ``next_obs`` arrays). A transition marked
``terminated`` does not bootstrap, and its ``done`` passed to the reward functions is set; its
``rews`` and ``truncated`` are not read. Two estimators:

- :func:`sample_epic_distance`: EPIC with the canonicalisation's expectations replaced by
  Monte-Carlo means over sampled states and actions (Gleave et al. 2021), and the Pearson
  distance taken over the transitions.
- :func:`sample_starc_val_distance`: STARC with VAL canonicalisation. VAL is the advantage
  ``Q^pi(s, a) - V^pi(s)`` of the reward itself under a fixed policy (uniform by default); it is
  fitted from the transitions by LSTD-Q on state-action features, then standardised and compared
  in the empirical L2 norm of the transitions.

On a tabular MDP turned into samples (one-hot features) both converge to the exact tabular
distances as samples grow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import ArrayLike, NDArray

from rewarddesign._validation import check_gamma, check_probabilities
from rewarddesign.distances._distances import _pearson_matrix, pearson_distance
from rewarddesign.rewards import RewardFunction, RewardNet, check_rewards
from rewarddesign.rollouts import Transitions

__all__ = [
    "sample_epic_distance",
    "sample_val_advantages",
    "sample_starc_val_distance",
    "one_hot_features",
]

#: A reward to compare: a reward function ``(obs, act, next_obs, done) -> r [N]`` or a RewardNet.
_Reward = RewardFunction | RewardNet
#: State-action features ``(obs [N, ...], acts [N, ...]) -> [N, K]``.
_Features = Callable[[Any, Any], NDArray[np.float64]]


def _check_transitions(transitions: Transitions[Any]) -> Transitions[NDArray[Any]]:
    """``transitions`` if it is a :class:`~rewarddesign.rollouts.Transitions` of array observations, 2 rows or more."""
    if not isinstance(transitions, Transitions):
        raise TypeError(f"transitions must be a rewarddesign.rollouts.Transitions, got {type(transitions).__name__}")
    if not isinstance(transitions.obs, np.ndarray):
        raise TypeError(
            f"transitions must have array observations for sample-based distances, got {type(transitions.obs).__name__}"
        )
    if len(transitions) < 2:
        raise ValueError(f"transitions need at least 2 rows, got {len(transitions)}")
    return transitions


def _reward_fn(reward: _Reward, name: str) -> RewardFunction:
    if isinstance(reward, RewardNet):
        return reward.predict
    if callable(reward):
        return reward
    raise TypeError(
        f"{name} must be a reward function (obs, act, next_obs, done) -> r or a RewardNet, got {type(reward).__name__}"
    )


def _evaluate(
    fn: RewardFunction, obs: Any, acts: Any, next_obs: Any, dones: Any, name: str, chunk: int = 65536
) -> NDArray[np.float64]:
    parts = []
    for start in range(0, len(obs), chunk):
        stop = start + chunk
        parts.append(
            check_rewards(
                fn(obs[start:stop], acts[start:stop], next_obs[start:stop], dones[start:stop]),
                len(obs[start:stop]),
                name,
            )
        )
    return np.concatenate(parts)


def _epic_canonical(
    fn: RewardFunction,
    data: Transitions[NDArray[Any]],
    gamma: float,
    states: NDArray[Any],
    actions: NDArray[Any],
    name: str,
) -> NDArray[np.float64]:
    """Sample-based EPIC canonical rewards of the transitions ``[N]``."""
    n, m = len(data), len(states)
    no_done = np.zeros(n * m, dtype=bool)
    # E[R(x, A, S')] for x = s and x = s' of every transition, from the m sampled (A, S') pairs
    pair_a = np.tile(actions, (n,) + (1,) * (actions.ndim - 1))
    pair_s = np.tile(states, (n,) + (1,) * (states.ndim - 1))

    def mean_from(x: NDArray[Any]) -> NDArray[np.float64]:
        repeated = np.repeat(x, m, axis=0)
        return _evaluate(fn, repeated, pair_a, pair_s, no_done, name).reshape(n, m).mean(1)

    from_next, from_here = mean_from(data.next_obs), mean_from(data.obs)
    # E[R(S, A, S')] with S from the state samples, paired with shuffled (A, S') samples
    shuffled = np.roll(np.arange(m), 1)
    constant = _evaluate(fn, states, actions[shuffled], states[shuffled], np.zeros(m, dtype=bool), name).mean()
    direct = _evaluate(fn, data.obs, data.acts, data.next_obs, data.terminated, name)
    return direct + gamma * from_next - from_here - gamma * constant


def sample_epic_distance(
    r1: _Reward,
    r2: _Reward,
    transitions: Transitions[NDArray[Any]],
    gamma: float,
    *,
    state_samples: ArrayLike | None = None,
    action_samples: ArrayLike | None = None,
    n_mean_samples: int = 256,
    rng: np.random.Generator | int | None = None,
) -> float:
    """EPIC distance estimated from samples.

    Args:
        r1: A reward function or RewardNet.
        r2: Another.
        transitions: The coverage distribution: the Pearson distance is taken over these
            (array observations, at least 2 rows).
        gamma: The discount.
        state_samples: Samples of ``D_S`` (default: ``n_mean_samples`` drawn from the transitions' observations).
        action_samples: Samples of ``D_A``, as many as ``state_samples`` (default: drawn from the transitions' actions).
        n_mean_samples: How many ``(A, S')`` samples estimate each expectation.
        rng: Seed or generator for the default samples.
    """
    gamma = check_gamma(gamma, allow_zero=True)
    transitions = _check_transitions(transitions)
    rng = np.random.default_rng(rng)
    if state_samples is None:
        states = transitions.obs[rng.integers(len(transitions), size=n_mean_samples)]
    else:
        states = np.asarray(state_samples)
    if action_samples is None:
        actions = transitions.acts[rng.integers(len(transitions), size=len(states))]
    else:
        actions = np.asarray(action_samples)
    if len(states) != len(actions):
        raise ValueError(f"state_samples and action_samples must be equally many, got {len(states)} and {len(actions)}")
    canonical = np.stack(
        [
            _epic_canonical(_reward_fn(r, name), transitions, gamma, states, actions, name)
            for r, name in ((r1, "r1"), (r2, "r2"))
        ]
    )
    weights = np.full(len(transitions), 1.0 / len(transitions))
    return float(pearson_distance(_pearson_matrix(canonical, weights))[0, 1])


def one_hot_features(observation_space: gym.spaces.Discrete, action_space: gym.spaces.Discrete) -> _Features:
    """Tabular features ``[N, S * A]`` of (obs, act) pairs: the exact case of LSTD-Q."""
    n_s, n_a = int(observation_space.n), int(action_space.n)

    def features(obs: Any, acts: Any) -> NDArray[np.float64]:
        out = np.zeros((len(obs), n_s * n_a))
        out[np.arange(len(obs)), np.asarray(obs, dtype=np.int64) * n_a + np.asarray(acts, dtype=np.int64)] = 1.0
        return out

    return features


def _default_features(observation_space: gym.Space[Any], action_space: gym.Space[Any]) -> _Features:
    if isinstance(observation_space, gym.spaces.Discrete) and isinstance(action_space, gym.spaces.Discrete):
        return one_hot_features(observation_space, action_space)
    if isinstance(observation_space, gym.spaces.Box) and isinstance(action_space, gym.spaces.Discrete):
        n_a = int(action_space.n)

        def features(obs: Any, acts: Any) -> NDArray[np.float64]:
            x = np.asarray(obs, dtype=np.float64).reshape(len(obs), -1)
            upper = np.triu_indices(x.shape[1])
            quad = np.einsum("ni,nj->nij", x, x)[:, upper[0], upper[1]]
            base = np.concatenate([np.ones((len(x), 1)), x, quad], axis=1)  # quadratic in the observation
            out = np.zeros((len(x), base.shape[1] * n_a))
            for a in range(n_a):
                rows = np.asarray(acts) == a
                out[rows, a * base.shape[1] : (a + 1) * base.shape[1]] = base[rows]
            return out

        return features
    raise TypeError(
        "default features exist for Discrete and Box observations with Discrete actions; "
        f"pass features= for {observation_space} and {action_space}"
    )


def sample_val_advantages(
    reward: _Reward,
    transitions: Transitions[NDArray[Any]],
    gamma: float,
    observation_space: gym.Space[Any],
    action_space: gym.spaces.Discrete,
    *,
    policy: Callable[[NDArray[Any]], ArrayLike] | None = None,
    features: _Features | None = None,
    ridge: float = 1e-8,
) -> NDArray[np.float64]:
    """VAL canonical rewards ``A^pi(s, a) = Q^pi(s, a) - V^pi(s)`` of the transitions ``[N]``, by LSTD-Q.

    ``Q^pi`` of ``reward`` is fitted on ``features(obs, act)`` from the transitions (off-policy:
    the next action is averaged over ``policy``); transitions marked ``terminated`` do not bootstrap.

    Args:
        reward: A reward function or RewardNet.
        transitions: The data (array observations, at least 2 rows).
        gamma: Discount in [0, 1).
        observation_space: For the default features.
        action_space: ``Discrete(A)``.
        policy: ``policy(obs [N, ...]) -> probabilities [N, A]``; uniform when None.
        features: ``features(obs, acts) -> [N, K]``; one-hot for discrete spaces, quadratic in the
            observation per action for ``Box`` observations, by default.
        ridge: Tikhonov term added to the LSTD system, a finite number >= 0.

    Raises:
        ValueError: ``gamma`` is not in [0, 1), ``ridge`` is negative, NaN or infinite, or
            ``policy`` returns rows that are not probability distributions.
    """
    if isinstance(ridge, bool) or not isinstance(ridge, (int, float, np.integer, np.floating)):
        raise TypeError(f"ridge must be a finite number >= 0, got {ridge!r}")
    if not (np.isfinite(ridge) and ridge >= 0):
        raise ValueError(f"ridge must be a finite number >= 0, got {ridge!r}")
    if check_gamma(gamma, allow_zero=True) >= 1.0:
        raise ValueError(f"gamma must be below 1 for the sample-based VAL canonicalisation, got {gamma!r}")
    if not isinstance(action_space, gym.spaces.Discrete):
        raise TypeError(f"action_space must be Discrete for sample-based VAL, got {action_space}")
    transitions = _check_transitions(transitions)
    n_a, n = int(action_space.n), len(transitions)
    featurize = features or _default_features(observation_space, action_space)
    fn = _reward_fn(reward, "reward")
    rewards = _evaluate(fn, transitions.obs, transitions.acts, transitions.next_obs, transitions.terminated, "reward")

    def probabilities(obs: NDArray[Any]) -> NDArray[np.float64]:
        if policy is None:
            return np.full((len(obs), n_a), 1.0 / n_a)
        probs = np.asarray(policy(obs), dtype=np.float64)
        if probs.shape != (len(obs), n_a):
            raise ValueError(f"policy must return probabilities of shape {(len(obs), n_a)}, got {probs.shape}")
        return check_probabilities(probs, "policy's output", atol=1e-6)

    def averaged(obs: NDArray[Any]) -> NDArray[np.float64]:
        """The features averaged over the policy's next action."""
        probs = probabilities(obs)
        total = probs[:, 0:1] * featurize(obs, np.full(len(obs), 0))
        for a in range(1, n_a):
            total = total + probs[:, a : a + 1] * featurize(obs, np.full(len(obs), a))
        return total

    phi = featurize(transitions.obs, transitions.acts)
    ongoing = ~transitions.terminated
    next_phi = averaged(transitions.next_obs) * ongoing[:, None]
    system = phi.T @ (phi - gamma * next_phi) / n + ridge * np.eye(phi.shape[1])
    weights = np.linalg.solve(system, phi.T @ rewards / n)
    return phi @ weights - averaged(transitions.obs) @ weights


def sample_starc_val_distance(
    r1: _Reward,
    r2: _Reward,
    transitions: Transitions[NDArray[Any]],
    gamma: float,
    observation_space: gym.Space[Any],
    action_space: gym.spaces.Discrete,
    *,
    policy: Callable[[NDArray[Any]], ArrayLike] | None = None,
    features: _Features | None = None,
    ridge: float = 1e-8,
) -> float:
    """STARC-VAL (L2 norm, L2 metric) from samples: advantages by :func:`sample_val_advantages`,
    each divided by its empirical L2 norm over the transitions (left as is when that is 0), then
    compared in that norm. ``policy``, ``features`` and ``ridge`` are those of :func:`sample_val_advantages`."""
    standard = []
    for reward in (r1, r2):
        advantage = sample_val_advantages(
            reward, transitions, gamma, observation_space, action_space, policy=policy, features=features, ridge=ridge
        )
        size = np.sqrt(np.mean(advantage**2))
        standard.append(advantage / size if size > 1e-12 else advantage)
    return float(np.sqrt(np.mean((standard[0] - standard[1]) ** 2)))
