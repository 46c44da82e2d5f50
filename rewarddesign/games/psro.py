"""Policy-Space Response Oracles (PSRO) with uniform, Nash and risk-averse (RAE) meta-solvers.

PSRO (Lanctot et al., 2017) grows a population of policies per agent. Each iteration, every agent
trains a best response (SB3 PPO) against the others playing the current *meta-strategy*, a mixture
over their populations, with the opponents' policies drawn from the mixture at the start of each
episode; the new policies join the populations; the *empirical meta-game* (the mean return of
every combination of policies, estimated by rollouts, with standard errors) grows by the new rows
and columns; and a meta-solver picks the next meta-strategies from it:

- ``"uniform"``: uniform over each population (fictitious self-play);
- ``"nash"``: a Nash equilibrium of the meta-game (two agents). **Which one**, when there are
  several: the first extreme equilibrium in the output of the vertex enumeration
  (``nash_equilibria(game, "enumerate")``, Mangasarian's method: the vertices of the two
  best-response polytopes are enumerated and the complementary pairs reported in order; Gambit's
  order when the ``gambit`` extra is installed, else the project's own solver's, which gives the
  same set ordered by the row player's support size) for meta-games of up to 12 policies per
  agent, else the end of the first Lemke-Howson path. The
  order follows the payoffs and the policy indices, not welfare, payoff or risk dominance: it is
  an arbitrary but deterministic selection. (In the intersection benchmark's final meta-games,
  3 to 8 extreme equilibria, the one taken was the best by welfare in 5 of 20 seeds.)
- ``"rae"``: a risk-averse equilibrium of the meta-game (Slumbers et al., ICML 2023), which
  trades expected return against its variance over the opponents' policy draw, computed by
  :func:`~rewarddesign.games.risk_averse_equilibrium` with ``method=rae_method`` (by default the
  homotopy for two agents, whose selection that function documents; ``"fictitious-play"``
  reproduces the runs made before it existed). The residual of each solve is kept in
  ``history`` (``meta_residual``).

Runs are resumable: with ``out_dir``, the populations and the meta-game are saved after every
iteration, and a new :class:`PSRO` on the same directory continues from there. Each PPO member is
saved as :func:`rewarddesign.train.save_policy` saves a policy (tensors and JSON, read back with
``torch.load(weights_only=True)``, so a checkpoint from elsewhere cannot run code), in a directory
named relative to the run, so a copied run loads its own files.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from pettingzoo.utils.env import ParallelEnv
from stable_baselines3.common.base_class import BaseAlgorithm

from rewarddesign._seeding import GlobalRandomStream
from rewarddesign._validation import check_device, check_positive_int, check_real
from rewarddesign.games._normal_form import NormalFormGame
from rewarddesign.games._rae import risk_averse_equilibrium
from rewarddesign.games._solvers import nash_equilibria
from rewarddesign.rollouts import rollout_parallel
from rewarddesign.train import load_policy, save_policy

__all__ = ["PSRO", "PSROEvaluation", "RandomPolicy", "SB3Policy", "OpponentMixtureEnv"]

MetaSolver = Literal["uniform", "nash", "rae"]
META_SOLVERS: tuple[MetaSolver, ...] = ("uniform", "nash", "rae")
RAEMethod = Literal["auto", "homotopy", "fictitious-play"]
RAE_METHODS: tuple[RAEMethod, ...] = ("auto", "homotopy", "fictitious-play")


class RandomPolicy:
    """Uniformly random actions (the usual first member of a population)."""

    spec = "random"

    def __init__(self, action_space: gym.spaces.Discrete, seed: int | None = None) -> None:
        self.action_space = action_space
        self.rng = np.random.default_rng(seed)

    def act(self, obs: ArrayLike) -> int:
        return int(self.rng.integers(self.action_space.n))

    def __call__(self, obs: NDArray[Any]) -> NDArray[np.int64]:
        """Actions ``[B]`` for observations ``[B, ...]`` (a :mod:`rewarddesign.rollouts` policy)."""
        return np.array([self.act(o) for o in obs], dtype=np.int64)


class SB3Policy:
    """An SB3 model as a population member (stochastic actions, as trained).

    Args:
        model: The SB3 model.
        path: The directory :func:`rewarddesign.train.save_policy` saved it to, if any.
        deterministic: Play the most likely action instead of sampling.
    """

    def __init__(self, model: BaseAlgorithm, path: str | None = None, deterministic: bool = False) -> None:
        self.model, self.path, self.deterministic = model, path, deterministic

    @property
    def spec(self) -> str:
        """``policy:<directory>``, as a run's ``state.json`` lists it."""
        return f"policy:{self.path}"

    def act(self, obs: ArrayLike) -> int:
        action, _ = self.model.predict(np.asarray(obs), deterministic=self.deterministic)
        return int(action)

    def __call__(self, obs: NDArray[Any]) -> NDArray[np.int64]:
        """Actions ``[B]`` for observations ``[B, ...]``, one ``predict`` each (as :meth:`act`)."""
        return np.array([self.act(o) for o in obs], dtype=np.int64)


