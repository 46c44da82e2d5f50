"""Known answers for rewarddesign.overoptimization: beta limits, a two-state MDP solved by hand,
KL of the reference to itself, Monte-Carlo agreement, mitigations and the command."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

from rewarddesign.mdp import TabularEnv, TabularMDP, policy_evaluation, policy_return, random_mdp, value_iteration
from rewarddesign.overoptimization import (
    TabularPolicy,
    best_of_n_curve,
    bonus_proxy,
    constrained_composite,
    ensemble_proxy,
    first_pairs,
    fit_gao,
    fit_tabular_rewards,
    kl_regularized_policy,
    overoptimization_curve,
    policy_kl,
    policy_returns,
    preference_labels,
    proxy_distances,
    reference_fragments,
    solve_kl_regularized,
)
from rewarddesign.rollouts import rollout


def _problem(seed: int = 0, n_states: int = 8, n_actions: int = 3, gamma: float = 0.9, **kwargs: Any):
    rng = np.random.default_rng(seed)
    mdp = random_mdp(n_states, n_actions, gamma=gamma, rng=rng, **kwargs)
    reward = rng.normal(size=(n_states, n_actions))
    reference = rng.dirichlet(np.ones(n_actions), size=n_states)
    return mdp, reward, reference


def test_beta_limits():
    mdp, reward, reference = _problem()
    optimal = value_iteration(mdp, reward)
    solution = solve_kl_regularized(mdp, reward, reference, [np.inf, 1e9, 1e-9, 0.0])
    np.testing.assert_array_equal(solution.policy[0], reference)
    np.testing.assert_allclose(solution.policy[1], reference, atol=1e-8)
    np.testing.assert_array_equal(solution.policy[3].argmax(1), optimal.policy)
    np.testing.assert_allclose(solution.v[3], optimal.v, atol=1e-10)
    np.testing.assert_allclose(solution.v[2], optimal.v, atol=1e-6)
    np.testing.assert_allclose(solution.v[0], policy_evaluation(mdp, reward, reference)[0], atol=1e-10)


def test_two_state_mdp_solved_by_hand():
    # state 1 is absorbing with rewards [log 3, 0]; from state 0, action 0 moves to 1 and action 1
    # stays, reward 0; uniform reference, beta 1, gamma 1/2. By hand: V1 = 2 log 2 (so e^{gamma V1} = 2),
    # and x = e^{V0/2} solves 2x^2 - x - 2 = 0; pi(0|0) = 1/x^2, pi(0|1) = 0.75.
    transitions = np.zeros((2, 2, 2))
    transitions[0, 0, 1] = transitions[0, 1, 0] = 1.0
    transitions[1, :, 1] = 1.0
    mdp = TabularMDP(transitions, [1.0, 0.0], gamma=0.5)
    reward = np.array([[0.0, 0.0], [math.log(3.0), 0.0]])
    reference = np.full((2, 2), 0.5)
    solution = solve_kl_regularized(mdp, reward, reference, 1.0)
    x = (1 + math.sqrt(17)) / 4
    np.testing.assert_allclose(solution.v[0], [2 * math.log(x), 2 * math.log(2)], atol=1e-12)
    np.testing.assert_allclose(solution.policy[0, 0], [1 / x**2, 1 - 1 / x**2], atol=1e-12)
    np.testing.assert_allclose(solution.policy[0, 1], [0.75, 0.25], atol=1e-12)
    # from state 1 the discounted KL is KL(pi(.|1) || uniform) / (1 - gamma)
    from_one = TabularMDP(transitions, [0.0, 1.0], gamma=0.5)
    kl_one = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert policy_kl(from_one, solution.policy[0], reference) == pytest.approx(kl_one / 0.5, abs=1e-12)


def test_objective_is_return_minus_beta_kl():
    mdp, reward, reference = _problem(1)
    betas = np.array([0.05, 0.5, 5.0])
    solution = solve_kl_regularized(mdp, reward, reference, betas)
    returns = policy_returns(mdp, reward[None], solution.policy)[:, 0]
    kl = policy_kl(mdp, solution.policy, reference)
    np.testing.assert_allclose(returns - betas * kl, solution.objective, atol=1e-10)
    # optimality: a perturbed policy does no better on the regularised objective
    other = 0.9 * solution.policy + 0.1 * reference
    other_value = policy_returns(mdp, reward[None], other)[:, 0] - betas * policy_kl(mdp, other, reference)
    assert np.all(other_value <= solution.objective + 1e-12)


def test_kl_of_reference_to_itself_is_zero():
    mdp, _, reference = _problem(2)
    assert policy_kl(mdp, reference, reference) == 0.0
    # a deterministic policy against a uniform reference: log A per step
    uniform = np.full((mdp.n_states, mdp.n_actions), 1 / mdp.n_actions)
    expected = math.log(mdp.n_actions) / (1 - mdp.gamma)
    assert policy_kl(mdp, np.zeros(mdp.n_states, dtype=int), uniform) == pytest.approx(expected, rel=1e-12)


def test_kl_is_infinite_off_the_reference_support():
    mdp, _, _ = _problem(3, n_actions=2)
    reference = np.tile([1.0, 0.0], (mdp.n_states, 1))
    assert policy_kl(mdp, np.ones(mdp.n_states, dtype=int), reference) == math.inf
    policy = kl_regularized_policy(mdp, np.tile([0.0, 5.0], (mdp.n_states, 1)), reference, 0.1)
    np.testing.assert_array_equal(policy, reference)  # the support is kept at every beta


def test_batched_betas_match_single_solves():
    mdp, reward, reference = _problem(4)
    betas = np.geomspace(1e-2, 1e2, 7)
    batched = kl_regularized_policy(mdp, reward, reference, betas)
    for beta, policy in zip(betas, batched):
        np.testing.assert_allclose(kl_regularized_policy(mdp, reward, reference, beta), policy, atol=1e-12)


def test_sparse_and_iterative_paths_agree_with_exact_solvers():
    # 450 states with 3 successors: sparse transitions and iterative evaluation (above the direct-solve size)
    mdp, reward, reference = _problem(5, n_states=450, n_actions=2, gamma=0.8, branching=3)
    solution = solve_kl_regularized(mdp, reward, reference, [0.0, np.inf])
    np.testing.assert_allclose(solution.v[0], value_iteration(mdp, reward).v, atol=1e-9)
    returns = policy_returns(mdp, reward[None], solution.policy)
    assert returns[1, 0] == pytest.approx(policy_return(mdp, reward, reference), abs=1e-9)


def test_terminal_states():
    transitions = np.zeros((3, 2, 3))
    transitions[0, 0, 1] = transitions[0, 1, 2] = 1.0
    transitions[1, :, 0] = 1.0
    transitions[2, :, 2] = 1.0
    mdp = TabularMDP(transitions, [1.0, 0.0, 0.0], gamma=0.9, terminal=np.array([False, False, True]))
    reward = np.array([[0.1, 1.0], [0.5, 0.0], [7.0, 7.0]])  # nothing is collected in the terminal state
    reference = np.full((3, 2), 0.5)
    solution = solve_kl_regularized(mdp, reward, reference, [0.0, np.inf, 0.3])
    np.testing.assert_allclose(solution.v[0], value_iteration(mdp, reward).v, atol=1e-10)
    np.testing.assert_allclose(solution.v[1], policy_evaluation(mdp, reward, reference)[0], atol=1e-10)
    returns = policy_returns(mdp, reward[None], solution.policy)[:, 0]
    kl = np.asarray(policy_kl(mdp, solution.policy, reference))
    assert returns[2] - 0.3 * kl[2] == pytest.approx(solution.objective[2], abs=1e-10)


def test_curve_matches_monte_carlo_rollouts():
    mdp, gold, reference = _problem(6, n_states=5, n_actions=2, gamma=0.8)
    proxy = gold + np.random.default_rng(0).normal(size=gold.shape)
    curve = overoptimization_curve(mdp, proxy, gold, reference, [0.3])
    policy = curve.policies[0]
    env = TabularEnv(mdp, gold, horizon=40)
    episodes = rollout(TabularPolicy(policy, 1), env, n_episodes=400, seed=1, record_infos=False)
    kl_state = (policy * np.log(policy / reference)).sum(1)
    discount = 0.8 ** np.arange(40)
    gold_mc = np.array([discount[: len(t)] @ t.rews for t in episodes])
    kl_mc = np.array([discount[: len(t)] @ kl_state[t.obs[:-1].astype(int)] for t in episodes])
    for estimate, exact in ((gold_mc, curve.gold_return[0]), (kl_mc, curve.kl[0])):
        error = estimate.std() / math.sqrt(len(estimate))
        assert abs(estimate.mean() - exact) < 4 * error + 1e-3


def test_curve_of_gold_itself_never_falls_and_a_bonus_proxy_does():
    mdp, gold, reference = _problem(7, n_states=16, n_actions=4, gamma=0.9)
    reference = np.random.default_rng(0).dirichlet(np.full(4, 0.3), size=16)
    betas = np.geomspace(1e-3, 1e3, 30)
    oracle = overoptimization_curve(mdp, gold, gold, reference, betas)
    assert oracle.gold_drop == pytest.approx(0.0, abs=1e-9)
    assert oracle.normalized_gold[-1] == pytest.approx(1.0, abs=1e-6)
    assert oracle.proxy_monotone() and np.all(np.diff(oracle.kl) >= -1e-9)
    hacked = overoptimization_curve(mdp, bonus_proxy(gold, reference, size=3.0, share=0.2), gold, reference, betas)
    assert hacked.proxy_monotone()
    assert hacked.gold_drop > 0.05
    assert "| beta | KL |" in hacked.table()
    assert hacked.fit().form == "rl"


def test_fit_gao_recovers_coefficients():
    d = np.linspace(0.2, 4.0, 30)
    fit = fit_gao(d, d * (1.5 - 0.7 * np.log(d)), "rl")
    assert (fit.alpha, fit.beta) == pytest.approx((1.5, 0.7))
    np.testing.assert_allclose(fit(d), d * (1.5 - 0.7 * np.log(d)))
    with pytest.raises(ValueError, match="form"):
        fit_gao(d, d, "linear")  # type: ignore[arg-type]


def test_best_of_n():
    mdp, gold, reference = _problem(8, n_states=6, n_actions=2, gamma=0.8)
    curve = best_of_n_curve(mdp, gold, gold, reference, [1, 4, 16], episodes=200, horizon=20, seed=0)
    np.testing.assert_allclose(curve.kl, np.log([1, 4, 16]) - np.array([0, 3 / 4, 15 / 16]))
    assert np.all(np.diff(curve.gold_return) > 0)  # selecting on gold itself only helps
    same = best_of_n_curve(mdp, gold, gold, reference, [1, 4, 16], episodes=200, horizon=20, seed=0)
    np.testing.assert_array_equal(curve.gold_return, same.gold_return)
    with pytest.raises(ValueError, match="ns"):
        best_of_n_curve(mdp, gold, gold, reference, [0], episodes=10)


def test_learned_proxies_and_ensemble_kinds():
    mdp, gold, reference = _problem(9, n_states=6, n_actions=3, gamma=0.9)
    reference = np.tile([0.7, 0.3, 0.0], (6, 1))  # action 2 never taken: never labelled
    fragments = reference_fragments(mdp, gold, reference, 40, length=5, seed=0)
    assert fragments.factors is not None and fragments.factors.shape == (40, 5, 18)
    labels = preference_labels(fragments, 200, seed=0)
    small = first_pairs(labels, 100)
    np.testing.assert_array_equal(small.first, labels.first[:100])
    pretrain = fit_tabular_rewards(small, 6, 3, members=3, ensemble="pretrain", epochs=5, seed=0)
    finetune = fit_tabular_rewards(small, 6, 3, members=3, ensemble="finetune", epochs=5, seed=0)
    assert pretrain.shape == finetune.shape == (3, 6, 3)
    # unlabelled pairs keep their initial weights: shared by finetune members (up to the normaliser)
    raw_spread = lambda members: np.ptp(members[:, :, 2] - members[:, :, 2].mean(1, keepdims=True), axis=0).max()  # noqa: E731
    assert raw_spread(pretrain) > 10 * raw_spread(finetune)
    proxy = ensemble_proxy(pretrain, "wco")
    np.testing.assert_array_equal(proxy, pretrain.min(0))
    heron = preference_labels(
        fragments, 100, labels="heron", components=np.stack([gold, -gold]), ranking=[0, 1], seed=0
    )
    assert 0 < len(heron) <= 100
    distances = proxy_distances(mdp, pretrain, gold)
    assert set(distances) == {"STARC-VAL-L2", "EPIC", "DARD"} and distances["EPIC"].shape == (3,)


def test_constrained_composite_keeps_components_below_thresholds():
    mdp, gold, reference = _problem(10, n_states=10, n_actions=3, gamma=0.9)
    rare = np.argsort(reference.reshape(-1))[:3]
    bonus = np.zeros(30)
    bonus[rare] = 4.0
    components = np.stack([gold, bonus.reshape(10, 3)])
    betas = np.geomspace(1e-2, 1e2, 4)
    free = constrained_composite(mdp, components, [1.0, 1.0], gold, reference, betas)
    assert np.all(free.multipliers == 0)
    threshold = np.array([np.inf, free.component_returns[0, 1]])  # the bonus may not grow past its value at beta 100
    bound = constrained_composite(mdp, components, [1.0, 1.0], gold, reference, betas, threshold, steps=120)
    assert bound.violation.max() < 5e-3
    assert np.all(bound.gold_return[-2:] >= free.gold_return[-2:] - 1e-9)


def test_bad_input_is_named():
    mdp, reward, reference = _problem()
    with pytest.raises(ValueError, match="beta"):
        kl_regularized_policy(mdp, reward, reference, -1.0)
    with pytest.raises(ValueError, match="beta"):
        kl_regularized_policy(mdp, reward, reference, [0.1, float("nan")])
    with pytest.raises(TypeError, match="beta"):
        kl_regularized_policy(mdp, reward, reference, "big")
    with pytest.raises(ValueError, match="reference"):
        kl_regularized_policy(mdp, reward, reference * 2, 1.0)
    with pytest.raises(ValueError, match="reward"):
        kl_regularized_policy(mdp, reward[:2], reference, 1.0)
    with pytest.raises(ValueError, match="gamma"):
        kl_regularized_policy(mdp.with_gamma(1.0), reward, reference, 1.0)
    with pytest.raises(TypeError, match="mdp"):
        policy_kl(None, reference, reference)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tol"):
        kl_regularized_policy(mdp, reward, reference, 1.0, tol=0.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    mdp, reward, reference = _problem(11, n_states=64, n_actions=4, branching=4)
    betas = np.geomspace(1e-2, 1e2, 9)
    cpu = kl_regularized_policy(mdp, reward, reference, betas, device="cpu")
    np.testing.assert_allclose(kl_regularized_policy(mdp, reward, reference, betas, device="cuda"), cpu, atol=1e-10)


def test_command(capsys: pytest.CaptureFixture[str]):
    from rewarddesign.cli import main

    assert main(["overopt", "--states", "6", "--actions", "2", "--labels", "20", "--betas", "5"]) == 0
    assert "normalised gold" in capsys.readouterr().out
    assert main(["overopt", "--gamma", "1.0"]) == 2
    assert "--gamma" in capsys.readouterr().err


def test_kl_penalty_term_in_sb3_vec_env():
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    from rewarddesign.overoptimization import KLPenaltyTerm, action_log_prob
    from rewarddesign.rewards import VecDesignedReward

    reference = PPO("MlpPolicy", "CartPole-v1", seed=0, device="cpu")
    learner = PPO("MlpPolicy", "CartPole-v1", seed=1, device="cpu")
    term = KLPenaltyTerm(reference, beta=0.5)
    venv = VecDesignedReward(make_vec_env("CartPole-v1", n_envs=2, seed=0), term)
    obs = venv.reset()
    with pytest.raises(RuntimeError, match="set_policy"):
        venv.step(np.array([0, 1]))
    term.set_policy(learner)
    obs = venv.reset()
    actions = np.array([0, 1])
    _, rewards, _, infos = venv.step(actions)
    expected = -0.5 * (action_log_prob(learner, obs, actions) - action_log_prob(reference, obs, actions))
    np.testing.assert_allclose([info["kl_penalty"] for info in infos], expected, rtol=1e-6)
    np.testing.assert_allclose(rewards, 1.0 + expected, rtol=1e-5)
    with pytest.raises(TypeError, match="reference"):
        KLPenaltyTerm(object(), beta=1.0)
    with pytest.raises(ValueError, match="beta"):
        KLPenaltyTerm(reference, beta=-1.0)


@pytest.mark.parametrize("name", ["_solve", "_curves", "_mitigations", "_deep"])
def test_docstring_examples(name: str):
    import doctest
    import importlib

    module = importlib.import_module(f"rewarddesign.overoptimization.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
