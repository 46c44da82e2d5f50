import itertools

import numpy as np
import pytest

from rewarddesign.games import (
    ConvergenceWarning,
    NormalFormGame,
    chicken,
    matching_pennies,
    nash_equilibria,
    prisoners_dilemma,
    risk_averse_best_response,
    risk_averse_equilibrium,
    risk_dominant_equilibrium,
    rock_paper_scissors,
    stag_hunt,
    zero_sum_nash,
)

# ---------------------------------------------------------------- normal-form games


def test_three_player_payoffs_and_covariance_match_enumeration(rng):
    game = NormalFormGame(rng.normal(size=(3, 2, 3, 2)))
    x = [rng.dirichlet(np.ones(a)) for a in game.n_actions]
    expected = np.zeros(3)
    for a, b, c in itertools.product(range(2), range(3), range(2)):
        expected += x[0][a] * x[1][b] * x[2][c] * game.payoffs[:, a, b, c]
    np.testing.assert_allclose(game.expected_payoffs(x), expected)
    # player 1's action payoffs over the joint action (a, c) of the others
    outcomes = [(x[0][a] * x[2][c], game.payoffs[1, a, :, c]) for a in range(2) for c in range(2)]
    mu = sum(p * row for p, row in outcomes)
    sigma = sum(p * np.outer(row - mu, row - mu) for p, row in outcomes)
    np.testing.assert_allclose(game.action_values(1, x), mu)
    np.testing.assert_allclose(game.payoff_covariance(1, x), sigma, atol=1e-12)
    assert game.nash_conv(x) >= 0


def test_known_equilibria():
    x, y, value = zero_sum_nash(rock_paper_scissors())
    np.testing.assert_allclose(x, np.full(3, 1 / 3), atol=1e-8)
    np.testing.assert_allclose(y, np.full(3, 1 / 3), atol=1e-8)
    assert value == pytest.approx(0.0, abs=1e-9)
    (eq,) = nash_equilibria(matching_pennies(), method="enumerate")
    np.testing.assert_allclose(eq[0], [0.5, 0.5])
    np.testing.assert_allclose(eq[1], [0.5, 0.5])
    (eq,) = nash_equilibria(prisoners_dilemma())
    np.testing.assert_allclose(eq[0], [0, 1])  # defect, defect
    np.testing.assert_allclose(eq[1], [0, 1])
    stag = nash_equilibria(stag_hunt())
    assert len(stag) == 3 and all(stag_hunt().nash_conv(e) < 1e-9 for e in stag)
    assert len(nash_equilibria(chicken(), method="lemke-howson")) >= 1
    assert rock_paper_scissors().exploitability([[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]]) == pytest.approx(0.5)


def test_risk_dominance_of_the_stag_hunt():
    assert risk_dominant_equilibrium(stag_hunt()) == (1, 1)
    assert risk_dominant_equilibrium(stag_hunt(stag=10.0)) == (0, 0)  # now stag risk-dominates too
    assert risk_dominant_equilibrium(prisoners_dilemma()) == (1, 1)  # the only strict equilibrium


# ---------------------------------------------------------------- risk-averse equilibria


@pytest.mark.parametrize("lam", [0.1, 1.0, 5.0])
def test_rae_of_the_stag_hunt_is_hare(lam):
    result = risk_averse_equilibrium(stag_hunt(), lam)
    assert result.converged and result.residual == 0.0
    np.testing.assert_allclose(result[0], [0, 1])
    np.testing.assert_allclose(result[1], [0, 1])


def random_stag_hunt(rng):
    """A symmetric a > c >= d > b game: (S, S) payoff dominant, (H, H) risk dominant."""
    d = rng.uniform(1, 3)
    c = d + rng.uniform(0, 1)
    a = c + rng.uniform(0.1, 1)
    b = d - (a - c) - rng.uniform(0.1, 2)  # d - b > a - c
    row = np.array([[a, b], [c, d]])
    return NormalFormGame.bimatrix(row, row.T)


def test_rae_has_less_variance_than_the_payoff_dominant_equilibrium_against_trembles(rng):
    eps = 0.1
    for _ in range(20):
        game = random_stag_hunt(rng)
        rae = risk_averse_equilibrium(game, 1.0).strategies
        dominant = [np.array([1.0, 0.0]), np.array([1.0, 0.0])]
        assert not np.allclose(rae[0], dominant[0])  # the two equilibria differ

        def variance(profile, game=game):
            tremble = (1 - eps) * profile[1] + eps * np.full(2, 0.5)
            return game.reward_variance(0, [profile[0], tremble])

        assert variance(rae) < variance(dominant)


def grid_best(mu, sigma, lam, step=0.005):
    best = -np.inf
    n = len(mu)
    ticks = np.arange(0, 1 + 1e-12, step)
    for head in itertools.product(ticks, repeat=n - 1):
        if sum(head) <= 1 + 1e-12:
            x = np.array([*head, 1 - sum(head)])
            best = max(best, x @ mu - lam * x @ sigma @ x)
    return best


