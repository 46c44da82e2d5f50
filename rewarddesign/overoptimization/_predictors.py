"""Predictors of overoptimization: distances between proxy and gold rewards (STARC, EPIC, DARD)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rewarddesign.distances import dard_distance, epic_distance, starc_distance
from rewarddesign.mdp import TabularMDP, check_mdp

__all__ = ["proxy_distances", "DISTANCES"]

#: The distances :func:`proxy_distances` computes, by name.
DISTANCES = ("STARC-VAL-L2", "EPIC", "DARD")


def proxy_distances(mdp: TabularMDP, proxies: ArrayLike, gold: ArrayLike) -> dict[str, NDArray[np.float64]]:
    """STARC (VAL canonicalisation, L2 norm and metric), EPIC and DARD distances of each proxy to gold.

    Args:
        mdp: The model the distances use.
        proxies: Rewards ``[P, S, A]`` (or ``[P, S, A, S']``).
        gold: The gold reward ``[S, A]`` (or ``[S, A, S']``).

    Returns:
        ``{name: [P]}`` for the names in :data:`DISTANCES`.
    """
    check_mdp(mdp)
    batch = np.stack([mdp.reward_array(p, "proxies") for p in np.asarray(proxies, dtype=np.float64)])
    target = mdp.reward_array(gold, "gold")
    return {
        "STARC-VAL-L2": np.asarray(starc_distance(batch, target, mdp), dtype=np.float64).reshape(-1),
        "EPIC": np.asarray(epic_distance(batch, target, mdp), dtype=np.float64).reshape(-1),
        "DARD": np.asarray(dard_distance(batch, target, mdp), dtype=np.float64).reshape(-1),
    }
