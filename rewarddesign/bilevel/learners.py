"""Inner learners whose policy update is differentiable in the reward's parameters.

Episodes are collected in lockstep from a set of envs (one policy evaluation per step for all),
padded to a batch. A learner turns a batch and a :class:`~rewarddesign.bilevel.blend.BlendedReward`
into a scalar surrogate ``L(theta, phi)`` whose gradient in ``theta`` is its policy-gradient
estimate, computed from returns under ``r_phi`` and ``gamma_phi`` with the graph to ``phi`` kept:
that is what the implicit outer gradient differentiates.

- :class:`Reinforce`: returns-to-go with a per-step batch-mean baseline.
- :class:`ActorCritic`: a critic ``V(s)`` fitted to the blended returns, and generalised advantage
  estimates ``sum_l (gamma lambda)^l delta_{t+l}``, ``delta_t = r_phi + gamma_phi V(s') - V(s)``.

Whatever the inner learner, the outer gradient (of the primary return) is estimated by
:func:`reinforce_advantages` of the primary reward: a critic fitted to blended returns knows
nothing of the primary return alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rewarddesign.rewards import check_rewards

__all__ = [
    "Batch",
    "PolicyNet",
    "Reinforce",
    "ActorCritic",
    "collect_episodes",
    "concat_batches",
    "discounted_sums",
    "reinforce_advantages",
]


def _mlp(n_in: int, hidden: Sequence[int], n_out: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(n_in, width), nn.Tanh()]
        n_in = width
    layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


class PolicyNet(nn.Module):
    """A categorical policy: an MLP from flattened observations to action logits."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: Sequence[int] = (64, 64)) -> None:
        super().__init__()
        self.net = _mlp(obs_dim, hidden, n_actions)

    def distribution(self, obs: torch.Tensor) -> torch.distributions.Categorical:
        return torch.distributions.Categorical(logits=self.net(obs))


@dataclass
class Batch:
    """Padded episodes: ``N`` episodes of at most ``T`` steps (tensors on the learner's device).

    Attributes:
        obs: ``[N, T, obs_dim]``; next_obs: ``[N, T, obs_dim]``.
        actions: ``[N, T]`` (long); primary: ``[N, T]`` the env's reward; shaping: ``[N, T]`` a
        fixed extra reward for the inner learner (zeros when none); aux: ``[N, T, K]`` the
        auxiliary rewards; features: ``[N, T, d]`` of ``obs``.
        mask: ``[N, T]`` 1 on real steps; terminated: ``[N, T]`` 1 where the step ended the MDP.
        returns: ``[N]`` undiscounted primary return of each episode (without shaping);
        successes: ``[N]`` the last step's ``info["success"]`` where the env reports one, else nan.
    """

    obs: torch.Tensor
    next_obs: torch.Tensor
    actions: torch.Tensor
    primary: torch.Tensor
    shaping: torch.Tensor
    aux: torch.Tensor
    features: torch.Tensor
    mask: torch.Tensor
    terminated: torch.Tensor
    returns: np.ndarray
    successes: np.ndarray


