"""Tabular MDPs: the model, exact solvers, and bridges to Gymnasium.

A :class:`TabularMDP` holds transitions ``[S, A, S']``, an initial distribution ``[S]``, a discount
and terminal states; rewards are separate arrays ``[S, A, S']`` (``[S]`` and ``[S, A]`` broadcast),
so one model serves many reward functions::

    mdp = random_mdp(10, 3, gamma=0.9, rng=0)
    reward = np.random.default_rng(1).normal(size=(10, 3, 10))
    solution = value_iteration(mdp, reward)      # exact optimal q, v and a greedy policy
    policy_return(mdp, reward, solution.policy)  # expected discounted return from the start
"""

from rewarddesign.mdp._gym import TabularEnv, from_gymnasium
from rewarddesign.mdp._solve import (
    OptimalSolution,
    greedy_policy,
    policy_evaluation,
    policy_return,
    regret,
    value_iteration,
)
from rewarddesign.mdp._tabular import TabularMDP, as_policy_matrix, broadcast_reward, check_mdp, random_mdp

__all__ = [
    "TabularMDP",
    "check_mdp",
    "random_mdp",
    "broadcast_reward",
    "as_policy_matrix",
    "policy_evaluation",
    "value_iteration",
    "OptimalSolution",
    "greedy_policy",
    "policy_return",
    "regret",
    "from_gymnasium",
    "TabularEnv",
]
