"""Bad input meets a clear error: a sweep of the public entry points with hypothesis.

Each case names one argument of one public function or class (taken from its package's
``__all__``) and a strategy of bad values for it: NaN and inf, wrong shapes and dtypes, empty
arrays and out-of-range parameters. Whatever hypothesis draws, the call must raise ``ValueError``
or ``TypeError`` whose message names the argument: never a numpy, torch or gymnasium traceback, a
silent repair, or a result. The examples are few and derandomised, so the sweep is fast and the
same on every run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewarddesign import bilevel, distances, games, mdp, preferences, rewards, rollouts, shaping, submodular
from rewarddesign.envs import alignment

SWEEP = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

NAN, INF = math.nan, math.inf

# ------------------------------------------------------------------ strategies of bad values

NONFINITE = st.sampled_from([NAN, INF, -INF])
WRONG_TYPE = st.sampled_from(["0.5", [0.5], object(), None])
FINITE = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def outside(low: float, high: float, *, low_closed: bool = True, high_closed: bool = True) -> st.SearchStrategy:
    """Non-finite values and finite values outside ``[low, high]`` (the ends excluded where open)."""
    below = st.floats(max_value=low, exclude_max=low_closed, allow_nan=False, allow_infinity=False)
    above = st.floats(min_value=high, exclude_min=high_closed, allow_nan=False, allow_infinity=False)
    parts = [NONFINITE]
    if math.isfinite(low):
        parts.append(below)
    if math.isfinite(high):
        parts.append(above)
    return st.one_of(*parts)


DISCOUNT = outside(0.0, 1.0, low_closed=False)  # a discount in (0, 1]
PROBABILITY = outside(0.0, 1.0)  # in [0, 1]
POSITIVE = outside(0.0, INF, low_closed=False)  # finite and > 0
NON_NEGATIVE = outside(0.0, INF)  # finite and >= 0
POSITIVE_INT = st.one_of(st.integers(-5, 0), st.sampled_from([2.5, 0.5, NAN, INF, True, "3"]))


def poisoned(shape: tuple[int, ...], low: float = -1.0, high: float = 1.0) -> st.SearchStrategy[np.ndarray]:
    """Arrays of ``shape`` with values in ``[low, high]`` and one NaN or inf at a drawn index."""

    @st.composite
    def draw(data: st.DrawFn) -> np.ndarray:
        size = int(np.prod(shape))
        values = data(st.lists(st.floats(low, high), min_size=size, max_size=size))
        array = np.array(values, dtype=np.float64).reshape(shape)
        array.flat[data(st.integers(0, size - 1))] = data(NONFINITE)
        return array

    return draw()


def misshaped(good: tuple[int, ...], *also: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Finite arrays of a shape other than ``good`` and ``also`` (empty ones among them)."""
    valid = {good, *also}
    shapes = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple).filter(lambda s: s not in valid)
    return shapes.map(lambda s: np.zeros(s))


def bad_array(
    shape: tuple[int, ...], low: float = -1.0, high: float = 1.0, also: tuple[tuple[int, ...], ...] = ()
) -> st.SearchStrategy[Any]:
    """NaN or inf entries, a shape other than ``shape`` and ``also``, or strings."""
    strings = st.just(np.full(shape, "x"))
    return st.one_of(poisoned(shape, low, high), misshaped(shape, *also), strings)


#: A reward on the 3-state, 2-action model: ``[S, A]``, or also ``[S]`` or ``[S, A, S]``.
BAD_REWARD = bad_array((3, 2), also=((3,), (3, 2, 3)))


