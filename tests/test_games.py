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
    rae_residual,
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


# ---------------------------------------------------------------- Nash solvers: native, and Gambit when installed


def _as_set(equilibria):
    return sorted((tuple(np.round(x, 6)), tuple(np.round(y, 6))) for x, y in equilibria)


def _bimatrix_games():
    """Random games (generic) and games with integer payoffs in {0, 1, 2} (degenerate: ties), 2 to 6 actions."""
    rng = np.random.default_rng(7)
    games = [stag_hunt(), chicken(), prisoners_dilemma(), NormalFormGame.bimatrix(np.ones((2, 3)), np.ones((2, 3)))]
    for m, n in [(2, 2), (3, 3), (2, 5), (4, 4), (6, 3)]:
        games.append(NormalFormGame.bimatrix(rng.normal(size=(m, n)), rng.normal(size=(m, n))))
        games.append(NormalFormGame.bimatrix(rng.integers(0, 3, (m, n)).astype(float), rng.integers(0, 3, (m, n))))
    return games


@pytest.fixture
def without_gambit(monkeypatch):
    """pygambit made unimportable, as in an install without the gambit extra."""
    import sys

    monkeypatch.setitem(sys.modules, "pygambit", None)


def test_native_enumeration_finds_the_known_extreme_equilibria():
    found = nash_equilibria(stag_hunt(), "enumerate", backend="native")
    assert _as_set(found) == _as_set(
        [([1, 0], [1, 0]), ([0, 1], [0, 1]), ([0.75, 0.25], [0.75, 0.25])]
    )  # stag, hare and the mixed one
    (eq,) = nash_equilibria(matching_pennies(), "enumerate", backend="native")
    np.testing.assert_allclose(eq, [[0.5, 0.5], [0.5, 0.5]])
    # every profile is an equilibrium of the constant game: its extreme ones are the pure profiles
    flat = nash_equilibria(NormalFormGame.bimatrix(np.ones((2, 3)), np.ones((2, 3))), "enumerate", backend="native")
    assert len(flat) == 6 and all(set(x) | set(y) <= {0.0, 1.0} for x, y in flat)


@pytest.mark.parametrize("game", _bimatrix_games(), ids=lambda g: "x".join(map(str, g.n_actions)))
def test_native_solvers_return_equilibria(game):
    for method in ("enumerate", "lemke-howson"):
        found = nash_equilibria(game, method, backend="native")
        assert found and all(game.nash_conv(e) <= 1e-6 for e in found)
    # each pure equilibrium (found by checking every profile) is an extreme one
    u1, u2 = game.payoffs
    pure = {(a, b) for a, b in np.ndindex(*game.n_actions) if u1[a, b] >= u1[:, b].max() and u2[a, b] >= u2[a].max()}
    listed = {
        (int(x.argmax()), int(y.argmax()))
        for x, y in nash_equilibria(game, "enumerate", backend="native")
        if x.max() == 1 and y.max() == 1
    }
    assert pure == listed


@pytest.mark.parametrize("game", _bimatrix_games(), ids=lambda g: "x".join(map(str, g.n_actions)))
def test_native_and_gambit_enumerate_the_same_equilibria(game):
    pytest.importorskip("pygambit")
    native = nash_equilibria(game, "enumerate", backend="native")
    gambit = nash_equilibria(game, "enumerate", backend="gambit")
    assert _as_set(native) == _as_set(gambit)
    listed = [(tuple(np.round(x, 6)), tuple(np.round(y, 6))) for x, y in nash_equilibria(game, "enumerate")]
    assert listed == [(tuple(np.round(x, 6)), tuple(np.round(y, 6))) for x, y in gambit]  # auto: Gambit's order


def test_without_gambit_auto_is_native_and_gambit_names_the_extra(without_gambit):
    from rewarddesign.games._solvers import gambit_available

    assert not gambit_available()
    game = _bimatrix_games()[5]
    assert _as_set(nash_equilibria(game)) == _as_set(nash_equilibria(game, backend="native"))
    ((x, y),) = nash_equilibria(game, "lemke-howson")
    assert game.nash_conv([x, y]) <= 1e-6
    with pytest.raises(ImportError, match=r"pip install 'rewarddesign\[gambit\]'"):
        nash_equilibria(game, "enumerate", backend="gambit")
    assert nash_equilibria(matching_pennies(), "lp", backend="gambit")  # the LP needs no Gambit


