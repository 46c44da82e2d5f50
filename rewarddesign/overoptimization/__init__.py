"""Reward hacking, measured: optimise a proxy reward with a KL penalty and watch the gold reward, exactly.

On a tabular MDP every quantity is exact: :func:`kl_regularized_policy` solves
``max E[sum_t gamma^t (r_t - beta KL(pi || reference))]`` for a whole batch of betas,
:func:`policy_kl` gives the discounted KL, and :func:`overoptimization_curve` traces proxy and gold
returns against the KL (with :func:`best_of_n_curve` and Gao et al.'s fits beside it)::

    fragments = reference_fragments(mdp, gold, reference, 1000, seed=0)
    labels = preference_labels(fragments, 200, seed=0)                 # Bradley-Terry (or HERON)
    members = fit_tabular_rewards(labels, S, A, members=5)             # a pretrain-seed ensemble
    curve = overoptimization_curve(mdp, ensemble_proxy(members, "wco"), gold, reference, betas)
    curve.table(); curve.plot(); curve.fit()

Mitigations: ensembles (:func:`ensemble_proxy`) and constrained composite rewards with learned
Lagrange multipliers (:func:`constrained_composite`); predictors: :func:`proxy_distances`. For deep
RL, :class:`KLPenaltyTerm` adds ``-beta (log pi - log ref)`` to each step's reward in any env form and
:class:`OveroptimizationCallback` logs the gold return, the proxy return and the KL over training.
"""

from rewarddesign.overoptimization._curves import (
    BestOfNCurve,
    GaoFit,
    OveroptimizationCurve,
    TabularPolicy,
    best_of_n_curve,
    fit_gao,
    overoptimization_curve,
)
from rewarddesign.overoptimization._deep import (
    KLPenaltyTerm,
    OveroptimizationCallback,
    TrainingPoint,
    action_log_prob,
)
from rewarddesign.overoptimization._mitigations import (
    ConstrainedCurve,
    component_returns,
    constrained_composite,
    ensemble_proxy,
)
from rewarddesign.overoptimization._predictors import proxy_distances
from rewarddesign.overoptimization._proxies import (
    EnsembleKind,
    LabelKind,
    bonus_proxy,
    first_pairs,
    fit_tabular_rewards,
    preference_labels,
    reference_fragments,
)
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
    "OveroptimizationCurve",
    "overoptimization_curve",
    "BestOfNCurve",
    "best_of_n_curve",
    "GaoFit",
    "fit_gao",
    "TabularPolicy",
    "reference_fragments",
    "preference_labels",
    "first_pairs",
    "fit_tabular_rewards",
    "bonus_proxy",
    "EnsembleKind",
    "LabelKind",
    "ensemble_proxy",
    "constrained_composite",
    "ConstrainedCurve",
    "component_returns",
    "proxy_distances",
    "KLPenaltyTerm",
    "action_log_prob",
    "OveroptimizationCallback",
    "TrainingPoint",
]
