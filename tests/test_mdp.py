import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given
from hypothesis import strategies as st

import rewarddesign  # noqa: F401
from rewarddesign.mdp import (
    TabularEnv,
    TabularMDP,
    as_policy_matrix,
    broadcast_reward,
    from_gymnasium,
    greedy_policy,
    policy_evaluation,
    policy_return,
    random_mdp,
    regret,
    value_iteration,
)


def brute_force_values(mdp, reward, policy, horizon=2000):
    """Iterate the Bellman expectation operator: an independent check of the linear solve."""
    pi = as_policy_matrix(policy, mdp.n_states, mdp.n_actions)
    expected = mdp.expected_reward(reward)
    v = np.zeros(mdp.n_states)
    for _ in range(horizon):
        q = expected + mdp.gamma * mdp.transitions @ v
        q[mdp.terminal] = 0
        v = (pi * q).sum(1)
    return v


def test_policy_evaluation_matches_iteration(rng):
    mdp = random_mdp(7, 3, gamma=0.9, rng=rng)
    reward = rng.normal(size=(7, 3, 7))
    policy = rng.dirichlet(np.ones(3), size=7)
    v, q = policy_evaluation(mdp, reward, policy)
    np.testing.assert_allclose(v, brute_force_values(mdp, reward, policy), atol=1e-10)
    np.testing.assert_allclose(v, (policy * q).sum(1), atol=1e-12)


def test_known_answer_two_state_chain():
    # state 0 -> state 1 (terminal) with reward 1; with gamma = 1 the value is exactly 1.
    transitions = np.zeros((2, 1, 2))
    transitions[0, 0, 1] = 1
    transitions[1, 0, 1] = 1
    mdp = TabularMDP(transitions, [1, 0], gamma=1.0, terminal=np.array([False, True]))
    reward = np.zeros((2, 1, 2))
    reward[0, 0, 1] = 1
    assert policy_return(mdp, reward, np.zeros(2, dtype=int)) == pytest.approx(1.0)


@given(seed=st.integers(0, 2**31 - 1), n_states=st.integers(1, 5), n_actions=st.integers(1, 4))
def test_gamma_zero_is_a_contextual_bandit(seed, n_states, n_actions):
    """gamma = 0: values are the immediate expected reward, the optimal policy is its argmax."""
    rng = np.random.default_rng(seed)
    mdp = random_mdp(n_states, n_actions, gamma=0.0, rng=rng)
    assert mdp.gamma == 0.0
    reward = rng.normal(size=(n_states, n_actions, n_states))
    expected = mdp.expected_reward(reward)
    policy = rng.dirichlet(np.ones(n_actions), size=n_states)
    v, q = policy_evaluation(mdp, reward, policy)
    np.testing.assert_allclose(q, expected, atol=1e-12)
    np.testing.assert_allclose(v, (policy * expected).sum(1), atol=1e-12)
    solution = value_iteration(mdp, reward)
    np.testing.assert_allclose(solution.v, expected.max(1), atol=1e-12)
    assert solution.iterations <= 2
    assert regret(mdp, reward, solution.policy) == pytest.approx(0.0, abs=1e-12)
    assert regret(mdp, reward, expected.argmin(1)) == pytest.approx(mdp.initial @ (expected.max(1) - expected.min(1)))


def test_check_gamma_refuses_zero_unless_allowed():
    from rewarddesign._validation import check_gamma

    assert check_gamma(0, allow_zero=True) == 0.0
    assert check_gamma(np.longdouble(0.5)) == 0.5
    with pytest.raises(ValueError, match=r"gamma must lie in \(0, 1\], got 0"):
        check_gamma(0.0)


