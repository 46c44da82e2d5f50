"""Objectives beyond a Markov reward: reward machines, LTLf tasks, counterfactual experience, automatic shaping.

Write a task as a machine over labels, or as an LTLf formula, wrap an env, and train::

    rm = from_ltlf("F(coffee & F office) & G !plant")
    env = RewardMachineWrapper(gym.make("rewarddesign/OfficeWorld-v0"), rm)   # labels from info["labels"]

- :class:`RewardMachine`: states, edges ``(state, formula) -> (next_state, reward)`` with
  propositional formulas over label names (:mod:`~rewarddesign.machines.formula`).
- :func:`from_ltlf`: the minimal machine of an LTLf formula, built by formula progression.
- :class:`RewardMachineWrapper` (with :func:`machine_wrapper` for vector and SB3 envs) and the
  reward term :class:`MachineTerm`: the machine's reward, state (in the observation) and end.
- CRM: :func:`q_learning` (tabular, with ``crm=`` and ``shaping=``) and the SB3 replay buffers
  :class:`CounterfactualReplayBuffer` / :class:`CounterfactualDictReplayBuffer`.
- Automatic shaping: :func:`machine_values`, :func:`machine_potential`, :class:`MachinePotential`
  (for :class:`~rewarddesign.shaping.PotentialShaping`), and :func:`machine_shaping`, which shapes
  the CRM rows too (:class:`ShapedCounterfactuals`).
- :func:`product_mdp`: the exact product of a tabular MDP and a machine.
"""

from rewarddesign.machines.crm import (
    CounterfactualDictReplayBuffer,
    CounterfactualReplayBuffer,
    QLearningResult,
    greedy_return,
    q_learning,
)
from rewarddesign.machines.formula import Formula, label_sets, parse_formula, parse_ltlf
from rewarddesign.machines.ltlf import from_ltlf, holds_at_end, progress, simplify, to_nnf
from rewarddesign.machines.machine import Edge, RewardMachine, State
from rewarddesign.machines.potential import (
    MachinePotential,
    ShapedCounterfactuals,
    machine_potential,
    machine_shaping,
    machine_values,
)
from rewarddesign.machines.product import ProductMDP, product_mdp
from rewarddesign.machines.wrappers import (
    Counterfactuals,
    Labeler,
    MachineTerm,
    ObservationMode,
    RewardMachineWrapper,
    info_labeler,
    machine_wrapper,
)

__all__ = [
    "RewardMachine",
    "Edge",
    "State",
    "Formula",
    "parse_formula",
    "parse_ltlf",
    "label_sets",
    "from_ltlf",
    "to_nnf",
    "progress",
    "holds_at_end",
    "simplify",
    "RewardMachineWrapper",
    "MachineTerm",
    "Counterfactuals",
    "Labeler",
    "ObservationMode",
    "info_labeler",
    "machine_wrapper",
    "q_learning",
    "greedy_return",
    "QLearningResult",
    "CounterfactualReplayBuffer",
    "CounterfactualDictReplayBuffer",
    "machine_values",
    "machine_potential",
    "MachinePotential",
    "ShapedCounterfactuals",
    "machine_shaping",
    "ProductMDP",
    "product_mdp",
]