def test_nash_backend_is_validated():
    with pytest.raises(ValueError, match="backend must be one of"):
        nash_equilibria(stag_hunt(), backend="nashpy")  # pyright: ignore[reportArgumentType]
    with pytest.raises(TypeError, match="game must be a NormalFormGame"):
        nash_equilibria(np.ones((2, 2, 2)))  # pyright: ignore[reportArgumentType]


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
    fast = risk_averse_equilibrium(game, 1.0, iterations=50, warn=False, method="fictitious-play")
    reference = risk_averse_equilibrium(
        game, 1.0, iterations=50, solver="CLARABEL", warn=False, method="fictitious-play"
    )
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
        result = risk_averse_equilibrium(game, 1.0, iterations=3, tol=1e-12, method="fictitious-play")
    assert not result.converged and result.iterations == 3 and np.isfinite(result.residual)


# ---------------------------------------------------------------- the homotopy solver (two players)


def independent_residual(game, strategies, lam):
    """The RAE residual from scratch: mu and Sigma by enumerating the opponent's actions, each best
    response by an interior-point QP (cvxpy's CLARABEL), nothing shared with the solver."""
    import cvxpy as cp

    total = 0.0
    for player in range(2):
        payoff = game.payoffs[player] if player == 0 else game.payoffs[player].T  # [own, other]
        other = strategies[1 - player]
        mu = sum(other[k] * payoff[:, k] for k in range(len(other)))
        sigma = sum(other[k] * np.outer(payoff[:, k] - mu, payoff[:, k] - mu) for k in range(len(other)))
        x = cp.Variable(len(mu))
        best = cp.Problem(cp.Maximize(mu @ x - lam * cp.quad_form(x, cp.psd_wrap(sigma))), [x >= 0, cp.sum(x) == 1])
        best.solve(solver="CLARABEL")
        own = strategies[player]
        total += max(best.value - (own @ mu - lam * own @ sigma @ own), 0.0)
    return total


@pytest.mark.parametrize("n", [3, 6, 12])
def test_homotopy_solves_random_general_sum_games(n):
    for seed in range(4):
        game = NormalFormGame(np.random.default_rng(100 * n + seed).normal(size=(2, n, n)))
        result = risk_averse_equilibrium(game, 1.0, tol=1e-6)
        assert result.method == "homotopy" and result.converged
        assert result.residual < 1e-6
        assert rae_residual(game, result.strategies, 1.0) == pytest.approx(result.residual, abs=1e-12)
        assert independent_residual(game, result.strategies, 1.0) < 1e-6  # to the interior-point solver's accuracy


def test_fictitious_play_cycles_where_the_homotopy_converges():
    game = NormalFormGame(np.random.default_rng(4).normal(size=(2, 10, 10)))  # fictitious play cycles on it
    played = risk_averse_equilibrium(game, 1.0, tol=1e-3, iterations=300, warn=False, method="fictitious-play")
    solved = risk_averse_equilibrium(game, 1.0, tol=1e-3)
    assert not played.converged and played.residual > 1e-2
    assert solved.converged and solved.method == "homotopy" and solved.residual < 1e-9


@pytest.mark.parametrize("lam", [0.1, 0.5, 1.0, 5.0])
def test_homotopy_picks_the_risk_dominant_equilibrium_of_stag_hunts(lam, rng):
    games = [stag_hunt()] + [random_stag_hunt(rng) for _ in range(5)]
    for game in games:
        result = risk_averse_equilibrium(game, lam, method="homotopy")
        np.testing.assert_allclose(result[0], [0, 1])  # hare, hare: risk dominant
        np.testing.assert_allclose(result[1], [0, 1])
        assert result.converged and result.residual == 0.0
    # (stag, stag) is an RAE too (no variance against a pure strategy): the homotopy's choice is a selection
    assert rae_residual(stag_hunt(), [[1, 0], [1, 0]], 1.0) == 0.0
    with pytest.raises(ValueError, match="initial"):
        risk_averse_equilibrium(stag_hunt(), 1.0, method="homotopy", initial=[[1, 0], [1, 0]])


@pytest.mark.parametrize("game", [matching_pennies(), rock_paper_scissors()])
def test_homotopy_on_symmetric_zero_sum_games_gives_uniform(game):
    # against the uniform opponent both payoff mean and variance are the same for every action
    # mixture that stays uniform, and uniform minimises the variance: the uniform profile is the RAE
    for lam in (0.0, 0.5, 2.0):
        result = risk_averse_equilibrium(game, lam, method="homotopy", tol=1e-9)
        n = game.n_actions[0]
        np.testing.assert_allclose(result[0], np.full(n, 1 / n), atol=1e-8)
        np.testing.assert_allclose(result[1], np.full(n, 1 / n), atol=1e-8)


def test_homotopy_solves_random_zero_sum_games():
    for seed in range(3):
        row = np.random.default_rng(seed).normal(size=(5, 5))
        game = NormalFormGame.bimatrix(row, -row)
        solved = risk_averse_equilibrium(game, 0.5, tol=1e-9)
        assert solved.converged and independent_residual(game, solved.strategies, 0.5) < 1e-6