def collect_episodes(
    envs: Sequence[gym.Env],
    policy: PolicyNet,
    aux_rewards: Sequence[Callable[..., Any]],
    features: Callable[[np.ndarray], np.ndarray],
    seeds: Sequence[int],
    device: torch.device,
    shaping: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None,
    generator: torch.Generator | None = None,
) -> Batch:
    """One episode from each env, in lockstep, with actions sampled from ``policy``.

    ``shaping(obs, act, next_obs, next_act, terminated) -> [B]``, when given, fills the batch's
    ``shaping`` (``next_act`` is -1 after an episode's last step). Actions are drawn with
    ``generator`` (a CPU :class:`torch.Generator`; ``None``: torch's global one).
    """
    n = len(envs)
    obs = [np.asarray(env.reset(seed=int(s))[0], dtype=np.float32).reshape(-1) for env, s in zip(envs, seeds)]
    trajectories: list[dict[str, list[Any]]] = [
        {k: [] for k in ("obs", "next_obs", "act", "rew", "term")} for _ in range(n)
    ]
    success = np.full(n, np.nan)
    active = list(range(n))
    while active:
        with torch.no_grad():
            x = torch.as_tensor(np.stack([obs[i] for i in active]), device=device)
            probs = policy.distribution(x).probs.cpu()
            actions = torch.multinomial(probs, 1, True, generator=generator)[:, 0].numpy()
        still = []
        for i, a in zip(active, actions):
            nxt, reward, terminated, truncated, info = envs[i].step(int(a))
            nxt = np.asarray(nxt, dtype=np.float32).reshape(-1)
            traj = trajectories[i]
            traj["obs"].append(obs[i])
            traj["next_obs"].append(nxt)
            traj["act"].append(int(a))
            traj["rew"].append(float(reward))
            traj["term"].append(bool(terminated))
            obs[i] = nxt
            if terminated or truncated:
                if "success" in info:
                    success[i] = float(info["success"])
            else:
                still.append(i)
        active = still
    horizon = max(len(t["act"]) for t in trajectories)
    obs_dim = len(trajectories[0]["obs"][0])
    o = np.zeros((n, horizon, obs_dim), np.float32)
    o2 = np.zeros_like(o)
    act = np.zeros((n, horizon), np.int64)
    rew = np.zeros((n, horizon))
    term = np.zeros((n, horizon))
    mask = np.zeros((n, horizon))
    for i, t in enumerate(trajectories):
        length = len(t["act"])
        o[i, :length], o2[i, :length] = t["obs"], t["next_obs"]
        act[i, :length], rew[i, :length], term[i, :length], mask[i, :length] = t["act"], t["rew"], t["term"], 1.0
    valid = mask.reshape(-1) > 0
    flat = (o.reshape(n * horizon, obs_dim)[valid], act.reshape(-1)[valid], o2.reshape(n * horizon, obs_dim)[valid])
    done = term.reshape(-1)[valid] > 0
    aux = np.zeros((n * horizon, len(aux_rewards)))
    for k, fn in enumerate(aux_rewards):
        aux[valid, k] = check_rewards(fn(*flat, done), len(done), f"auxiliary reward {k}")
    feats = np.asarray(features(o.reshape(n * horizon, obs_dim)), dtype=np.float64)
    if feats.ndim != 2 or len(feats) != n * horizon or not np.all(np.isfinite(feats)):
        raise ValueError(f"features must return finite [B, d] arrays, got shape {feats.shape}")
    extra = np.zeros(n * horizon)
    if shaping is not None:
        next_act = np.full((n, horizon), -1, np.int64)
        next_act[:, :-1] = np.where(mask[:, 1:] > 0, act[:, 1:], -1)
        extra[valid] = check_rewards(shaping(*flat, next_act.reshape(-1)[valid], done), len(done), "shaping")
    as_t = lambda a, dtype=torch.float32: torch.as_tensor(a, dtype=dtype, device=device)  # noqa: E731
    return Batch(
        obs=as_t(o),
        next_obs=as_t(o2),
        actions=as_t(act, torch.long),
        primary=as_t(rew),
        shaping=as_t(extra.reshape(n, horizon)),
        aux=as_t(aux.reshape(n, horizon, len(aux_rewards))),
        features=as_t(feats.reshape(n, horizon, -1)),
        mask=as_t(mask),
        terminated=as_t(term),
        returns=(rew * mask).sum(1),
        successes=success,
    )


def discounted_sums(values: torch.Tensor, discount: torch.Tensor | float) -> torch.Tensor:
    """``out[n, t] = sum_{j >= t} discount^(j - t) values[n, j]`` for ``values [N, T]``, differentiable in both."""
    horizon = values.shape[-1]
    steps = torch.arange(horizon, device=values.device, dtype=values.dtype)
    lag = steps[None, :] - steps[:, None]  # j - t
    discount = torch.as_tensor(discount, dtype=values.dtype, device=values.device)
    weights = discount ** lag.clamp(min=0) * (lag >= 0).to(values.dtype)
    return values @ weights.T


def concat_batches(batches: Sequence[Batch]) -> Batch:
    """The episodes of several batches as one, padded to the longest horizon (with zeros, mask 0)."""
    if not batches:
        raise ValueError("concat_batches needs at least one batch")
    if len(batches) == 1:
        return batches[0]
    horizon = max(b.mask.shape[1] for b in batches)

    def pad(t: torch.Tensor) -> torch.Tensor:
        extra = horizon - t.shape[1]
        if extra == 0:
            return t
        return torch.cat([t, t.new_zeros((t.shape[0], extra, *t.shape[2:]))], dim=1)

    tensors = ("obs", "next_obs", "actions", "primary", "shaping", "aux", "features", "mask", "terminated")
    fields: dict[str, Any] = {name: torch.cat([pad(getattr(b, name)) for b in batches]) for name in tensors}
    fields["returns"] = np.concatenate([b.returns for b in batches])
    fields["successes"] = np.concatenate([b.successes for b in batches])
    return Batch(**fields)