@pytest.mark.parametrize("n", [2, 3])
def test_qp_best_response_matches_grid_search(n, rng):
    for _ in range(5):
        payoff = rng.normal(size=(4, n))
        prob = rng.dirichlet(np.ones(4))
        mu = prob @ payoff
        sigma = ((payoff - mu) * prob[:, None]).T @ (payoff - mu)
        lam = rng.uniform(0.2, 3)
        x = risk_averse_best_response(mu, sigma, lam)
        value = x @ mu - lam * x @ sigma @ x
        grid = grid_best(mu, sigma, lam, 0.005 if n == 2 else 0.01)
        assert x.min() >= 0 and x.sum() == pytest.approx(1.0)
        assert value >= grid - 1e-7  # the QP is at least as good as every grid point
        assert value <= grid + 0.05  # and the grid comes close to it


@pytest.mark.parametrize("n", [3, 8, 40])
def test_active_set_best_response_matches_cvxpy(n, rng):
    for support in (2, n):  # a covariance of rank support - 1 < n, and a full-rank one
        payoff = rng.normal(size=(support, n))
        prob = rng.dirichlet(np.ones(support))
        mu = prob @ payoff
        sigma = ((payoff - mu) * prob[:, None]).T @ (payoff - mu)
        exact = risk_averse_best_response(mu, sigma, 0.7)
        reference = risk_averse_best_response(mu, sigma, 0.7, solver="CLARABEL")
        assert exact.min() >= 0 and exact.sum() == pytest.approx(1.0)
        gap = (exact - reference) @ mu - 0.7 * (exact @ sigma @ exact - reference @ sigma @ reference)
        assert -1e-7 <= gap <= 1e-6  # as good as the interior-point solution, to its accuracy


def test_fictitious_play_gives_the_same_profile_with_cvxpy(rng):
    game = NormalFormGame(rng.normal(size=(2, 4, 4)))
    fast = risk_averse_equilibrium(game, 1.0, iterations=50, warn=False)
    reference = risk_averse_equilibrium(game, 1.0, iterations=50, solver="CLARABEL", warn=False)
    for x, y in zip(fast, reference):
        np.testing.assert_allclose(x, y, atol=1e-5)


def test_outcome_variance_steers_the_rae_away_from_noisy_actions():
    # two actions with the same mean payoff against anything; action 0's outcomes are noisy
    game = NormalFormGame(np.ones((2, 3, 3)))
    variance = np.zeros((2, 3, 3))
    variance[0, 0, :] = 4.0  # player 0's payoff is noisy whenever it plays action 0
    variance[1, :, 0] = 4.0  # player 1's likewise for its action 0
    x, y = risk_averse_equilibrium(game, 1.0, payoff_variance=variance)
    assert x[0] < 0.01 and y[0] < 0.01
    with pytest.raises(ValueError, match="payoff_variance"):
        risk_averse_equilibrium(game, 1.0, payoff_variance=-variance)


def test_rae_of_a_three_action_game_is_a_fixed_point(rng):
    game = NormalFormGame(rng.normal(size=(2, 3, 3)))
    result = risk_averse_equilibrium(game, 2.0, iterations=3000, warn=False)
    for player in range(2):
        mu = game.action_values(player, result.strategies)
        sigma = game.payoff_covariance(player, result.strategies)
        best = risk_averse_best_response(mu, sigma, 2.0)
        gain = best @ mu - 2 * best @ sigma @ best - (result[player] @ mu - 2 * result[player] @ sigma @ result[player])
        assert gain <= result.residual + 1e-9
    assert result.residuals[-1] == result.residual


def test_rae_runs_for_three_players_and_per_player_risk_aversion(rng):
    game = NormalFormGame(rng.normal(size=(3, 2, 2, 3)))
    result = risk_averse_equilibrium(game, [0.0, 1.0, 2.0], iterations=200, warn=False)
    assert len(result) == 3 and all(s.sum() == pytest.approx(1.0) for s in result)


# ---------------------------------------------------------------- bad input


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="finite"):
        NormalFormGame(np.array([[[np.nan, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]]))
    with pytest.raises(ValueError, match="n_players"):
        NormalFormGame(np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="same|shape"):
        NormalFormGame.bimatrix(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="risk_aversion"):
        risk_averse_equilibrium(stag_hunt(), -1.0)
    with pytest.raises(ValueError, match="simplex"):
        stag_hunt().expected_payoffs([[0.7, 0.7], [0.5, 0.5]])
    with pytest.raises(ValueError, match="semi-definite"):
        risk_averse_best_response([0.0, 0.0, 0.0], -np.eye(3), 1.0)
    with pytest.raises(ValueError, match="solver"):
        risk_averse_equilibrium(rock_paper_scissors(), 1.0, solver="no-such-solver")
    with pytest.raises(ValueError, match="two-player"):
        zero_sum_nash(stag_hunt())


def test_fictitious_play_warns_with_the_residual_when_out_of_budget(rng):
    game = NormalFormGame(rng.normal(size=(2, 4, 4)))
    with pytest.warns(ConvergenceWarning, match="residual"):
        result = risk_averse_equilibrium(game, 1.0, iterations=3, tol=1e-12)
    assert not result.converged and result.iterations == 3 and np.isfinite(result.residual)