@given(seed=st.integers(0, 2**31 - 1), n_states=st.integers(1, 8), n_actions=st.integers(1, 4))
def test_value_iteration_is_optimal(seed, n_states, n_actions):
    rng = np.random.default_rng(seed)
    mdp = random_mdp(n_states, n_actions, gamma=0.9, rng=rng)
    reward = rng.normal(size=(n_states, n_actions, n_states))
    solution = value_iteration(mdp, reward)
    # Bellman optimality holds to round-off, and no deterministic policy does better anywhere
    q_backup = mdp.expected_reward(reward) + mdp.gamma * mdp.transitions @ solution.q.max(1)
    np.testing.assert_allclose(solution.q, q_backup, atol=1e-9)
    v_policy, _ = policy_evaluation(mdp, reward, solution.policy)
    np.testing.assert_allclose(v_policy, solution.v, atol=1e-9)
    assert regret(mdp, reward, solution.policy) == pytest.approx(0.0, abs=1e-9)
    other = rng.integers(n_actions, size=n_states)
    assert regret(mdp, reward, other) >= -1e-9


def test_reward_broadcasting():
    mdp = random_mdp(3, 2, rng=0)
    state = np.array([1.0, 2.0, 3.0])
    full = broadcast_reward(state, 3, 2)
    assert full.shape == (3, 2, 3) and np.all(full[1] == 2.0)
    sa = np.arange(6.0).reshape(3, 2)
    assert np.all(mdp.reward_array(sa)[2, 1] == 5.0)
    v1, _ = policy_evaluation(mdp, state, np.zeros(3, dtype=int))
    v2, _ = policy_evaluation(mdp, full, np.zeros(3, dtype=int))
    np.testing.assert_allclose(v1, v2)


def test_random_mdp_is_seeded():
    a = random_mdp(5, 2, rng=3, branching=2)
    b = random_mdp(5, 2, rng=3, branching=2)
    np.testing.assert_array_equal(a.transitions, b.transitions)
    assert ((a.transitions > 0).sum(-1) <= 2).all()


@pytest.mark.parametrize(
    ("env_id", "kwargs", "optimal"),
    [
        ("FrozenLake-v1", {}, None),
        ("FrozenLake-v1", {"is_slippery": False}, 0.99**5),  # 6 steps, reward on the last
        ("CliffWalking-v1", {}, None),
        ("Taxi-v4", {}, None),
        ("rewarddesign/GridMaze-v0", {}, 0.99**16),
    ],
)
def test_from_gymnasium_matches_monte_carlo(env_id, kwargs, optimal):
    env = gym.make(env_id, **kwargs)
    mdp, reward = from_gymnasium(env, gamma=0.99)
    solution = value_iteration(mdp, reward)
    value = float(mdp.initial @ solution.v)
    if optimal is not None:
        assert value == pytest.approx(optimal, rel=1e-9)
    # Roll the optimal policy out in the real env: its mean discounted return matches the model.
    rng = np.random.default_rng(0)
    returns = []
    for episode in range(300 if kwargs.get("is_slippery", True) else 1):
        obs, _ = env.reset(seed=episode)
        total, discount = 0.0, 1.0
        for _ in range(400):
            obs, r, terminated, truncated, _ = env.step(int(solution.policy[obs]))
            total += discount * r
            discount *= 0.99
            if terminated:
                break
        returns.append(total)
    spread = 4 * np.std(returns) / np.sqrt(len(returns)) + 1e-6
    assert np.mean(returns) == pytest.approx(value, abs=spread + 0.01 * abs(value) * (env_id != "FrozenLake-v1"))
    del rng


