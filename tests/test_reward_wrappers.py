"""The reward-wrapper family: every reward term gives the same rewards in every env form.

One parametrised test runs each term of the library (shaping, dynamic shaping, look-ahead advice,
submodular gains in both credits, learned rewards on (obs, act) and on factors, the behaviour-
aligned blend) on a tabular env with terminal states and a time limit, as a Gymnasium wrapper per
env, as a Gymnasium vector wrapper in the three autoreset modes and as an SB3 VecEnv wrapper, and
compares them transition by transition across episode ends of both kinds.
"""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from stable_baselines3.common.vec_env import DummyVecEnv

from rewarddesign.bilevel import BehaviorAlignedTerm, BlendedReward, potential_shaping
from rewarddesign.factors import FactorSpec, RewardFactors
from rewarddesign.mdp import TabularEnv, TabularMDP, random_mdp
from rewarddesign.preferences import LearnedRewardTerm, RewardModel
from rewarddesign.rewards import (
    DesignedReward,
    MLPRewardNet,
    RewardTerm,
    VecDesignedReward,
    VectorDesignedReward,
    batch_length,
    potential_difference,
    unbatch,
)
from rewarddesign.shaping import DynamicPotential, LookAheadAdviceTerm, PotentialShapingTerm, TabularPotential
from rewarddesign.submodular import FacilityLocation, MarginalGainTerm

GAMMA = 0.9
N_STATES, N_ACTIONS, HORIZON = 6, 3, 6


def terminal_mdp(seed: int = 0) -> TabularMDP:
    """A random MDP whose last state is terminal, reached with some probability."""
    rng = np.random.default_rng(seed)
    base = random_mdp(N_STATES, N_ACTIONS, gamma=GAMMA, rng=rng, branching=3)
    transitions = base.transitions.copy()
    transitions[-1] = 0
    transitions[-1, :, -1] = 1
    initial = np.append(rng.dirichlet(np.ones(N_STATES - 1)), 0.0)
    terminal = np.zeros(N_STATES, dtype=bool)
    terminal[-1] = True
    return TabularMDP(transitions, initial, GAMMA, terminal)


MDP = terminal_mdp()
REWARD = np.random.default_rng(1).normal(size=(N_STATES, N_ACTIONS, N_STATES))
VALUES = np.random.default_rng(2).normal(size=N_STATES)
ADVICE = np.random.default_rng(3).normal(size=(N_STATES, N_ACTIONS))
POLICY = np.random.default_rng(4).integers(N_ACTIONS, size=N_STATES)
FACTORS = FactorSpec(("state", "action"), (1.0, -1.0), lambda env, obs, act, next_obs, r, term, info: [next_obs, act])


def make_env() -> gym.Env:
    return TabularEnv(MDP, REWARD, horizon=HORIZON)


def make_factor_env() -> gym.Env:
    return RewardFactors(make_env(), FACTORS)


class DictObservation(gym.ObservationWrapper):
    """The tabular env with dict observations, so that the forms' row handling of dicts is exercised."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        box = gym.spaces.Box(0.0, 2.0 * N_STATES, (1,), np.float64)
        self.observation_space = gym.spaces.Dict({"cell": env.observation_space, "twice": box})

    def observation(self, obs):
        return {"cell": obs, "twice": np.array([2.0 * obs])}


def make_dict_env() -> gym.Env:
    return DictObservation(make_env())


class TupleObservation(gym.ObservationWrapper):
    """The tabular env with Tuple observations (``nested``: a Dict holding a Tuple), whose length is not the batch's."""

    def __init__(self, env: gym.Env, nested: bool = False) -> None:
        super().__init__(env)
        box = gym.spaces.Box(0.0, 2.0 * N_STATES, (2,), np.float64)
        pair = gym.spaces.Tuple((env.observation_space, box))
        self.nested = nested
        self.observation_space = gym.spaces.Dict({"pair": pair, "flag": gym.spaces.Discrete(2)}) if nested else pair

    def observation(self, obs):
        pair = (obs, np.array([2.0 * obs, 1.0]))
        return {"pair": pair, "flag": int(obs) % 2} if self.nested else pair


