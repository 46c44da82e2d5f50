"""Submodular rewards: set functions (monotone, diminishing returns, incremental gains) and the wrapper."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given
from hypothesis import strategies as st
from stable_baselines3.common.vec_env import DummyVecEnv

from rewarddesign.mdp import TabularEnv, TabularMDP, random_mdp
from rewarddesign.submodular import (
    CappedCollection,
    FacilityLocation,
    LogDetDesign,
    SetFunction,
    SubmodularReward,
    VecSubmodularReward,
    WeightedCoverage,
    greedy_plan,
)


def direct_value(function, items):
    """F recomputed from its definition, without the incremental state."""
    items = sorted(set(items))
    if isinstance(function, WeightedCoverage):
        cells = set().union(*(set(function.cover[i].tolist()) for i in items)) if items else set()
        return float(function.weights[list(cells)].sum()) if cells else 0.0
    if isinstance(function, FacilityLocation):
        return float(function.similarity[items].max(0).sum()) if items else 0.0
    if isinstance(function, CappedCollection):
        kinds = function.kinds[items]
        return float(sum(min(int((kinds == k).sum()), int(function.caps[k])) for k in range(len(function.caps))))
    if isinstance(function, LogDetDesign):
        return function.recompute(items)
    return function.evaluate(items)


def make(kind, rng):
    n = 12
    if kind == "coverage":
        return WeightedCoverage(
            [rng.choice(20, size=rng.integers(0, 6), replace=False) for _ in range(n)], rng.random(20)
        )
    if kind == "coverage_grid":
        return WeightedCoverage.on_grid(
            (4, 3), radius=1, weights=str(rng.choice(["constant", "bimodal", "gp"])), rng=rng
        )
    if kind == "facility":
        return FacilityLocation(rng.random((n, 7)))
    if kind == "capped":
        return CappedCollection(rng.integers(-1, 3, size=n), rng.integers(0, 4, size=3))
    if kind == "logdet":
        return LogDetDesign.rbf(
            rng.normal(size=(n, 2)), lengthscale=float(rng.uniform(0.3, 2)), noise=float(rng.uniform(0.2, 2))
        )
    return SetFunction(lambda s: float(np.sqrt(sum(i + 1 for i in s))), n)


KINDS = ["coverage", "coverage_grid", "facility", "capped", "logdet", "generic"]


@given(seed=st.integers(0, 2**31 - 1), kind=st.sampled_from(KINDS))
def test_monotone_with_diminishing_returns(seed, kind):
    rng = np.random.default_rng(seed)
    f = make(kind, rng)
    n = f.n_items
    big = rng.choice(n, size=rng.integers(0, n), replace=False)
    small = big[: rng.integers(0, len(big) + 1)]
    outside = [x for x in range(n) if x not in set(big.tolist())]
    a, b = f.state(), f.state()
    for item in small:
        a.add(item)
    for item in big:
        b.add(item)
    for x in outside:
        assert b.gain(x) >= -1e-12  # monotone
        assert a.gain(x) >= b.gain(x) - 1e-9  # diminishing returns: A subset of B
    assert f.value(small) <= f.value(big) + 1e-9


@given(seed=st.integers(0, 2**31 - 1), kind=st.sampled_from(KINDS))
def test_incremental_gains_equal_recomputed_ones(seed, kind):
    rng = np.random.default_rng(seed)
    f = make(kind, rng)
    state = f.state()
    sequence = rng.integers(f.n_items, size=2 * f.n_items)  # repeats included: they gain 0
    for item in sequence:
        before = direct_value(f, state.items)
        expected = direct_value(f, state.items + [int(item)]) - before
        assert state.gain(item) == pytest.approx(expected, abs=1e-9)
        assert state.add(item) == pytest.approx(expected, abs=1e-9)
        assert state.value == pytest.approx(direct_value(f, state.items), abs=1e-9)
    assert f.value(sequence) == pytest.approx(direct_value(f, sequence.tolist()), abs=1e-9)


def test_known_values():
    grid = WeightedCoverage.on_grid((5, 5), radius=1)
    assert grid.value([12]) == 9.0 and grid.value([0]) == 4.0 and grid.value([0, 24]) == 8.0
    design = LogDetDesign(2.0 * np.eye(2), noise=1.0)
    assert design.value([0, 1]) == pytest.approx(np.log(3.0))
    # past the state's initial capacity (16 items) the Cholesky factor grows; values stay exact
    big = LogDetDesign.rbf(np.random.default_rng(0).normal(size=(60, 2)), lengthscale=0.7, noise=0.3)
    state = big.state()
    for item in range(50):
        state.add(item)
    assert state.value == pytest.approx(big.recompute(range(50)), rel=1e-9)


def test_bad_input_raises():
    grid = WeightedCoverage.on_grid((3, 3))
    with pytest.raises(ValueError, match="outside the ground set"):
        grid.value([9])
    with pytest.raises(TypeError, match="integers"):
        grid.state().add("a")
    with pytest.raises(ValueError, match="positive semi-definite"):
        LogDetDesign(np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="finite"):
        WeightedCoverage([[0]], [np.nan])
    with pytest.raises(ValueError, match="non-negative"):
        FacilityLocation([[-1.0]])
    with pytest.raises(TypeError, match="real number"):
        SetFunction(lambda s: "many", 3)
    with pytest.raises(ValueError, match="covers cells outside"):
        WeightedCoverage([[0, 5]], [1.0, 1.0])


# ---------------------------------------------------------------- the marginal-gain wrapper


def terminal_mdp(rng, n_states=9, n_actions=3):
    base = random_mdp(n_states, n_actions, 0.9, rng, branching=3)
    transitions = base.transitions.copy()
    transitions[-1] = 0
    transitions[-1, :, -1] = 1
    terminal = np.zeros(n_states, dtype=bool)
    terminal[-1] = True
    return TabularMDP(transitions, np.append(rng.dirichlet(np.ones(n_states - 1)), 0), 0.9, terminal)


@given(seed=st.integers(0, 2**31 - 1), mode=st.sampled_from(["replace", "add"]))
def test_episode_return_is_f_of_the_visited_set(seed, mode):
    rng = np.random.default_rng(seed)
    mdp = terminal_mdp(rng)
    reward = rng.normal(size=(9, 3, 9))
    f = WeightedCoverage.on_grid((3, 3), radius=1, weights="gp", rng=rng)
    env = SubmodularReward(TabularEnv(mdp, reward, horizon=12), f, mode=mode)
    obs, _ = env.reset(seed=seed)
    visited, total, original = [obs], 0.0, 0.0
    while True:
        obs, r, terminated, truncated, info = env.step(int(rng.integers(3)))
        visited.append(obs)
        total += r
        original += info["original_reward"]
        if terminated or truncated:
            break
    expected = f.value(visited) - f.value([]) + (original if mode == "add" else 0.0)
    assert total == pytest.approx(expected, abs=1e-9)
    assert env.state.value == pytest.approx(f.value(visited))


def test_vec_env_form_equals_the_per_env_form():
    rng = np.random.default_rng(3)
    mdp = terminal_mdp(rng)
    reward = rng.normal(size=(9, 3, 9))
    f = FacilityLocation(rng.random((9, 5)))
    n_envs, n_steps, seed = 3, 60, 5
    actions = rng.integers(3, size=(n_steps, n_envs))
    expected = []
    for i in range(n_envs):
        env = SubmodularReward(TabularEnv(mdp, reward, horizon=7), f)
        env.reset(seed=seed + i)
        rewards = []
        for t in range(n_steps):
            _, r, terminated, truncated, _ = env.step(int(actions[t, i]))
            rewards.append(r)
            if terminated or truncated:
                env.reset()
        expected.append(rewards)
    venv = VecSubmodularReward(DummyVecEnv([lambda: TabularEnv(mdp, reward, horizon=7)] * n_envs), f)
    venv.seed(seed)
    venv.reset()
    done_seen = 0
    for t in range(n_steps):
        _, rewards, dones, infos = venv.step(actions[t])
        done_seen += int(dones.sum())
        for i in range(n_envs):
            assert rewards[i] == pytest.approx(expected[i][t], abs=1e-5)
            assert infos[i]["marginal_gain"] == pytest.approx(expected[i][t], abs=1e-12)
    assert done_seen > 3


def test_augmented_observations_pass_check_env_and_train_with_sb3():
    from stable_baselines3 import PPO

    f = WeightedCoverage.on_grid((4, 4), radius=0)
    env = SubmodularReward(gym.make("FrozenLake-v1", is_slippery=False), f, observation="visited", time=True)
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert obs["visited"].sum() == 1 and obs["time"][0] == 0
    obs, *_ = env.step(2)
    assert obs["visited"].sum() == 2 and obs["time"][0] == 1
    model = PPO("MultiInputPolicy", env, n_steps=64, batch_size=32, n_epochs=1, device="cpu", seed=0)
    model.learn(128)
    assert model.num_timesteps >= 128


def test_wrapper_bad_input():
    f = WeightedCoverage.on_grid((4, 4))
    with pytest.raises(TypeError, match="element= is needed"):
        SubmodularReward(gym.make("CartPole-v1"), f)
    with pytest.raises(TypeError, match="set function"):
        SubmodularReward(gym.make("FrozenLake-v1"), lambda s: 0.0)
    with pytest.raises(ValueError, match="mode"):
        SubmodularReward(gym.make("FrozenLake-v1"), f, mode="sum")
    env = SubmodularReward(gym.make("CartPole-v1"), f, element=lambda obs, info: float(obs[0]))
    with pytest.raises(TypeError, match="element must return an int"):
        env.reset(seed=0)
    env = SubmodularReward(gym.make("CartPole-v1"), f, element=lambda obs, info: 99)
    with pytest.raises(ValueError, match="outside the ground set"):
        env.reset(seed=0)


# ---------------------------------------------------------------- SubPO


def two_step_toy():
    """From state 0, two steps with two actions; coverage with overlaps, so the order of visits matters."""
    transitions = np.zeros((5, 2, 5))
    for s, a, t in [
        (0, 0, 1),
        (0, 1, 2),
        (1, 0, 3),
        (1, 1, 1),
        (2, 0, 3),
        (2, 1, 4),
        (3, 0, 3),
        (3, 1, 3),
        (4, 0, 4),
        (4, 1, 4),
    ]:
        transitions[s, a, t] = 1.0
    mdp = TabularMDP(transitions, [1.0, 0, 0, 0, 0], 0.99)
    f = WeightedCoverage([[0], [1, 2], [2, 3], [3], [4, 1]], weights=[1.0, 2.0, 1.5, 3.0, 0.5])
    return TabularEnv(mdp, np.zeros(5), horizon=2), f, transitions


def exact_gradient(agent, f, transitions):
    import torch

    total = 0.0
    for a0 in range(2):
        s1 = int(transitions[0, a0].argmax())
        for a1 in range(2):
            s2 = int(transitions[s1, a1].argmax())
            x0, x1 = agent.policy_input(0, 0, [0]), agent.policy_input(s1, 1, [0, s1])
            p = torch.softmax(agent.logits(np.stack([x0, x1])), -1)
            total = total + p[0, a0] * p[1, a1] * f.value([0, s1, s2])
    grads = torch.autograd.grad(total, list(agent.network.parameters()))
    return torch.cat([g.reshape(-1) for g in grads]).detach().numpy()


@pytest.mark.parametrize("policy", ["markov", "history"])
def test_subpo_gradient_is_unbiased_on_a_two_step_toy(policy):
    from rewarddesign.submodular import SubPO

    env, f, transitions = two_step_toy()
    agent = SubPO(env, f, horizon=2, policy=policy, hidden_sizes=(), seed=0, device="cpu")
    import torch

    generator = torch.Generator().manual_seed(0)  # the test's own draws, whatever ran before it
    with torch.no_grad():
        for p in agent.network.parameters():
            p.normal_(0, 0.7, generator=generator)  # a non-uniform policy, so the gradient is not trivial
    exact = exact_gradient(agent, f, transitions)
    estimates = np.stack([agent.gradient([agent.rollout() for _ in range(8)]).detach().numpy() for _ in range(300)])
    mean, error = estimates.mean(0), estimates.std(0) / np.sqrt(len(estimates))
    assert np.abs(exact).max() > 0.05
    np.testing.assert_array_less(np.abs(mean - exact), 4.5 * error + 1e-4)


@pytest.mark.parametrize("natural", [False, True])
def test_subpo_learns_to_cover_more_than_a_random_policy(natural):
    from rewarddesign.submodular import SubPO

    side = 5
    n = side * side
    mdp = grid_mdp(side)
    f = WeightedCoverage.on_grid((side, side), radius=0)  # the number of distinct cells visited
    agent = SubPO(
        TabularEnv(mdp, np.zeros(n), horizon=8),
        f,
        horizon=8,
        natural=natural,
        hidden_sizes=(32,),
        learning_rate=0.05,
        episodes_per_update=16,
        seed=1,
        device="cpu",
    )
    before = np.mean([agent.rollout().value for _ in range(50)])
    agent.learn(40)
    after = agent.evaluate(10, deterministic=False)
    assert after > before + 1.5 and after >= 7.0  # at most 9 cells in 8 steps


# ---------------------------------------------------------------- baselines


def grid_mdp(side):
    """The open side x side grid walk (stay, up, right, down, left) from cell 0, as the envs' walker models it."""
    from rewarddesign.envs.submodular_grids import GridWalk

    objective = WeightedCoverage.on_grid((side, side), radius=0)
    return GridWalk(np.ones((side, side), dtype=bool), (0, 0), 1, objective).model(gamma=0.99)


