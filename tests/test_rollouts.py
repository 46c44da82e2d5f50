"""The one trajectory type and rollout loop: every policy form on every env form, seeds, budgets, errors."""

from __future__ import annotations

import doctest

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from pettingzoo.utils.env import ParallelEnv
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv
from torch import nn

import rewarddesign.rollouts as rollouts_module
from rewarddesign.rollouts import (
    Trajectory,
    Transitions,
    episode_returns,
    flatten_trajectories,
    rollout,
    rollout_parallel,
)

LIMIT = 4  # the time limit of the counting env


class CountEnv(gym.Env):
    """obs = [t, length]: terminates at t = length (drawn at reset from 2..5), reward = action + t."""

    def __init__(self) -> None:
        self.observation_space = spaces.Box(0.0, 10.0, (2,), np.float32)
        self.action_space = spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.length = 0, int(self.np_random.integers(2, 6))
        return self._obs(), {"t": 0}

    def _obs(self):
        return np.array([self.t, self.length], dtype=np.float32)

    def step(self, action):
        self.t += 1
        return self._obs(), float(action) + self.t, self.t >= self.length, False, {"t": self.t}


def make_count() -> gym.Env:
    return gym.wrappers.TimeLimit(CountEnv(), LIMIT)


def env_form(form: str, n: int = 1, make=make_count):
    if form == "env":
        assert n == 1
        return make()
    if form == "list":
        return [make() for _ in range(n)]
    if form.startswith("vector"):
        mode = {"vector": AutoresetMode.NEXT_STEP, "vector-same": AutoresetMode.SAME_STEP}
        mode["vector-disabled"] = AutoresetMode.DISABLED
        return SyncVectorEnv([make] * n, autoreset_mode=mode[form])
    assert form == "vecenv"
    return DummyVecEnv([make] * n)


FORMS = ["env", "list", "vector", "vector-same", "vector-disabled", "vecenv"]


class Linear(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 3)
        with torch.no_grad():
            self.layer.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.5]]))
            self.layer.bias.zero_()

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.layer(obs).argmax(-1)


def by_time(obs: np.ndarray) -> np.ndarray:
    return (obs[:, 0].astype(np.int64) + 1) % 3


def ppo_model() -> PPO:
    return PPO("MlpPolicy", make_count(), n_steps=16, batch_size=16, device="cpu", seed=0)


def policy_form(kind: str):
    if kind == "random":
        return None
    if kind == "callable":
        return by_time
    if kind == "module":
        return Linear()
    if kind == "sb3-model":
        return ppo_model()
    assert kind == "sb3-policy"
    return ppo_model().policy


POLICIES = ["random", "callable", "module", "sb3-model", "sb3-policy"]


def check_counting(traj: Trajectory) -> None:
    """What the counting env implies of any correct trajectory, across autoreset boundaries."""
    t, length = traj.obs[:, 0], traj.obs[:, 1]
    assert t[0] == 0 and np.all(np.diff(t) == 1), "each trajectory starts at a reset and counts up"
    assert np.all(length == length[0]), "one episode per trajectory"
    np.testing.assert_array_equal(traj.rews, traj.acts + t[1:])
    if traj.terminated:
        assert t[-1] == length[0] and not traj.truncated
    elif t[-1] == LIMIT:
        assert traj.truncated
    if traj.infos is not None:
        assert [info["t"] for info in traj.infos] == list(range(1, len(traj) + 1))


def same(a: list[Trajectory], b: list[Trajectory]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.obs, y.obs)
        np.testing.assert_array_equal(x.acts, y.acts)
        np.testing.assert_array_equal(x.rews, y.rews)
        assert (x.terminated, x.truncated) == (y.terminated, y.truncated)


# ------------------------------------------------------------------------------- forms and budgets