def test_tabular_env_samples_model(rng):
    mdp = random_mdp(4, 2, rng=rng, branching=2)
    reward = rng.normal(size=(4, 2, 4))
    env = TabularEnv(mdp, reward, horizon=5)
    check_env(env, skip_render_check=True)
    counts = np.zeros(4)
    for seed in range(2000):
        env.reset(seed=seed)
        env._state = 0
        obs, r, *_ = env.step(1)
        counts[obs] += 1
        assert r == reward[0, 1, obs]
    np.testing.assert_allclose(counts / counts.sum(), mdp.transitions[0, 1], atol=0.04)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"transitions": np.full((2, 1, 2), 0.4)}, ValueError, "sum to 1"),
        ({"transitions": np.array([[[1.5, -0.5]], [[0.5, 0.5]]])}, ValueError, "non-negative"),
        ({"transitions": np.ones((2, 1, 3)) / 3}, ValueError, r"shape \[S, A, S\]"),
        ({"gamma": -0.1}, ValueError, r"gamma must lie in \[0, 1\]"),
        ({"gamma": 1.5}, ValueError, "gamma"),
        ({"gamma": float("nan")}, ValueError, "gamma"),
        ({"gamma": "0.9"}, TypeError, "gamma"),
        ({"initial": [0.5, 0.6]}, ValueError, "initial"),
        ({"initial": [1.0]}, ValueError, "initial"),
    ],
)
def test_tabular_mdp_rejects_bad_input(kwargs, error, match):
    arguments = {"transitions": np.ones((2, 1, 2)) / 2, "initial": [0.5, 0.5], "gamma": 0.9} | kwargs
    with pytest.raises(error, match=match):
        TabularMDP(**arguments)


def test_rewards_of_wrong_shape_or_value_are_rejected():
    mdp = random_mdp(3, 2, rng=0)
    with pytest.raises(ValueError, match="reward must have shape"):
        policy_evaluation(mdp, np.zeros((2, 2)), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="finite"):
        value_iteration(mdp, np.array([0.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="policy"):
        policy_evaluation(mdp, np.zeros(3), np.full((3, 2), 0.7))


def test_float32_transitions_are_checked_to_their_precision():
    mdp = random_mdp(7, 3, gamma=0.9, rng=0)
    narrow = TabularMDP(mdp.transitions.astype(np.float32), mdp.initial.astype(np.float32), 0.9)
    np.testing.assert_allclose(narrow.transitions.sum(axis=-1), 1.0, atol=1e-15)  # renormalised in float64
    np.testing.assert_allclose(narrow.transitions, mdp.transitions, atol=1e-6)
    off = mdp.transitions.astype(np.float32) * np.float32(1.001)
    with pytest.raises(ValueError, match="transitions rows must sum to 1"):
        TabularMDP(off, mdp.initial, 0.9)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda m: value_iteration(m, np.zeros(3), max_iterations=0), ValueError, "max_iterations"),
        (lambda m: value_iteration(m, np.zeros(3), tol=float("nan")), ValueError, "tol"),
        (lambda m: value_iteration(None, np.zeros(3)), TypeError, "mdp must be a TabularMDP, got None"),
        (lambda m: policy_evaluation(None, np.zeros(3), np.zeros(3, int)), TypeError, "mdp"),
        (lambda m: random_mdp(3, 2, branching=2.5), ValueError, "branching"),
        (lambda m: random_mdp(3, 2, rng="seed"), TypeError, "rng"),
        (lambda m: random_mdp(3, 2, rng=-1), ValueError, "rng"),
        (lambda m: random_mdp(3, 2, concentration=float("nan")), ValueError, "concentration"),
        (lambda m: TabularEnv(None, np.zeros(3)), TypeError, "mdp"),
        (lambda m: greedy_policy([[0.0, float("nan")]]), ValueError, "q must be finite"),
        (lambda m: greedy_policy(np.zeros((3, 0))), ValueError, "at least one action"),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call(random_mdp(3, 2, rng=0))


@pytest.mark.parametrize("action", [-1, 2, 0.5, True])
def test_tabular_env_refuses_actions_outside_its_space(action):
    env = TabularEnv(random_mdp(3, 2, rng=0), np.zeros(3))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action must be an integer in"):
        env.step(action)


def test_from_gymnasium_refuses_nan_rewards():
    env = gym.make("FrozenLake-v1")
    prob, next_state, _, terminated = env.unwrapped.P[0][1][0]
    env.unwrapped.P[0][1][0] = (prob, next_state, float("nan"), terminated)
    with pytest.raises(ValueError, match=r"P\[0\]\[1\] must hold finite probabilities and rewards"):
        from_gymnasium(env)
