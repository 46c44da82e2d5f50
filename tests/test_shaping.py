"""Potential-based shaping: exact invariance, episode identity, and wrapper equivalence."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from hypothesis import given
from hypothesis import strategies as st
from stable_baselines3.common.vec_env import DummyVecEnv

import rewarddesign  # noqa: F401
from rewarddesign.mdp import TabularEnv, TabularMDP, from_gymnasium, policy_evaluation, random_mdp, value_iteration
from rewarddesign.shaping import (
    CallablePotential,
    DynamicPotential,
    LookAheadAdvice,
    PotentialShaping,
    TabularPotential,
    TorchPotential,
    VecPotentialShaping,
    VectorPotentialShaping,
    advised_action,
    get_potential,
    look_ahead_reward,
    optimal_value_potential,
    shaped_reward,
)

GAMMA = 0.9


def mdp_with_terminal(rng, n_states=6, n_actions=3, gamma=GAMMA):
    """A random MDP whose last state is terminal (absorbing), reached with some probability."""
    base = random_mdp(n_states, n_actions, gamma=gamma, rng=rng, branching=min(3, n_states))
    transitions = base.transitions.copy()
    transitions[-1] = 0
    transitions[-1, :, -1] = 1
    initial = np.append(rng.dirichlet(np.ones(n_states - 1)), 0.0)
    terminal = np.zeros(n_states, dtype=bool)
    terminal[-1] = True
    return TabularMDP(transitions, initial, gamma, terminal)


# ---------------------------------------------------------------- exact policy invariance


@given(seed=st.integers(0, 2**31 - 1), n_states=st.integers(2, 9), n_actions=st.integers(1, 4), terminal=st.booleans())
def test_shaping_keeps_optimal_policy_exactly(seed, n_states, n_actions, terminal):
    rng = np.random.default_rng(seed)
    mdp = mdp_with_terminal(rng, n_states, n_actions) if terminal else random_mdp(n_states, n_actions, GAMMA, rng)
    reward = rng.normal(size=(n_states, n_actions, n_states))
    phi = rng.normal(scale=5.0, size=n_states)
    original = value_iteration(mdp, reward)
    shaped = value_iteration(mdp, shaped_reward(mdp, reward, phi))
    live = ~mdp.terminal
    np.testing.assert_allclose(shaped.q[live], (original.q - phi[:, None])[live], atol=1e-8)
    np.testing.assert_array_equal(shaped.policy[live], original.policy[live])


@pytest.mark.parametrize("is_slippery", [True, False])
def test_shaping_keeps_frozenlake_optimal_policy(is_slippery, rng):
    mdp, reward = from_gymnasium(gym.make("FrozenLake-v1", is_slippery=is_slippery), gamma=0.95)
    original = value_iteration(mdp, reward)
    for phi in (rng.normal(size=mdp.n_states), optimal_value_potential(mdp, reward).values):
        shaped = value_iteration(mdp, shaped_reward(mdp, reward, phi))
        live = ~mdp.terminal
        np.testing.assert_allclose(shaped.q[live], (original.q - phi[:, None])[live], atol=1e-8)
        # ties exist in FrozenLake: compare the sets of optimal actions, not argmax indices
        best = np.isclose(original.q, original.q.max(1, keepdims=True), atol=1e-10)
        best_shaped = np.isclose(shaped.q, shaped.q.max(1, keepdims=True), atol=1e-10)
        np.testing.assert_array_equal(best[live], best_shaped[live])


def test_wrapper_rewards_equal_the_tabular_shaped_reward(rng):
    mdp = mdp_with_terminal(rng)
    reward = rng.normal(size=(6, 3, 6))
    phi = rng.normal(size=6)
    table = shaped_reward(mdp, reward, phi)
    env = PotentialShaping(TabularEnv(mdp, reward, horizon=7), phi, gamma=GAMMA)
    seen_terminated = seen_truncated = False
    for episode in range(60):
        obs, _ = env.reset(seed=episode)
        while True:
            action = int(rng.integers(3))
            next_obs, r, terminated, truncated, info = env.step(action)
            assert r == pytest.approx(table[obs, action, next_obs], abs=1e-12)
            assert info["original_reward"] == reward[obs, action, next_obs]
            seen_terminated |= terminated
            seen_truncated |= truncated
            obs = next_obs
            if terminated or truncated:
                break
    assert seen_terminated and seen_truncated


# ---------------------------------------------------------------- episode identity


@pytest.mark.parametrize("gamma", [0.0, 1.0])
def test_shaping_keeps_optimal_policy_at_gamma_zero_and_one(gamma, rng):
    """gamma = 0 (a bandit: shaping subtracts phi(s)) and gamma = 1 (episodic: every state reaches the terminal one)."""
    mdp = mdp_with_terminal(rng, 6, 3, gamma=0.5).with_gamma(gamma)
    if gamma == 1.0:  # make every state reach the terminal state with probability at least 0.3 per step
        transitions = 0.7 * mdp.transitions
        transitions[..., -1] += 0.3
        mdp = TabularMDP(transitions, mdp.initial, gamma, mdp.terminal)
    reward = rng.normal(size=(6, 3, 6))
    phi = rng.normal(scale=5.0, size=6)
    original = value_iteration(mdp, reward)
    shaped = value_iteration(mdp, shaped_reward(mdp, reward, phi))
    live = ~mdp.terminal
    np.testing.assert_allclose(shaped.q[live], (original.q - phi[:, None])[live], atol=1e-8)
    np.testing.assert_array_equal(shaped.policy[live], original.policy[live])


def test_wrappers_accept_gamma_zero():
    """With gamma = 0 the shaping term is -phi(s): the learner's return is its first reward."""
    potential = lambda obs: float(obs[0])  # noqa: E731
    env = PotentialShaping(gym.make("CartPole-v1"), potential, gamma=0.0)
    obs, _ = env.reset(seed=0)
    next_obs, r, terminated, _, info = env.step(0)
    assert not terminated
    assert r == pytest.approx(info["original_reward"] - obs[0])
    assert info["shaping_reward"] == pytest.approx(-obs[0])
    vec = VecPotentialShaping(DummyVecEnv([lambda: gym.make("CartPole-v1")]), potential, gamma=0.0)
    assert vec.gamma == 0.0
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\]"):
        PotentialShaping(gym.make("CartPole-v1"), potential, gamma=-0.5)