@pytest.mark.parametrize("kind", POLICIES)
@pytest.mark.parametrize("form", FORMS)
def test_every_policy_on_every_env_form(kind, form):
    n = 1 if form == "env" else 3
    policy = policy_form(kind)
    episodes = rollout(policy, env_form(form, n), n_episodes=5, seed=1)
    assert len(episodes) == 5
    for traj in episodes:
        check_counting(traj)
        assert traj.terminated or traj.truncated
    steps = rollout(policy, env_form(form, n), n_steps=23, seed=1)
    assert sum(len(t) for t in steps) == 23
    for traj in steps:
        check_counting(traj)
    assert steps[-1].truncated


@pytest.mark.parametrize("form", ["vector", "vector-same", "vector-disabled", "vecenv", "list"])
@pytest.mark.parametrize("kind", ["random", "callable", "module"])
def test_one_env_and_vector_forms_give_the_same_trajectories(form, kind):
    n = 3
    policy = policy_form(kind)
    reference = rollout(policy, [make_count() for _ in range(n)], n_steps=40, seed=7)
    same(rollout(policy, env_form(form, n), n_steps=40, seed=7), reference)
    reference = rollout(policy, [make_count() for _ in range(n)], n_episodes=7, seed=7)
    same(rollout(policy, env_form(form, n), n_episodes=7, seed=7), reference)


@pytest.mark.parametrize("form", ["vector", "vector-same", "vecenv"])
def test_a_single_env_equals_a_vector_of_one(form):
    for policy in (None, ppo_model()):
        reference = rollout(policy, make_count(), n_steps=30, seed=3)
        same(rollout(policy, env_form(form, 1), n_steps=30, seed=3), reference)


def test_seeded_env_resets_match_gymnasium_and_sb3_conventions():
    traj = rollout(by_time, [make_count() for _ in range(3)], n_episodes=3, seed=11)
    for i, t in enumerate(traj):
        expected = make_count().reset(seed=11 + i)[0]
        np.testing.assert_array_equal(t.obs[0], expected)


def test_steps_budget_cuts_the_last_episode_of_each_env():
    trajectories = rollout(by_time, [make_count() for _ in range(2)], n_steps=11, seed=0)
    assert sum(len(t) for t in trajectories) == 11
    cut = [t for t in trajectories if t.truncated and t.obs[-1, 0] < min(LIMIT, t.obs[-1, 1])]
    assert 1 <= len(cut) <= 2
    for traj in cut:
        assert not traj.terminated


def test_a_budget_that_ends_with_an_episode_returns_no_empty_trajectory():
    whole = rollout(by_time, make_count(), n_episodes=1, seed=0)[0]
    exact = rollout(by_time, make_count(), n_steps=len(whole), seed=0)
    assert len(exact) == 1
    assert (exact[0].terminated, exact[0].truncated) == (whole.terminated, whole.truncated)


def test_episode_quotas_are_fixed_per_env():
    trajectories = rollout(by_time, [make_count() for _ in range(3)], n_episodes=5, seed=0)
    envs = [[make_count().reset(seed=s)[0][1]] for s in range(3)]  # each env's first episode length
    first = [trajectories[0], trajectories[1], trajectories[3]]  # quotas 1, 2, 2: ordered by env
    for traj, length in zip(first, envs):
        assert traj.obs[0, 1] == length[0]


def test_fewer_steps_than_envs():
    trajectories = rollout(None, env_form("vector", 3), n_steps=2, seed=0)
    assert [len(t) for t in trajectories] == [1, 1]


def test_sequence_of_envs_asks_the_policy_only_for_running_envs():
    sizes = []

    def policy(obs):
        sizes.append(len(obs))
        return np.zeros(len(obs), dtype=np.int64)

    rollout(policy, [make_count() for _ in range(4)], n_episodes=4, seed=0)
    assert sizes[0] == 4 and sizes[-1] < 4 and sorted(sizes, reverse=True) == sizes