class OpponentMixtureEnv(gym.Env):
    """One agent's view of a PettingZoo parallel env, the others playing a mixture of policies.

    At every reset each other agent draws a policy from its population with the probabilities of
    its meta-strategy; its actions come from that policy for the whole episode.

    Args:
        env_fn: Makes the parallel env.
        agent: The learning agent.
        populations: Policies of every agent (the learner's own entry is not used).
        meta_strategies: Mixture weights of every agent over its population.
        seed: Seeds the draws.
    """

    def __init__(
        self,
        env_fn: Callable[[], Any],
        agent: str,
        populations: dict[str, list[Any]],
        meta_strategies: dict[str, np.ndarray],
        seed: int | None = None,
    ) -> None:
        self.env = env_fn()
        self.agent = agent
        self.populations, self.meta = populations, meta_strategies
        self.observation_space = self.env.observation_space(agent)
        self.action_space = self.env.action_space(agent)
        self.rng = np.random.default_rng(seed)
        self._opponents: dict[str, Any] = {}
        self._obs: dict[str, Any] = {}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self._opponents = {
            other: self.populations[other][int(self.rng.choice(len(self.meta[other]), p=self.meta[other]))]
            for other in self.env.possible_agents
            if other != self.agent
        }
        self._obs, infos = self.env.reset(seed=int(self.rng.integers(2**31)))
        return self._obs[self.agent], infos.get(self.agent, {})

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        actions = {a: policy.act(self._obs[a]) for a, policy in self._opponents.items() if a in self.env.agents}
        actions[self.agent] = int(action)
        self._obs, rewards, terminations, truncations, infos = self.env.step(actions)
        terminated = bool(terminations.get(self.agent, False))
        truncated = bool(truncations.get(self.agent, False)) and not terminated
        # the episode ends for this agent when it is done, whatever the others still do
        return (
            self._obs[self.agent],
            float(rewards.get(self.agent, 0.0)),
            terminated,
            truncated,
            infos.get(self.agent, {}),
        )