def discounted(values, gamma):
    return float(sum(gamma**t * v for t, v in enumerate(values)))


@pytest.mark.parametrize("max_steps", [500, 6])  # ends by termination, then by truncation
@pytest.mark.parametrize("dynamic", [False, True])
def test_episode_identity_on_recorded_episodes(max_steps, dynamic):
    gamma = 0.97
    if dynamic:
        potential = DynamicPotential(lambda obs, t: float(np.sin(obs[0]) + 0.05 * t * obs[2]))
        phi = lambda obs, t: float(np.sin(obs[0]) + 0.05 * t * obs[2])  # noqa: E731
    else:
        potential = lambda obs: float(np.cos(obs[2]) - obs[1] ** 2)  # noqa: E731
        phi = lambda obs, t: potential(obs)  # noqa: E731
    env = PotentialShaping(gym.make("CartPole-v1", max_episode_steps=max_steps), potential, gamma=gamma)
    rng = np.random.default_rng(0)
    for episode in range(5):
        obs, _ = env.reset(seed=episode)
        first, shaped, original = obs, [], []
        while True:
            obs, r, terminated, truncated, info = env.step(int(rng.integers(2)))
            shaped.append(r)
            original.append(info["original_reward"])
            if terminated or truncated:
                break
        steps = len(shaped)
        end = 0.0 if terminated else gamma**steps * phi(obs, steps)
        assert terminated == (max_steps == 500) and truncated == (max_steps == 6)
        assert discounted(shaped, gamma) == pytest.approx(discounted(original, gamma) + end - phi(first, 0), abs=1e-9)


# ---------------------------------------------------------------- check_env and potentials


