"""SubPO: policy gradient for submodular rewards (Prajapat et al., ICLR 2024).

With a submodular objective ``F(visited states)`` the reward of a step depends on the history,
so the policy-gradient theorem is applied to the *marginal gains*: each action is credited with
the gains that follow it, ``G_t = sum_{k >= t} (F(S_{k+1}) - F(S_k))``, minus a baseline (the mean
of the other episodes' ``G_t`` in the batch at the same step, which keeps the estimate unbiased). The policy sees

- ``"markov"``: the state and the time step (one-hot each), the paper's Markovian policy;
- ``"history"``: the state, the time step and the set visited so far, a non-Markovian policy.

The ``natural=True`` variant preconditions the gradient with the Fisher information of the
policy: Fisher-vector products by double back-propagation of the KL divergence, conjugate gradient
for the direction, and a step scaled to a target KL.

The simple route works too: SB3 PPO on :class:`~rewarddesign.submodular.SubmodularReward`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from numpy.typing import NDArray
from stable_baselines3.common.torch_layers import create_mlp
from torch import nn

from rewarddesign._seeding import seeded_torch
from rewarddesign._validation import check_device, check_positive_int
from rewarddesign.rollouts import Trajectory, rollout
from rewarddesign.submodular._functions import BaseSetFunction
from rewarddesign.submodular.wrappers import Credit, Element, SubmodularReward

__all__ = ["SubPO", "Episode"]


@dataclass(frozen=True)
class Episode:
    """One SubPO rollout: its trajectory and ``F`` of the set it visited.

    Attributes:
        trajectory: Observations are the policy's inputs ``[T + 1, d]`` (:meth:`SubPO.policy_input`),
            rewards the credited gains ``[T]``.
        value: ``F`` of the visited set at the end.
    """

    trajectory: Trajectory
    value: float

    @property
    def inputs(self) -> NDArray[np.float32]:
        """The policy inputs ``[T, d]`` the actions were drawn from."""
        return self.trajectory.obs[:-1]

    @property
    def actions(self) -> NDArray[np.int64]:
        """``[T]``."""
        return self.trajectory.acts

    @property
    def gains(self) -> NDArray[np.float64]:
        """The credited gains ``[T]`` (the rewards of :class:`~rewarddesign.submodular.SubmodularReward`)."""
        return self.trajectory.rews


class _PolicyInputs(gym.Wrapper):
    """Observations become SubPO's policy inputs (state, step, visited set); episodes end at ``horizon``."""

    def __init__(
        self, env: SubmodularReward, inputs: Callable[[int, int, Sequence[int]], NDArray[np.float32]], horizon: int
    ) -> None:
        super().__init__(env)
        self.inputs, self.horizon, self.t = inputs, horizon, 0
        size = len(inputs(0, 0, ()))
        self.observation_space = gym.spaces.Box(0.0, 1.0, (size,), np.float32)

    def _observe(self, obs: Any) -> NDArray[np.float32]:
        return self.inputs(obs, self.t, self.get_wrapper_attr("state").items)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self.t = 0
        return self._observe(obs), info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.t += 1
        return self._observe(obs), reward, terminated, truncated or self.t >= self.horizon, info


@dataclass
class _Log:
    iteration: list[int] = field(default_factory=list)
    mean_value: list[float] = field(default_factory=list)