def _baselined(returns: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Returns minus the mean over the episodes still running at each step, over a (detached) scale."""
    alive = mask.sum(0).clamp(min=1.0)
    advantage = (returns - (returns * mask).sum(0) / alive) * mask
    scale = advantage.detach().pow(2).sum().div(mask.sum()).sqrt() + 1e-8
    return advantage / scale


def reinforce_advantages(batch: Batch, rewards: torch.Tensor, gamma: torch.Tensor | float) -> torch.Tensor:
    """Returns-to-go of ``rewards [N, T]`` under ``gamma``, minus the batch mean per step, over a detached scale.

    ``(log pi * A).sum() / N`` with these ``A [N, T]`` is the REINFORCE surrogate of the expected
    (``gamma``-discounted) return of ``rewards``; it uses nothing but the batch and ``rewards``.
    """
    return _baselined(discounted_sums(rewards * batch.mask, torch.as_tensor(gamma)), batch.mask)


class Reinforce:
    """REINFORCE on the blended reward, with a batch-mean baseline per step.

    The surrogate is ``sum_{n,t} log pi(a_t | s_t) A_t / N`` with ``A_t`` the blended return-to-go
    minus the baseline, over a detached scale (so that the Neumann step means the same across
    reward scales; a constant factor leaves the inner solution, and hence the hypergradient, as it is).
    """

    def __init__(self, policy: PolicyNet, lr: float = 1e-2) -> None:
        self.policy = policy
        self.optimizer = torch.optim.Adam(policy.parameters(), lr=lr)

    def log_probs(self, batch: Batch) -> torch.Tensor:
        return self.policy.distribution(batch.obs).log_prob(batch.actions) * batch.mask

    def advantages(self, batch: Batch, rewards: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
        return reinforce_advantages(batch, rewards, gamma)

    def surrogate(self, batch: Batch, rewards: torch.Tensor, gamma: torch.Tensor | float) -> torch.Tensor:
        """``L``: its gradient in the policy's parameters is the policy-gradient estimate."""
        advantage = self.advantages(batch, rewards, torch.as_tensor(gamma))
        return (self.log_probs(batch) * advantage).sum() / batch.mask.shape[0]

    def step(self, batch: Batch, rewards: torch.Tensor, gamma: torch.Tensor) -> None:
        """One ascent step of the policy on the (detached) blended reward."""
        self.optimizer.zero_grad()
        (-self.surrogate(batch, rewards.detach(), gamma.detach())).backward()
        self.optimizer.step()


class ActorCritic(Reinforce):
    """Advantage actor-critic on the blended reward (GAE), the critic fitted to blended returns.

    Args:
        policy: The actor.
        critic: ``V(s)``: a network from observations to ``[.., 1]``.
        lr: Learning rate of both.
        gae_lambda: ``lambda`` of the advantage estimates.
    """

    def __init__(self, policy: PolicyNet, critic: nn.Module, lr: float = 1e-2, gae_lambda: float = 0.95) -> None:
        super().__init__(policy, lr)
        self.critic, self.gae_lambda = critic, float(gae_lambda)
        self.critic_optimizer = torch.optim.Adam(critic.parameters(), lr=lr)

    def advantages(self, batch: Batch, rewards: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            value = self.critic(batch.obs).squeeze(-1)
            next_value = self.critic(batch.next_obs).squeeze(-1) * (1 - batch.terminated)
        delta = (rewards + gamma * next_value - value) * batch.mask
        advantage = discounted_sums(delta, gamma * self.gae_lambda) * batch.mask
        scale = advantage.detach().pow(2).sum().div(batch.mask.sum()).sqrt() + 1e-8
        return advantage / scale

    def step(self, batch: Batch, rewards: torch.Tensor, gamma: torch.Tensor) -> None:
        super().step(batch, rewards, gamma)
        target = discounted_sums(rewards.detach() * batch.mask, gamma.detach())
        self.critic_optimizer.zero_grad()
        error = (self.critic(batch.obs).squeeze(-1) - target) * batch.mask
        (error.pow(2).sum() / batch.mask.sum()).backward()
        self.critic_optimizer.step()