@pytest.mark.parametrize(
    ("env_id", "potential"),
    [
        ("CartPole-v1", lambda obs: -abs(float(obs[2]))),
        ("CartPole-v1", DynamicPotential(lambda obs, t: 0.01 * t - abs(float(obs[0])))),
        ("CartPole-v1", torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))),
        ("FrozenLake-v1", np.linspace(0, 1, 16)),
        ("rewarddesign/GridMaze-v0", "optimal_value"),
        ("Pendulum-v1", lambda obs: float(obs[0])),
    ],
)
def test_check_env_passes_for_wrapped_envs(env_id, potential):
    env = gym.make(env_id)
    if isinstance(potential, str):
        potential = get_potential(potential, env, 0.99)
    wrapped = PotentialShaping(env, potential, gamma=0.99)
    check_env(wrapped, skip_render_check=True)
    assert wrapped.spec.additional_wrappers[-1].name == "PotentialShaping"
    rebuilt = wrapped.spec.make()
    assert isinstance(rebuilt, PotentialShaping) and rebuilt.gamma == 0.99


def test_check_env_passes_for_look_ahead_advice():
    env = LookAheadAdvice(gym.make("FrozenLake-v1"), np.ones((16, 4)), gamma=0.99, policy=lambda obs: 0)
    check_env(env, skip_render_check=True)


def test_torch_and_tabular_potentials_evaluate_like_numpy(rng):
    module = torch.nn.Linear(4, 1)
    phi = TorchPotential(module, device="cpu")
    obs = rng.normal(size=(5, 4)).astype(np.float32)
    expected = obs @ module.weight.detach().numpy().T[:, 0] + module.bias.item()
    np.testing.assert_allclose(phi.batch(obs), expected, rtol=1e-5)
    assert phi(obs[0]) == pytest.approx(expected[0], rel=1e-5)
    table = TabularPotential([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(table.batch(np.array([2, 0])), [3.0, 1.0])
    assert table(np.int64(1)) == 2.0


# ---------------------------------------------------------------- vector forms


def make_tabular(mdp, reward, horizon):
    return lambda: TabularEnv(mdp, reward, horizon=horizon)


def single_rollouts(mdp, reward, potential, actions, seeds, horizon):
    """Per-env PotentialShaping rewards and done flags for each env's action sequence."""
    results = []
    for seed, env_actions in zip(seeds, actions.T):
        env = PotentialShaping(TabularEnv(mdp, reward, horizon), potential, gamma=GAMMA)
        env.reset(seed=int(seed))
        rewards, dones, shaping = [], [], []
        for action in env_actions:
            _, r, terminated, truncated, info = env.step(int(action))
            rewards.append(r)
            dones.append((terminated, truncated))
            shaping.append(info["shaping_reward"])
            if terminated or truncated:
                env.reset()
        results.append((rewards, dones, shaping))
    return results


POTENTIALS = {
    "static": lambda values: TabularPotential(values),
    "dynamic": lambda values: DynamicPotential(lambda s, t: values[int(s)] + 0.1 * t),
    "batched": lambda values: CallablePotential(lambda s: values[np.asarray(s, dtype=int)], batched=True),
}


@pytest.mark.parametrize("kind", sorted(POTENTIALS))
@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED])
def test_gymnasium_vector_form_equals_single_env(kind, mode, rng):
    mdp = mdp_with_terminal(rng)
    reward = rng.normal(size=(6, 3, 6))
    values = rng.normal(size=6)
    n_envs, n_steps, horizon, seeds = 3, 80, 6, [11, 12, 13]
    actions = rng.integers(3, size=(n_steps, n_envs))
    expected = single_rollouts(mdp, reward, POTENTIALS[kind](values), actions, seeds, horizon)

    envs = VectorPotentialShaping(
        SyncVectorEnv([make_tabular(mdp, reward, horizon)] * n_envs, autoreset_mode=mode),
        POTENTIALS[kind](values),
        gamma=GAMMA,
    )
    envs.reset(seed=seeds)
    got = [([], []) for _ in range(n_envs)]
    pending = np.zeros(n_envs, dtype=bool)
    cursor = np.zeros(n_envs, dtype=int)
    kinds = set()
    for _ in range(n_steps * 2):
        if cursor.min() >= n_steps:
            break
        step_actions = actions[np.minimum(cursor, n_steps - 1), np.arange(n_envs)]
        _, rewards, terminated, truncated, info = envs.step(step_actions)
        for i in range(n_envs):
            if mode == AutoresetMode.NEXT_STEP and pending[i]:
                assert rewards[i] == 0.0 and info["shaping_reward"][i] == 0.0  # the reset step adds nothing
                continue
            if cursor[i] < n_steps:
                got[i][0].append(rewards[i])
                got[i][1].append((bool(terminated[i]), bool(truncated[i])))
                kinds.add((bool(terminated[i]), bool(truncated[i])))
            cursor[i] += 1
        pending = np.logical_or(terminated, truncated)
        if mode == AutoresetMode.DISABLED and pending.any():
            envs.reset(options={"reset_mask": pending})  # the user resets finished envs by hand
    for (want_r, want_d, _), (have_r, have_d) in zip(expected, got):
        assert have_d == want_d
        np.testing.assert_allclose(have_r, want_r, atol=1e-12)
    assert (True, False) in kinds and (False, True) in kinds  # both kinds of episode end were crossed


