"""Inner learners whose policy update is differentiable in the reward's parameters.

Episodes come from :func:`~rewarddesign.rollouts.rollout` on a set of envs in lockstep (one
policy evaluation per step for all, :meth:`PolicyNet.sampler` drawing the actions), padded to a
:class:`Batch` by :meth:`Batch.from_trajectories`. A learner turns a batch and a
:class:`~rewarddesign.bilevel.blend.BlendedReward` into a scalar surrogate ``L(theta, phi)`` whose
gradient in ``theta`` is its policy-gradient estimate, computed from returns under ``r_phi`` and
``gamma_phi`` with the graph to ``phi`` kept: that is what the implicit outer gradient differentiates.

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

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from rewarddesign._validation import check_positive_int, check_real
from rewarddesign.rewards import check_rewards
from rewarddesign.rollouts import Trajectory

ShapingFn = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""``shaping(obs, act, next_obs, next_act, terminated) -> [B]`` (``next_act`` -1 after the last step)."""

__all__ = [
    "Batch",
    "PolicyNet",
    "Reinforce",
    "ActorCritic",
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
        check_positive_int(obs_dim, "obs_dim")
        check_positive_int(n_actions, "n_actions")
        for width in hidden:
            check_positive_int(width, "hidden")
        self.net = _mlp(obs_dim, hidden, n_actions)

    def distribution(self, obs: torch.Tensor) -> torch.distributions.Categorical:
        return torch.distributions.Categorical(logits=self.net(obs))

    def sampler(self, generator: torch.Generator | None = None) -> Callable[[NDArray[Any]], NDArray[np.int64]]:
        """A :func:`~rewarddesign.rollouts.rollout` policy: an action sampled for each observation of a batch.

        Observations are flattened to float32 ``[B, obs_dim]`` on the net's device; the actions are
        drawn with ``generator`` (a CPU :class:`torch.Generator`; ``None``: torch's global one).
        """
        device = next(self.parameters()).device

        def act(obs: NDArray[Any]) -> NDArray[np.int64]:
            with torch.no_grad():
                x = torch.as_tensor(np.asarray(obs, dtype=np.float32).reshape(len(obs), -1), device=device)
                probs = self.distribution(x).probs.cpu()
                return torch.multinomial(probs, 1, True, generator=generator)[:, 0].numpy()

        return act


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

    @classmethod
    def from_trajectories(
        cls,
        trajectories: Sequence[Trajectory],
        aux_rewards: Sequence[Callable[..., Any]],
        features: Callable[[np.ndarray], np.ndarray],
        device: torch.device,
        shaping: ShapingFn | None = None,
    ) -> Batch:
        """Pad ``trajectories`` (one episode each) into a batch on ``device``.

        ``aux_rewards[k](obs, act, next_obs, terminated) -> [B]`` fill ``aux``; ``features(obs [B, obs_dim])``
        fills ``features``; ``shaping(obs, act, next_obs, next_act, terminated) -> [B]``, when given, fills
        ``shaping`` (``next_act`` is -1 after an episode's last step). ``successes`` is the last step's
        ``info["success"]`` where it is recorded.
        """
        n = len(trajectories)
        if n == 0:
            raise ValueError("trajectories must not be empty")
        horizon = max(len(t) for t in trajectories)
        obs_dim = int(np.prod(trajectories[0].obs.shape[1:], dtype=np.int64))
        o = np.zeros((n, horizon, obs_dim), np.float32)
        o2 = np.zeros_like(o)
        act = np.zeros((n, horizon), np.int64)
        rew = np.zeros((n, horizon))
        term = np.zeros((n, horizon))
        mask = np.zeros((n, horizon))
        success = np.full(n, np.nan)
        for i, t in enumerate(trajectories):
            length = len(t)
            flat = np.asarray(t.obs, dtype=np.float32).reshape(length + 1, -1)
            o[i, :length], o2[i, :length] = flat[:-1], flat[1:]
            act[i, :length], rew[i, :length], mask[i, :length] = t.acts, t.rews, 1.0
            term[i, length - 1] = float(t.terminated)
            if t.infos and "success" in t.infos[-1]:
                success[i] = float(t.infos[-1]["success"])
        valid = mask.reshape(-1) > 0
        flat_steps = (
            o.reshape(n * horizon, obs_dim)[valid],
            act.reshape(-1)[valid],
            o2.reshape(n * horizon, obs_dim)[valid],
        )
        done = term.reshape(-1)[valid] > 0
        aux = np.zeros((n * horizon, len(aux_rewards)))
        for k, fn in enumerate(aux_rewards):
            aux[valid, k] = check_rewards(fn(*flat_steps, done), len(done), f"auxiliary reward {k}")
        feats = np.asarray(features(o.reshape(n * horizon, obs_dim)), dtype=np.float64)
        if feats.ndim != 2 or len(feats) != n * horizon or not np.all(np.isfinite(feats)):
            raise ValueError(f"features must return finite [B, d] arrays, got shape {feats.shape}")
        extra = np.zeros(n * horizon)
        if shaping is not None:
            next_act = np.full((n, horizon), -1, np.int64)
            next_act[:, :-1] = np.where(mask[:, 1:] > 0, act[:, 1:], -1)
            extra[valid] = check_rewards(shaping(*flat_steps, next_act.reshape(-1)[valid], done), len(done), "shaping")
        as_t = lambda a, dtype=torch.float32: torch.as_tensor(a, dtype=dtype, device=device)  # noqa: E731
        return cls(
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
    """``out[n, t] = sum_{j >= t} discount^(j - t) values[n, j]`` for ``values [N, T]``, differentiable in both.

    Raises:
        ValueError: ``discount`` lies outside [0, 1] or is NaN.
    """
    horizon = values.shape[-1]
    steps = torch.arange(horizon, device=values.device, dtype=values.dtype)
    lag = steps[None, :] - steps[:, None]  # j - t
    discount = torch.as_tensor(discount, dtype=values.dtype, device=values.device)
    if not bool(((discount >= 0) & (discount <= 1)).all()):
        raise ValueError(f"discount must lie in [0, 1], got {discount.detach().cpu().numpy()!r}")
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
        lr = check_real(lr, "lr", low=0.0, low_open=True)
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
        self.critic, self.gae_lambda = critic, check_real(gae_lambda, "gae_lambda", low=0.0, high=1.0)
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
