"""Distances between reward functions: STARC, EPIC and DARD, for tabular MDPs.

Two rewards that differ by potential shaping or positive scaling induce the same preferences
over policies; a good distance calls them equal and grows with how differently they order
policies. STARC metrics (Skalse et al., ICLR 2024) canonicalise, normalise and compare::

    starc_distance(r1, r2, mdp)                      # VAL canonicalisation, L2 norm, L2 metric
    starc_distance(r1, r2, mdp, "minimal", norm=1, metric=1)
    epic_distance(r1, r2, mdp)                       # Gleave et al. 2021
    distance_matrix(rewards, mdp, device="cuda")     # [B, B] at once, on a GPU

Everything is batched over ``[B, S, A, S']`` and runs through numpy, or through torch on any
device (``device=``). For continuous spaces and learned rewards, ``sample_epic_distance`` and
``sample_starc_val_distance`` estimate them from a :class:`rewarddesign.rollouts.Transitions`.
"""

from rewarddesign.distances._canonical import CANONICALIZATIONS, Canonicalization
from rewarddesign.distances._distances import (
    DistanceKind,
    NormOrder,
    canonicalize,
    dard_distance,
    distance_matrix,
    epic_distance,
    norm,
    pearson_distance,
    standardize,
    starc_distance,
    transition_weights,
)

__all__ = [
    "Canonicalization",
    "CANONICALIZATIONS",
    "NormOrder",
    "DistanceKind",
    "canonicalize",
    "norm",
    "standardize",
    "transition_weights",
    "starc_distance",
    "epic_distance",
    "dard_distance",
    "distance_matrix",
    "pearson_distance",
]

from rewarddesign.distances._samples import (  # noqa: E402
    one_hot_features,
    sample_epic_distance,
    sample_starc_val_distance,
    sample_val_advantages,
)

__all__ += [
    "sample_epic_distance",
    "sample_val_advantages",
    "sample_starc_val_distance",
    "one_hot_features",
]
