"""Behaviour alignment (BARFI): learn how to blend heuristic rewards, and the discount.

Gupta, Chandak, Jordan, Thomas and da Silva ("Behavior Alignment via Reward Function
Optimization", NeurIPS 2023). The designer gives the environment (its reward is the primary
reward, the one that says what the task is), heuristic auxiliary rewards of ``(s, a, s')`` and
state features. The inner learner trains a policy on the blended reward
``r_phi = phi_1(s) + r_p + sum_k phi_{2,k}(s) r_aux,k`` with discount ``gamma_phi``; the outer loop
moves ``phi`` and ``gamma_phi`` along the implicit gradient of the primary return of the learner's
policy (:func:`~rewarddesign.bilevel.hypergradient.implicit_hypergradient`), so a heuristic that
helps is used more and one that misleads is turned down or off, state by state.

The outer gradient is always estimated from the primary reward alone (REINFORCE returns-to-go of
``r_p`` under ``outer_gamma``, :meth:`BehaviorAlignment.outer_objective`), whatever the inner
learner: the actor-critic's critic is fitted to the blended reward and says nothing about the
primary return.

Schedule. By default every update collects a batch, takes one outer step on the blend and then
one inner step of the policy. The implicit-function step assumes the policy is near a stationary
point of the inner objective; the reference implementation therefore runs several inner steps per
outer step, a warm-up of inner steps before the first outer step, and estimates the Hessian term
on a larger batch than the outer gradient. ``inner_steps``, ``warmup_steps`` and
``hessian_episodes`` give that schedule.

After :meth:`BehaviorAlignment.learn`, the blend is a reward like any other:
:class:`~rewarddesign.bilevel.blend.BehaviorAlignedReward` wraps an env with it (frozen), so any SB3
algorithm can train on it.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from rewarddesign._seeding import seeded_torch
from rewarddesign._validation import check_device
from rewarddesign.bilevel.blend import BehaviorAlignedReward, BlendedReward, blended_rewards, flat_features
from rewarddesign.bilevel.hypergradient import implicit_hypergradient
from rewarddesign.bilevel.learners import (
    ActorCritic,
    Batch,
    PolicyNet,
    Reinforce,
    _mlp,
    concat_batches,
    reinforce_advantages,
)
from rewarddesign.rollouts import rollout

__all__ = ["BehaviorAlignment", "LEARNERS"]

LEARNERS = ("reinforce", "actor-critic")


class BehaviorAlignment:
    """Learn a blend of a primary reward with heuristics, and a discount, by implicit gradients.

    Args:
        env: A Gymnasium env id or a callable that makes the env (discrete actions); its reward
            is the primary reward.
        aux_rewards: Heuristic rewards ``(obs, act, next_obs, done) -> float [B]``; none gives
            the primary reward alone.
        features: ``obs [B, ...] -> float [B, d]``, the state features of ``phi`` (default: the
            flattened observation; see :func:`~rewarddesign.bilevel.blend.tile_coding`).
        learner: ``"reinforce"`` or ``"actor-critic"``.
        episodes_per_update: Episodes collected (in lockstep) for each update.
        inner_lr: Adam step of the policy (and critic).
        outer_lr: Adam step of ``phi`` and the discount's logit.
        neumann_steps: ``K`` terms of the Neumann series (0: the first-order variant).
        neumann_alpha: The series' step.
        phi_reg: Weight of ``||phi - phi_0||^2`` subtracted from the outer objective.
        gamma_reg: Weight of ``(w - w_0)^2`` on the discount's logit.
        gamma: The initial discount (0.99).
        aux_init: Initial weight of every heuristic (1: the naive sum).
        learn_blend: False keeps the blend and discount as initialised (the naive-sum baseline).
        outer_gamma: Discount of the primary return that the outer loop maximises.
        shaping: A fixed extra reward ``(obs, act, next_obs, next_act, terminated) -> [B]``
            added to the primary reward of the inner learner only (the potential baseline).
        policy_hidden: Hidden sizes of the policy (and critic) MLP.
        blend_hidden: Hidden sizes of ``phi``'s network (empty: linear in the features).
        inner_steps: Inner policy updates per outer step (1: alternate, the default). Each inner
            update uses a fresh batch of ``episodes_per_update`` episodes; the outer step is
            taken on the batch of every ``inner_steps``-th update, before that update's inner step.
        warmup_steps: Inner updates on the initial blend before the first outer step (default 0).
        hessian_episodes: Episodes on which the inner objective's Hessian and cross term
            (``H`` and ``B``) are estimated: the most recent ones collected *before* the outer
            step's batch, which serves ``grad J`` alone (as in the reference implementation).
            ``None`` (default): the outer step's own batch serves both. Must not exceed the
            episodes collected before the first outer step (``warmup_steps * episodes_per_update``).
        device: ``"auto"`` (CUDA when there is one), ``"cpu"``, ...
        seed: Seeds the networks and the episodes (torch's global generator is left as it was).

    Attributes:
        policy: The learner's :class:`~rewarddesign.bilevel.learners.PolicyNet`.
        blend: The :class:`~rewarddesign.bilevel.blend.BlendedReward`.
        inner_updates: Inner (policy) updates taken so far.
        outer_updates: Outer (blend) updates taken so far.
        history: One dict per update: episodes so far, mean primary return, success rate, the
            discount, the mean bonus and mean weight of each heuristic over the batch's states,
            all of ``phi``'s parameters by name, the wall time of the outer step (0 where none
            was taken), whether an outer step was taken (``"outer_step"``) and how many episodes
            the Hessian term was estimated on (``"hessian_episodes"``, 0 where no outer step).
    """

    def __init__(
        self,
        env: str | Callable[[], gym.Env],
        aux_rewards: Sequence[Callable[..., Any]] = (),
        features: Callable[[np.ndarray], np.ndarray] | None = None,
        *,
        learner: str = "reinforce",
        episodes_per_update: int = 16,
        inner_lr: float = 1e-2,
        outer_lr: float = 0.15,
        neumann_steps: int = 5,
        neumann_alpha: float = 1e-4,
        phi_reg: float = 1e-3,
        gamma_reg: float = 1e-3,
        gamma: float = 0.99,
        aux_init: float = 1.0,
        learn_blend: bool = True,
        outer_gamma: float = 1.0,
        shaping: Callable[..., np.ndarray] | None = None,
        policy_hidden: Sequence[int] = (64, 64),
        blend_hidden: Sequence[int] = (),
        inner_steps: int = 1,
        warmup_steps: int = 0,
        hessian_episodes: int | None = None,
        device: str = "auto",
        seed: int = 0,
    ) -> None:
        if learner not in LEARNERS:
            raise ValueError(f"learner must be one of {LEARNERS}, got {learner!r}")
        if episodes_per_update < 2:
            raise ValueError(f"episodes_per_update must be >= 2 (a batch-mean baseline), got {episodes_per_update}")
        if not isinstance(neumann_steps, int) or neumann_steps < 0 or not neumann_alpha > 0:
            raise ValueError(f"need neumann_steps >= 0 and neumann_alpha > 0, got {neumann_steps}, {neumann_alpha}")
        if not 0 < outer_gamma <= 1:
            raise ValueError(f"outer_gamma must be in (0, 1], got {outer_gamma!r}")
        if isinstance(inner_steps, bool) or not isinstance(inner_steps, int) or inner_steps < 1:
            raise ValueError(f"inner_steps must be an integer >= 1, got {inner_steps!r}")
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise ValueError(f"warmup_steps must be an integer >= 0, got {warmup_steps!r}")
        if hessian_episodes is not None:
            if isinstance(hessian_episodes, bool) or not isinstance(hessian_episodes, int) or hessian_episodes < 2:
                raise ValueError(
                    "hessian_episodes must be None or an integer >= 2 (a batch-mean baseline), "
                    f"got {hessian_episodes!r}"
                )
            before_first = warmup_steps * episodes_per_update
            if learn_blend and hessian_episodes > before_first:
                raise ValueError(
                    f"hessian_episodes={hessian_episodes} needs that many episodes before the first outer step, "
                    f"but warmup_steps * episodes_per_update = {warmup_steps} * {episodes_per_update} "
                    f"= {before_first}: "
                    f"raise warmup_steps to at least {-(-hessian_episodes // episodes_per_update)}"
                )
        self.make_env = (lambda: gym.make(env)) if isinstance(env, str) else env
        self.envs = [self.make_env() for _ in range(episodes_per_update)]
        probe = self.envs[0]
        if not isinstance(probe.action_space, gym.spaces.Discrete):
            raise TypeError(f"BehaviorAlignment needs a Discrete action space, got {probe.action_space}")
        self.aux_rewards, self.features = list(aux_rewards), features or flat_features
        self.shaping, self.learn_blend = shaping, bool(learn_blend)
        self.neumann_steps, self.neumann_alpha = neumann_steps, float(neumann_alpha)
        self.phi_reg, self.gamma_reg, self.outer_gamma = float(phi_reg), float(gamma_reg), float(outer_gamma)
        self.device = check_device(device)
        self.seed = int(seed)
        self.inner_steps, self.warmup_steps, self.hessian_episodes = inner_steps, warmup_steps, hessian_episodes
        sample = np.asarray(probe.observation_space.sample(), dtype=np.float32).reshape(1, -1)
        n_features = np.asarray(self.features(sample)).shape[-1]
        # initial weights, then the actions, drawn from this seed on a fork of torch's CPU generator
        with seeded_torch(self.seed):
            self.policy = PolicyNet(sample.shape[1], int(probe.action_space.n), policy_hidden).to(self.device)
            self.blend = BlendedReward(n_features, len(self.aux_rewards), gamma, blend_hidden, aux_init)
            self.blend = self.blend.to(self.device)
            critic = _mlp(sample.shape[1], policy_hidden, 1).to(self.device) if learner == "actor-critic" else None
            self.generator = torch.Generator()
            self.generator.set_state(torch.get_rng_state())
        self._phi0 = [p.detach().clone() for p in self.blend.parameters()]
        if critic is None:
            self.learner: Reinforce = Reinforce(self.policy, inner_lr)
        else:
            self.learner = ActorCritic(self.policy, critic, inner_lr)
        self.outer_optimizer = torch.optim.Adam(self.blend.parameters(), lr=outer_lr)
        self.episodes = 0
        self.inner_updates = 0
        self.outer_updates = 0
        self._recent: deque[Batch] = deque()  # earlier batches, newest last, for the Hessian term
        self.history: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ the loop

    def blended_rewards(self, batch: Batch) -> torch.Tensor:
        """``r_phi`` on a batch ``[N, T]``, with the graph to ``phi``."""
        return self.blend(batch.features, batch.primary + batch.shaping, batch.aux)

    def collect(self) -> Batch:
        """``episodes_per_update`` fresh episodes of the current policy (advances the episode count)."""
        n = len(self.envs)
        seed = self.seed * 1_000_003 + self.episodes  # env i is reset with seed + i
        trajectories = rollout(self.policy.sampler(self.generator), self.envs, n_episodes=n, seed=seed)
        batch = Batch.from_trajectories(trajectories, self.aux_rewards, self.features, self.device, self.shaping)
        self.episodes += n
        if batch.features.shape[-1] != self.blend.n_features:
            raise ValueError(
                f"features returned {batch.features.shape[-1]} columns, the blend was built for {self.blend.n_features}"
            )
        return batch

    def outer_objective(self, batch: Batch) -> torch.Tensor:
        """The REINFORCE surrogate of the primary return ``J`` on a batch (scalar, with the graph to the policy).

        Its gradient in the policy's parameters is the outer gradient's estimate ``grad_theta J``:
        returns-to-go of the primary reward under ``outer_gamma`` with a per-step batch-mean
        baseline. It depends on the batch's primary rewards and the policy only, never on the
        heuristics, the blend or a critic, whichever inner learner is used.
        """
        return (self.learner.log_probs(batch) * reinforce_advantages(batch, batch.primary, self.outer_gamma)).sum() / (
            batch.mask.shape[0]
        )

    def hypergradient(self, batch: Batch, hessian_batch: Batch | None = None) -> dict[str, torch.Tensor]:
        """``dJ/dphi`` through the inner learner's update (before the regularisers), by parameter name.

        ``grad_theta J`` is estimated on ``batch``; the inner objective's Hessian and cross term on
        ``hessian_batch`` (default: ``batch`` too). ``"gamma_logit"`` is the discount's logit,
        ``"head.bias"`` holds ``[bonus, weight of each heuristic]`` where the features are zero,
        ``"head.weight"`` their slopes in the features.
        """
        inner_batch = batch if hessian_batch is None else hessian_batch
        params = list(self.policy.parameters())
        names, hyper = zip(*self.blend.named_parameters())
        inner = self.learner.surrogate(inner_batch, self.blended_rewards(inner_batch), self.blend.gamma)
        outer_grad = torch.autograd.grad(self.outer_objective(batch), params)
        grads = implicit_hypergradient(
            inner, outer_grad, params, list(hyper), neumann_steps=self.neumann_steps, alpha=self.neumann_alpha
        )
        return dict(zip(names, grads))

    def _hessian_batch(self) -> Batch | None:
        """The ``hessian_episodes`` most recent episodes before the current batch (``None``: use the batch)."""
        if self.hessian_episodes is None:
            return None
        pooled = concat_batches(list(reversed(self._recent)))  # newest first
        if pooled.mask.shape[0] < self.hessian_episodes:
            raise RuntimeError(  # the constructor's check makes this unreachable
                f"only {pooled.mask.shape[0]} earlier episodes for hessian_episodes={self.hessian_episodes}"
            )
        return _first_episodes(pooled, self.hessian_episodes)

    def _remember(self, batch: Batch) -> None:
        if self.hessian_episodes is None:
            return
        self._recent.append(batch)
        while sum(b.mask.shape[0] for b in self._recent) - self._recent[0].mask.shape[0] >= self.hessian_episodes:
            self._recent.popleft()

    def _outer_step(self, batch: Batch, hessian_batch: Batch | None = None) -> None:
        grads = self.hypergradient(batch, hessian_batch)
        self.outer_optimizer.zero_grad()
        for (name, p), p0 in zip(self.blend.named_parameters(), self._phi0):
            weight = self.gamma_reg if name == "gamma_logit" else self.phi_reg
            p.grad = -(grads[name] - 2 * weight * (p.detach() - p0))  # ascent on J - regularisers
        self.outer_optimizer.step()

    def outer_step_due(self) -> bool:
        """Whether the next update takes an outer step: after the warm-up, every ``inner_steps``-th update."""
        done = self.inner_updates - self.warmup_steps
        return self.learn_blend and done >= 0 and done % self.inner_steps == 0

    def learn(self, n_episodes: int, callback: Callable[[dict[str, Any]], Any] | None = None) -> BehaviorAlignment:
        """Inner policy updates and outer blend updates for ``n_episodes`` more episodes.

        Each update collects ``episodes_per_update`` episodes; when an outer step is due
        (:meth:`outer_step_due`: with the defaults, every update) it takes the outer (implicit)
        step on the blend from them, then one inner step of the policy. ``callback`` gets each
        history row.
        """
        if n_episodes < 1:
            raise ValueError(f"n_episodes must be >= 1, got {n_episodes!r}")
        target = self.episodes + n_episodes
        while self.episodes < target:
            batch = self.collect()
            outer_seconds, hessian_size = 0.0, 0
            if self.outer_step_due():
                start = time.perf_counter()
                hessian_batch = self._hessian_batch()
                hessian_size = (batch if hessian_batch is None else hessian_batch).mask.shape[0]
                self._outer_step(batch, hessian_batch)
                outer_seconds = time.perf_counter() - start
                self.outer_updates += 1
            with torch.no_grad():
                rewards, gamma = self.blended_rewards(batch), self.blend.gamma
            self.learner.step(batch, rewards, gamma)
            self.inner_updates += 1
            self._remember(batch)
            row = self._log(batch, outer_seconds)
            row["outer_step"], row["hessian_episodes"] = hessian_size > 0, hessian_size
            self.history.append(row)
            if callback is not None:
                callback(row)
        return self

    def _log(self, batch: Batch, outer_seconds: float) -> dict[str, Any]:
        with torch.no_grad():
            bonus, weights = self.blend.phi(batch.features)
            mask = batch.mask
            count = mask.sum()
            mean_bonus = float((bonus * mask).sum() / count)
            mean_weights = ((weights * mask[..., None]).sum((0, 1)) / count).cpu().numpy().tolist()
        success = batch.successes
        return {
            "episodes": self.episodes,
            "primary_return": float(np.mean(batch.returns)),
            "success_rate": float(np.nanmean(success)) if np.any(np.isfinite(success)) else float("nan"),
            "gamma": self.gamma,
            "bonus": mean_bonus,
            "aux_weights": mean_weights,
            "phi": {name: p.detach().cpu().reshape(-1).tolist() for name, p in self.blend.named_parameters()},
            "outer_seconds": outer_seconds,
        }

    # ------------------------------------------------------------------ using the result

    def predict(
        self,
        observation: ArrayLike,
        state: None = None,
        episode_start: ArrayLike | None = None,
        deterministic: bool = True,
    ) -> tuple[NDArray[np.int64], None]:
        """Actions ``[B]`` of the learned policy for observations ``[B, ...]``, as SB3's ``predict``.

        Returns ``(actions, None)`` (no recurrent state), so that the learner runs wherever an SB3
        model does, e.g. in :func:`rewarddesign.rollouts.rollout`. ``deterministic=False`` samples
        with torch's generator.
        """
        obs = np.asarray(observation, dtype=np.float32)
        x = torch.as_tensor(obs.reshape(len(obs), -1), device=self.device)
        with torch.no_grad():
            dist = self.policy.distribution(x)
            action = dist.probs.argmax(-1) if deterministic else dist.sample()
        return action.cpu().numpy(), None

    def reward(
        self, obs: ArrayLike, act: ArrayLike, next_obs: ArrayLike, done: ArrayLike, primary: ArrayLike
    ) -> NDArray[np.float64]:
        """The learned (current) blend as a batched reward: needs the primary reward of each step.

        ``(obs, act, next_obs, done, primary [B]) -> float [B]``.
        """
        return blended_rewards(
            self.blend, self.features, self.aux_rewards, obs, act, next_obs, done, primary, self.device
        )

    @property
    def gamma(self) -> float:
        """The learned discount."""
        return self.blend.gamma.item()

    def wrap(self, env: gym.Env) -> BehaviorAlignedReward:
        """``env`` with the learned blend, frozen (a copy), as its reward."""
        return BehaviorAlignedReward(env, self.blend, self.aux_rewards, self.features)


def _first_episodes(batch: Batch, count: int) -> Batch:
    """The first ``count`` episodes of a batch."""
    fields = {f.name: getattr(batch, f.name)[:count] for f in dataclasses.fields(batch)}
    return Batch(**fields)