def make_tuple_env() -> gym.Env:
    return TupleObservation(make_env())


def make_nested_env() -> gym.Env:
    return TupleObservation(make_env(), nested=True)


def tuple_potential(obs) -> float:
    pair = obs["pair"] if isinstance(obs, dict) else obs
    return float(VALUES[int(pair[0])] + 0.1 * pair[1][0])


class RowTerm(RewardTerm):
    """A term computed row by row from ``unbatch`` of the batches (pins the base's batching)."""

    info_key = "row_value"

    def __init__(self) -> None:
        super().__init__(mode="add")

    def bind(self, observation_space, action_space, num_envs):
        self.space = observation_space
        self.num_envs = num_envs

    def step(self, obs, act, next_obs, reward, terminated, truncated, infos):
        assert batch_length(obs) == batch_length(next_obs) == len(reward) == self.num_envs
        rows = zip(unbatch(obs), unbatch(next_obs))
        return np.array([tuple_potential(n) - 0.5 * tuple_potential(o) for o, n in rows])


def dict_potential(obs) -> float:
    return float(VALUES[int(obs["cell"])] + 0.1 * obs["twice"][0])


def seeded_model(**kwargs) -> RewardModel:
    return RewardModel(**kwargs, device="cpu", seed=0)


def seeded_blend() -> BlendedReward:
    blend = BlendedReward(1, 1)
    with torch.no_grad():
        blend.head.weight.copy_(torch.tensor([[0.3], [-0.2]]))
        blend.head.bias.copy_(torch.tensor([0.1, 0.7]))
    return blend


def aux_reward(obs, act, next_obs, done):
    return 0.5 * np.asarray(next_obs, dtype=np.float64) - np.asarray(act, dtype=np.float64)


SPACES = (gym.spaces.Discrete(N_STATES), gym.spaces.Discrete(N_ACTIONS))

#: name -> (term factory, env factory, absolute tolerance between forms)
TERMS = {
    "potential shaping": (lambda: PotentialShapingTerm(TabularPotential(VALUES), GAMMA), make_env, 1e-12),
    "dynamic shaping": (
        lambda: PotentialShapingTerm(DynamicPotential(lambda s, t: VALUES[int(s)] + 0.1 * t), GAMMA),
        make_env,
        1e-12,
    ),
    "shaping on dict observations": (lambda: PotentialShapingTerm(dict_potential, GAMMA), make_dict_env, 1e-12),
    "look-ahead advice": (
        lambda: LookAheadAdviceTerm(ADVICE, GAMMA, policy=lambda s: int(POLICY[int(s)])),
        make_env,
        1e-12,
    ),
    "marginal gain": (
        lambda: MarginalGainTerm(FacilityLocation(np.random.default_rng(5).random((N_STATES, 4))), mode="add"),
        make_env,
        1e-12,
    ),
    "modular gain": (
        lambda: MarginalGainTerm(FacilityLocation(np.random.default_rng(5).random((N_STATES, 4))), credit="modular"),
        make_env,
        1e-12,
    ),
    # float32 networks: a batch and a single row may round apart
    "learned reward": (
        lambda: LearnedRewardTerm(seeded_model(observation_space=SPACES[0], action_space=SPACES[1])),
        make_env,
        1e-6,
    ),  # fmt: skip
    "learned reward on factors": (
        lambda: LearnedRewardTerm(seeded_model(n_factors=2), mode="add", scale=2.0),
        make_factor_env,
        1e-6,
    ),
    "aligned blend": (lambda: BehaviorAlignedTerm(seeded_blend(), [aux_reward]), make_env, 1e-6),
}