@pytest.mark.parametrize("kind", sorted(POTENTIALS))
def test_sb3_vec_env_form_equals_single_env(kind, rng):
    mdp = mdp_with_terminal(rng)
    reward = rng.normal(size=(6, 3, 6))
    values = rng.normal(size=6)
    n_envs, n_steps, horizon, seed = 3, 80, 6, 21
    actions = rng.integers(3, size=(n_steps, n_envs))
    expected = single_rollouts(
        mdp, reward, POTENTIALS[kind](values), actions, [seed + i for i in range(n_envs)], horizon
    )

    venv = VecPotentialShaping(
        DummyVecEnv([make_tabular(mdp, reward, horizon)] * n_envs), POTENTIALS[kind](values), GAMMA
    )
    venv.seed(seed)
    venv.reset()
    ends = set()
    for t in range(n_steps):
        _, rewards, dones, infos = venv.step(actions[t])
        for i in range(n_envs):
            want_r, want_d, want_shaping = (expected[i][k][t] for k in range(3))
            assert rewards[i] == pytest.approx(want_r, abs=1e-5)  # SB3 keeps rewards in float32
            assert infos[i]["shaping_reward"] == pytest.approx(want_shaping, abs=1e-12)
            assert bool(dones[i]) == any(want_d)
            if dones[i]:
                assert infos[i].get("TimeLimit.truncated", False) == (want_d[1] and not want_d[0])
                ends.add(want_d)
    assert (True, False) in ends and (False, True) in ends


# ---------------------------------------------------------------- look-ahead advice


@given(seed=st.integers(0, 2**31 - 1))
def test_look_ahead_advice_values_are_shifted_by_the_potential(seed):
    rng = np.random.default_rng(seed)
    mdp = mdp_with_terminal(rng, n_states=5, n_actions=3)
    reward = rng.normal(size=(5, 3, 5))
    phi = rng.normal(size=(5, 3))
    policy = rng.dirichlet(np.ones(3), size=5)
    _, q = policy_evaluation(mdp, reward, policy)
    _, q_advised = policy_evaluation(mdp, look_ahead_reward(mdp, reward, phi, policy), policy)
    live = ~mdp.terminal
    np.testing.assert_allclose(q_advised[live], (q - phi)[live], atol=1e-8)
    # under the optimal policy, biased action selection argmax Q' + phi recovers it
    optimal = value_iteration(mdp, reward)
    _, q_star_advised = policy_evaluation(mdp, look_ahead_reward(mdp, reward, phi, optimal.policy), optimal.policy)
    np.testing.assert_array_equal(advised_action(q_star_advised, phi)[live], optimal.policy[live])


def test_look_ahead_advice_wrapper_telescopes_with_on_policy_actions(rng):
    mdp = mdp_with_terminal(rng)
    reward = rng.normal(size=(6, 3, 6))
    phi = rng.normal(size=(6, 3))
    policy = rng.integers(3, size=6)
    env = LookAheadAdvice(TabularEnv(mdp, reward, horizon=8), phi, gamma=GAMMA, policy=lambda s: int(policy[s]))
    ends = set()
    for episode in range(30):
        obs, _ = env.reset(seed=episode)
        first_action = int(policy[obs])
        action, shaped, original = first_action, [], []
        start = obs
        while True:
            obs, r, terminated, truncated, info = env.step(action)
            shaped.append(r)
            original.append(info["original_reward"])
            action = int(policy[obs])
            if terminated or truncated:
                break
        ends.add(terminated)
        end = 0.0 if terminated else GAMMA ** len(shaped) * phi[obs, action]
        assert discounted(shaped, GAMMA) == pytest.approx(discounted(original, GAMMA) + end - phi[start, first_action])
    assert ends == {True, False}


