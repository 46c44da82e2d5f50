"""Reward hacking, measured: KL-regularised optimisation against proxy rewards, exactly, on tabular MDPs."""

from rewarddesign.overoptimization._solve import (
    KLRegularizedSolution,
    kl_regularized_policy,
    policy_kl,
    policy_returns,
    solve_kl_regularized,
)

__all__ = [
    "KLRegularizedSolution",
    "solve_kl_regularized",
    "kl_regularized_policy",
    "policy_kl",
    "policy_returns",
]
