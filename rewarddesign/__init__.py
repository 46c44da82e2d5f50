"""rewarddesign: reward design for reinforcement learning, native to Gymnasium and Stable-Baselines3.

Layers, lowest first (a layer imports only the layers below it):

- core: :mod:`rewarddesign.mdp` (tabular MDPs and exact solvers), :mod:`rewarddesign.rewards`
  (the reward-function protocol and reward wrappers), :mod:`rewarddesign.factors` (reward factors
  an env publishes);
- glue: :mod:`rewarddesign.train` (SB3 training on designed rewards);
- methods: :mod:`rewarddesign.shaping`, :mod:`rewarddesign.distances`,
  :mod:`rewarddesign.submodular`, :mod:`rewarddesign.games`, :mod:`rewarddesign.bilevel`,
  :mod:`rewarddesign.preferences`, :mod:`rewarddesign.offline`;
- tasks: :mod:`rewarddesign.envs`;
- harness: :mod:`rewarddesign.bench` (benchmark suites);
- face: :mod:`rewarddesign.cli` (the ``rewarddesign`` command).

Importing the package registers the ``rewarddesign/...`` env ids of
:mod:`rewarddesign.envs` with Gymnasium by entry-point strings, without importing the task
catalogue: ``gym.make`` imports an env's module when the env is made.
"""

from rewarddesign._registration import register_envs

register_envs()

__version__ = "0.1.0"
