"""Many rewards at once: vector rewards, their scalarisations, direction-conditioned policies, Pareto tools.

- Vector rewards (:mod:`~rewarddesign.multiobjective.wrappers`): MO-Gymnasium's envs as they are,
  :class:`VectorReward` for an env with reward factors, :class:`LearnedVectorReward` for a
  :class:`VectorRewardModel` (one reward head per factor, trained from per-factor preferences).
- Scalarisations (reward terms of :mod:`rewarddesign.rewards.wrappers`): :class:`LinearScalarization`,
  :class:`ChebyshevScalarization`, :class:`DirectionalReward` (``v . r``, Directional Preference
  Alignment) and :class:`DirectionConditioned` (a direction per episode, appended to the
  observation: one policy for every direction, steered at run time).
- Evaluation: :func:`vector_returns`, :func:`evaluate_directions` (a :class:`DirectionSweep`).
- Pareto tools (:mod:`~rewarddesign.multiobjective.pareto`): :func:`pareto_front`,
  :func:`hypervolume` (exact), :func:`expected_utility`, :func:`sparsity`, weight grids.

MO-Gymnasium is optional (the ``multiobjective`` extra): nothing here imports it;
:func:`require_mo_gymnasium` imports it with an error that names the extra.
"""

from rewarddesign.multiobjective.evaluation import (
    DirectionSweep,
    evaluate_directions,
    trajectory_vector_returns,
    vector_returns,
)
from rewarddesign.multiobjective.learned import LearnedVectorReward, VectorRewardModel, train_vector_reward_model
from rewarddesign.multiobjective.pareto import (
    expected_utility,
    hypervolume,
    pareto_front,
    pareto_mask,
    simplex_weights,
    sparsity,
    unit_directions,
)
from rewarddesign.multiobjective.wrappers import (
    ChebyshevScalarization,
    ChebyshevTerm,
    DirectionalReward,
    DirectionalTerm,
    DirectionConditioned,
    DirectionSampler,
    LinearScalarization,
    LinearTerm,
    VectorReward,
    positive_sphere,
    require_mo_gymnasium,
    reward_dim,
)

__all__ = [
    "pareto_mask",
    "pareto_front",
    "hypervolume",
    "expected_utility",
    "sparsity",
    "simplex_weights",
    "unit_directions",
    "reward_dim",
    "require_mo_gymnasium",
    "positive_sphere",
    "DirectionSampler",
    "VectorReward",
    "LinearTerm",
    "ChebyshevTerm",
    "DirectionalTerm",
    "LinearScalarization",
    "ChebyshevScalarization",
    "DirectionalReward",
    "DirectionConditioned",
    "DirectionSweep",
    "vector_returns",
    "trajectory_vector_returns",
    "evaluate_directions",
    "VectorRewardModel",
    "train_vector_reward_model",
    "LearnedVectorReward",
]
