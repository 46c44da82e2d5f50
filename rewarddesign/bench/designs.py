"""Design factories: reward-design wrappers that build (and may train) a model for each run.

A factory is called once per run as ``factory(env_id, seed)`` and returns the function that wraps
the run's training envs: a naive blend of the continuous grid's distractor heuristic, the blend
BARFI learns (``grid_centre_barfi``), or a reward model learned from HERON labels on Pendulum
(``pendulum_heron``). A suite's :class:`~rewarddesign.bench.schema.Design` names one by its key
in :data:`DESIGN_WRAPPERS`; the fingerprint of its runs covers the factory's source.

Importing this module also registers the ``control_upright`` potential (see
:func:`control_upright`) of the ``control`` suite's tasks with
:func:`rewarddesign.shaping.register_potential`, so a suite names it as any potential.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np

from rewarddesign.bilevel import BehaviorAlignedReward, BehaviorAlignment, BlendedReward, tile_coding
from rewarddesign.envs.alignment import grid_centre_bonus
from rewarddesign.envs.reward_factors import with_reward_factors
from rewarddesign.preferences import Fragments, HeronGatherer, LearnedReward, RewardModel, train_reward_model
from rewarddesign.rollouts import rollout
from rewarddesign.shaping import CallablePotential, Potential, register_potential

__all__ = ["DESIGN_WRAPPERS", "DesignFactory", "CONTROL_UPRIGHT_ENVS", "control_upright"]

#: The env ids ``control_upright`` knows.
CONTROL_UPRIGHT_ENVS = ("Pendulum-v1", "InvertedPendulum-v5", "InvertedDoublePendulum-v5", "Reacher-v5")

#: ``factory(env_id, seed) -> (env -> wrapped env)``.
DesignFactory = Callable[[str, int], Callable[[gym.Env], gym.Env]]


def _grid_centre_blend(learn: bool) -> DesignFactory:
    """The continuous grid's distractor heuristic, blended naively or as BARFI learns to blend it."""

    def factory(env_id: str, seed: int) -> Callable[[gym.Env], gym.Env]:
        features = tile_coding([0, 0], [1, 1], 5)
        if learn:
            blend = BehaviorAlignment(env_id, [grid_centre_bonus], features, seed=seed, device="cpu").learn(960).blend
        else:
            blend = BlendedReward(features.size, 1)  # type: ignore[attr-defined]
        return lambda env: BehaviorAlignedReward(env, blend, [grid_centre_bonus], features)

    return factory


def _pendulum_heron(env_id: str, seed: int) -> Callable[[gym.Env], gym.Env]:
    """A reward model from HERON labels on random-action fragments of Pendulum (angle, then speed, then torque)."""
    rng = np.random.default_rng(seed)
    env = with_reward_factors(gym.make(env_id))
    trajectories = rollout(None, env, n_episodes=20, seed=int(rng.integers(2**31)))
    fragments = Fragments.from_trajectories(trajectories, 25, rng)
    data = HeronGatherer(ranking=[0, 1, 2], signs=[-1, -1, -1], sigmas=[0.1, 0.1, 0.1]).all_pairs(fragments)
    model = RewardModel(env.observation_space, env.action_space, device="cpu", seed=seed)
    train_reward_model(model, data, epochs=5, seed=seed)
    return lambda inner: LearnedReward(inner, model)


@register_potential("control_upright")
def control_upright(env: gym.Env, gamma: float) -> Potential:
    """The potential of the ``control`` suite's tasks, chosen by ``env``'s id (batched over ``[..., D]``).

    - ``Pendulum-v1``: the cosine of the pole angle (observation 0; 1 upright, -1 hanging).
    - ``InvertedPendulum-v5``: minus the squared pole angle (observation 1) over 0.2 rad, the angle
      at which the episode ends.
    - ``InvertedDoublePendulum-v5``: the height of the tip over the two poles' length,
      ``(cos a + cos(a + b)) / 2`` from the sines (observations 1, 2) and cosines (3, 4) of the hinges.
    - ``Reacher-v5``: minus the distance from the fingertip to the target (observations 8, 9) over 0.2.

    Raises:
        ValueError: Another env, or an observation of another shape.
    """
    upright = {
        "Pendulum-v1": (3, lambda x: x[..., 0]),
        "InvertedPendulum-v5": (4, lambda x: -((x[..., 1] / 0.2) ** 2)),
        "InvertedDoublePendulum-v5": (9, lambda x: (x[..., 3] + x[..., 3] * x[..., 4] - x[..., 1] * x[..., 2]) / 2),
        "Reacher-v5": (10, lambda x: -np.linalg.norm(x[..., 8:10], axis=-1) / 0.2),
    }
    env_id = env.spec.id if env.spec is not None else None
    if env_id not in upright:
        raise ValueError(f"no control_upright potential for {env_id!r}; known: {', '.join(upright)}")
    size, fn = upright[env_id]
    if env.observation_space.shape != (size,):
        raise ValueError(f"control_upright needs {env_id}'s observation [{size}], got {env.observation_space}")
    return CallablePotential(lambda obs: fn(np.asarray(obs, dtype=np.float64)), batched=True)


#: Reward-design wrappers by name: ``factory(env_id, seed) -> (env -> wrapped env)``, called once per run.
DESIGN_WRAPPERS: dict[str, DesignFactory] = {
    "grid_centre_naive": _grid_centre_blend(learn=False),
    "grid_centre_barfi": _grid_centre_blend(learn=True),
    "pendulum_heron": _pendulum_heron,
}