def test_infos_optional_and_sb3_keys_stripped():
    trajectories = rollout(None, env_form("vecenv", 2), n_episodes=4, seed=0)
    for traj in trajectories:
        assert traj.infos is not None and all("terminal_observation" not in info for info in traj.infos)
    assert all(t.infos is None for t in rollout(None, make_count(), n_episodes=2, seed=0, record_infos=False))


def test_cartpole_time_limit_truncation():
    env = gym.make("CartPole-v1", max_episode_steps=8)
    for traj in rollout(lambda obs: np.zeros(len(obs), dtype=np.int64), env, n_episodes=3, seed=0):
        assert (traj.terminated, traj.truncated) in ((True, False), (False, True))
        assert len(traj) <= 8 and (traj.truncated == (len(traj) == 8))


# ------------------------------------------------------------------------------------------- seeds


@pytest.mark.parametrize("form", ["env", "vecenv"])
def test_same_seed_same_trajectories_whatever_the_global_state(form):
    model = ppo_model()
    n = 1 if form == "env" else 2
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        np.random.seed(1)
        first = rollout(model, env_form(form, n), n_steps=40, seed=5)
        torch.manual_seed(2)
        np.random.seed(2)
        second = rollout(model, env_form(form, n), n_steps=40, seed=5)
    same(first, second)
    other = rollout(model, env_form(form, n), n_steps=40, seed=6)
    assert any(not np.array_equal(a.acts, b.acts) for a, b in zip(first, other)) or len(first) != len(other)


def test_the_global_generators_are_left_alone():
    model = ppo_model()
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    rollout(model, make_count(), n_steps=20, seed=0)
    rollout(None, env_form("vecenv", 2), n_steps=20, seed=0)
    assert torch.equal(torch_state, torch.get_rng_state())
    assert np.array_equal(numpy_state[1], np.random.get_state()[1])


def test_deterministic_predict():
    model = ppo_model()
    a = rollout(model, make_count(), n_steps=20, seed=0, deterministic=True)
    b = rollout(model, make_count(), n_steps=20, seed=0, deterministic=True)
    same(a, b)
    for traj in a:
        obs = torch.as_tensor(traj.obs[:-1])
        with torch.no_grad():
            greedy = model.policy.get_distribution(obs).distribution.probs.argmax(-1).numpy()
        np.testing.assert_array_equal(traj.acts, greedy)


# --------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "exactly one"),
        ({"n_episodes": 1, "n_steps": 1}, "exactly one"),
        ({"n_steps": 0}, "n_steps"),
        ({"n_episodes": True}, "n_episodes"),
        ({"n_episodes": 1.5}, "n_episodes"),
    ],
)
def test_budget_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rollout(None, make_count(), **kwargs)


def test_bad_arguments():
    with pytest.raises(TypeError, match="seed"):
        rollout(None, make_count(), n_steps=3, seed="0")
    with pytest.raises(TypeError, match="env must be"):
        rollout(None, "CartPole-v1", n_steps=3)
    with pytest.raises(TypeError, match="env\\[1\\]"):
        rollout(None, [make_count(), object()], n_steps=3)
    with pytest.raises(ValueError, match="empty"):
        rollout(None, [], n_steps=3)
    env = make_count()
    with pytest.raises(ValueError, match="twice"):
        rollout(None, [env, env], n_steps=3)
    with pytest.raises(TypeError, match="policy must be"):
        rollout(42, make_count(), n_steps=3)
    with pytest.raises(ValueError, match="policy must return actions of shape"):
        rollout(lambda obs: np.zeros((len(obs), 2), dtype=np.int64), make_count(), n_steps=3)
    with pytest.raises(ValueError, match="policy must return actions of shape"):
        rollout(lambda obs: np.zeros(len(obs) + 1, dtype=np.int64), make_count(), n_steps=3)
    with pytest.raises(TypeError, match="deterministic"):
        rollout(None, make_count(), n_steps=3, deterministic="yes")


