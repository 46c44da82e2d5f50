"""Reward-machine wrappers in every form, counterfactual experience (CRM), shaping, and the labelled tasks."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv

import rewarddesign.envs  # noqa: F401
from rewarddesign.envs.office_world import OFFICE_OBJECTS, OfficeWorld
from rewarddesign.machines import (
    CounterfactualDictReplayBuffer,
    CounterfactualReplayBuffer,
    MachinePotential,
    MachineTerm,
    RewardMachine,
    RewardMachineWrapper,
    from_ltlf,
    greedy_return,
    machine_potential,
    machine_shaping,
    machine_values,
    machine_wrapper,
    product_mdp,
    q_learning,
)
from rewarddesign.mdp import policy_return, value_iteration
from rewarddesign.rewards import VecDesignedReward
from rewarddesign.shaping import PotentialShaping

# office cells (x, y) -> index y * 12 + x; the coffee task's shortest route: 15 steps
UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3


def _cell(x: int, y: int) -> int:
    return y * 12 + x


def test_office_world_layout() -> None:
    world = OfficeWorld()
    for (x, y), label in OFFICE_OBJECTS.items():
        assert world.state_labels[_cell(x, y)] == {label}
    assert world.next_state[_cell(2, 1), LEFT] == _cell(1, 1)  # inside a room
    assert world.next_state[_cell(2, 1), RIGHT] == _cell(3, 1)  # a door
    assert world.next_state[_cell(2, 2), RIGHT] == _cell(2, 2)  # a wall
    assert world.next_state[_cell(1, 2), UP] == _cell(1, 3)  # a vertical door
    obs, info = world.reset(seed=0)
    assert obs == _cell(2, 1) and info["labels"] == frozenset()
    with pytest.raises(ValueError, match="action"):
        world.step(7)


def test_wrapper_hand_traced_on_office() -> None:
    """From (2, 1): left onto a, up twice through the door at x = 1, up onto the plant at (1, 4)."""
    env = RewardMachineWrapper(OfficeWorld(), OfficeWorld().machine("coffee"))
    obs, info = env.reset(seed=0)
    assert obs == {"obs": _cell(2, 1), "machine": 0} and info["machine_state"] == 0
    for action, cell, labels in [(LEFT, (1, 1), {"a"}), (UP, (1, 2), set()), (UP, (1, 3), set())]:
        obs, reward, terminated, _, info = env.step(action)
        assert obs == {"obs": _cell(*cell), "machine": 0} and info["machine_labels"] == labels
        assert reward == 0.0 and not terminated
    obs, reward, terminated, _, info = env.step(UP)
    assert obs["obs"] == _cell(1, 4) and info["machine_labels"] == {"plant"}
    assert terminated and reward == 0.0 and info["machine_state"] == 2 and info["original_reward"] == 0.0
    assert info["machine_reward"] == 0.0


def _optimal_route(task: str) -> tuple[list[int], int]:
    """Greedy actions of the exact optimum on the product MDP, from the start (and the number of steps)."""
    world = OfficeWorld()
    machine = world.machine(task)
    product = product_mdp(world.model(0.9), machine, world.state_labels)
    solution = value_iteration(product.mdp, product.reward)
    s, u, actions = world.start, machine.initial, []
    while u not in machine.terminal:
        a = int(solution.policy[product.index(s, u)])
        actions.append(a)
        s = int(world.next_state[s, a])
        u, _ = machine.step(u, world.state_labels[s])
    return actions, len(actions)


def test_product_optimum_matches_the_shortest_route() -> None:
    # the benchmark normalises by 0.9 ** (d - 1), d from breadth-first search: 15 steps for coffee
    world = OfficeWorld()
    machine = world.machine("coffee")
    product = product_mdp(world.model(0.9), machine, world.state_labels)
    v = value_iteration(product.mdp, product.reward).v[product.index(world.start, machine.initial)]
    assert v == pytest.approx(0.9**14, rel=1e-9)
    actions, steps = _optimal_route("coffee")
    assert steps == 15
    env = RewardMachineWrapper(OfficeWorld(), machine)
    env.reset(seed=0)
    rewards = [env.step(a)[1] for a in actions]
    assert rewards == [0.0] * 14 + [1.0]


def test_shaping_keeps_the_optimal_policy_of_the_product_mdp() -> None:
    """Exact check: the product MDP with and without the machine shaping has the same optimal policies."""
    world = OfficeWorld()
    for task in ("coffee", "coffee_and_mail"):
        machine = world.machine(task)
        product = product_mdp(world.model(0.9), machine, world.state_labels)
        phi = machine_potential(machine, 0.9, set(world.state_labels))
        assert np.all(phi[:-1] < 0) and phi[-1] == 0.0
        u = np.tile(np.arange(machine.n_states), product.n_env_states)  # machine state of each product state
        shaped = product.reward + 0.9 * phi[u][None, None, :] - phi[u][:, None, None]
        plain = value_iteration(product.mdp, product.reward)
        with_shaping = value_iteration(product.mdp, shaped)
        live = ~product.mdp.terminal
        # Q' = Q - phi(u) everywhere the agent acts, so every optimal action stays optimal
        np.testing.assert_allclose(with_shaping.q[live], plain.q[live] - phi[u][live][:, None], atol=1e-9)
        assert policy_return(product.mdp, product.reward, with_shaping.policy) == pytest.approx(
            policy_return(product.mdp, product.reward, plain.policy), abs=1e-12
        )


def test_machine_values_known() -> None:
    patrol = OfficeWorld().machine("patrol")
    np.testing.assert_allclose(machine_values(patrol, 0.9, set(OfficeWorld().state_labels)), [0.729, 0.81, 0.9, 1, 0])
    np.testing.assert_allclose(machine_values(from_ltlf("F a"), 0.5), [1.0, 0.0])
    with pytest.raises(ValueError, match="gamma"):
        machine_values(patrol, 1.0)
    with pytest.raises(TypeError, match="machine"):
        machine_values("F a", 0.9)  # type: ignore[arg-type]


def test_machine_potential_through_potential_shaping() -> None:
    world = OfficeWorld()
    machine = world.machine("coffee")
    phi = MachinePotential(machine, 0.9, labels=set(world.state_labels))
    for observation in ("dict", "flat"):
        env = PotentialShaping(RewardMachineWrapper(OfficeWorld(), machine, observation=observation), phi, gamma=0.9)
        env.reset(seed=0)
        actions, _ = _optimal_route("coffee")
        total = 0.0
        for t, a in enumerate(actions):
            _, reward, terminated, _, info = env.step(a)
            total += 0.9**t * reward
        assert terminated
        # shaped return = machine return - phi(u0) (telescoping; phi = 0 at the end)
        assert total == pytest.approx(0.9**14 - phi.values[0], abs=1e-12)


def test_flat_observation_and_check_env() -> None:
    machine = OfficeWorld().machine("patrol")
    env = RewardMachineWrapper(OfficeWorld(), machine, observation="flat")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (108 + 5,) and obs.dtype == np.float32
    assert obs[_cell(2, 1)] == 1.0 and obs[108] == 1.0 and obs.sum() == 2.0
    check_env(env, skip_render_check=True)
    check_env(RewardMachineWrapper(OfficeWorld(), machine, counterfactual=True), skip_render_check=True)
    with pytest.raises(ValueError, match="observation must be"):
        RewardMachineWrapper(OfficeWorld(), machine, observation="onehot")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="RewardMachine"):
        RewardMachineWrapper(OfficeWorld(), "F a")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="labeler must be callable"):
        RewardMachineWrapper(OfficeWorld(), machine, labeler=3)  # type: ignore[arg-type]


def test_labeler_errors() -> None:
    env = RewardMachineWrapper(gym.make("CartPole-v1"), from_ltlf("F a"))
    env.reset(seed=0)
    with pytest.raises(KeyError, match="labeler"):
        env.step(0)
    env = RewardMachineWrapper(gym.make("CartPole-v1"), from_ltlf("F a"), labeler=lambda *_: "a")
    env.reset(seed=0)
    with pytest.raises(TypeError, match="set of label names"):
        env.step(0)


SMALL = RewardMachine(
    0,
    {(0, "a & !c"): (1, 0.0), (1, "b & !c"): (2, 1.0), (1, "c"): (3, 0.0), (0, "c"): (3, 0.0)},
    terminal=(2, 3),
)


class Line(gym.Env):
    """Cells 0..4 on a line; labels: 1 -> a, 3 -> b, 4 -> c; episodes of at most 6 steps are cut by TimeLimit."""

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(0.0, 4.0, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.x = 0

    def reset(self, *, seed=None, options=None):  # type: ignore[no-untyped-def]
        super().reset(seed=seed)
        self.x = 0
        return np.array([0.0], np.float32), {"labels": frozenset()}

    def step(self, action):  # type: ignore[no-untyped-def]
        self.x = int(np.clip(self.x + (1 if action == 1 else -1), 0, 4))
        labels = frozenset({1: {"a"}, 3: {"b"}, 4: {"c"}}.get(self.x, set()))
        return np.array([float(self.x)], np.float32), 1.0, False, False, {"labels": labels}


def test_counterfactuals_enumerated_for_a_small_machine() -> None:
    env = RewardMachineWrapper(Line(), SMALL, observation="flat", counterfactual=True)
    env.reset(seed=0)
    env.step(1)  # x = 1: a; machine 0 -> 1
    _, reward, terminated, _, info = env.step(1)  # x = 2: no label
    cf = info["counterfactual"]
    assert cf.states == (0, 1)
    np.testing.assert_array_equal(cf.obs, [[1, 1, 0, 0, 0], [1, 0, 1, 0, 0]])
    np.testing.assert_array_equal(cf.next_obs, [[2, 1, 0, 0, 0], [2, 0, 1, 0, 0]])
    np.testing.assert_array_equal(cf.rewards, [0.0, 0.0])
    np.testing.assert_array_equal(cf.terminated, [False, False])
    _, reward, terminated, _, info = env.step(1)  # x = 3: b; from 1 -> 2 paying 1, from 0 nothing
    cf = info["counterfactual"]
    assert reward == 1.0 and terminated and info["original_reward"] == 1.0
    np.testing.assert_array_equal(cf.next_obs, [[3, 1, 0, 0, 0], [3, 0, 0, 1, 0]])
    np.testing.assert_array_equal(cf.rewards, [0.0, 1.0])
    np.testing.assert_array_equal(cf.terminated, [False, True])
    env.reset(seed=0)
    for _ in range(4):
        *_, info = env.step(1)  # x = 4: c ends both live states without reward
    cf = info["counterfactual"]
    np.testing.assert_array_equal(cf.next_obs[:, 1:], [[0, 0, 0, 1], [0, 0, 0, 1]])
    np.testing.assert_array_equal(cf.rewards, [0.0, 0.0])
    np.testing.assert_array_equal(cf.terminated, [True, True])


def test_machine_shaping_shapes_every_counterfactual_row() -> None:
    phi = MachinePotential(SMALL, values=[-2.0, -1.0, 0.0, 0.0])  # 2 and 3 terminal
    env = machine_shaping(RewardMachineWrapper(Line(), SMALL, observation="flat", counterfactual=True), phi, 0.5)
    env.reset(seed=0)
    _, reward, *_, info = env.step(1)  # x = 1: a; real 0 -> 1: 0 + 0.5 * -1 - (-2) = 1.5
    assert reward == pytest.approx(1.5)
    np.testing.assert_allclose(info["counterfactual"].rewards, [1.5, 0.5 * -1.0 + 1.0])  # from 1: stays in 1
    env.step(1)  # x = 2: no label
    _, reward, terminated, _, info = env.step(1)  # x = 3: b; real 1 -> 2 (terminal): 1 + 0 - (-1) = 2
    cf = info["counterfactual"]
    assert terminated and reward == pytest.approx(2.0)
    np.testing.assert_allclose(cf.rewards, [0.5 * -2.0 + 2.0, 2.0])  # from 0: stays in 0; from 1: the real row
    # without rows (counterfactual=False) the wrapper is plain potential shaping
    plain = machine_shaping(RewardMachineWrapper(Line(), SMALL, observation="flat"), phi, 0.5)
    plain.reset(seed=0)
    _, reward, *_, info = plain.step(1)
    assert reward == pytest.approx(1.5) and "counterfactual" not in info
    with pytest.raises(TypeError, match="MachinePotential"):
        machine_shaping(RewardMachineWrapper(Line(), SMALL), lambda obs, t=0: 0.0, 0.5)  # type: ignore[arg-type]


def test_counterfactual_replay_buffer_contents() -> None:
    venv = DummyVecEnv([lambda: gym.wrappers.TimeLimit(RewardMachineWrapper(Line(), SMALL, None, "flat", True), 2)])
    buffer = CounterfactualReplayBuffer(16, venv.observation_space, venv.action_space, device="cpu")
    plain = ReplayBuffer(16, venv.observation_space, venv.action_space, device="cpu")
    obs = venv.reset()
    for _ in range(2):
        action = np.array([1])
        next_obs, rewards, dones, infos = venv.step(action)
        stored = next_obs.copy()
        if dones[0]:
            stored[0] = infos[0]["terminal_observation"]
        buffer.add(obs, stored, action, rewards, dones, infos)
        plain.add(obs, stored, action, rewards, dones, infos)
        obs = next_obs
    # step 1 (x: 0 -> 1, a) and step 2 (x: 1 -> 2, time limit): two machine states each
    assert buffer.pos == 4 and plain.pos == 2
    np.testing.assert_array_equal(buffer.observations[:4, 0, 0], [0, 0, 1, 1])
    np.testing.assert_array_equal(buffer.observations[:4, 0, 1:3], [[1, 0], [0, 1], [1, 0], [0, 1]])
    np.testing.assert_array_equal(buffer.next_observations[:4, 0, 1:3], [[0, 1], [0, 1], [1, 0], [0, 1]])
    np.testing.assert_array_equal(buffer.rewards[:4, 0], [0, 0, 0, 0])  # the machine's, not the env's 1
    np.testing.assert_array_equal(buffer.dones[:4, 0], [0, 0, 1, 1])
    np.testing.assert_array_equal(buffer.timeouts[:4, 0], [0, 0, 1, 1])  # truncated, not terminated
    # the real transitions are among them
    np.testing.assert_array_equal(plain.observations[:2, 0], buffer.observations[[0, 3], 0])


def test_counterfactual_dict_buffer_and_dqn() -> None:
    from stable_baselines3 import DQN

    wrap = machine_wrapper(SMALL, counterfactual=True)
    venv = make_vec_env(lambda: gym.wrappers.TimeLimit(Line(), 8), n_envs=2, seed=0, wrapper_class=wrap)
    buffer = CounterfactualDictReplayBuffer(32, venv.observation_space, venv.action_space, device="cpu", n_envs=2)
    obs = venv.reset()
    next_obs, rewards, dones, infos = venv.step(np.array([1, 0]))
    buffer.add(obs, next_obs, np.array([1, 0]), rewards, dones, infos)
    assert buffer.pos == 2
    np.testing.assert_array_equal(buffer.observations["machine"][:2, :, 0], [[0, 0], [1, 1]])
    np.testing.assert_array_equal(buffer.next_observations["machine"][:2, :, 0], [[1, 0], [1, 1]])
    np.testing.assert_array_equal(buffer.next_observations["obs"][:2, :, 0], [[1, 0], [1, 0]])
    # DQN trains with the buffer (flat observations)
    flat = make_vec_env(
        lambda: gym.wrappers.TimeLimit(Line(), 8), 1, seed=0, wrapper_class=machine_wrapper(SMALL, None, "flat", True)
    )
    model = DQN(
        "MlpPolicy", flat, replay_buffer_class=CounterfactualReplayBuffer, learning_starts=20, buffer_size=500, seed=0
    )
    model.learn(60)
    assert model.replay_buffer is not None and model.replay_buffer.size() > 60


def test_vector_forms_match_the_single_env_across_resets() -> None:
    machine = OfficeWorld().machine("coffee")
    actions = np.random.default_rng(0).integers(4, size=(300, 2)).tolist()

    def make() -> gym.Env:
        return gym.wrappers.TimeLimit(OfficeWorld(), 20)

    # SB3: a done env restarts at once
    singles = [RewardMachineWrapper(make(), machine) for _ in range(2)]
    for env in singles:
        env.reset(seed=0)
    venv = DummyVecEnv([lambda: RewardMachineWrapper(make(), machine)] * 2)
    venv.reset()
    ends = 0
    for row in actions:
        obs, rewards, dones, infos = venv.step(np.array(row))
        for i, env in enumerate(singles):
            o, reward, terminated, truncated, info = env.step(row[i])
            assert rewards[i] == reward and bool(dones[i]) == (terminated or truncated)
            assert infos[i]["machine_state"] == info["machine_state"]
            if terminated or truncated:
                ends += 1
                assert infos[i]["terminal_observation"] == o
                o, _ = env.reset()
            assert obs["obs"][i] == o["obs"] and obs["machine"][i] == o["machine"]
    assert ends > 5
    # Gymnasium: the step after an end only resets that env (reward 0)
    singles = [RewardMachineWrapper(make(), machine) for _ in range(2)]
    for env in singles:
        env.reset(seed=0)
    envs = gym.vector.SyncVectorEnv([lambda: RewardMachineWrapper(make(), machine)] * 2)
    envs.reset(seed=0)
    restarting = [False, False]
    for row in actions:
        obs, rewards, terminated, truncated, _ = envs.step(np.array(row))
        for i, env in enumerate(singles):
            if restarting[i]:
                o, _ = env.reset()
                reward, done = 0.0, False
            else:
                o, reward, term, trunc, _ = env.step(row[i])
                done = term or trunc
            assert rewards[i] == reward and obs["obs"][i] == o["obs"] and obs["machine"][i] == o["machine"]
            restarting[i] = done


def test_machine_term_in_the_sb3_reward_form() -> None:
    machine = OfficeWorld().machine("coffee")
    venv = VecDesignedReward(DummyVecEnv([OfficeWorld]), MachineTerm(machine))
    venv.reset()
    actions, _ = _optimal_route("coffee")
    rewards = [float(venv.step(np.array([a]))[1][0]) for a in actions]
    assert rewards[-1] == 1.0 and sum(rewards) == 1.0
    _, reward, _, infos = venv.step(np.array([0]))
    assert reward[0] == 0.0 and infos[0]["machine_reward"] == 0.0  # a terminal state stays and pays 0


def test_q_learning_crm_learns_the_coffee_task() -> None:
    machine = OfficeWorld().machine("coffee")
    optimum = 0.9**14
    result = q_learning(
        gym.make("rewarddesign/OfficeWorld-v0"),
        machine,
        steps=30_000,
        crm=True,
        q_init=1.0,
        eval_env=gym.make("rewarddesign/OfficeWorld-v0"),
        eval_every=10_000,
        rng=0,
    )
    assert result.q.shape == (108, 3, 4)
    assert result.updates == 2 * 30_000  # two live machine states, one update each per step
    assert result.eval_returns[0] == 0.0 and result.eval_returns[-1] == pytest.approx(optimum)
    assert greedy_return(OfficeWorld(), machine, result.q, seed=0) == pytest.approx(optimum)
    again = q_learning(gym.make("rewarddesign/OfficeWorld-v0"), machine, steps=2_000, crm=True, rng=0)
    same = q_learning(gym.make("rewarddesign/OfficeWorld-v0"), machine, steps=2_000, crm=True, rng=0)
    np.testing.assert_array_equal(again.q, same.q)


def test_q_learning_validates() -> None:
    machine = from_ltlf("F a")
    with pytest.raises(TypeError, match="Discrete"):
        q_learning(gym.make("CartPole-v1"), machine, steps=10)
    with pytest.raises(ValueError, match="steps"):
        q_learning(OfficeWorld(), machine, steps=0)
    with pytest.raises(ValueError, match="lr"):
        q_learning(OfficeWorld(), machine, steps=10, lr=0.0)
    with pytest.raises(ValueError, match="epsilon"):
        q_learning(OfficeWorld(), machine, steps=10, epsilon=2.0)


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("rewarddesign/OfficeWorld-v0", {"task": "coffee_and_mail"}),
        ("rewarddesign/CraftWorld-v0", {"task": "t10", "observation": "flat"}),
        ("rewarddesign/LabelledPoint-v0", {"task": "a_then_b"}),
    ],
)
def test_registered_tasks(env_id: str, kwargs: dict[str, str]) -> None:
    env = gym.make(env_id, **kwargs)
    check_env(env.unwrapped, skip_render_check=True)
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=0)
    assert info["machine_state"] == 0 and env.observation_space.contains(obs)


def test_labelled_point_task_by_hand() -> None:
    env = gym.make("rewarddesign/LabelledPoint-v0", task="a_then_b")
    env.reset(seed=0)
    total, steps = 0.0, 0
    for target in ((0.8, 0.2), (0.8, 0.8)):  # to a along the bottom, then up to b along the right edge
        for _ in range(40):
            position = env.unwrapped.position
            direction = np.array(target) - position
            _, reward, terminated, _, info = env.step(np.clip(direction / 0.05, -1, 1).astype(np.float32))
            total += reward
            steps += 1
            if target in info["machine_labels"] or terminated:
                break
            if (target == (0.8, 0.2) and info["machine_state"] == 1) or terminated:
                break
    assert total == 1.0 and terminated


def test_guide_examples_train_with_sb3() -> None:
    """The guide's two SB3 examples run: DQN through train.make_vec_env, SAC with CRM on the labelled point."""
    from stable_baselines3 import DQN, SAC

    from rewarddesign import train

    rm = from_ltlf("F(mail & F office) & G !plant")
    venv = train.make_vec_env(
        "rewarddesign/OfficeWorld-v0", 2, seed=0, wrappers=[machine_wrapper(rm, observation="flat")]
    )
    DQN("MlpPolicy", venv, learning_starts=20, buffer_size=200, seed=0).learn(40)
    venv = train.make_vec_env(
        "rewarddesign/LabelledPoint-v0",
        1,
        seed=0,
        env_kwargs={"task": "a_then_b", "observation": "flat", "counterfactual": True},
    )
    model = SAC(
        "MlpPolicy", venv, replay_buffer_class=CounterfactualReplayBuffer, learning_starts=30, buffer_size=500, seed=0
    )
    model.learn(40)
    assert model.replay_buffer is not None and model.replay_buffer.size() == 2 * 40  # two live machine states