#: Terms on Tuple and nested Dict/Tuple observations: the batch is never the tuple's length.
SPACE_TERMS = {
    "row term on tuple observations": (RowTerm, make_tuple_env, 1e-12),
    "row term on nested observations": (RowTerm, make_nested_env, 1e-12),
    "shaping on tuple observations": (lambda: PotentialShapingTerm(tuple_potential, GAMMA), make_tuple_env, 1e-12),
    "shaping on nested observations": (lambda: PotentialShapingTerm(tuple_potential, GAMMA), make_nested_env, 1e-12),
}
TERMS.update(SPACE_TERMS)


def single_env_steps(term_name, actions, seeds):
    """Per env: the list of (reward, original, term value, terminated, truncated) of each step."""
    make_term, env_factory, _ = TERMS[term_name]
    out = []
    for seed, env_actions in zip(seeds, actions.T):
        env = DesignedReward(env_factory(), make_term())
        env.reset(seed=int(seed))
        steps = []
        for action in env_actions:
            _, r, terminated, truncated, info = env.step(int(action))
            steps.append((r, info["original_reward"], info[env.term.info_key], terminated, truncated))
            if terminated or truncated:
                env.reset()
        out.append(steps)
    return out


def assert_same(got, want, atol):
    for env_got, env_want in zip(got, want):
        assert len(env_got) == len(env_want)
        for (r, original, value, term, trunc), (r2, original2, value2, term2, trunc2) in zip(env_got, env_want):
            # SB3 reports a step that terminates at the time limit as terminated only
            assert (bool(term), bool(trunc) and not term) == (term2, trunc2 and not term2)
            assert original == pytest.approx(original2, abs=1e-6)
            assert value == pytest.approx(value2, abs=atol)
            assert r == pytest.approx(r2, abs=atol)


def ends(steps):
    return {(bool(s[3]), bool(s[4])) for env in steps for s in env if s[3] or s[4]}


@pytest.mark.parametrize("term_name", sorted(set(TERMS) - set(SPACE_TERMS)))
def test_every_term_gives_the_same_rewards_in_every_form(term_name):
    check_every_form(term_name, n_envs=3)


@pytest.mark.parametrize("n_envs", [2, 3])
@pytest.mark.parametrize("term_name", sorted(SPACE_TERMS))
def test_tuple_and_nested_observations_batch_by_env_in_every_form(term_name, n_envs):
    """A Tuple's length (2) is not the batch size: 2 envs once gave wrong values, 3 a crash.

    SB3's VecEnvs do not take nested spaces, so nested observations run the Gymnasium forms only.
    """
    check_every_form(term_name, n_envs=n_envs, sb3="nested" not in term_name)


def check_every_form(term_name, n_envs, sb3=True):
    """The term's rewards in SB3's form (with ``sb3``) and every autoreset mode equal those of one env at a time."""
    make_term, env_factory, atol = TERMS[term_name]
    rng = np.random.default_rng(7)
    n_steps = 60
    actions = rng.integers(N_ACTIONS, size=(n_steps, n_envs))
    seeds = [11, 12, 13][:n_envs]
    want = single_env_steps(term_name, actions, seeds)
    assert {(True, False), (False, True)} <= ends(want)  # both kinds of episode end are crossed

    key = make_term().info_key
    if sb3:  # SB3: env i is seeded with seed + i
        venv = VecDesignedReward(DummyVecEnv([env_factory] * n_envs), make_term())
        venv.seed(seeds[0])
        venv.reset()
        got = [[] for _ in range(n_envs)]
        for t in range(n_steps):
            _, rewards, dones, infos = venv.step(actions[t])
            for i, info in enumerate(infos):
                truncated = bool(info.get("TimeLimit.truncated", False))
                got[i].append((rewards[i], info["original_reward"], info[key], dones[i] and not truncated, truncated))
        assert_same(got, want, max(atol, 1e-5))  # SB3 keeps rewards in float32

    for mode in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED):
        envs = VectorDesignedReward(SyncVectorEnv([env_factory] * n_envs, autoreset_mode=mode), make_term())
        envs.reset(seed=seeds)
        got = [[] for _ in range(n_envs)]
        cursor = np.zeros(n_envs, dtype=int)
        pending = np.zeros(n_envs, dtype=bool)
        while cursor.min() < n_steps:
            step_actions = actions[np.minimum(cursor, n_steps - 1), np.arange(n_envs)]
            _, rewards, terminated, truncated, info = envs.step(step_actions)
            for i in range(n_envs):
                if mode == AutoresetMode.NEXT_STEP and pending[i]:  # the reset step: nothing happened
                    assert rewards[i] == 0.0 and info[key][i] == 0.0
                    continue
                if cursor[i] < n_steps:
                    got[i].append((rewards[i], info["original_reward"][i], info[key][i], terminated[i], truncated[i]))
                cursor[i] += 1
            pending = np.logical_or(terminated, truncated)
            if mode == AutoresetMode.DISABLED and pending.any():
                envs.reset(options={"reset_mask": pending})
        assert_same(got, want, atol)