def not_stochastic(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Arrays of ``shape`` whose last axis is not a probability distribution (or holds NaN/inf)."""
    negative = st.just(np.full(shape, 1.0 / shape[-1])).map(lambda a: _set_first(a, -0.5))
    unnormalised = st.floats(1.1, 10.0).map(lambda v: np.full(shape, v))
    return st.one_of(poisoned(shape, 0.0, 1.0), negative, unnormalised, misshaped(shape))


def _set_first(array: np.ndarray, value: float) -> np.ndarray:
    array = array.copy()
    array.flat[0] = value
    return array


# ------------------------------------------------------------------ fixtures shared by the cases

MDP = mdp.random_mdp(3, 2, gamma=0.9, rng=0)
REWARD = np.random.default_rng(0).normal(size=(3, 2))
POLICY = np.full((3, 2), 0.5)
GAME = games.stag_hunt()
OBS_SPACE, ACT_SPACE = gym.spaces.Discrete(3), gym.spaces.Discrete(2)
FRAGMENTS = preferences.Fragments(
    np.zeros((4, 2, 1)), np.zeros((4, 2, 1)), factors=np.arange(16.0).reshape(4, 2, 2), rewards=np.ones((4, 2))
)
DATASET = preferences.PreferenceDataset(FRAGMENTS, [0, 1], [2, 3], [1.0, 0.0])
COVER = np.eye(3, dtype=bool)


def _transitions(**changes: Any) -> rollouts.Transitions:
    fields: dict[str, Any] = {"obs": np.zeros((2, 1)), "acts": np.zeros(2, dtype=np.int64), "next_obs": np.ones((2, 1))}
    fields.update(changes)
    return rollouts.Transitions(**fields)


def _trajectory(**changes: Any) -> rollouts.Trajectory:
    fields: dict[str, Any] = {"obs": np.zeros((3, 1)), "acts": np.zeros(2, dtype=np.int64), "rews": np.zeros(2)}
    fields.update(changes)
    return rollouts.Trajectory(**fields)


def _cartpole() -> gym.Env:
    return gym.make("CartPole-v1")


def _tabular_env() -> mdp.TabularEnv:
    env = mdp.TabularEnv(MDP, REWARD)
    env.reset(seed=0)
    return env


def _zero_reward(obs: Any, act: Any, next_obs: Any, done: Any) -> np.ndarray:
    return np.zeros(len(obs))


def _unit_reward(obs: Any, act: Any, next_obs: Any, done: Any) -> np.ndarray:
    return np.ones(len(obs))


def _no_env() -> Any:
    raise AssertionError("bad arguments are refused before an env is made")


def _zero_policy(obs: Any) -> int:
    return 0


# ------------------------------------------------------------------ the cases


@dataclass(frozen=True)
class Case:
    """``call(bad)`` passes ``bad`` as the argument ``name``; the error must name ``name``."""

    id: str
    name: str
    values: st.SearchStrategy[Any]
    call: Callable[[Any], Any]


CASES: list[Any] = [
    # mdp
    Case(
        "TabularMDP.transitions", "transitions", not_stochastic((3, 2, 3)), lambda v: mdp.TabularMDP(v, [1, 0, 0], 0.9)
    ),
    Case("TabularMDP.initial", "initial", not_stochastic((3,)), lambda v: mdp.TabularMDP(MDP.transitions, v, 0.9)),
    Case(
        "TabularMDP.gamma",
        "gamma",
        st.one_of(DISCOUNT, WRONG_TYPE),
        lambda v: mdp.TabularMDP(MDP.transitions, [1, 0, 0], v),
    ),
    Case("random_mdp.n_states", "n_states", POSITIVE_INT, lambda v: mdp.random_mdp(v, 2, rng=0)),
    Case("random_mdp.gamma", "gamma", DISCOUNT, lambda v: mdp.random_mdp(3, 2, gamma=v, rng=0)),
    Case("random_mdp.concentration", "concentration", POSITIVE, lambda v: mdp.random_mdp(3, 2, rng=0, concentration=v)),
    Case("policy_evaluation.reward", "reward", BAD_REWARD, lambda v: mdp.policy_evaluation(MDP, v, POLICY)),
    Case("policy_evaluation.policy", "policy", not_stochastic((3, 2)), lambda v: mdp.policy_evaluation(MDP, REWARD, v)),
    Case("policy_return.reward", "reward", BAD_REWARD, lambda v: mdp.policy_return(MDP, v, POLICY)),
    Case("regret.policy", "policy", not_stochastic((3, 2)), lambda v: mdp.regret(MDP, REWARD, v)),
    Case("value_iteration.reward", "reward", BAD_REWARD, lambda v: mdp.value_iteration(MDP, v)),
    Case(
        "value_iteration.tol",
        "tol",
        outside(0.0, INF, low_closed=False),
        lambda v: mdp.value_iteration(MDP, REWARD, tol=v),
    ),
    Case("greedy_policy.q", "q", poisoned((3, 2)), lambda v: mdp.greedy_policy(v)),
    Case(
        "random_mdp.branching",
        "branching",
        st.sampled_from([2.5, 0, -1, 4, NAN, "2"]),
        lambda v: mdp.random_mdp(3, 2, rng=0, branching=v),
    ),
    Case("random_mdp.rng", "rng", st.sampled_from(["x", -1, 2.5, object()]), lambda v: mdp.random_mdp(3, 2, rng=v)),
    Case(
        "value_iteration.max_iterations",
        "max_iterations",
        POSITIVE_INT,
        lambda v: mdp.value_iteration(MDP, REWARD, max_iterations=v),
    ),
    Case("TabularEnv.step", "action", st.sampled_from([-1, 2, 7, 0.5, NAN, "0"]), lambda v: _tabular_env().step(v)),
    # distances
    Case("epic_distance.r1", "r1", BAD_REWARD, lambda v: distances.epic_distance(v, REWARD, MDP)),
    Case("epic_distance.r2", "r2", BAD_REWARD, lambda v: distances.epic_distance(REWARD, v, MDP)),
    Case("starc_distance.r1", "r1", BAD_REWARD, lambda v: distances.starc_distance(v, REWARD, MDP)),
    Case(
        "starc_distance.canonicalization",
        "canonicalization",
        st.sampled_from(["value", "", "EPIC!", 3]),
        lambda v: distances.starc_distance(REWARD, REWARD, MDP, canonicalization=v),
    ),
    Case(
        "starc_distance.norm",
        "norm",
        st.sampled_from([0, -1, -2.5, NAN, "l3"]),
        lambda v: distances.starc_distance(REWARD, REWARD, MDP, norm=v),
    ),
    Case("dard_distance.r2", "r2", BAD_REWARD, lambda v: distances.dard_distance(REWARD, v, MDP)),
    Case("canonicalize.reward", "reward", BAD_REWARD, lambda v: distances.canonicalize(v, MDP)),
    Case(
        "canonicalize.method",
        "method",
        st.sampled_from(["value", "", 1]),
        lambda v: distances.canonicalize(REWARD, MDP, v),
    ),
    Case(
        "canonicalize.policy",
        "policy",
        not_stochastic((3, 2)),
        lambda v: distances.canonicalize(REWARD, MDP, "val", policy=v),
    ),
    Case(
        "pearson_distance.rho",
        "rho",
        st.one_of(NONFINITE, st.floats(1.0, 1e6, exclude_min=True), st.floats(-1e6, -1.0, exclude_max=True)),
        lambda v: distances.pearson_distance(v),
    ),
    Case(
        "epic_distance.mdp",
        "mdp",
        st.sampled_from([None, "mdp", MDP.transitions]),
        lambda v: distances.epic_distance(REWARD, REWARD, v),
    ),
    Case(
        "sample_starc_val_distance.ridge",
        "ridge",
        NON_NEGATIVE,
        lambda v: distances.sample_starc_val_distance(
            _zero_reward, _unit_reward, _transitions(), 0.9, gym.spaces.Box(-1, 1, (1,)), ACT_SPACE, ridge=v
        ),
    ),
    # rewards
    Case("TabularReward.reward", "reward", poisoned((3, 2)), lambda v: rewards.TabularReward(v, MDP)),
    Case(
        "check_rewards.values",
        "my_reward",
        st.one_of(poisoned((4,)), misshaped((4,))),
        lambda v: rewards.check_rewards(v, 4, "my_reward"),
    ),
    Case(
        "potential_difference.gamma",
        "gamma",
        outside(0.0, 1.0),  # 0 is a valid discount of shaping (a contextual bandit)
        lambda v: rewards.potential_difference(0.0, 1.0, False, v),
    ),
    Case(
        "MLPRewardNet.hidden_sizes",
        "hidden_sizes",
        st.sampled_from([(0,), (-3,), (2.5,), ("8",)]),
        lambda v: rewards.MLPRewardNet(OBS_SPACE, ACT_SPACE, hidden_sizes=v, device="cpu"),
    ),
    # rollouts
    Case("Trajectory.rews", "rews", st.one_of(poisoned((2,)), misshaped((2,))), lambda v: _trajectory(rews=v)),
    Case("Trajectory.obs", "obs", misshaped((3, 1)).filter(lambda a: a.ndim == 2), lambda v: _trajectory(obs=v)),
    Case(
        "Transitions.terminated",
        "terminated",
        st.sampled_from([[0.5, 2.0], [NAN, 0.0], [2, 3], [0.0]]),
        lambda v: _transitions(terminated=np.asarray(v)),
    ),
    Case(
        "Transitions.next_obs",
        "next_obs",
        misshaped((2, 1)).filter(lambda a: a.ndim >= 1),
        lambda v: _transitions(next_obs=v),
    ),
    Case(
        "rollout.n_episodes",
        "n_episodes",
        POSITIVE_INT,
        lambda v: rollouts.rollout(_zero_policy, _cartpole(), n_episodes=v),
    ),
    Case("rollout.n_steps", "n_steps", POSITIVE_INT, lambda v: rollouts.rollout(_zero_policy, _cartpole(), n_steps=v)),
    Case("episode_returns.gamma", "gamma", DISCOUNT, lambda v: rollouts.episode_returns([_trajectory()], gamma=v)),
    # shaping
    Case("TabularPotential.values", "values", poisoned((3,)), lambda v: shaping.TabularPotential(v)),
    Case("TabularActionPotential.values", "values", poisoned((3, 2)), lambda v: shaping.TabularActionPotential(v)),
    Case("shaped_reward.reward", "reward", BAD_REWARD, lambda v: shaping.shaped_reward(MDP, v, np.zeros(3))),
    Case(
        "look_ahead_reward.policy",
        "policy",
        not_stochastic((3, 2)),
        lambda v: shaping.look_ahead_reward(MDP, REWARD, np.zeros((3, 2)), v),
    ),
    Case(
        "PotentialShaping.gamma",
        "gamma",
        DISCOUNT,
        lambda v: shaping.PotentialShaping(_cartpole(), lambda obs: 0.0, gamma=v),
    ),
    Case(
        "advised_action.q_values", "q_values", poisoned((2, 3)), lambda v: shaping.advised_action(v, np.zeros((2, 3)))
    ),
    Case("advised_action.advice", "advice", poisoned((3,)), lambda v: shaping.advised_action(np.zeros(3), v)),
    Case(
        "mountaincar_energy.obs",
        "obs",
        misshaped((5, 2)).filter(lambda a: a.ndim == 0 or a.shape[-1] != 2),
        lambda v: shaping.mountaincar_energy(v),
    ),
    Case(
        "mountaincar_energy.gravity",
        "gravity",
        NON_NEGATIVE.filter(lambda g: not g > 0 or not math.isfinite(g)) | st.floats(max_value=0.0, allow_nan=False),
        lambda v: shaping.mountaincar_energy(np.zeros(2), v),
    ),
    Case(
        "get_potential(mountaincar_energy) on CartPole",
        "mountaincar_energy",
        st.just(None),
        lambda v: shaping.get_potential("mountaincar_energy", _cartpole(), 0.99),
    ),
    # envs.alignment (the mountain-car heuristics on CartPole observations)
    Case(
        "mountaincar_energy_gain.obs",
        "obs",
        st.just(np.zeros((3, 4))),
        lambda v: alignment.mountaincar_energy_gain(v, None, np.zeros((3, 2)), None),
    ),
    Case(
        "mountaincar_energy_gain.next_obs",
        "next_obs",
        misshaped((3, 2)),
        lambda v: alignment.mountaincar_energy_gain(np.zeros((3, 2)), None, v, None),
    ),
    # preferences
    Case(
        "SyntheticGatherer.temperature",
        "temperature",
        st.one_of(NON_NEGATIVE, WRONG_TYPE),
        lambda v: preferences.SyntheticGatherer(temperature=v),
    ),
    Case("SyntheticGatherer.noise", "noise", PROBABILITY, lambda v: preferences.SyntheticGatherer(noise=v)),
    Case("SyntheticGatherer.discount", "discount", DISCOUNT, lambda v: preferences.SyntheticGatherer(discount=v)),
    Case(
        "HeronGatherer.discount",
        "discount",
        DISCOUNT,
        lambda v: preferences.HeronGatherer([0, 1], [1, 1], [0.1, 0.1], discount=v),
    ),
    Case("HeronGatherer.sigmas", "margins", poisoned((2,)), lambda v: preferences.HeronGatherer([0, 1], [1, 1], v)),
    Case(
        "PreferenceDataset.first",
        "first",
        st.sampled_from([[0.7, 1.0], [0.5, 2.2], [NAN, 1.0], [-1, 0], [4, 0], ["a", "b"], [True, False]]),
        lambda v: preferences.PreferenceDataset(FRAGMENTS, v, [2, 3], [1.0, 0.0]),
    ),
    Case(
        "PreferenceDataset.labels",
        "labels",
        st.sampled_from([[0.3, 1.0], [NAN, 1.0], [2.0, 0.0]]),
        lambda v: preferences.PreferenceDataset(FRAGMENTS, [0, 1], [2, 3], v),
    ),
    Case("Fragments.obs", "obs", poisoned((4, 2, 1)), lambda v: preferences.Fragments(v, np.zeros((4, 2, 1)))),
    Case(
        "Fragments.rewards",
        "rewards",
        st.one_of(poisoned((4, 2)), misshaped((4, 2))),
        lambda v: preferences.Fragments(np.zeros((4, 2, 1)), np.zeros((4, 2, 1)), rewards=v),
    ),
    Case(
        "hierarchical_labels.factors_i",
        "factors_i",
        poisoned((3, 2)),
        lambda v: preferences.hierarchical_labels(v, np.zeros((3, 2)), [0, 1], [1, 1], [0.0, 0.0]),
    ),
    Case(
        "random_pairs.n_fragments",
        "n_fragments",
        st.sampled_from([1, 0, -3, 2.5, NAN]),
        lambda v: preferences.random_pairs(v, 3, np.random.default_rng(0)),
    ),
    Case(
        "random_pairs.n_pairs",
        "n_pairs",
        st.sampled_from([-1, 2.5, NAN]),
        lambda v: preferences.random_pairs(4, v, np.random.default_rng(0)),
    ),
    Case(
        "train_reward_model.epochs",
        "epochs",
        POSITIVE_INT,
        lambda v: preferences.train_reward_model(_reward_model(), DATASET, epochs=v),
    ),
    Case(
        "train_reward_model.lr",
        "lr",
        POSITIVE,
        lambda v: preferences.train_reward_model(_reward_model(), DATASET, lr=v),
    ),
    Case(
        "train_reward_model.batch_size",
        "batch_size",
        POSITIVE_INT,
        lambda v: preferences.train_reward_model(_reward_model(), DATASET, batch_size=v),
    ),
    Case(
        "aggregate_members.aggregate",
        "aggregate",
        st.sampled_from(["median", "", 3]),
        lambda v: preferences.aggregate_members(np.zeros((2, 3)), v),
    ),
    Case(
        "aggregate_members.uwo_penalty",
        "uwo_penalty",
        NON_NEGATIVE,
        lambda v: preferences.aggregate_members(np.zeros((2, 3)), "uwo", v),
    ),
    Case(
        "DisagreementFragmenter.oversample", "oversample", POSITIVE_INT, lambda v: preferences.DisagreementFragmenter(v)
    ),
    # games
    Case(
        "NormalFormGame.payoffs",
        "payoffs",
        st.one_of(poisoned((2, 2, 2)), misshaped((2, 2, 2)).filter(lambda a: a.ndim < 3)),
        lambda v: games.NormalFormGame(v),
    ),
    Case("check_strategy.strategy", "strategy", not_stochastic((3,)), lambda v: games.check_strategy(v, 3)),
    Case(
        "risk_averse_best_response.mu",
        "mu",
        poisoned((2,)),
        lambda v: games.risk_averse_best_response(v, np.eye(2), 1.0),
    ),
    Case(
        "risk_averse_best_response.covariance",
        "covariance",
        bad_array((2, 2), 0.0, 1.0),
        lambda v: games.risk_averse_best_response([1.0, 0.0], v, 1.0),
    ),
    Case(
        "risk_averse_best_response.risk_aversion",
        "risk_aversion",
        NON_NEGATIVE,
        lambda v: games.risk_averse_best_response([1.0, 0.0], np.eye(2), v),
    ),
    Case(
        "risk_averse_equilibrium.tol",
        "tol",
        st.one_of(POSITIVE, WRONG_TYPE),
        lambda v: games.risk_averse_equilibrium(GAME, 0.5, tol=v),
    ),
    Case(
        "risk_averse_equilibrium.iterations",
        "iterations",
        POSITIVE_INT,
        lambda v: games.risk_averse_equilibrium(GAME, 0.5, iterations=v),
    ),
    Case(
        "risk_averse_equilibrium.risk_aversion",
        "risk_aversion",
        NON_NEGATIVE,
        lambda v: games.risk_averse_equilibrium(GAME, v),
    ),
    Case(
        "rae_residual.strategies",
        "strateg",
        st.one_of(poisoned((2,)), misshaped((2,))),
        lambda v: games.rae_residual(GAME, [v, [0.5, 0.5]], 0.5),
    ),
    Case(
        "PSRO.eval_episodes",
        "eval_episodes",
        st.sampled_from([1, 0, -2, 2.5, NAN, True]),
        lambda v: games.PSRO(_no_env, eval_episodes=v),
    ),
    Case("PSRO.oracle_timesteps", "oracle_timesteps", POSITIVE_INT, lambda v: games.PSRO(_no_env, oracle_timesteps=v)),
    Case(
        "nash_equilibria.method",
        "method",
        st.sampled_from(["simplex", "", 0]),
        lambda v: games.nash_equilibria(GAME, v),
    ),
    # submodular
    Case(
        "WeightedCoverage.weights",
        "weights",
        bad_array((3,), 0.0, 1.0),
        lambda v: submodular.WeightedCoverage(COVER, v),
    ),
    Case("FacilityLocation.similarity", "similarity", poisoned((3, 4)), lambda v: submodular.FacilityLocation(v)),
    Case(
        "CappedCollection.caps",
        "caps",
        st.one_of(poisoned((2,), 1.0, 3.0), st.just(np.array([-1.0, 1.0]))),
        lambda v: submodular.CappedCollection([0, 1, 1], v),
    ),
    Case("LogDetDesign.kernel", "kernel", poisoned((3, 3)), lambda v: submodular.LogDetDesign(v)),
    Case("LogDetDesign.noise", "noise", POSITIVE, lambda v: submodular.LogDetDesign(np.eye(3), noise=v)),
    Case(
        "greedy_plan.horizon",
        "horizon",
        POSITIVE_INT,
        lambda v: submodular.greedy_plan(MDP, submodular.WeightedCoverage(COVER, np.ones(3)), v),
    ),
    # bilevel
    Case("tile_coding.bins", "bins", POSITIVE_INT, lambda v: bilevel.tile_coding([0.0], [1.0], v)),
    Case("tile_coding.low", "low", poisoned((2,)), lambda v: bilevel.tile_coding(v, [2.0, 2.0], 4)),
    Case("PolicyNet.obs_dim", "obs_dim", POSITIVE_INT, lambda v: bilevel.PolicyNet(v, 2)),
    Case("PolicyNet.n_actions", "n_actions", POSITIVE_INT, lambda v: bilevel.PolicyNet(2, v)),
    Case("Reinforce.lr", "lr", POSITIVE, lambda v: bilevel.Reinforce(bilevel.PolicyNet(2, 2), lr=v)),
    Case(
        "ActorCritic.gae_lambda",
        "gae_lambda",
        PROBABILITY,
        lambda v: bilevel.ActorCritic(bilevel.PolicyNet(2, 2), torch.nn.Linear(2, 1), gae_lambda=v),
    ),
    Case("BlendedReward.gamma", "gamma", DISCOUNT, lambda v: bilevel.BlendedReward(2, 1, gamma=v)),
    Case("BlendedReward.n_features", "n_features", POSITIVE_INT, lambda v: bilevel.BlendedReward(v, 1)),
    Case(
        "potential_shaping.gamma",
        "gamma",
        DISCOUNT,
        lambda v: bilevel.potential_shaping(lambda obs: np.zeros(len(obs)), v),
    ),
    Case("discounted_sums.discount", "discount", PROBABILITY, lambda v: bilevel.discounted_sums(torch.ones(3), v)),
]


def _reward_model() -> preferences.RewardModel:
    return preferences.RewardModel(
        gym.spaces.Box(-1, 1, (1,)), gym.spaces.Box(-1, 1, (1,)), hidden_sizes=(4,), device="cpu", seed=0
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id if isinstance(c, Case) else None)
@SWEEP
@given(data=st.data())
def test_bad_input_names_the_argument(case: Case, data: st.DataObject) -> None:
    bad = data.draw(case.values, label=case.name)
    with pytest.raises((ValueError, TypeError)) as info:
        case.call(bad)
    assert case.name in str(info.value), f"the message does not name {case.name!r}: {info.value}"


# ------------------------------------------------------------------ the inputs reported one by one

REPORTED: list[tuple[str, str, Callable[[], Any]]] = [
    ("SyntheticGatherer(temperature=nan)", "temperature", lambda: preferences.SyntheticGatherer(temperature=NAN)),
    ("HeronGatherer(discount=5)", "discount", lambda: preferences.HeronGatherer([0], [1], [0.1], discount=5)),
    ("HeronGatherer(discount=nan)", "discount", lambda: preferences.HeronGatherer([0], [1], [0.1], discount=NAN)),
    ("risk_averse_equilibrium(tol=nan)", "tol", lambda: games.risk_averse_equilibrium(GAME, 0.5, tol=NAN)),
    ("risk_averse_equilibrium(tol=-1)", "tol", lambda: games.risk_averse_equilibrium(GAME, 0.5, tol=-1)),
    (
        "train_reward_model(epochs=0)",
        "epochs",
        lambda: preferences.train_reward_model(_reward_model(), DATASET, epochs=0),
    ),
    (
        "train_reward_model(epochs=-1)",
        "epochs",
        lambda: preferences.train_reward_model(_reward_model(), DATASET, epochs=-1),
    ),
    (
        "PreferenceDataset(first=[0.7, ...])",
        "first",
        lambda: preferences.PreferenceDataset(FRAGMENTS, [0.7, 1], [2, 3], [1, 0]),
    ),
    ("advised_action(q_values with NaN)", "q_values", lambda: shaping.advised_action([NAN, 0.0], [0.0, 0.0])),
    ("advised_action(advice with NaN)", "advice", lambda: shaping.advised_action([0.0, 0.0], [0.0, NAN])),
    ("mountaincar_energy(CartPole obs)", "obs", lambda: shaping.mountaincar_energy(np.zeros(4))),
    (
        "mountaincar_energy_gain(CartPole obs)",
        "obs",
        lambda: alignment.mountaincar_energy_gain(np.zeros((2, 4)), None, np.zeros((2, 2)), None),
    ),
    ("PSRO(eval_episodes=1)", "eval_episodes", lambda: games.PSRO(_no_env, eval_episodes=1)),
    ("PSRO(oracle_timesteps=-5)", "oracle_timesteps", lambda: games.PSRO(_no_env, oracle_timesteps=-5)),
]


@pytest.mark.parametrize(("call", "name"), [(c, n) for _, n, c in REPORTED], ids=[r[0] for r in REPORTED])
def test_reported_bad_input_names_the_argument_and_value(call: Callable[[], Any], name: str) -> None:
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert name in str(info.value)


def test_whole_float_indices_pass_and_fractional_ones_do_not() -> None:
    dataset = preferences.PreferenceDataset(FRAGMENTS, np.array([0.0, 1.0]), [2, 3], [1.0, 0.0])
    np.testing.assert_array_equal(dataset.first, [0, 1])
    assert dataset.first.dtype == np.int64
    with pytest.raises(ValueError, match=r"first must hold integer fragment indices, got .*0\.7"):
        preferences.PreferenceDataset(FRAGMENTS, [0.7, 1.0], [2, 3], [1.0, 0.0])


def test_files_that_are_not_ours_are_refused_without_advice_to_unpickle(tmp_path: Any) -> None:
    text = tmp_path / "notes.npz"
    text.write_text("not an archive")
    pickled = tmp_path / "objects.npy"
    np.save(pickled, np.array([object()], dtype=object), allow_pickle=True)
    for path in (text, pickled):
        with pytest.raises(ValueError, match="is not a preference dataset") as info:
            preferences.PreferenceDataset.load(path)
        assert "allow_pickle" not in str(info.value)
    model = _reward_model()
    for path in (text, pickled):
        with pytest.raises(ValueError, match="is not a reward model") as info:
            model.load(str(path))
        assert "weights_only" not in str(info.value)