# ------------------------------------------------------------------------ dict and tuple observations


class DictCountEnv(gym.ObservationWrapper):
    """The counting env with obs {"t": [t], "length": [length]} (a Dict space, as SB3's MultiInputPolicy takes)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        box = spaces.Box(0.0, 10.0, (1,), np.float32)
        self.observation_space = spaces.Dict({"t": box, "length": box})

    def observation(self, obs):
        return {"t": obs[:1].copy(), "length": obs[1:].copy()}


class TupleCountEnv(gym.ObservationWrapper):
    """The counting env with obs (t, {"length": [length]}): a Tuple space holding a Dict."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.observation_space = spaces.Tuple(
            (spaces.Discrete(LIMIT + 1), spaces.Dict({"length": spaces.Box(0.0, 10.0, (1,), np.float32)}))
        )

    def observation(self, obs):
        return int(obs[0]), {"length": obs[1:].copy()}


def make_dict_count() -> gym.Env:
    return DictCountEnv(make_count())


def as_array(obs: dict) -> np.ndarray:
    """The counting env's array observations [N, 2] from the dict form."""
    return np.concatenate([obs["t"], obs["length"]], axis=-1)


class DictLinear(Linear):
    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        assert obs["t"].dtype == torch.float32
        return super().forward(torch.cat([obs["t"], obs["length"]], -1))


def dict_policy_form(kind: str):
    if kind == "random":
        return None
    if kind == "callable":
        return lambda obs: by_time(as_array(obs))
    if kind == "module":
        return DictLinear()
    model = PPO("MultiInputPolicy", make_dict_count(), n_steps=16, batch_size=16, device="cpu", seed=0)
    return model if kind == "sb3-model" else model.policy


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kind", POLICIES)
def test_dict_observations_on_every_env_form(form, kind):
    n = 1 if form == "env" else 3
    trajectories = rollout(dict_policy_form(kind), env_form(form, n, make_dict_count), n_episodes=5, seed=0)
    assert len(trajectories) == 5
    for traj in trajectories:
        assert isinstance(traj.obs, dict) and set(traj.obs) == {"t", "length"}
        assert traj.obs["t"].shape == (len(traj) + 1, 1) and traj.obs["t"].dtype == np.float32
        check_counting(
            Trajectory(as_array(traj.obs), traj.acts, traj.rews, traj.infos, traj.terminated, traj.truncated)
        )
    # the same episodes as the array env, row by row
    plain = rollout(
        None if kind == "random" else by_time, env_form(form, n), n_episodes=5, seed=0
    )  # fmt: skip
    if kind in ("random", "callable"):
        for traj, ref in zip(trajectories, plain):
            np.testing.assert_array_equal(as_array(traj.obs), ref.obs)
            np.testing.assert_array_equal(traj.acts, ref.acts)


def test_dict_observations_batches_views_and_seeds():
    seen = []

    def policy(obs):
        seen.append(obs)
        return by_time(as_array(obs))

    trajectories = rollout(policy, [make_dict_count() for _ in range(2)], n_steps=9, seed=3)
    assert all(isinstance(batch, dict) and batch["t"].shape[1:] == (1,) for batch in seen)
    assert max(len(batch["t"]) for batch in seen) == 2
    again = rollout(policy, [make_dict_count() for _ in range(2)], n_steps=9, seed=3)
    for a, b in zip(trajectories, again):
        np.testing.assert_array_equal(a.obs["t"], b.obs["t"])
    flat = flatten_trajectories(trajectories)
    assert len(flat) == 9 and isinstance(flat.obs, dict) and flat.next_obs["length"].shape == (9, 1)
    np.testing.assert_array_equal(flat.obs["t"], np.concatenate([t.obs["t"][:-1] for t in trajectories]))
    np.testing.assert_array_equal(flat.next_obs["t"], np.concatenate([t.obs["t"][1:] for t in trajectories]))
    part = flat[np.array([0, 2])]
    np.testing.assert_array_equal(part.obs["t"], flat.obs["t"][[0, 2]])
    assert len(flat[-1]) == 1 and flat[-1].next_obs["t"].shape == (1, 1)