def test_look_ahead_advice_needs_a_policy():
    env = LookAheadAdvice(gym.make("FrozenLake-v1"), np.zeros((16, 4)), gamma=0.9)
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match="set_policy"):
        env.step(0)
    with pytest.raises(TypeError, match="policy must be callable"):
        env.set_policy(3)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("potential", "error", "match"),
    [
        (lambda obs: float("nan"), ValueError, "non-finite"),
        (lambda obs: np.inf, ValueError, "non-finite"),
        (lambda obs: np.ones(3), TypeError, "scalar"),
        (lambda obs: "high", TypeError, "scalar"),
        (lambda obs: obs["position"], TypeError, "cannot take observations"),
        (np.zeros(5), TypeError, "Discrete"),
        (np.array([0.0, np.nan]), ValueError, "finite"),
        (42, TypeError, "potential must be"),
    ],
)
def test_bad_potentials_raise(potential, error, match):
    env = gym.make("FrozenLake-v1") if isinstance(potential, np.ndarray) else gym.make("CartPole-v1")
    with pytest.raises(error, match=match):
        PotentialShaping(env, potential, gamma=0.99)


def test_potential_that_fails_mid_episode_raises_with_the_observation():
    calls = []

    def fails_on_fifth_call(obs):
        calls.append(obs)
        return np.nan if len(calls) == 5 else 0.0

    env = PotentialShaping(gym.make("CartPole-v1"), fails_on_fifth_call)
    env.reset(seed=1)
    with pytest.raises(ValueError, match="non-finite value .* for observation"):
        for _ in range(50):
            env.step(1)


@pytest.mark.parametrize("gamma", [-1e-9, -0.5, 1.01, float("nan"), float("inf")])
def test_gamma_outside_unit_interval_raises(gamma):
    with pytest.raises(ValueError, match="gamma"):
        PotentialShaping(gym.make("CartPole-v1"), lambda obs: 0.0, gamma=gamma)
    with pytest.raises(ValueError, match="gamma"):
        VecPotentialShaping(DummyVecEnv([lambda: gym.make("CartPole-v1")]), lambda obs: 0.0, gamma=gamma)


def test_shaped_reward_rejects_wrong_shapes(rng):
    mdp = random_mdp(3, 2, rng=rng)
    with pytest.raises(ValueError, match="potential must have shape"):
        shaped_reward(mdp, np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="reward must have shape"):
        shaped_reward(mdp, np.zeros((3, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="unknown potential"):
        get_potential("no_such_potential", gym.make("CartPole-v1"), 0.99)


def test_control_suites_take_shaping_with_dict_observations():
    """The pinned control stack works: MuJoCo through Gymnasium, dm-control through shimmy (dict observations)."""
    import shimmy

    gym.register_envs(shimmy)
    cheetah = PotentialShaping(gym.make("HalfCheetah-v5"), lambda obs: float(obs[8]), gamma=0.99)
    check_env(cheetah, skip_render_check=True)
    swingup = gym.make("dm_control/cartpole-swingup-v0")
    env = PotentialShaping(swingup, lambda obs: float(np.cos(obs["position"][1])), gamma=0.99)
    obs, _ = env.reset(seed=0)
    _, reward, _, _, info = env.step(env.action_space.sample())
    assert reward == pytest.approx(info["original_reward"] + info["shaping_reward"])
    venv = VecPotentialShaping(
        DummyVecEnv([lambda: gym.make("dm_control/cartpole-swingup-v0")] * 2),
        CallablePotential(lambda obs: float(np.cos(obs["position"][1]))),
        gamma=0.99,
    )
    venv.reset()
    _, rewards, _, infos = venv.step(np.zeros((2, 1)))
    assert rewards.shape == (2,) and all("shaping_reward" in info for info in infos)