@pytest.mark.parametrize("term_name", sorted(TERMS))
def test_every_gymnasium_form_passes_check_env(term_name):
    make_term, env_factory, _ = TERMS[term_name]
    check_env(DesignedReward(env_factory(), make_term()), skip_render_check=True)


def test_the_modes_replace_and_add_and_the_info_keys():
    class Half(RewardTerm):
        info_key = "half"

        def step(self, obs, act, next_obs, reward, terminated, truncated, infos):
            return 0.5 * reward

    for mode, expected in (("replace", 0.5), ("add", 1.5)):
        term = Half(mode)
        env = DesignedReward(gym.make("CartPole-v1"), term)
        env.reset(seed=0)
        _, reward, _, _, info = env.step(0)
        assert reward == expected and info["original_reward"] == 1.0 and info["half"] == 0.5
        assert "true_reward" not in info


def test_bad_input_is_rejected():
    with pytest.raises(TypeError, match="term must be a RewardTerm"):
        DesignedReward(gym.make("CartPole-v1"), lambda *a: 0.0)
    with pytest.raises(TypeError, match="term must be a RewardTerm"):
        VecDesignedReward(DummyVecEnv([make_env]), "shaping")
    with pytest.raises(ValueError, match="mode must be 'replace' or 'add', got 'sum'"):
        MarginalGainTerm(FacilityLocation(np.ones((N_STATES, 2))), mode="sum")
    with pytest.raises(ValueError, match="mode"):
        LearnedRewardTerm(seeded_model(n_factors=2), mode="multiply")
    for gamma in (float("nan"), -0.1, 1.5):
        with pytest.raises(ValueError, match="gamma must lie in"):
            potential_difference(0.0, 1.0, False, gamma)
    with pytest.raises(TypeError, match="gamma must be a real number"):
        potential_difference(np.zeros(2), np.ones(2), np.zeros(2, dtype=bool), "0.9")
    for sizes in ((0,), (-3,), (2.5,), ("8",), 8):
        with pytest.raises(ValueError, match="hidden_sizes must be a sequence of positive integers"):
            MLPRewardNet(*SPACES, hidden_sizes=sizes, device="cpu")


def test_the_shaping_formula_is_shared():
    assert potential_difference(1.0, 2.0, False, 0.5) == 0.0
    assert potential_difference(1.0, 2.0, True, 0.5) == -1.0
    np.testing.assert_allclose(
        potential_difference(np.array([1.0, 1.0]), np.array([2.0, 2.0]), np.array([False, True]), 0.5), [0.0, -1.0]
    )
    shaping = potential_shaping(lambda obs: np.asarray(obs, dtype=float), gamma=0.5)  # behaviour alignment's
    np.testing.assert_allclose(
        shaping(np.array([1.0, 1.0]), None, np.array([2.0, 2.0]), None, np.array([False, True])), [0.0, -1.0]
    )
