"""Normal-form games: payoff tensors, expected payoffs, best responses, NashConv, classic games."""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from rewarddesign._validation import as_float_array, check_finite

__all__ = [
    "NormalFormGame",
    "check_strategy",
    "outcome_covariance",
    "stag_hunt",
    "chicken",
    "matching_pennies",
    "rock_paper_scissors",
    "prisoners_dilemma",
]

Strategies = Sequence[Any]


def check_strategy(strategy: ArrayLike, n_actions: int, name: str = "strategy", atol: float = 1e-8) -> np.ndarray:
    """A mixed strategy as a float array ``[n_actions]`` on the simplex, or ``ValueError``."""
    x = check_finite(as_float_array(strategy, name), name)
    if x.shape != (n_actions,):
        raise ValueError(f"{name} must have shape ({n_actions},), got {x.shape}")
    if np.any(x < -atol) or abs(x.sum() - 1.0) > 1e-6:
        raise ValueError(f"{name} must lie on the probability simplex (non-negative, sum 1), got {x}")
    x = np.clip(x, 0.0, None)
    return x / x.sum()


def outcome_covariance(payoff: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Covariance ``[A, A]`` of the rows ``payoff [K, A]`` drawn with probabilities ``prob [K]``."""
    centred = payoff - prob @ payoff
    return (centred * prob[:, None]).T @ centred


class NormalFormGame:
    """A finite game in normal form with ``n`` players.

    Args:
        payoffs: ``[n_players, A_1, ..., A_n]``: ``payoffs[i, a_1, ..., a_n]`` is player ``i``'s
            payoff when player ``j`` plays action ``a_j``. A two-player (bimatrix) game is
            ``[2, A_1, A_2]``.
        action_names: Optional names of each player's actions, for printing.

    Example:
        >>> game = stag_hunt()
        >>> game.n_players, game.n_actions
        (2, (2, 2))
        >>> game.expected_payoffs([[1.0, 0.0], [0.5, 0.5]])  # stag against a coin flip
        array([2. , 3.5])
    """

    def __init__(self, payoffs: ArrayLike, action_names: Sequence[Sequence[str]] | None = None) -> None:
        p = check_finite(as_float_array(payoffs, "payoffs"), "payoffs")
        if p.ndim < 3 or p.shape[0] != p.ndim - 1:
            raise ValueError(
                f"payoffs must have shape [n_players, A_1, ..., A_n] with n_players = n >= 2, got {p.shape}"
            )
        if min(p.shape[1:]) < 1:
            raise ValueError(f"every player needs at least one action, got {p.shape}")
        self.payoffs = p
        self.payoffs.setflags(write=False)
        self.n_players = p.shape[0]
        self.n_actions = tuple(int(a) for a in p.shape[1:])
        if action_names is not None and [len(a) for a in action_names] != list(self.n_actions):
            raise ValueError(f"action_names must name {self.n_actions} actions, got {action_names}")
        self.action_names = action_names

    # ------------------------------------------------------------------ helpers

    def check_strategies(self, strategies: Strategies) -> list[np.ndarray]:
        """One mixed strategy per player, validated."""
        if len(strategies) != self.n_players:
            raise ValueError(f"need {self.n_players} strategies, got {len(strategies)}")
        return [
            check_strategy(s, a, f"strategy of player {i}") for i, (s, a) in enumerate(zip(strategies, self.n_actions))
        ]

    def _contract(self, player: int, strategies: list[np.ndarray], skip: Sequence[int]) -> np.ndarray:
        """``payoffs[player]`` with every player not in ``skip`` averaged out by its strategy."""
        letters = string.ascii_letters[: self.n_players]
        operands: list[Any] = [self.payoffs[player]]
        inputs = [letters]
        for j in range(self.n_players):
            if j not in skip:
                operands.append(strategies[j])
                inputs.append(letters[j])
        output = "".join(letters[j] for j in sorted(skip))
        return np.einsum(",".join(inputs) + "->" + output, *operands)

    # ------------------------------------------------------------------ payoffs

    def expected_payoffs(self, strategies: Strategies) -> np.ndarray:
        """Each player's expected payoff ``[n_players]`` under the mixed strategy profile."""
        x = self.check_strategies(strategies)
        return np.array([float(self._contract(i, x, ())) for i in range(self.n_players)])

    def action_values(self, player: int, strategies: Strategies) -> np.ndarray:
        """``mu[a]``: player's expected payoff of each own action against the others' strategies ``[A_i]``."""
        x = self.check_strategies(strategies)
        return self._contract(self._player(player), x, (player,))

    def opponent_outcomes(self, player: int, strategies: Strategies) -> tuple[np.ndarray, np.ndarray]:
        """``(payoff [K, A_i], probability [K])`` over the others' joint actions ``k``.

        Row ``k`` holds the player's payoff of each own action when the others play joint action
        ``k``, which they do with the given probability (the product of their strategies).
        """
        player = self._player(player)
        x = self.check_strategies(strategies)
        table = np.moveaxis(self.payoffs[player], player, -1).reshape(-1, self.n_actions[player])
        others = [x[j] for j in range(self.n_players) if j != player]
        prob = others[0]
        for s in others[1:]:
            prob = np.multiply.outer(prob, s).reshape(-1)
        return table, prob

    def payoff_covariance(self, player: int, strategies: Strategies) -> np.ndarray:
        """``Sigma [A_i, A_i]``: covariance of the player's action payoffs over the others' joint action.

        ``x^T Sigma x`` is the variance of the player's expected payoff ``x^T payoff[k]`` when the
        others' joint action ``k`` is drawn from their strategies: the risk that comes from what
        the others do.
        """
        return outcome_covariance(*self.opponent_outcomes(player, strategies))

    def reward_variance(self, player: int, strategies: Strategies) -> float:
        """``x_i^T Sigma x_i``: variance of the player's payoff caused by the others' randomness."""
        x = self.check_strategies(strategies)[self._player(player)]
        return float(x @ self.payoff_covariance(player, strategies) @ x)

    def best_response(self, player: int, strategies: Strategies) -> int:
        """A pure best response (the lowest index among ties) to the others' strategies."""
        return int(np.argmax(self.action_values(player, strategies)))

    def nash_conv(self, strategies: Strategies) -> float:
        """``sum_i max_a mu_i(a) - u_i``: zero exactly at a Nash equilibrium."""
        x = self.check_strategies(strategies)
        gains = [self.action_values(i, x).max() - self.action_values(i, x) @ x[i] for i in range(self.n_players)]
        return float(sum(gains))

    def exploitability(self, strategies: Strategies) -> float:
        """NashConv divided by the number of players (for zero-sum games, the usual exploitability)."""
        return self.nash_conv(strategies) / self.n_players

    def is_zero_sum(self, atol: float = 1e-9) -> bool:
        """Whether the payoffs sum to zero in every outcome."""
        return bool(np.allclose(self.payoffs.sum(0), 0.0, atol=atol))

    def _player(self, player: int) -> int:
        if not isinstance(player, (int, np.integer)) or not 0 <= player < self.n_players:
            raise ValueError(f"player must be in [0, {self.n_players}), got {player!r}")
        return int(player)

    def __repr__(self) -> str:
        return f"NormalFormGame(n_players={self.n_players}, n_actions={self.n_actions})"

    @classmethod
    def bimatrix(
        cls, row: ArrayLike, col: ArrayLike, action_names: Sequence[Sequence[str]] | None = None
    ) -> NormalFormGame:
        """A two-player game from the row player's and the column player's payoff matrices."""
        row, col = as_float_array(row, "row"), as_float_array(col, "col")
        if row.ndim != 2 or row.shape != col.shape:
            raise ValueError(f"row and col must be matrices of one shape, got {row.shape} and {col.shape}")
        return cls(np.stack([row, col]), action_names)


# ---------------------------------------------------------------- classic games


def stag_hunt(stag: float = 4.0, hare: float = 3.0, alone: float = 0.0, safe: float = 3.0) -> NormalFormGame:
    """The trust dilemma: (S, S) pays ``stag`` each, hunting stag alone ``alone``, hare ``hare``
    against stag and ``safe`` against hare. Actions: 0 stag, 1 hare. The defaults give
    (S,S) = (4,4), (S,H) = (0,3), (H,S) = (3,0), (H,H) = (3,3): (S, S) is payoff dominant,
    (H, H) risk dominant."""
    row = np.array([[stag, alone], [hare, safe]])
    return NormalFormGame.bimatrix(row, row.T, (("stag", "hare"), ("stag", "hare")))


def chicken(crash: float = -10.0, win: float = 1.0, lose: float = -1.0, tie: float = 0.0) -> NormalFormGame:
    """Chicken: actions 0 swerve, 1 straight; both straight crash."""
    row = np.array([[tie, lose], [win, crash]])
    return NormalFormGame.bimatrix(row, row.T, (("swerve", "straight"), ("swerve", "straight")))


def matching_pennies() -> NormalFormGame:
    """Zero-sum: the row player wins 1 when the coins match. Unique equilibrium: both uniform, value 0."""
    row = np.array([[1.0, -1.0], [-1.0, 1.0]])
    return NormalFormGame.bimatrix(row, -row, (("heads", "tails"), ("heads", "tails")))


def rock_paper_scissors() -> NormalFormGame:
    """Zero-sum rock-paper-scissors. Unique equilibrium: both uniform, value 0."""
    row = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
    names = ("rock", "paper", "scissors")
    return NormalFormGame.bimatrix(row, -row, (names, names))


def prisoners_dilemma(
    reward: float = 3.0, sucker: float = 0.0, temptation: float = 5.0, punishment: float = 1.0
) -> NormalFormGame:
    """Actions 0 cooperate, 1 defect; defect-defect is the unique equilibrium when T > R > P > S."""
    row = np.array([[reward, sucker], [temptation, punishment]])
    return NormalFormGame.bimatrix(row, row.T, (("cooperate", "defect"), ("cooperate", "defect")))
