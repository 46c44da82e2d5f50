import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

from rewarddesign.bilevel import (
    BehaviorAlignedReward,
    BehaviorAlignment,
    BlendedReward,
    NeumannDivergenceError,
    implicit_hypergradient,
    potential_shaping,
    tile_coding,
)
from rewarddesign.bilevel.learners import discounted_sums
from rewarddesign.envs.alignment import (
    ContinuousGridWorld,
    cartpole_pd_action,
    cartpole_pd_agreement,
    cartpole_pd_disagreement,
    grid_centre_bonus,
    grid_centre_potential,
    grid_goal_distance,
    mountaincar_energy_gain,
    mountaincar_push_right,
)

# ---------------------------------------------------------------- an inner problem solved exactly
# A small MDP whose inner objective is computed exactly (policy evaluation by a linear solve), with
# entropy and L2 terms so that the inner optimum theta*(phi) is unique and can be found to machine
# precision: the implicit hypergradient must then match finite differences of J(theta*(phi)).

TAU, BETA = 0.1, 0.5


class ExactProblem:
    def __init__(self, seed: int, n_states: int = 3, n_actions: int = 2, n_aux: int = 1) -> None:
        g = torch.Generator().manual_seed(seed)
        self.S, self.A = n_states, n_actions
        self.P = torch.distributions.Dirichlet(torch.ones(n_actions * n_states, n_states, dtype=torch.float64)).sample()
        self.P = self.P.reshape(n_states, n_actions, n_states)
        self.primary = torch.rand(n_states, n_actions, generator=g, dtype=torch.float64)
        self.aux = torch.rand(n_states, n_actions, n_aux, generator=g, dtype=torch.float64) * 2 - 1
        self.start = torch.full((n_states,), 1.0 / n_states, dtype=torch.float64)
        self.blend = BlendedReward(n_states, n_aux, gamma=0.8).double()
        with torch.no_grad():  # move away from the naive start so that no term is zero by symmetry
            for p in self.blend.parameters():
                p.add_(0.3 * torch.randn(p.shape, generator=g, dtype=torch.float64))
        self.features = torch.eye(n_states, dtype=torch.float64)[:, None, :].expand(n_states, n_actions, n_states)

    def value(self, theta: torch.Tensor, reward: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
        pi = torch.softmax(theta, -1)
        r_pi = (pi * reward).sum(-1)
        p_pi = torch.einsum("sa,sat->st", pi, self.P)
        v = torch.linalg.solve(torch.eye(self.S, dtype=torch.float64) - gamma * p_pi, r_pi)
        return self.start @ v

    def inner(self, theta: torch.Tensor) -> torch.Tensor:
        reward = self.blend(self.features, self.primary, self.aux)
        pi = torch.softmax(theta, -1)
        entropy = -(pi * torch.log(pi)).sum()
        return self.value(theta, reward, self.blend.gamma) + TAU * entropy - BETA / 2 * theta.pow(2).sum()

    def outer(self, theta: torch.Tensor) -> torch.Tensor:
        return self.value(theta, self.primary, torch.tensor(0.9, dtype=torch.float64))

    def solve(self, start: torch.Tensor | None = None) -> torch.Tensor:
        """theta*(phi) by damped Newton steps on the (small) exact inner objective."""
        theta = torch.zeros(self.S, self.A, dtype=torch.float64) if start is None else start.detach().clone()
        for _ in range(200):
            t = theta.detach().requires_grad_(True)
            grad = torch.autograd.grad(self.inner(t), t)[0].reshape(-1)
            if grad.norm() < 1e-13:
                break
            neg_hessian = -torch.autograd.functional.hessian(self.inner, theta).reshape(grad.numel(), -1)
            if torch.linalg.eigvalsh(neg_hessian).min() > 1e-9:
                step = torch.linalg.solve(neg_hessian, grad).reshape(theta.shape)
            else:
                step = grad.reshape(theta.shape)
            size, base = 1.0, self.inner(theta).item()
            while self.inner(theta + size * step).item() < base - 1e-15 and size > 1e-8:
                size /= 2
            theta = theta + size * step
        return theta.detach().requires_grad_(True)

    def hypergradient(self, neumann_steps: int) -> torch.Tensor:
        theta = self.solve()
        hessian = torch.autograd.functional.hessian(lambda t: self.inner(t), theta).reshape(theta.numel(), -1)
        alpha = 1.0 / float(torch.linalg.eigvalsh(-hessian).max())
        outer_grad = torch.autograd.grad(self.outer(theta), theta)
        grads = implicit_hypergradient(
            self.inner(theta), outer_grad, [theta], list(self.blend.parameters()),
            neumann_steps=neumann_steps, alpha=alpha, growth_limit=1e6,
        )  # fmt: skip
        return torch.cat([g.reshape(-1) for g in grads])

    def finite_difference(self, eps: float = 1e-5) -> torch.Tensor:
        base, out = self.solve(), []
        for p in self.blend.parameters():
            flat = p.data.view(-1)
            for i in range(flat.numel()):
                values = []
                for sign in (1, -1):
                    flat[i] += sign * eps
                    values.append(self.outer(self.solve(start=base)).item())
                    flat[i] -= sign * eps
                out.append((values[0] - values[1]) / (2 * eps))
        return torch.tensor(out, dtype=torch.float64)


def test_hypergradient_matches_finite_differences_and_first_order_points_uphill():
    errors, cosines = [], []
    for seed in range(10):
        problem = ExactProblem(seed)
        exact = problem.finite_difference()
        implicit = problem.hypergradient(neumann_steps=300)
        first = problem.hypergradient(neumann_steps=0)
        errors.append(float((implicit - exact).norm() / exact.norm()))
        cosines.append(float(exact @ first / (exact.norm() * first.norm())))
    assert sum(e < 0.05 for e in errors) >= 9, errors
    assert np.mean(np.array(cosines) > 0) >= 0.8, cosines


def test_a_helpful_heuristic_is_pushed_up_and_a_harmful_one_down():
    # one state, three actions: the primary reward prefers action 0; heuristic 0 agrees, heuristic 1
    # pays for action 1 instead
    problem = ExactProblem(0, n_states=1, n_actions=3, n_aux=2)
    problem.P = torch.ones(1, 3, 1, dtype=torch.float64)
    problem.primary = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)
    problem.aux = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]], dtype=torch.float64)
    problem.blend = BlendedReward(1, 2, gamma=0.5).double()
    grads = problem.hypergradient(neumann_steps=100)
    names = [name for name, p in problem.blend.named_parameters() for _ in range(p.numel())]
    bias = grads[[i for i, name in enumerate(names) if name == "head.bias"]]  # [bonus, heuristic 0, heuristic 1]
    assert bias[1] > 0 and bias[2] < 0
    assert abs(bias[0]) < 1e-9  # a constant bonus changes no policy
    np.testing.assert_allclose(grads.numpy(), problem.finite_difference().numpy(), rtol=0.05, atol=1e-8)