class SubPO:
    """Submodular policy optimisation on a tabular env (``Discrete`` observations and actions).

    Args:
        env: The env; its own reward is ignored. The episodes of a batch run in lockstep on
            ``copy.deepcopy`` copies of it.
        set_function: ``F``.
        horizon: Episode length ``H`` (the env may end earlier).
        policy: ``"markov"`` (state, time) or ``"history"`` (state, time, visited set).
        element: ``element(obs, info) -> int``; by default the observation index.
        credit: ``"marginal"`` (SubPO) or ``"modular"``: the same learner on the modular-RL reward
            ``F({s_t})`` per step, the baseline that counts repeat visits. ``F`` of the visited set
            is reported either way.
        hidden_sizes: The policy network's hidden layers; ``()`` gives a tabular softmax.
        learning_rate: Adam's step size (plain gradient).
        episodes_per_update: Rollouts per gradient step.
        natural: Use the natural gradient (conjugate gradient on Fisher-vector products).
        max_kl: The natural step's KL size.
        cg_iterations: Conjugate-gradient iterations.
        damping: Added to the Fisher matrix for the solve.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        seed: Seeds the rollouts and the network.
    """

    def __init__(
        self,
        env: gym.Env,
        set_function: BaseSetFunction,
        horizon: int,
        *,
        policy: Literal["markov", "history"] = "markov",
        element: Element | None = None,
        credit: Credit = "marginal",
        hidden_sizes: Sequence[int] = (64, 64),
        learning_rate: float = 1e-2,
        episodes_per_update: int = 32,
        natural: bool = False,
        max_kl: float = 0.01,
        cg_iterations: int = 10,
        damping: float = 0.1,
        device: torch.device | str = "auto",
        seed: int | None = None,
    ) -> None:
        if not isinstance(env.observation_space, gym.spaces.Discrete) or not isinstance(
            env.action_space, gym.spaces.Discrete
        ):
            raise TypeError(
                f"SubPO needs Discrete observations and actions, got {env.observation_space} and {env.action_space}"
            )
        if policy not in ("markov", "history"):
            raise ValueError(f"policy must be 'markov' or 'history', got {policy!r}")
        check_positive_int(horizon, "horizon")
        self.env = SubmodularReward(env, set_function, element, credit=credit)
        self.set_function, self.horizon, self.policy_kind = set_function, horizon, policy
        self.n_states, self.n_actions = int(env.observation_space.n), int(env.action_space.n)
        self.episodes_per_update, self.natural = episodes_per_update, natural
        self.max_kl, self.cg_iterations, self.damping = max_kl, cg_iterations, damping
        self.device = check_device(device)
        self.rng = np.random.default_rng(seed)
        input_dim = self.n_states + horizon + (set_function.n_items if policy == "history" else 0)
        self.input_dim = input_dim
        with seeded_torch(seed):  # the initial weights, from the seed alone
            layers = create_mlp(input_dim, self.n_actions, list(hidden_sizes), nn.Tanh)
        self.network = nn.Sequential(*layers).to(self.device)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=learning_rate)
        self.log = _Log()
        self._seed = int(self.rng.integers(2**31))
        self._envs = [_PolicyInputs(self.env, self.policy_input, horizon)]

    # ------------------------------------------------------------------ rollouts

    def policy_input(self, obs: int, t: int, visited: Sequence[int] = ()) -> np.ndarray:
        """The policy's input: one-hot state and step, and (``"history"``) the visited elements."""
        x = np.zeros(self.input_dim, dtype=np.float32)
        x[int(obs)] = 1.0
        x[self.n_states + min(t, self.horizon - 1)] = 1.0
        if self.policy_kind == "history":
            x[self.n_states + self.horizon + np.asarray(visited, dtype=np.int64)] = 1.0
        return x

    def logits(self, inputs: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Action logits ``[N, A]`` for policy inputs ``[N, d]``."""
        return self.network(torch.as_tensor(inputs, dtype=torch.float32, device=self.device))

    def rollout(self, deterministic: bool = False) -> Episode:
        """One episode of at most ``horizon`` steps under the current policy."""
        return self.rollouts(1, deterministic)[0]

    def rollouts(self, n: int, deterministic: bool = False) -> list[Episode]:
        """``n`` episodes, stepped in lockstep so that each step evaluates the policy once for all of them.

        Episode ``i`` runs on its own copy of the env, reset with the agent's next seed plus ``i``.
        """
        check_positive_int(n, "n")
        while len(self._envs) < n:  # independent copies of the wrapped env, one per parallel episode
            self._envs.append(_PolicyInputs(copy.deepcopy(self.env), self.policy_input, self.horizon))
        envs = self._envs[:n]
        trajectories = rollout(self._act(deterministic), envs, n_episodes=n, seed=self._seed, record_infos=False)
        self._seed += n
        return [Episode(t, float(env.get_wrapper_attr("state").value)) for t, env in zip(trajectories, envs)]

    def _act(self, deterministic: bool) -> Callable[[NDArray[np.float32]], NDArray[np.int64]]:
        """Actions for a batch of policy inputs: greedy, or sampled with the agent's generator."""

        def act(x: NDArray[np.float32]) -> NDArray[np.int64]:
            with torch.no_grad():
                probs = torch.softmax(self.logits(x).double(), -1).cpu().numpy()
            if deterministic:
                return probs.argmax(1)
            # inverse-CDF sampling for all episodes at once
            chosen = (probs.cumsum(1) < self.rng.random((len(x), 1)) * probs.sum(1, keepdims=True)).sum(1)
            return np.minimum(chosen, self.n_actions - 1)

        return act

    # ------------------------------------------------------------------ gradients

    def surrogate(self, episodes: Sequence[Episode]) -> torch.Tensor:
        """The surrogate whose gradient is the SubPO estimate: mean of ``log pi(a_t | x_t) (G_t - b_t)``."""
        to_go = [np.cumsum(e.gains[::-1])[::-1] for e in episodes]
        longest = max(len(g) for g in to_go)
        sums, counts = np.zeros(longest), np.zeros(longest)
        for g in to_go:
            sums[: len(g)] += g
            counts[: len(g)] += 1

        def baseline(g: np.ndarray) -> np.ndarray:
            # leave-one-out mean of the other episodes' reward-to-go at the same step: keeps the estimate unbiased
            others = counts[: len(g)] - 1
            return np.divide(sums[: len(g)] - g, others, out=np.zeros(len(g)), where=others > 0)

        inputs = np.concatenate([e.inputs for e in episodes])
        actions = torch.as_tensor(np.concatenate([e.actions for e in episodes]), device=self.device)
        advantages = np.concatenate([g - baseline(g) for g in to_go])
        advantages = torch.as_tensor(advantages, dtype=torch.float32, device=self.device)
        log_probs = torch.log_softmax(self.logits(inputs), -1).gather(1, actions[:, None])[:, 0]
        return (log_probs * advantages).sum() / len(episodes)

    def gradient(self, episodes: Sequence[Episode]) -> torch.Tensor:
        """The SubPO gradient estimate of ``E[F(visited)]`` as one flat vector."""
        grads = torch.autograd.grad(self.surrogate(episodes), list(self.network.parameters()))
        return torch.cat([g.reshape(-1) for g in grads])

    def _fisher_vector(self, inputs: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
        params = list(self.network.parameters())
        logits = self.logits(inputs)
        fixed = torch.softmax(logits, -1).detach()
        kl = (fixed * (torch.log(fixed + 1e-12) - torch.log_softmax(logits, -1))).sum(-1).mean()
        grads = torch.cat([g.reshape(-1) for g in torch.autograd.grad(kl, params, create_graph=True)])
        hvp = torch.autograd.grad(grads @ vector, params)
        return torch.cat([h.reshape(-1) for h in hvp]) + self.damping * vector

    def _conjugate_gradient(self, inputs: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        x = torch.zeros_like(b)
        r, p = b.clone(), b.clone()
        rr = r @ r
        for _ in range(self.cg_iterations):
            fp = self._fisher_vector(inputs, p)
            alpha = rr / (p @ fp + 1e-12)
            x += alpha * p
            r -= alpha * fp
            new_rr = r @ r
            if new_rr < 1e-12:
                break
            p = r + (new_rr / rr) * p
            rr = new_rr
        return x

    def update(self, episodes: Sequence[Episode]) -> None:
        """One ascent step on ``E[F]`` from a batch of episodes."""
        if not self.natural:
            self.optimizer.zero_grad()
            (-self.surrogate(episodes)).backward()
            self.optimizer.step()
            return
        g = self.gradient(episodes).detach()
        inputs = torch.as_tensor(np.concatenate([e.inputs for e in episodes]), dtype=torch.float32, device=self.device)
        direction = self._conjugate_gradient(inputs, g)
        curvature = direction @ self._fisher_vector(inputs, direction)
        step = torch.sqrt(2 * self.max_kl / (curvature + 1e-12)) * direction
        offset = 0
        with torch.no_grad():
            for p in self.network.parameters():
                p += step[offset : offset + p.numel()].reshape(p.shape)
                offset += p.numel()

    def learn(self, iterations: int) -> SubPO:
        """Run ``iterations`` updates; ``log`` records the mean ``F`` of each batch."""
        for _ in range(iterations):
            episodes = self.rollouts(self.episodes_per_update)
            self.log.iteration.append(len(self.log.iteration))
            self.log.mean_value.append(float(np.mean([e.value for e in episodes])))
            self.update(episodes)
        return self

    def evaluate(self, n_episodes: int = 10, deterministic: bool = True) -> float:
        """Mean ``F(visited)`` over ``n_episodes`` (each from its own copy of the env)."""
        return float(np.mean([e.value for e in self.rollouts(n_episodes, deterministic)]))