def _profile_returns(
    env_fn: Callable[[], ParallelEnv], profile: Mapping[str, Any], episodes: int, seed: int
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Returns ``[episodes, n_agents]`` and crash flags ``[episodes]`` of a fixed policy profile.

    Episode ``e`` is reset with ``seed + e``; an episode crashed when any agent's info says so.
    """
    env = env_fn()
    agents = list(env.possible_agents)
    returns = np.zeros((episodes, len(agents)))
    crashes = np.zeros(episodes, dtype=bool)
    for e in range(episodes):
        (episode,) = rollout_parallel(profile, env, n_episodes=1, seed=seed + e)
        for i, agent in enumerate(agents):
            if agent in episode:
                returns[e, i] = sum(episode[agent].rews.tolist())  # summed in step order
        crashes[e] = any(info.get("crash", False) for t in episode.values() for info in t.infos or ())
    return returns, crashes


@dataclasses.dataclass(frozen=True)
class PSROEvaluation:
    """The meta-strategy profile's play (:meth:`PSRO.evaluate`).

    Attributes:
        mean_return: Mean return of each agent.
        return_ci: Half-widths of their 95% intervals (``1.96`` standard errors).
        crash_rate: The fraction of episodes in which an agent's info reported ``"crash"``.
        crash_ci: Half-width of its 95% (normal-approximation) interval.
    """

    mean_return: list[float]
    return_ci: list[float]
    crash_rate: float
    crash_ci: float


class PSRO:
    """PSRO over a PettingZoo parallel env with a uniform, Nash or RAE meta-solver.

    Args:
        env_fn: Makes the parallel env (called for every rollout and oracle env).
        meta_solver: ``"uniform"``, ``"nash"`` or ``"rae"``.
        risk_aversion: ``lambda`` of the RAE meta-solver.
        episode_variance: Whether the RAE meta-solver also counts the variance of the episode
            returns within each meta-game entry (stochastic policies and environments: a pair
            of policies that crashes one time in five has a modest mean and a large spread), as
            ``payoff_variance`` of :func:`risk_averse_equilibrium`; otherwise only the variance
            across the others' policy draws counts.
        oracle_timesteps: PPO steps per best response.
        eval_episodes: Rollouts per entry of the meta-game (at least 2, for its standard error).
        ppo_kwargs: Further keyword arguments of SB3's PPO.
        n_envs: Parallel envs of each oracle.
        out_dir: Where to save the run after each iteration, and resume from.
        seed: Seeds everything. The PPO oracles' construction, learning and sampled play draw from
            the process's global generators (SB3's design); the run swaps a state of those
            generators of its own in around each of its blocks, so its results depend on ``seed``
            alone, whatever the process drew before or in between, and the caller's generators are
            left as they were. A population's SB3 policy used outside the run draws from the
            caller's generators.
        device: Device of the PPO oracles (``"auto"``: CUDA when there is one).
        rae_method: Solver of the RAE meta-solver, the ``method`` of :func:`risk_averse_equilibrium`.

    Attributes:
        populations: ``{agent: [policy, ...]}``.
        payoffs: Mean returns ``[n_agents, |P_1|, ..., |P_n|]``.
        stderr: Their standard errors (same shape); 95% intervals are ``payoffs +- 1.96 stderr``.
        meta_strategies: ``{agent: mixture over its population}``.
        iteration: Finished iterations.
        history: Per iteration: the evaluation of the meta-strategy profile and the meta-solver's
            residual (the RAE residual; 0 for uniform and Nash).
    """

    def __init__(
        self,
        env_fn: Callable[[], ParallelEnv],
        meta_solver: MetaSolver = "rae",
        *,
        risk_aversion: float = 1.0,
        episode_variance: bool = True,
        oracle_timesteps: int = 10_000,
        eval_episodes: int = 50,
        ppo_kwargs: dict[str, Any] | None = None,
        n_envs: int = 4,
        out_dir: str | Path | None = None,
        seed: int = 0,
        device: torch.device | str = "auto",
        rae_method: RAEMethod = "auto",
    ) -> None:
        if meta_solver not in META_SOLVERS:
            raise ValueError(f"meta_solver must be one of {META_SOLVERS}, got {meta_solver!r}")
        risk_aversion = check_real(risk_aversion, "risk_aversion", low=0.0)
        check_positive_int(oracle_timesteps, "oracle_timesteps")
        check_positive_int(n_envs, "n_envs")
        if isinstance(eval_episodes, bool) or not isinstance(eval_episodes, (int, np.integer)) or eval_episodes < 2:
            raise ValueError(f"eval_episodes must be an integer of at least 2 (standard errors), got {eval_episodes!r}")
        self.env_fn, self.meta_solver, self.risk_aversion = env_fn, meta_solver, float(risk_aversion)
        self.episode_variance = bool(episode_variance)
        self.oracle_timesteps, self.eval_episodes, self.n_envs = oracle_timesteps, eval_episodes, n_envs
        self.ppo_kwargs = dict(ppo_kwargs or {})
        self.seed, self.device = seed, device
        self._torch_device = check_device(device)
        if rae_method not in RAE_METHODS:
            raise ValueError(f"rae_method must be one of {RAE_METHODS}, got {rae_method!r}")
        self.rae_method: RAEMethod = rae_method
        self.out_dir = None if out_dir is None else Path(out_dir)
        probe = env_fn()
        self.agents = list(probe.possible_agents)
        self._spaces: dict[str, gym.spaces.Discrete] = {}
        for agent in self.agents:
            space = probe.action_space(agent)
            if not isinstance(space, gym.spaces.Discrete):
                raise TypeError(f"PSRO here needs Discrete actions, agent {agent} has {space}")
            self._spaces[agent] = space
        self.populations: dict[str, list[Any]] = {
            a: [RandomPolicy(self._spaces[a], seed + i)] for i, a in enumerate(self.agents)
        }
        self.payoffs = np.zeros((len(self.agents),) + (1,) * len(self.agents))
        self.stderr = np.zeros_like(self.payoffs)
        self._filled = np.zeros(self.payoffs.shape[1:], dtype=bool)
        self.meta_strategies = {a: np.ones(1) for a in self.agents}
        self.iteration = 0
        self.meta_residual = 0.0  # the RAE residual of the last meta-game solve (0 for the other solvers)
        self.history: list[dict[str, Any]] = []
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        # SB3 seeds and draws from the process's global generators (PPO's construction and learning,
        # loading, sampled play): the run swaps a state of its own in around every block that draws
        self._random = GlobalRandomStream(seed)
        with self._random.active():
            if self.out_dir is not None and (self.out_dir / "state.json").exists():
                self._load()
            else:
                self._fill_payoffs()

    # ------------------------------------------------------------------ meta-game

    def _fill_payoffs(self) -> None:
        sizes = tuple(len(self.populations[a]) for a in self.agents)
        if self.payoffs.shape[1:] != sizes:
            grown = np.zeros((len(self.agents),) + sizes)
            grown_se = np.zeros_like(grown)
            filled = np.zeros(sizes, dtype=bool)
            old = tuple(slice(0, n) for n in self._filled.shape)
            grown[(slice(None), *old)], grown_se[(slice(None), *old)] = self.payoffs, self.stderr
            filled[old] = self._filled
            self.payoffs, self.stderr, self._filled = grown, grown_se, filled
        for index in np.argwhere(~self._filled):
            profile = {a: self.populations[a][int(i)] for a, i in zip(self.agents, index)}
            seed = self.seed * 1_000_003 + int(np.ravel_multi_index(index, sizes)) * 9973
            returns, _ = _profile_returns(self.env_fn, profile, self.eval_episodes, seed)
            self.payoffs[(slice(None), *index)] = returns.mean(0)
            self.stderr[(slice(None), *index)] = returns.std(0, ddof=1) / math.sqrt(len(returns))
            self._filled[tuple(index)] = True

    def meta_game(self) -> NormalFormGame:
        """The empirical meta-game: mean returns of every combination of policies."""
        return NormalFormGame(self.payoffs)

    def solve_meta_game(self) -> dict[str, np.ndarray]:
        """The meta-solver's mixture for every agent."""
        game = self.meta_game()
        if self.meta_solver == "uniform":
            strategies = [np.full(n, 1.0 / n) for n in game.n_actions]
        elif self.meta_solver == "nash":
            if game.n_players != 2:
                raise ValueError("the Nash meta-solver handles two agents")
            # one equilibrium, deterministically: the first one enumerated (enumeration always terminates,
            # also on the degenerate meta-games that deterministic policies make); Lemke-Howson when large
            method = "enumerate" if max(game.n_actions) <= 12 else "lemke-howson"
            found = nash_equilibria(game, method)
            if not found:
                raise RuntimeError("no Nash equilibrium of the meta-game was found")
            strategies = list(found[0])
        else:
            # warns (ConvergenceWarning) with the residual when fictitious play runs out of budget
            variance = self.stderr**2 * self.eval_episodes if self.episode_variance else None
            result = risk_averse_equilibrium(
                game, self.risk_aversion, iterations=2000, payoff_variance=variance, method=self.rae_method
            )
            self.meta_residual = result.residual
            strategies = result.strategies
        return dict(zip(self.agents, strategies))

    # ------------------------------------------------------------------ oracles

    def _best_response(self, agent: str, index: int) -> SB3Policy:
        from stable_baselines3 import PPO
        from stable_baselines3.common.monitor import Monitor
        from stable_baselines3.common.vec_env import DummyVecEnv

        base = self.seed * 7919 + self.iteration * 101 + index * 13

        def make(k: int) -> Callable[[], gym.Env]:
            return lambda: Monitor(
                OpponentMixtureEnv(self.env_fn, agent, self.populations, self.meta_strategies, seed=base + k)
            )

        venv = DummyVecEnv([make(k) for k in range(self.n_envs)])
        kwargs = {"n_steps": 256, "batch_size": 256, "n_epochs": 4, "ent_coef": 0.01, **self.ppo_kwargs}
        model = PPO("MlpPolicy", venv, seed=base, device=self._torch_device, verbose=0, **kwargs)
        model.learn(self.oracle_timesteps)
        path = None
        if self.out_dir is not None:  # tensors and JSON, which load without unpickling
            path = str(save_policy(model, self.out_dir / f"{agent}_{len(self.populations[agent])}", None, agent=agent))
        return SB3Policy(model, path)

    def iterate(self) -> None:
        """One PSRO iteration: a best response per agent, the grown meta-game, new meta-strategies."""
        with self._random.active():
            self._iterate()

    def _iterate(self) -> None:
        new = {agent: self._best_response(agent, i) for i, agent in enumerate(self.agents)}
        for agent, policy in new.items():
            self.populations[agent].append(policy)
        self._fill_payoffs()
        self.meta_strategies = self.solve_meta_game()
        self.iteration += 1
        report = self.evaluate(self.eval_episodes, seed=self.iteration)
        self.history.append(
            {"iteration": self.iteration, "meta_residual": self.meta_residual, **dataclasses.asdict(report)}
        )
        if self.out_dir is not None:
            self._save()

    def run(self, iterations: int) -> PSRO:
        """Iterate until ``iterations`` iterations are done in all (a resumed run continues)."""
        while self.iteration < iterations:
            self.iterate()
        return self

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, episodes: int = 200, seed: int = 0) -> PSROEvaluation:
        """Mean return per agent and crash rate of the meta-strategy profile, with 95% intervals.

        Each episode draws every agent's policy from its meta-strategy.

        Raises:
            ValueError: ``episodes`` is not a positive integer.
        """
        check_positive_int(episodes, "episodes")
        with self._random.active():
            return self._evaluate(episodes, seed)

    def _evaluate(self, episodes: int, seed: int) -> PSROEvaluation:
        rng = np.random.default_rng(self.seed * 31 + seed)
        returns, crashes = [], []
        for e in range(episodes):
            profile = {
                a: self.populations[a][int(rng.choice(len(self.meta_strategies[a]), p=self.meta_strategies[a]))]
                for a in self.agents
            }
            r, c = _profile_returns(self.env_fn, profile, 1, seed=int(rng.integers(2**31)) + e)
            returns.append(r[0])
            crashes.append(c[0])
        returns_arr, crash_arr = np.array(returns), np.array(crashes, dtype=float)
        half = 1.96 * returns_arr.std(0, ddof=1) / math.sqrt(episodes) if episodes > 1 else np.zeros(len(self.agents))
        rate = crash_arr.mean()
        return PSROEvaluation(
            mean_return=returns_arr.mean(0).tolist(),
            return_ci=half.tolist(),
            crash_rate=float(rate),
            crash_ci=float(1.96 * math.sqrt(rate * (1 - rate) / episodes)),
        )

    # ------------------------------------------------------------------ persistence

    def _save(self) -> None:
        assert self.out_dir is not None
        self.out_dir.mkdir(parents=True, exist_ok=True)
        state = {
            "agents": self.agents,
            "meta_solver": self.meta_solver,
            "iteration": self.iteration,
            "populations": {a: [self._portable(p.spec) for p in self.populations[a]] for a in self.agents},
            "payoffs": self.payoffs.tolist(),
            "stderr": self.stderr.tolist(),
            "meta_strategies": {a: s.tolist() for a, s in self.meta_strategies.items()},
            "history": self.history,
        }
        tmp = self.out_dir / "state.json.tmp"
        tmp.write_text(json.dumps(state))
        tmp.replace(self.out_dir / "state.json")

    def _portable(self, spec: str) -> str:
        """``spec`` with a policy inside the run directory named relative to it (a copied run loads its own)."""
        assert self.out_dir is not None
        if not spec.startswith("policy:"):
            return spec
        path = Path(spec.split(":", 1)[1])
        try:
            return "policy:" + path.resolve().relative_to(self.out_dir.resolve()).as_posix()
        except ValueError:
            return spec

    def _load(self) -> None:
        assert self.out_dir is not None
        file = self.out_dir / "state.json"
        try:
            state = json.loads(file.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"{file} is damaged or not a PSRO run's state: {err}") from None
        if state["agents"] != self.agents or state["meta_solver"] != self.meta_solver:
            raise ValueError(f"{self.out_dir} holds a run with other agents or another meta-solver")
        for i, agent in enumerate(self.agents):
            population: list[Any] = []
            for spec in state["populations"][agent]:
                if spec == "random":
                    population.append(RandomPolicy(self._spaces[agent], self.seed + i))
                elif spec.startswith("policy:"):
                    path = str(self.out_dir / spec.split(":", 1)[1])  # relative to the run; absolute ones stay
                    # the loader's throwaway env: only its spaces are read
                    env = OpponentMixtureEnv(self.env_fn, agent, self.populations, self.meta_strategies)
                    population.append(SB3Policy(load_policy(path, device="cpu", env=env), path))
                else:
                    raise ValueError(
                        f"{file} lists the policy {spec!r}, an SB3 zip checkpoint of an older version: those "
                        "unpickle code when loaded and are not read; rerun PSRO into a new out_dir"
                    )
            self.populations[agent] = population
        self.payoffs, self.stderr = np.array(state["payoffs"]), np.array(state["stderr"])
        self._filled = np.ones(self.payoffs.shape[1:], dtype=bool)
        self.meta_strategies = {a: np.array(s) for a, s in state["meta_strategies"].items()}
        self.iteration, self.history = state["iteration"], state["history"]