def test_tuple_observations():
    trajectories = rollout(
        lambda obs: (obs[0] + 1) % 3, [TupleCountEnv(make_count()) for _ in range(2)], n_episodes=3, seed=0
    )
    for traj in trajectories:
        t, rest = traj.obs
        assert t.shape == (len(traj) + 1,) and rest["length"].shape == (len(traj) + 1, 1)
        check_counting(Trajectory(np.stack([t, rest["length"][:, 0]], 1), traj.acts, traj.rews, traj.infos,
                                  traj.terminated, traj.truncated))  # fmt: skip
    assert isinstance(flatten_trajectories(trajectories).next_obs, tuple)


def test_dict_observation_validation():
    obs = {"a": np.zeros((4, 2)), "b": np.zeros(4)}
    traj = Trajectory(obs, np.zeros(3), np.ones(3))
    assert len(traj) == 3 and traj.obs["b"].shape == (4,)
    with pytest.raises(ValueError, match="equally many rows"):
        Trajectory({"a": np.zeros((4, 2)), "b": np.zeros(3)}, np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="one more row"):
        Trajectory({"a": np.zeros((3, 2))}, np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="empty dict"):
        Trajectory({}, np.zeros(3), np.ones(3))
    with pytest.raises(TypeError, match="str keys"):
        Trajectory({0: np.zeros(4)}, np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="leading"):
        Trajectory({"a": np.zeros(())}, np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="keys"):
        Transitions({"a": np.zeros(3)}, np.zeros(3), {"b": np.zeros(3)})
    with pytest.raises(ValueError, match="arrays"):
        Transitions(np.zeros(3), np.zeros(3), {"a": np.zeros(3)})
    with pytest.raises(ValueError, match="keys"):
        flatten_trajectories([traj, Trajectory({"a": np.zeros((2, 2))}, np.zeros(1), np.ones(1))])

    class TextEnv(CountEnv):
        def __init__(self) -> None:
            super().__init__()
            self.observation_space = spaces.Dict({"x": spaces.Text(5)})

    with pytest.raises(TypeError, match="array space"):
        rollout(None, TextEnv(), n_steps=3)


def test_transitions_without_rewards_or_ends():
    data = Transitions(np.zeros((3, 2)), [0, 1, 2], np.ones((3, 2)))
    assert data.rews is None and data.acts.dtype.kind == "i"
    np.testing.assert_array_equal(data.terminated, np.zeros(3, dtype=bool))
    np.testing.assert_array_equal(data.dones, np.zeros(3, dtype=bool))
    assert data[1:].rews is None and len(data[1:]) == 2
    ended = Transitions(np.zeros(3), np.zeros(3), np.zeros(3), terminated=np.array([False, False, True]))
    assert ended.dones.tolist() == [False, False, True] and not ended.truncated.any()
    with pytest.raises(ValueError, match="terminated must be a bool array"):
        Transitions(np.zeros(3), np.zeros(3), np.zeros(3), terminated=np.zeros(2, dtype=bool))
    with pytest.raises(ValueError, match="rews must have shape"):
        Transitions(np.zeros(3), np.zeros(3), np.zeros(3), rews=np.zeros(2))


def test_train_evaluate_on_a_grid_with_dict_observations():
    import rewarddesign  # noqa: F401  (registers the env ids)
    from rewarddesign.train import evaluate

    env = gym.make("rewarddesign/CoverageGrid-v0")
    assert isinstance(env.observation_space, spaces.Dict)
    model = PPO("MultiInputPolicy", env, n_steps=16, batch_size=16, device="cpu", seed=0)
    result = evaluate(model, "rewarddesign/CoverageGrid-v0", n_episodes=2, seed=0)
    assert len(result.returns) == 2 and np.all(np.isfinite(result.returns))
    again = evaluate(model, "rewarddesign/CoverageGrid-v0", n_episodes=2, seed=0)
    np.testing.assert_array_equal(result.returns, again.returns)