def test_modular_credit_counts_repeat_visits():
    f = WeightedCoverage.on_grid((3, 3), radius=0)
    mdp = grid_mdp(3)
    env = SubmodularReward(TabularEnv(mdp, np.zeros(9), horizon=4), f, credit="modular")
    env.reset(seed=0)
    rewards = [env.step(a)[1] for a in (0, 0, 2, 4)]  # stay, stay, right, left: every visit pays F({x}) = 1
    assert rewards == [2.0, 1.0, 1.0, 1.0]
    assert env.state.value == 2.0  # but only two distinct cells were covered


def test_greedy_planner_covers_a_line_and_beats_random():
    f = WeightedCoverage.on_grid((6, 6), radius=0)
    mdp = grid_mdp(6)
    plan = greedy_plan(mdp, f, horizon=10, start=0)
    assert plan.value == 11.0 and len(set(plan.states)) == 11  # a new cell every step
    rng = np.random.default_rng(0)
    random_values = []
    for _ in range(50):
        state, seen = 0, {0}
        for _ in range(10):
            state = int(mdp.transitions[state, rng.integers(5)].argmax())
            seen.add(state)
        random_values.append(len(seen))
    assert plan.value > np.mean(random_values) + 3
    with pytest.raises(ValueError, match="ground set"):
        greedy_plan(mdp, WeightedCoverage.on_grid((2, 2)), horizon=3)


@given(seed=st.integers(0, 2**31 - 1), kind=st.sampled_from(KINDS))
def test_batched_gains_equal_single_gains(seed, kind):
    rng = np.random.default_rng(seed)
    f = make(kind, rng)
    state = f.state()
    for item in rng.integers(f.n_items, size=f.n_items // 2):
        state.add(item)
    candidates = np.arange(f.n_items)
    np.testing.assert_allclose(state.gains(candidates), [state.gain(c) for c in candidates], atol=1e-10)
