"""Submodular rewards: diminishing-returns objectives over the states an episode visits.

Set functions with incremental marginal gains (:class:`WeightedCoverage`,
:class:`FacilityLocation`, :class:`CappedCollection`, :class:`LogDetDesign` and the generic
:class:`SetFunction`), following Prajapat, Mutny, Zeilinger and Krause, "Submodular
Reinforcement Learning" (ICLR 2024).
"""

from rewarddesign.submodular._functions import (
    BaseSetFunction,
    CappedCollection,
    FacilityLocation,
    LogDetDesign,
    SetFunction,
    SetState,
    WeightedCoverage,
)

__all__ = [
    "BaseSetFunction",
    "SetState",
    "SetFunction",
    "WeightedCoverage",
    "FacilityLocation",
    "CappedCollection",
    "LogDetDesign",
]

from rewarddesign.submodular.wrappers import MarginalGainTerm, SubmodularReward, VecSubmodularReward  # noqa: E402

__all__ += ["MarginalGainTerm", "SubmodularReward", "VecSubmodularReward"]

from rewarddesign.submodular.subpo import Episode, SubPO  # noqa: E402

__all__ += ["SubPO", "Episode"]

from rewarddesign.submodular.planning import GreedyPlan, greedy_plan  # noqa: E402

__all__ += ["greedy_plan", "GreedyPlan"]
