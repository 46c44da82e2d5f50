"""The preference-learning loop: alternate agent training on the learned reward with gathering labels.

Each round, the current policy is rolled out on the env by :func:`rewarddesign.rollouts.rollout`
(with the reward factors the env publishes, if any: :func:`rewarddesign.factors.factor_spec`;
uniformly random actions in the first round and, for an off-policy agent, in every round before
its ``learning_starts``, as the agent itself acts then), the
episodes are cut into fragments (:meth:`Fragments.from_trajectories`), pairs are chosen (at random,
or by the ensemble's disagreement), a gatherer labels them, the reward model is retrained on all
labels so far, and the SB3 agent trains on the learned reward (the env's own reward kept in the
step's ``info``). The first round gathers an ``initial_fraction`` of all comparisons, the rest are
spread evenly over the rounds.

Seeding: ``seed`` fixes the whole run. The loop's own draws (each rollout's seed, fragment cuts,
pairs, held-out splits) come from a numpy ``Generator`` of its own; a rollout seeds the env's
reset, the random actions and the policy's sampling from that seed and leaves torch's global
generator as it was (:func:`~rewarddesign.rollouts.rollout`); the reward model's initial
weights and minibatch order from generators of their own (see
:mod:`rewarddesign.preferences.models`). The SB3 agent seeds and draws from the process's global
generators (its constructor calls SB3's ``set_random_seed(seed)``; its exploration noise and
minibatches draw from Python's, numpy's and torch's global streams), so the loop owns a state of
those generators and swaps it in around the agent's construction and each round's training (the
policy's rollouts own their draws already): the agent's stream runs on across the rounds
(it is not restarted when the reward model is retrained), its draws depend on ``seed`` alone,
whatever the process drew before or in between, and the caller's global generators are left as
they were.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast

import gymnasium as gym
import numpy as np
import torch
from numpy.typing import NDArray
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

from rewarddesign._seeding import GlobalRandomStream
from rewarddesign._validation import check_device, check_positive_int, check_real
from rewarddesign.distances import sample_epic_distance
from rewarddesign.factors import require_factor_spec
from rewarddesign.preferences.data import Fragments, PreferenceDataset
from rewarddesign.preferences.gatherers import HeronGatherer, random_pairs
from rewarddesign.preferences.models import (
    Aggregate,
    RewardEnsemble,
    RewardInputs,
    RewardModel,
    preference_accuracy,
    train_reward_model,
)
from rewarddesign.preferences.wrappers import VecLearnedReward
from rewarddesign.rewards import RewardFunction
from rewarddesign.rollouts import PolicyLike, Transitions, episode_returns, rollout
from rewarddesign.train import ALGORITHMS

__all__ = ["Gatherer", "Fragmenter", "RoundRecord", "RandomFragmenter", "DisagreementFragmenter", "PreferenceLearning"]


class Gatherer(Protocol):
    """Labels pairs of fragments: ``(fragments, first [P], second [P]) -> PreferenceDataset``.

    :class:`~rewarddesign.preferences.gatherers.HeronGatherer` and
    :class:`~rewarddesign.preferences.gatherers.SyntheticGatherer` are gatherers.
    """

    def __call__(
        self, fragments: Fragments, first: NDArray[np.int64], second: NDArray[np.int64]
    ) -> PreferenceDataset: ...


class Fragmenter(Protocol):
    """Chooses ``n_pairs`` pairs of fragments to label: ``-> (first [P], second [P])`` fragment indices."""

    def __call__(
        self, fragments: Fragments, n_pairs: int, model: RewardModel | RewardEnsemble, rng: np.random.Generator
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]: ...


@dataclass(frozen=True)
class RoundRecord:
    """One round of :class:`PreferenceLearning`, measured after the agent's training.

    Attributes:
        timesteps: Agent steps so far.
        comparisons: Comparisons asked for so far.
        true_return: Mean true return of 5 deterministic episodes of the policy.
        learned_fragment_return: Mean learned return of those episodes' fragments.
        accuracy: Held-out accuracy of the reward model (NaN before any pair is held out).
        epic: Sample EPIC distance of an ``obs_act`` model to ``true_reward`` (None when not computed).
        labels: Labels kept so far, training and held-out (fewer than ``comparisons`` where a
            gatherer leaves pairs undecided and they are not redrawn).
    """

    timesteps: int
    comparisons: int
    true_return: float
    learned_fragment_return: float
    accuracy: float
    epic: float | None = None
    labels: int = 0


class RandomFragmenter:
    """Pairs of fragments drawn uniformly."""

    def __call__(
        self, fragments: Fragments, n_pairs: int, model: RewardModel | RewardEnsemble, rng: np.random.Generator
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        return random_pairs(len(fragments), n_pairs, rng)


class DisagreementFragmenter:
    """Active selection: of ``oversample`` times as many random pairs, those the ensemble disagrees on most.

    Disagreement is the standard deviation over members of ``sigmoid(R_i - R_j)``; needs a
    :class:`~rewarddesign.preferences.models.RewardEnsemble` (falls back to random pairs otherwise).
    """

    def __init__(self, oversample: int = 5) -> None:
        self.oversample = check_positive_int(oversample, "oversample")

    def __call__(
        self, fragments: Fragments, n_pairs: int, model: RewardModel | RewardEnsemble, rng: np.random.Generator
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        first, second = random_pairs(len(fragments), n_pairs * self.oversample, rng)
        if not isinstance(model, RewardEnsemble):
            return first[:n_pairs], second[:n_pairs]
        members = cast(Sequence[RewardModel], model.members)
        with torch.no_grad():
            p = torch.stack(
                [
                    torch.sigmoid(m.fragment_returns(fragments, first) - m.fragment_returns(fragments, second))
                    for m in members
                ]
            )
        keep = np.argsort(-p.std(0).cpu().numpy())[:n_pairs]
        return first[keep], second[keep]


class PreferenceLearning:
    """Preference-based RL with SB3: a reward model learned from labelled fragment pairs drives the agent.

    Args:
        env: The task: a Gymnasium env id (made with ``gym.make``) or a function that makes the env
            (called for the training env and for the env the policy is rolled out on). A HERON
            gatherer and a factor model need an env that publishes its reward factors
            (:func:`rewarddesign.factors.factor_spec`): wrap it, e.g.
            ``lambda: with_reward_factors(gym.make("Pendulum-v1"))`` with
            :func:`rewarddesign.envs.with_reward_factors` for the project's tasks.
        gatherer: A :class:`~rewarddesign.preferences.gatherers.HeronGatherer` or
            :class:`~rewarddesign.preferences.gatherers.SyntheticGatherer`.
        reward_inputs: ``"obs_act"`` (the model sees observations and actions), ``"factors"`` or
            ``"obs_factors"`` (the observation the action was taken in and the step's factors, as
            HERON's reference model on classic control). None (the default): ``"obs_factors"`` with
            a :class:`~rewarddesign.preferences.gatherers.HeronGatherer` (HERON's reference
            setting, which did better than 25-step fragments on Pendulum: see the docs' preference
            guide), ``"obs_act"`` with any other gatherer.
        algo: ``"sac"``, ``"ppo"``, ``"td3"`` or ``"a2c"``.
        fragment_length: Steps per fragment; 1 compares single transitions (every step of the
            round's episodes is a fragment), as HERON's reference does. None (the default): 1 with
            a ``HeronGatherer``, 25 with any other gatherer.
        ensemble_size: 1 for one model, more for an ensemble aggregated by ``aggregate``; the
            members differ by seed (``seed + k``) and are trained on the same pairs.
        aggregate: ``"mean"``, ``"wco"``, ``"uwo"`` (mean minus the variance over members) or
            ``"uwo-std"`` (mean minus the standard deviation); see
            :class:`~rewarddesign.preferences.models.RewardEnsemble`.
        fragmenter: How pairs are chosen (default :class:`RandomFragmenter`).
        rounds: Rounds of gathering and training.
        initial_fraction: Share of the comparisons gathered in the first round (before any training).
        episodes_per_round: Episodes rolled out per round to cut fragments from.
        reward_epochs: Epochs of reward training per round.
        held_out: Share of each round's pairs kept out of training to measure accuracy.
        redraw_undecided: Replace the pairs a gatherer leaves undecided (HERON's, where no factor
            differs by more than its margin) by fresh pairs until the round holds its number of
            labels (at most 20 redraws), so that learners compare at equal label budgets; by
            default undecided pairs are dropped and the round holds fewer labels.
        reward_hidden_sizes: Hidden widths of the reward model (of each member).
        reward_lr: Adam's learning rate for the reward model.
        true_reward: The true reward as a batched ``(obs, act, next_obs, done)`` function, to log the
            sample EPIC distance of ``obs_act`` models to it.
        algo_kwargs: Further keyword arguments of the SB3 algorithm.
        device: ``"auto"`` (CUDA when there is one) for the agent and the reward model.
        seed: Seeds everything; the caller's global generators are left as they were (see the
            module docstring).

    Attributes:
        model: The reward model or ensemble.
        dataset: All training pairs so far.
        agent: The SB3 model.
        untrained_return: The true return of the first round's uniformly random episodes.
        history: One :class:`RoundRecord` per round: timesteps, comparisons, true return of the
            policy's episodes, learned return of their fragments, held-out accuracy, EPIC distance
            (when computed).
    """

    def __init__(
        self,
        env: str | Callable[[], gym.Env],
        gatherer: Gatherer,
        *,
        reward_inputs: RewardInputs | None = None,
        algo: Literal["sac", "ppo", "td3", "a2c"] = "sac",
        fragment_length: int | None = None,
        ensemble_size: int = 1,
        aggregate: Aggregate = "mean",
        fragmenter: Fragmenter | None = None,
        rounds: int = 5,
        initial_fraction: float = 0.25,
        episodes_per_round: int = 10,
        reward_epochs: int = 20,
        held_out: float = 0.1,
        redraw_undecided: bool = False,
        reward_hidden_sizes: Sequence[int] = (64, 64),
        reward_lr: float = 1e-3,
        true_reward: RewardFunction | None = None,
        algo_kwargs: dict[str, Any] | None = None,
        device: str = "auto",
        seed: int = 0,
    ) -> None:
        if isinstance(env, str):
            env_id = env
            self.make_env: Callable[[], gym.Env] = lambda: gym.make(env_id)
        elif callable(env):
            self.make_env = env
        else:
            raise TypeError(f"env must be an env id or a function that makes the env, got {type(env).__name__}")
        heron = isinstance(gatherer, HeronGatherer)
        if reward_inputs is None:
            reward_inputs = "obs_factors" if heron else "obs_act"
        if fragment_length is None:
            fragment_length = 1 if heron else 25
        fragment_length = check_positive_int(fragment_length, "fragment_length")
        if reward_inputs not in ("obs_act", "factors", "obs_factors"):
            raise ValueError(f'reward_inputs must be "obs_act", "factors" or "obs_factors", got {reward_inputs!r}')
        self.reward_lr = check_real(reward_lr, "reward_lr", low=0.0, low_open=True)
        self.redraw_undecided = bool(redraw_undecided)
        if algo not in ALGORITHMS:
            raise ValueError(f"algo must be one of {sorted(ALGORITHMS)}, got {algo!r}")
        if rounds < 1 or not 0 < initial_fraction <= 1 or not 0 <= held_out < 1:
            raise ValueError("need rounds >= 1, 0 < initial_fraction <= 1, 0 <= held_out < 1")
        self.gatherer, self.algo = gatherer, algo
        self.eval_env = self.make_env()  # the env the policy is rolled out on, for fragments and evaluation
        self.device = check_device(device)
        if reward_inputs != "obs_act" or isinstance(gatherer, HeronGatherer):
            what = "a factor reward model" if reward_inputs != "obs_act" else "HERON's gatherer"
            spec = require_factor_spec(self.eval_env, what)
            if isinstance(gatherer, HeronGatherer) and len(gatherer.ranking) != len(spec.names):
                raise ValueError(
                    f"gatherer ranks {len(gatherer.ranking)} factors; the env publishes {len(spec.names)}: {spec.names}"
                )
        hidden = tuple(reward_hidden_sizes)
        if reward_inputs == "factors":
            base = RewardModel(n_factors=len(spec.names), hidden_sizes=hidden, device=self.device, seed=seed)
        elif reward_inputs == "obs_factors":
            base = RewardModel(
                self.eval_env.observation_space, n_factors=len(spec.names), hidden_sizes=hidden, device=self.device,
                seed=seed,
            )  # fmt: skip
        else:
            base = RewardModel(
                self.eval_env.observation_space, self.eval_env.action_space, hidden_sizes=hidden, device=self.device,
                seed=seed,
            )  # fmt: skip
        self.model: RewardModel | RewardEnsemble = (
            base if ensemble_size == 1 else RewardEnsemble.of(base, ensemble_size, aggregate, seed=seed)
        )
        self.fragmenter = fragmenter or RandomFragmenter()
        self.fragment_length, self.rounds, self.initial_fraction = fragment_length, rounds, float(initial_fraction)
        self.episodes_per_round, self.reward_epochs, self.held_out = episodes_per_round, reward_epochs, held_out
        self.true_reward, self.reward_inputs = true_reward, reward_inputs
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.venv = VecLearnedReward(DummyVecEnv([lambda: Monitor(self.make_env())]), self.model)
        self.venv.seed(seed)
        # SB3 seeds and draws from the process's global generators: the agent gets a state of its own
        self._random = GlobalRandomStream(seed)
        with self._random.active():
            self.agent = ALGORITHMS[algo](
                "MlpPolicy", self.venv, seed=seed, device=self.device, verbose=0, **(algo_kwargs or {})
            )
        self.dataset: PreferenceDataset | None = None
        self.test_set: PreferenceDataset | None = None
        self.timesteps = 0
        self.labels = 0
        self.untrained_return = float("nan")  # of the first round's random-action episodes
        self.history: list[RoundRecord] = []

    def _fragments(
        self, policy: PolicyLike, episodes: int, deterministic: bool = False
    ) -> tuple[Fragments, NDArray[np.float64]]:
        """Fragments of ``episodes`` episodes of ``policy`` (None: random actions) and the episodes' true returns."""
        trajectories = rollout(
            policy, self.eval_env, n_episodes=episodes, seed=int(self.rng.integers(2**31)), deterministic=deterministic
        )
        return Fragments.from_trajectories(trajectories, self.fragment_length, self.rng), episode_returns(trajectories)

    def _gather(self, n_pairs: int, policy: PolicyLike) -> tuple[Fragments, NDArray[np.float64]]:
        fragments, returns = self._fragments(policy, self.episodes_per_round)
        first, second = self.fragmenter(fragments, n_pairs, self.model, self.rng)
        labelled = self.gatherer(fragments, first, second)
        for _ in range(20 if self.redraw_undecided else 0):
            missing = n_pairs - len(labelled)
            if missing <= 0:
                break
            first, second = self.fragmenter(fragments, 2 * missing, self.model, self.rng)
            more = self.gatherer(fragments, first, second)
            labelled = PreferenceDataset(
                fragments,
                np.concatenate([labelled.first, more.first])[:n_pairs],
                np.concatenate([labelled.second, more.second])[:n_pairs],
                np.concatenate([labelled.labels, more.labels])[:n_pairs],
            )
        self.labels += len(labelled)
        train, test = labelled.split(self.held_out, self.rng)
        self.dataset = train if self.dataset is None else self.dataset.extend(train)
        if len(test):
            self.test_set = test if self.test_set is None else self.test_set.extend(test)
        return fragments, returns

    def _train_reward(self) -> None:
        assert self.dataset is not None
        if isinstance(self.model, RewardEnsemble):
            self.model.train_members(self.dataset, seed=self.seed, epochs=self.reward_epochs, lr=self.reward_lr)
        else:
            train_reward_model(self.model, self.dataset, epochs=self.reward_epochs, seed=self.seed, lr=self.reward_lr)

    def train(
        self, total_timesteps: int, total_comparisons: int, callback: Callable[[RoundRecord], object] | None = None
    ) -> PreferenceLearning:
        """Run the rounds: gather, retrain the reward, train the agent for ``total_timesteps / rounds``."""
        if total_timesteps < self.rounds or total_comparisons < 2:
            raise ValueError("need at least one timestep per round and two comparisons")
        initial = max(1, int(self.initial_fraction * total_comparisons))
        later = (total_comparisons - initial) // max(1, self.rounds - 1) if self.rounds > 1 else 0
        per_round_steps = total_timesteps // self.rounds
        comparisons = 0
        for r in range(self.rounds):
            n_pairs = initial if r == 0 else later
            # Random actions until the agent learns (SB3's off-policy agents act uniformly at random
            # for their first learning_starts steps).
            acting = r > 0 and self.agent.num_timesteps >= getattr(self.agent, "learning_starts", 0)
            policy = self.agent if acting else None
            fragments, returns = self._gather(max(n_pairs, 1), policy)
            if r == 0:
                self.untrained_return = float(np.mean(returns))
            comparisons += n_pairs
            self._train_reward()
            with self._random.active():
                self.agent.learn(per_round_steps, reset_num_timesteps=False)
            self.timesteps += per_round_steps
            row = self._evaluate(comparisons)
            self.history.append(row)
            if callback is not None:
                callback(row)
        return self

    def _evaluate(self, comparisons: int) -> RoundRecord:
        fragments, returns = self._fragments(self.agent, 5, deterministic=True)
        with torch.no_grad():
            learned = float(self.model.fragment_returns(fragments).mean())
        epic = None
        if self.true_reward is not None and self.reward_inputs == "obs_act":
            n, steps = len(fragments), fragments.length - 1  # transitions inside each fragment
            obs, acts = fragments.obs, fragments.acts
            transitions = Transitions(
                obs[:, :-1].reshape(n * steps, *obs.shape[2:]),
                acts[:, :-1].reshape(n * steps, *acts.shape[2:]),
                obs[:, 1:].reshape(n * steps, *obs.shape[2:]),
            )
            epic = sample_epic_distance(
                self.model.predict, self.true_reward, transitions, 0.99, n_mean_samples=64, rng=self.seed
            )
        return RoundRecord(
            timesteps=self.timesteps,
            comparisons=comparisons,
            true_return=float(np.mean(returns)),
            learned_fragment_return=learned,
            accuracy=preference_accuracy(self.model, self.test_set) if self.test_set is not None else float("nan"),
            epic=epic,
            labels=self.labels,
        )
