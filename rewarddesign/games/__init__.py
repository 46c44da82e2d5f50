"""Games: normal-form games, Nash and risk-averse equilibria, and PSRO.

- :class:`NormalFormGame` with payoffs ``[n_players, A_1, ..., A_n]``: expected payoffs, best
  responses, payoff covariances, NashConv; classic games as constructors.
- Nash equilibria: :func:`zero_sum_nash` (linear program), :func:`nash_equilibria` (vertex
  enumeration or Lemke-Howson, the project's own or Gambit's when pygambit is installed), and Harsanyi-Selten
  :func:`risk_dominant_equilibrium` for 2 x 2 games.
- Risk-averse equilibria (Slumbers et al., ICML 2023): :func:`risk_averse_best_response`,
  :func:`risk_averse_equilibrium` (a homotopy for two players, fictitious play for more) and
  :func:`rae_residual`, which checks a profile.
- :class:`~rewarddesign.games.psro.PSRO` over PettingZoo parallel envs, with uniform, Nash and RAE
  meta-solvers.
"""

from rewarddesign.games._normal_form import (
    NormalFormGame,
    check_strategy,
    chicken,
    matching_pennies,
    prisoners_dilemma,
    rock_paper_scissors,
    stag_hunt,
)
from rewarddesign.games._rae import (
    ConvergenceWarning,
    RAEResult,
    rae_residual,
    risk_averse_best_response,
    risk_averse_equilibrium,
)
from rewarddesign.games._solvers import nash_equilibria, risk_dominant_equilibrium, zero_sum_nash
from rewarddesign.games.psro import PSRO, PSROEvaluation

__all__ = [
    "NormalFormGame",
    "check_strategy",
    "stag_hunt",
    "chicken",
    "matching_pennies",
    "rock_paper_scissors",
    "prisoners_dilemma",
    "zero_sum_nash",
    "nash_equilibria",
    "risk_dominant_equilibrium",
    "risk_averse_best_response",
    "risk_averse_equilibrium",
    "rae_residual",
    "RAEResult",
    "ConvergenceWarning",
    "PSRO",
    "PSROEvaluation",
]