def test_neumann_divergence_raises_with_advice():
    theta, phi = torch.zeros(1, requires_grad=True), torch.ones(1, requires_grad=True)
    inner = (theta - phi).pow(2).sum()  # convex: no maximum, the series grows
    with pytest.raises(NeumannDivergenceError, match="alpha"):
        implicit_hypergradient(inner, [torch.ones(1)], [theta], [phi], neumann_steps=50, alpha=0.5)
    with pytest.raises(ValueError, match="neumann_steps"):
        implicit_hypergradient(inner, [torch.ones(1)], [theta], [phi], neumann_steps=-1)


def test_discounted_sums_and_their_gradient_in_the_discount():
    values = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)
    gamma = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    out = discounted_sums(values, gamma)
    np.testing.assert_allclose(out.detach().numpy(), [[1 + 1 + 0.75, 2 + 1.5, 3]])
    out[0, 0].backward()
    assert float(gamma.grad) == pytest.approx(2 + 2 * 0.5 * 3)


# ---------------------------------------------------------------- the blend, features and wrapper


def test_blend_starts_from_the_naive_sum_and_tiles_are_one_hot():
    blend = BlendedReward(25, 2)
    f = torch.as_tensor(tile_coding([0, 0], [1, 1], 5)(np.random.default_rng(0).random((7, 2))), dtype=torch.float32)
    primary, aux = torch.randn(7), torch.randn(7, 2)
    torch.testing.assert_close(blend(f, primary, aux), primary + aux.sum(-1))
    assert blend.gamma.item() == pytest.approx(0.99)
    assert torch.all(f.sum(1) == 1)
    with pytest.raises(ValueError, match="gamma"):
        BlendedReward(2, 1, gamma=1.0)


