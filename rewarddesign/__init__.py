"""rewarddesign: reward design for reinforcement learning, native to Gymnasium and Stable-Baselines3.

Subpackages, lowest layer first: :mod:`rewarddesign.mdp` (tabular MDPs and exact solvers),
:mod:`rewarddesign.rewards` (the reward-function protocol), :mod:`rewarddesign.shaping`
(potential-based shaping), :mod:`rewarddesign.distances` (STARC, EPIC and DARD reward
distances), :mod:`rewarddesign.submodular` (submodular rewards), :mod:`rewarddesign.train`
(SB3 glue), :mod:`rewarddesign.bench` (benchmark suites) and :mod:`rewarddesign.cli` (the
``rewarddesign`` command). Importing the package registers the environments of
:mod:`rewarddesign.envs` with Gymnasium.
"""

import rewarddesign.envs  # noqa: F401  (registers rewarddesign/... env ids)

__version__ = "0.1.0"