def two_by_two_fixed_point(game, lam):
    """The RAE of a 2 x 2 game without pure equilibria, by bisection on the column player's q:
    closed-form best responses written out here, p = BR1(q), and q - BR2(p) changes sign once."""

    def br(payoff, q):  # payoff [own 2, other 2]; own probability of action 0 against other's (q, 1 - q)
        mu = payoff @ [q, 1 - q]
        cols = payoff.T  # the other's action k gives own payoffs cols[k]
        d = cols[:, 0] - cols[:, 1]  # payoff difference of own action 0 over 1, per other action
        mean_d = q * d[0] + (1 - q) * d[1]
        var_d = q * (1 - q) * (d[0] - d[1]) ** 2
        # U(p) = p mu0 + (1 - p) mu1 - lam Var(p a0 + (1 - p) a1); with a = column, Var is quadratic in p
        c0 = cols[:, 1]  # own payoff of action 1 per other action
        var_c0 = q * (1 - q) * (c0[0] - c0[1]) ** 2
        cov = q * (1 - q) * (d[0] - d[1]) * (c0[0] - c0[1])
        # Var(c0 + p d) = var_c0 + 2 p cov + p^2 var_d;  U'(p) = mean_d - lam (2 cov + 2 p var_d)
        if var_d < 1e-15:
            return 1.0 if mean_d > 0 else 0.0
        return float(np.clip((mean_d - 2 * lam * cov) / (2 * lam * var_d), 0.0, 1.0)) if lam > 0 else float(mean_d > 0)
        del mu, var_c0

    a, b = game.payoffs[0], game.payoffs[1].T
    low, high = 0.0, 1.0
    gap = lambda q: q - br(b, br(a, q))  # noqa: E731
    assert gap(low) * gap(high) < 0
    for _ in range(200):
        mid = (low + high) / 2
        if gap(low) * gap(mid) <= 0:
            high = mid
        else:
            low = mid
    q = (low + high) / 2
    p = br(a, q)
    return np.array([p, 1 - p]), np.array([q, 1 - q])


def test_homotopy_finds_the_unique_mixed_rae_of_a_2x2_game():
    # no pure equilibrium (a cycle of best replies), so the RAE is mixed; the bisection finds the only one
    game = NormalFormGame.bimatrix([[3.0, -1.0], [0.0, 1.0]], [[-2.0, 1.0], [2.0, 0.5]])
    for lam in (0.2, 1.0):
        expected = two_by_two_fixed_point(game, lam)
        result = risk_averse_equilibrium(game, lam, tol=1e-10)
        assert result.method == "homotopy"
        np.testing.assert_allclose(result[0], expected[0], atol=1e-7)
        np.testing.assert_allclose(result[1], expected[1], atol=1e-7)
        assert 0 < result[0][0] < 1 and 0 < result[1][0] < 1


def test_homotopy_counts_the_outcome_variance():
    game = NormalFormGame(np.ones((2, 3, 3)))
    variance = np.zeros((2, 3, 3))
    variance[0, 0, :] = 4.0
    variance[1, :, 0] = 4.0
    result = risk_averse_equilibrium(game, 1.0, payoff_variance=variance, method="homotopy", tol=1e-9)
    assert result.converged and result[0][0] < 1e-9 and result[1][0] < 1e-9
    assert rae_residual(game, result.strategies, 1.0, payoff_variance=variance) < 1e-9


def test_a_homotopy_out_of_budget_is_not_reported_as_converged():
    game = NormalFormGame(np.random.default_rng(3).normal(size=(2, 8, 8)))
    with pytest.warns(ConvergenceWarning, match="residual"):
        result = risk_averse_equilibrium(game, 1.0, iterations=2, method="homotopy")
    assert not result.converged and result.residual >= 1e-4
    assert result.residual == pytest.approx(rae_residual(game, result.strategies, 1.0))


def test_solver_choice_is_validated():
    game = NormalFormGame(np.zeros((3, 2, 2, 2)))
    with pytest.raises(ValueError, match="two-player"):
        risk_averse_equilibrium(game, 1.0, method="homotopy")
    with pytest.raises(ValueError, match="method"):
        risk_averse_equilibrium(stag_hunt(), 1.0, method="newton")
    with pytest.raises(ValueError, match="tol"):
        risk_averse_equilibrium(stag_hunt(), 1.0, tol=0.0)
    with pytest.raises(ValueError, match="risk_aversion"):
        rae_residual(stag_hunt(), [[1, 0], [1, 0]], -1.0)
    with pytest.raises(ValueError, match="simplex"):
        rae_residual(stag_hunt(), [[1, 1], [1, 0]], 1.0)