def test_aligned_reward_wrapper_pays_the_blend_and_trains_with_sb3():
    from stable_baselines3 import PPO

    features = tile_coding([0, 0], [1, 1], 5)
    blend = BlendedReward(25, 1)
    with torch.no_grad():
        blend.head.bias[1] = -0.5  # half the centre bonus, negated
        blend.head.bias[0] = 0.2
    env = BehaviorAlignedReward(gym.make("rewarddesign/ContinuousGrid-v0"), blend, [grid_centre_bonus], features)
    check_env(env, skip_render_check=True)
    env.reset(seed=0)
    env.unwrapped.position = np.array([0.325, 0.525], dtype=np.float32)
    env.unwrapped.slip = 0.0
    _, reward, _, _, info = env.step(3)  # right, into the centre box
    assert info["original_reward"] == pytest.approx(-0.1)
    assert reward == pytest.approx(0.2 - 0.1 - 0.5 * 50)
    assert env.gamma == pytest.approx(0.99)
    PPO("MlpPolicy", env, n_steps=64, batch_size=64, n_epochs=1, device="cpu").learn(128)


# ---------------------------------------------------------------- learning


class Bandit(gym.Env):
    """One step, three arms: the primary reward pays 1 for arm 0."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def step(self, action):
        return np.zeros(1, np.float32), float(action == 0), True, False, {}


def good(obs, act, next_obs, done):
    return (np.asarray(act) == 0).astype(float)


def bad(obs, act, next_obs, done):
    return 2.0 * (np.asarray(act) == 1)


def test_sampled_hypergradient_raises_the_good_heuristic_and_lowers_the_bad_one():
    learner = BehaviorAlignment(Bandit, [good, bad], policy_hidden=(), seed=0, device="cpu")
    bias = torch.stack([learner.hypergradient(learner.collect())["head.bias"] for _ in range(40)])
    mean, se = bias.mean(0), bias.std(0) / np.sqrt(len(bias))
    assert mean[1] > 2 * se[1] and mean[2] < -2 * se[2], (mean, se)  # [bonus, good, bad]
    assert learner.episodes == 40 * 16


def scaled_goal_distance(obs, act, next_obs, done):
    return 1000.0 * grid_goal_distance(obs, act, next_obs, done)


@pytest.mark.parametrize("learner", ["reinforce", "actor-critic"])
def test_outer_objective_is_blind_to_the_heuristics_scale(learner):
    # Two learners whose heuristics differ by a factor 1000 train a few updates (the actor-critic's
    # critic is then fitted to very different blended returns), then share a policy and a batch
    # of episodes: the estimate of the primary return's gradient must be the same for both.
    kwargs = {"features": tile_coding([0, 0], [1, 1], 5), "learner": learner, "seed": 0, "device": "cpu"}
    env = "rewarddesign/ContinuousGrid-v0"
    small = BehaviorAlignment(env, [grid_goal_distance], **kwargs).learn(64)
    large = BehaviorAlignment(env, [scaled_goal_distance], **kwargs).learn(64)
    large.policy.load_state_dict(small.policy.state_dict())
    batch = small.collect()
    scaled = dataclasses.replace(batch, aux=1000.0 * batch.aux)
    values, grads = [], []
    for learner_, episodes in ((small, batch), (large, scaled)):
        objective = learner_.outer_objective(episodes)
        values.append(objective.item())
        grads.append(
            torch.cat([g.reshape(-1) for g in torch.autograd.grad(objective, list(learner_.policy.parameters()))])
        )
    assert values[0] == pytest.approx(values[1], rel=1e-6, abs=1e-9)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-5, atol=1e-7)
    assert grads[0].norm() > 0


def test_schedule_counts_inner_and_outer_updates_and_warms_up_on_the_initial_blend():
    learner = BehaviorAlignment(
        Bandit, [good, bad], policy_hidden=(), inner_steps=3, warmup_steps=2, episodes_per_update=4, device="cpu"
    )
    phi0 = [p.detach().clone() for p in learner.blend.parameters()]
    learner.learn(4 * 2)  # the warm-up: no outer step, the blend as it started
    assert learner.inner_updates == 2 and learner.outer_updates == 0
    assert all(torch.equal(p, q) for p, q in zip(learner.blend.parameters(), phi0))
    learner.learn(4 * 9)
    assert learner.inner_updates == 11 and learner.outer_updates == 3  # outer steps at updates 2, 5, 8
    assert [h["outer_step"] for h in learner.history] == [i >= 2 and (i - 2) % 3 == 0 for i in range(11)]
    assert [h["outer_seconds"] > 0 for h in learner.history] == [h["outer_step"] for h in learner.history]
    # the defaults alternate: one outer step per inner step, from the first update
    plain = BehaviorAlignment(Bandit, [good], policy_hidden=(), episodes_per_update=4, device="cpu").learn(12)
    assert plain.inner_updates == plain.outer_updates == 3
    assert all(h["outer_step"] and h["hessian_episodes"] == 4 for h in plain.history)


def test_hessian_term_is_estimated_on_the_larger_batch_of_earlier_episodes():
    learner = BehaviorAlignment(
        Bandit, [good, bad], policy_hidden=(), warmup_steps=3, hessian_episodes=10, episodes_per_update=4, device="cpu"
    )
    seen = []
    surrogate = learner.learner.surrogate

    def spy(batch, rewards, gamma):
        seen.append((batch.mask.shape[0], rewards.requires_grad))
        return surrogate(batch, rewards, gamma)

    learner.learner.surrogate = spy
    learner.learn(4 * 5)
    # inner steps see their own batch of 4 (rewards detached); each outer step differentiates the
    # inner objective on the 10 episodes before its batch, with the graph to the blend
    assert [size for size, graph in seen if graph] == [10, 10]
    assert [size for size, graph in seen if not graph] == [4] * 5
    assert [h["hessian_episodes"] for h in learner.history] == [0, 0, 0, 10, 10]
    batch, earlier = learner.collect(), learner._hessian_batch()
    assert earlier.mask.shape[0] == 10 and earlier.mask.shape[0] > batch.mask.shape[0]


def test_schedule_refuses_bad_values():
    env = "rewarddesign/ContinuousGrid-v0"
    for kwargs, match in [
        ({"inner_steps": 0}, "inner_steps"),
        ({"inner_steps": 1.5}, "inner_steps"),
        ({"inner_steps": True}, "inner_steps"),
        ({"warmup_steps": -1}, "warmup_steps"),
        ({"hessian_episodes": 1, "warmup_steps": 5}, "hessian_episodes"),
        ({"hessian_episodes": 48, "warmup_steps": 2}, "raise warmup_steps to at least 3"),
    ]:
        with pytest.raises(ValueError, match=match):
            BehaviorAlignment(env, episodes_per_update=16, device="cpu", **kwargs)
    BehaviorAlignment(env, hessian_episodes=48, learn_blend=False, device="cpu")  # no outer step: nothing to wait for


def test_same_seed_same_run_and_the_global_torch_generator_is_left_alone():
    def run():
        return [h["primary_return"] for h in BehaviorAlignment(Bandit, [good], device="cpu", seed=5).learn(48).history]

    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = run()
    assert torch.equal(torch.get_rng_state(), state)
    torch.rand(7)  # whatever else the process draws
    assert run() == first


def test_barfi_recovers_goal_reaching_where_the_naive_sum_loiters():
    kwargs = {"features": tile_coding([0, 0], [1, 1], 5), "seed": 0, "device": "cpu"}
    env = "rewarddesign/ContinuousGrid-v0"
    naive = BehaviorAlignment(env, [grid_centre_bonus], learn_blend=False, **kwargs).learn(640)
    barfi = BehaviorAlignment(env, [grid_centre_bonus], **kwargs).learn(640)
    late = lambda learner: np.mean([h["success_rate"] for h in learner.history[-5:]])  # noqa: E731
    assert late(naive) < 0.2 and late(barfi) > 0.7
    assert barfi.history[-1]["aux_weights"][0] < 0.5  # the distractor is turned down
    assert all(np.isfinite(h["gamma"]) and 0 < h["gamma"] < 1 for h in barfi.history)
    assert len(barfi.history[-1]["phi"]["head.weight"]) == 2 * 25  # bonus and heuristic weight per tile
    action, _ = barfi.predict(np.array([[0.125, 0.125]]))
    assert action.shape == (1,) and action[0] in (0, 3)  # up or right, towards the goal
    reward = barfi.reward(
        np.array([[0.325, 0.525]]), np.array([3]), np.array([[0.525, 0.525]]), np.array([False]), np.array([-0.1])
    )
    assert reward.shape == (1,) and reward[0] < 25  # the centre pays far less than the naive 49.9


def test_actor_critic_and_potential_baseline_learn_the_grid():
    kwargs = {"features": tile_coding([0, 0], [1, 1], 5), "seed": 1, "device": "cpu"}
    shaping = potential_shaping(lambda obs: -np.linalg.norm(np.asarray(obs) - 0.87, axis=1))
    env = "rewarddesign/ContinuousGrid-v0"
    learner = BehaviorAlignment(env, [grid_goal_distance], learner="actor-critic", **kwargs)
    learner.learn(480)
    assert np.mean([h["success_rate"] for h in learner.history[-5:]]) > 0.6
    baseline = BehaviorAlignment(env, shaping=shaping, learn_blend=False, **kwargs)
    assert np.mean([h["success_rate"] for h in baseline.learn(480).history[-5:]]) > 0.6


def test_potential_shaping_telescopes():
    shaping = potential_shaping(grid_centre_potential, gamma=1.0)
    obs = np.array([[0.1, 0.1], [0.5, 0.5], [0.7, 0.5]])
    nxt = np.array([[0.5, 0.5], [0.7, 0.5], [0.9, 0.9]])
    values = shaping(obs, np.zeros(3), nxt, np.zeros(3), np.array([False, False, True]))
    np.testing.assert_allclose(values, [50, -50, 0])
    advice = potential_shaping(lambda o, a: np.asarray(a, dtype=float), gamma=0.5, action=True)
    np.testing.assert_allclose(advice(obs, np.array([1, 0, 1]), nxt, np.array([1, -1, 0]), np.zeros(3)), [-0.5, 0, -1])


# ---------------------------------------------------------------- environments and bad input


def test_environments_and_heuristics():
    env = gym.make("rewarddesign/ContinuousGrid-v0")
    check_env(env.unwrapped)
    grid = ContinuousGridWorld(slip=0.0)
    grid.reset(seed=0)
    total, steps = 0.0, 0
    for action in [3, 3, 3, 3, 0, 0, 0, 0]:
        _, reward, terminated, _, info = grid.step(action)
        total, steps = total + reward, steps + 1
    assert terminated and info["success"] and total == pytest.approx(100 - 0.1 * steps)
    assert grid.render() is None and ContinuousGridWorld(render_mode="rgb_array").render().shape == (100, 100, 3)
    near, far = np.array([[0.85, 0.85]]), np.array([[0.1, 0.1]])
    assert grid_goal_distance(None, None, near, None)[0] > grid_goal_distance(None, None, far, None)[0]
    obs = np.array([[0.0, 0.0, 0.05, 0.0], [0.0, 0.0, -0.05, 0.0]])
    np.testing.assert_array_equal(cartpole_pd_action(obs), [1, 0])  # push the way the pole leans
    act = np.array([1, 1])
    np.testing.assert_array_equal(cartpole_pd_agreement(obs, act, obs, None), [1, 0])
    np.testing.assert_array_equal(cartpole_pd_disagreement(obs, act, obs, None), [0, 1])
    # MountainCar: speeding up at the bottom of the valley gains energy
    assert mountaincar_energy_gain(np.array([[-0.5, 0.0]]), None, np.array([[-0.5, 0.01]]), None)[0] > 0
    np.testing.assert_array_equal(mountaincar_push_right(None, np.array([0, 1, 2]), None, None), [0, 0, 1])
    # pushing right from rest at the bottom never reaches the goal: the heuristic misleads on its own
    car = gym.make("MountainCar-v0")
    car.reset(seed=0)
    assert not any(car.step(2)[2] for _ in range(200))


def nan_heuristic(obs, act, next_obs, done):
    return np.full(len(obs), np.nan)


def test_bad_input_is_rejected():
    env = "rewarddesign/ContinuousGrid-v0"
    with pytest.raises(ValueError, match="auxiliary reward 0"):
        BehaviorAlignment(env, [nan_heuristic], device="cpu", episodes_per_update=2).learn(2)
    with pytest.raises(ValueError, match="features"):
        BehaviorAlignment(env, [grid_goal_distance], features=lambda o: np.ones((1, 3)), device="cpu").learn(16)
    with pytest.raises(ValueError, match="columns"):
        BehaviorAlignment(
            env, [grid_goal_distance], features=lambda o: np.ones((len(o), 3 if len(o) == 1 else 4))
        ).collect()
    with pytest.raises(ValueError, match="learner"):
        BehaviorAlignment(env, learner="ppo")
    with pytest.raises(ValueError, match="episodes_per_update"):
        BehaviorAlignment(env, episodes_per_update=1)
    with pytest.raises(TypeError, match="Discrete"):
        BehaviorAlignment("Pendulum-v1")
    with pytest.raises(ValueError, match="aux_rewards"):
        BehaviorAlignedReward(gym.make(env), BlendedReward(2, 2), [grid_goal_distance])
    with pytest.raises(ValueError, match="step_size"):
        ContinuousGridWorld(step_size=0.0)