# ------------------------------------------------------------------------ trajectories and views


def test_trajectory_validation():
    obs, acts, rews = np.zeros((4, 2)), np.zeros(3), np.ones(3)
    traj = Trajectory(obs, acts, rews, terminated=True)
    assert len(traj) == 3 and traj.rews.dtype == np.float64 and traj.undiscounted_return() == 3.0
    assert traj.discounted_return(0.5) == pytest.approx(1.75)
    with pytest.raises(ValueError, match="one more row"):
        Trajectory(obs[:3], acts, rews)
    with pytest.raises(ValueError, match="rews must have shape"):
        Trajectory(obs, acts, rews[:2])
    with pytest.raises(ValueError, match="finite"):
        Trajectory(obs, acts, np.array([0.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="infos"):
        Trajectory(obs, acts, rews, infos=({},))
    with pytest.raises(TypeError, match="infos must be dicts"):
        Trajectory(obs, acts, rews, infos=(1, 2, 3))
    with pytest.raises(TypeError, match="terminated"):
        Trajectory(obs, acts, rews, terminated=1)
    with pytest.raises(TypeError, match="rews must be numeric"):
        Trajectory(obs, acts, np.array(["a", "b", "c"], dtype=object))
    with pytest.raises(ValueError, match="leading time axis"):
        Trajectory(np.zeros(()), np.zeros(()), np.zeros(0))
    with pytest.raises(ValueError, match="gamma"):
        traj.discounted_return(1.5)


def test_flatten_and_returns():
    trajectories = rollout(by_time, make_count(), n_steps=13, seed=0)
    flat = flatten_trajectories(trajectories)
    assert isinstance(flat, Transitions) and len(flat) == 13
    np.testing.assert_array_equal(flat.obs, np.concatenate([t.obs[:-1] for t in trajectories]))
    np.testing.assert_array_equal(flat.next_obs, np.concatenate([t.obs[1:] for t in trajectories]))
    ends = np.cumsum([len(t) for t in trajectories]) - 1
    assert set(np.flatnonzero(flat.dones)) == set(ends)
    np.testing.assert_array_equal(flat.terminated[ends], [t.terminated for t in trajectories])
    np.testing.assert_array_equal(flat.truncated[ends], [t.truncated for t in trajectories])
    assert flat.infos is not None and len(flat.infos) == 13
    part = flat[np.arange(3)]
    assert len(part) == 3 and part.infos == flat.infos[:3]
    assert len(flat[-1]) == 1 and len(flat[flat.dones]) == len(trajectories)
    np.testing.assert_allclose(episode_returns(trajectories), [t.rews.sum() for t in trajectories])
    np.testing.assert_allclose(
        episode_returns(trajectories, gamma=0.9), [np.sum(0.9 ** np.arange(len(t)) * t.rews) for t in trajectories]
    )
    no_infos = Trajectory(np.zeros((2, 2)), np.zeros(1), np.zeros(1))
    assert flatten_trajectories([trajectories[0], no_infos]).infos is None
    with pytest.raises(ValueError, match="empty"):
        flatten_trajectories([])
    with pytest.raises(TypeError, match="trajectories\\[0\\]"):
        flatten_trajectories([{"obs": 1}])
    with pytest.raises(ValueError, match="gamma"):
        episode_returns(trajectories, gamma=-0.1)
    with pytest.raises(ValueError, match="next_obs"):
        Transitions(flat.obs, flat.acts, flat.next_obs[:-1], flat.rews, flat.terminated, flat.truncated)


def test_docstring_example():
    result = doctest.testmod(rollouts_module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# --------------------------------------------------------------------------- parallel (PettingZoo)


class Race(ParallelEnv):
    """Agent "a" is done after 2 steps (terminated), "b" after 3 (truncated); obs = [t, seed draw]."""

    metadata = {"name": "race_v0"}
    possible_agents = ["a", "b"]

    def __init__(self) -> None:
        self.agents: list[str] = []
        self.rng = np.random.default_rng()

    def observation_space(self, agent):
        return spaces.Box(0.0, 10.0, (2,), np.float32)

    def action_space(self, agent):
        return spaces.Discrete(3)

    def _obs(self, agents):
        return {a: np.array([self.t, self.draw], np.float32) for a in agents}

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.t, self.draw, self.agents = 0, float(self.rng.integers(10)), list(self.possible_agents)
        return self._obs(self.agents), {a: {} for a in self.agents}

    def step(self, actions):
        self.t += 1
        rewards = {a: float(actions[a]) + self.t for a in self.agents}
        terminations = {a: a == "a" and self.t >= 2 for a in self.agents}
        truncations = {a: a == "b" and self.t >= 3 for a in self.agents}
        obs, infos = self._obs(self.agents), {a: {"t": self.t} for a in self.agents}
        self.agents = [a for a in self.agents if not (terminations[a] or truncations[a])]
        return obs, rewards, terminations, truncations, infos


def test_rollout_parallel_records_each_agent_until_it_is_done():
    seen = []

    def policy_b(obs):
        seen.append(obs.shape)
        return np.ones(len(obs), dtype=np.int64)

    episodes = rollout_parallel({"a": None, "b": policy_b}, Race(), n_episodes=2, seed=4)
    assert len(episodes) == 2 and seen[0] == (1, 2)
    for episode in episodes:
        a, b = episode["a"], episode["b"]
        assert (len(a), a.terminated, a.truncated) == (2, True, False)
        assert (len(b), b.terminated, b.truncated) == (3, False, True)
        np.testing.assert_array_equal(b.obs[:, 0], [0, 1, 2, 3])
        np.testing.assert_array_equal(b.rews, [2.0, 3.0, 4.0])
        np.testing.assert_array_equal(a.rews, a.acts + np.array([1, 2]))
        assert [info["t"] for info in b.infos] == [1, 2, 3]
    assert episodes[0]["a"].obs[0, 1] == Race().reset(seed=4)[0]["a"][1]  # the first reset is seeded
    again = rollout_parallel({"a": None, "b": policy_b}, Race(), n_episodes=2, seed=4)
    for first, second in zip(episodes, again):
        same([first["a"], first["b"]], [second["a"], second["b"]])


def test_rollout_parallel_bad_input():
    with pytest.raises(ValueError, match="missing \\['b'\\]"):
        rollout_parallel({"a": None}, Race(), n_episodes=1)
    with pytest.raises(ValueError, match="n_episodes"):
        rollout_parallel({"a": None, "b": None}, Race(), n_episodes=0)
    with pytest.raises(TypeError, match="seed"):
        rollout_parallel({"a": None, "b": None}, Race(), n_episodes=1, seed=1.0)
    with pytest.raises(ValueError, match="batch of one"):
        rollout_parallel({"a": None, "b": lambda obs: np.zeros(2, dtype=np.int64)}, Race(), n_episodes=1)


def test_the_library_learners_run_as_policies():
    from rewarddesign.bilevel import BehaviorAlignment

    barfi = BehaviorAlignment("CartPole-v1", [lambda o, a, o2, d: np.zeros(len(o))], seed=0, device="cpu")
    trajectories = rollout(barfi, gym.make("CartPole-v1"), n_episodes=2, seed=0, deterministic=True)
    for traj in trajectories:
        np.testing.assert_array_equal(traj.acts, barfi.predict(traj.obs[:-1])[0])
