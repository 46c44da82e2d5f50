"""Counterfactual reasoning for reward machines (CRM), tabular and with SB3's off-policy learners.

A step of the env, with its labels, says what the machine *would* have done in every one of its
states, not only the current one: from ``u`` the labels lead to ``u'`` with reward ``r``. CRM
(Toro Icarte et al., JAIR 2022) learns from all of these experiences at once, which off-policy
learners may do since the env's dynamics do not depend on the machine state.

- :func:`q_learning`: tabular Q-learning on the product of a ``Discrete`` env and a machine, with
  CRM (``crm=True``: one update per non-terminal machine state per step) and automatic shaping
  (``shaping=True``: :func:`~rewarddesign.machines.machine_potential`) as switches; its learning
  curve is the greedy policy's discounted return from the start.
- :class:`CounterfactualReplayBuffer` / :class:`CounterfactualDictReplayBuffer`: SB3 replay
  buffers for DQN, SAC, TD3 (``replay_buffer_class=``) that store, for every real step, the
  :class:`~rewarddesign.machines.Counterfactuals` a
  :class:`~rewarddesign.machines.RewardMachineWrapper` built with ``counterfactual=True`` puts in
  ``info["counterfactual"]`` (the real transition is one of them)::

      env = make_vec_env(task, 1, wrapper_class=machine_wrapper(rm, observation="flat", counterfactual=True))
      model = DQN("MlpPolicy", env, replay_buffer_class=CounterfactualReplayBuffer)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray
from stable_baselines3.common.buffers import DictReplayBuffer, ReplayBuffer

from rewarddesign._validation import check_gamma, check_positive_int, check_real, check_rng
from rewarddesign.machines.machine import RewardMachine
from rewarddesign.machines.potential import machine_potential
from rewarddesign.machines.wrappers import Labeler, _check_labeler, _frozen
from rewarddesign.rewards.wrappers import potential_difference

__all__ = [
    "QLearningResult",
    "q_learning",
    "greedy_return",
    "CounterfactualReplayBuffer",
    "CounterfactualDictReplayBuffer",
]


@dataclass(frozen=True)
class QLearningResult:
    """What :func:`q_learning` returns.

    Attributes:
        q: Action values ``[S, U, A]`` (``U`` in the order of ``machine.states``).
        eval_steps: The training steps at which the greedy policy was evaluated, int ``[E]``.
        eval_returns: Its discounted machine return from the start at those steps, float ``[E]``.
        updates: The number of Q-value updates made (more than the steps with CRM).
        episodes: The number of training episodes started.
    """

    q: NDArray[np.float64]
    eval_steps: NDArray[np.int64]
    eval_returns: NDArray[np.float64]
    updates: int
    episodes: int


def _discrete_n(env: gym.Env) -> int:
    space = env.observation_space
    if not isinstance(space, gym.spaces.Discrete) or int(space.start) != 0:
        raise TypeError(f"env must have a Discrete(n) observation space starting at 0, got {space}")
    if not isinstance(env.action_space, gym.spaces.Discrete) or int(env.action_space.start) != 0:
        raise TypeError(f"env must have a Discrete(n) action space starting at 0, got {env.action_space}")
    return int(space.n)


def greedy_return(
    env: gym.Env,
    machine: RewardMachine,
    q: NDArray[np.float64],
    labeler: Labeler | None = None,
    gamma: float = 0.9,
    horizon: int = 1000,
    seed: int | None = None,
) -> float:
    """The discounted machine return of one greedy episode (ties to the lowest action) of ``q [S, U, A]``.

    The episode ends at a terminal machine state, at the env's end, or after ``horizon`` steps.
    """
    labeler = _check_labeler(labeler)
    obs, info = env.reset(seed=seed)
    u = machine.initial
    total, discount = 0.0, 1.0
    for _ in range(horizon):
        action = int(np.argmax(q[int(obs), machine.index(u)]))
        next_obs, _, terminated, truncated, info = env.step(action)
        u, r = machine.step(u, _frozen(labeler(obs, action, next_obs, info), labeler))
        total += discount * r
        discount *= gamma
        obs = next_obs
        if terminated or truncated or u in machine.terminal:
            break
    return total


def q_learning(
    env: gym.Env,
    machine: RewardMachine,
    labeler: Labeler | None = None,
    *,
    steps: int,
    crm: bool = False,
    shaping: bool = False,
    gamma: float = 0.9,
    lr: float = 0.5,
    epsilon: float = 0.1,
    q_init: float = 1.0,
    shaping_gamma: float | None = None,
    shaping_labels: Iterable[Iterable[str]] | None = None,
    eval_env: gym.Env | None = None,
    eval_every: int = 1000,
    eval_horizon: int = 1000,
    rng: int | np.random.Generator | None = None,
) -> QLearningResult:
    """Tabular epsilon-greedy Q-learning on the product of ``env`` and ``machine``, optionally with CRM and shaping.

    Each step updates ``Q[s, u, a]`` towards ``r + F + gamma * max_a' Q[s', u', a']`` (no bootstrap
    where the machine or the env terminated; ``F`` the machine shaping term when ``shaping``). With
    ``crm`` the same step updates every non-terminal machine state ``u`` with the transition the
    machine would have made from it. Greedy ties are broken uniformly at random.

    Args:
        env: A Gymnasium env with ``Discrete`` observations and actions (its time limit truncates episodes).
        machine: The reward machine; its rewards are the learner's rewards (the env's are ignored).
        labeler: ``labeler(obs, action, next_obs, info)``; None reads ``info["labels"]``.
        steps: Training steps.
        crm: Learn from counterfactual experiences of every machine state.
        shaping: Add ``gamma * phi(u') - phi(u)`` with ``phi`` = :func:`machine_potential`.
        gamma: Discount, in (0, 1).
        lr: Learning rate, in (0, 1].
        epsilon: Exploration rate, in [0, 1].
        q_init: Initial action values (the default 1 is optimistic for rewards in [0, 1]).
        shaping_gamma: Discount of the value iteration on the machine (default ``gamma``).
        shaping_labels: The label sets the env can produce, for the potential (:func:`machine_potential`).
        eval_env: The env the greedy policy is evaluated on (default: no evaluation curve).
        eval_every: Evaluate every this many steps (and at step 0).
        eval_horizon: Longest evaluation episode.
        rng: Seed or generator; the env is reset with seeds drawn from it.

    Raises:
        TypeError: The spaces are not ``Discrete``, or the machine, labeler or rng has the wrong type.
        ValueError: A number is out of its range.
    """
    n_s = _discrete_n(env)
    if not isinstance(machine, RewardMachine):
        raise TypeError(f"machine must be a RewardMachine, got {type(machine).__name__}")
    labeler = _check_labeler(labeler)
    steps = check_positive_int(steps, "steps")
    gamma = check_gamma(gamma)
    lr = check_real(lr, "lr", low=0.0, high=1.0, low_open=True)
    epsilon = check_real(epsilon, "epsilon", low=0.0, high=1.0)
    q_init = check_real(q_init, "q_init")
    eval_every = check_positive_int(eval_every, "eval_every")
    eval_horizon = check_positive_int(eval_horizon, "eval_horizon")
    generator = check_rng(rng)
    n_a = int(env.action_space.n)  # type: ignore[attr-defined]
    n_u = machine.n_states
    index = {u: machine.index(u) for u in machine.states}
    terminal = [u in machine.terminal for u in machine.states]
    live = [k for k in range(n_u) if not terminal[k]]
    phi = (
        machine_potential(machine, gamma if shaping_gamma is None else shaping_gamma, shaping_labels).tolist()
        if shaping
        else [0.0] * n_u
    )
    # Q as nested lists: python scalars are the fastest to read and write one at a time
    q = [[[q_init if not terminal[k] else 0.0] * n_a for k in range(n_u)] for _ in range(n_s)]
    # per label set: for each live machine state k, (k', reward + shaping, machine terminated)
    effects: dict[frozenset[str], list[tuple[int, float, bool]]] = {}

    def effect(labels: frozenset[str]) -> list[tuple[int, float, bool]]:
        rows = []
        for k in range(n_u):
            if terminal[k]:
                rows.append((k, 0.0, True))
                continue
            v, r = machine.step(machine.states[k], labels)
            j = index[v]
            rows.append((j, r, terminal[j]))
        effects[labels] = rows
        return rows

    eval_steps: list[int] = []
    eval_returns: list[float] = []

    def evaluate(at: int) -> None:
        if eval_env is None:
            return
        table = np.array(q)
        eval_steps.append(at)
        eval_returns.append(greedy_return(eval_env, machine, table, labeler, gamma, eval_horizon, seed=0))

    block = 4096
    uniforms = generator.random(block)
    cursor = 0
    updates = 0
    episodes = 1
    obs, info = env.reset(seed=int(generator.integers(2**31)))
    s = int(obs)
    k_real = index[machine.initial]
    evaluate(0)
    for t in range(1, steps + 1):
        if cursor + 2 >= block:
            uniforms = generator.random(block)
            cursor = 0
        row = q[s][k_real]
        if uniforms[cursor] < epsilon:
            a = int(uniforms[cursor + 1] * n_a)
        else:
            best = max(row)
            ties = [i for i in range(n_a) if row[i] == best]
            a = ties[0] if len(ties) == 1 else ties[int(uniforms[cursor + 1] * len(ties))]
        cursor += 2
        next_obs, _, env_terminated, truncated, info = env.step(a)
        s2 = int(next_obs)
        labels = _frozen(labeler(obs, a, next_obs, info), labeler)
        rows = effects.get(labels) or effect(labels)
        for k in live if crm else (k_real,):
            j, r, ended = rows[k]
            done = ended or bool(env_terminated)
            if shaping:
                r = r + potential_difference(phi[k], phi[j], done, gamma)
            target = r if done else r + gamma * max(q[s2][j])
            cell = q[s][k]
            cell[a] += lr * (target - cell[a])
            updates += 1
        k_real = rows[k_real][0]
        if env_terminated or truncated or terminal[k_real]:
            obs, info = env.reset(seed=int(generator.integers(2**31)))
            s = int(obs)
            k_real = index[machine.initial]
            episodes += 1
        else:
            obs, s = next_obs, s2
        if t % eval_every == 0:
            evaluate(t)
    return QLearningResult(
        q=np.array(q, dtype=np.float64),
        eval_steps=np.array(eval_steps, dtype=np.int64),
        eval_returns=np.array(eval_returns, dtype=np.float64),
        updates=updates,
        episodes=episodes,
    )


def _rows(infos: list[dict[str, Any]]) -> list[Any] | None:
    rows: list[Any] = [info.get("counterfactual") for info in infos]
    if any(row is None for row in rows):
        return None
    sizes = {len(row.states) for row in rows}
    if len(sizes) != 1:
        raise ValueError(f"the envs' counterfactuals differ in length {sorted(sizes)}: use one machine for all envs")
    return rows


def _stack(batches: list[Any], k: int) -> Any:
    """Row ``k`` of each env's batch, stacked over envs (a dict of such arrays for dict observations)."""
    if isinstance(batches[0], dict):
        return {key: np.stack([batch[key][k] for batch in batches]) for key in batches[0]}
    return np.stack([batch[k] for batch in batches])


def _add_rows(add: Callable[..., None], action: np.ndarray, infos: list[dict[str, Any]], rows: list[Any]) -> None:
    """Add every env's counterfactual row ``k``, for each ``k``, with SB3's ``add``."""
    truncated = np.array([bool(info.get("TimeLimit.truncated", False)) for info in infos])
    for k in range(len(rows[0].states)):
        ended = np.array([row.terminated[k] for row in rows])
        timeouts = [{"TimeLimit.truncated": bool(t and not e)} for t, e in zip(truncated, ended)]
        add(
            _stack([row.obs for row in rows], k),
            _stack([row.next_obs for row in rows], k),
            action,
            np.array([row.rewards[k] for row in rows], dtype=np.float32),
            ended | truncated,
            timeouts,
        )


class CounterfactualReplayBuffer(ReplayBuffer):
    """SB3's ``ReplayBuffer`` storing each step's counterfactual experiences (CRM), for ``Box`` observations.

    Where every env's ``info`` has ``"counterfactual"`` (a :class:`~rewarddesign.machines.RewardMachineWrapper`
    with ``observation="flat"`` and ``counterfactual=True``), a step adds one transition per
    non-terminal machine state, the real one among them, with the machine's rewards and ends
    (a time-limit truncation stays a truncation unless the machine state would have ended
    there); otherwise it adds the step as SB3 does. Rewards are the machine's: a reward-scaling
    ``VecNormalize`` does not apply to them.
    """

    def add(  # type: ignore[override]
        self,
        obs: np.ndarray,
        next_obs: np.ndarray,
        action: np.ndarray,
        reward: np.ndarray,
        done: np.ndarray,
        infos: list[dict[str, Any]],
    ) -> None:
        rows = _rows(infos)
        if rows is None:
            super().add(obs, next_obs, action, reward, done, infos)
            return
        _add_rows(super().add, action, infos, rows)


class CounterfactualDictReplayBuffer(DictReplayBuffer):
    """:class:`CounterfactualReplayBuffer` for ``Dict`` observations (``observation="dict"``, ``MultiInputPolicy``)."""

    def add(  # type: ignore[override]
        self,
        obs: dict[str, np.ndarray],
        next_obs: dict[str, np.ndarray],
        action: np.ndarray,
        reward: np.ndarray,
        done: np.ndarray,
        infos: list[dict[str, Any]],
    ) -> None:
        rows = _rows(infos)
        if rows is None:
            super().add(obs, next_obs, action, reward, done, infos)
            return
        _add_rows(super().add, action, infos, rows)  # type: ignore[arg-type]
