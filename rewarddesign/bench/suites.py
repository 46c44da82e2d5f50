"""Suites as data: env ids x reward designs x algorithms x seeds, a budget and an evaluation schedule.

A :class:`Design` names a reward design (the env reward, a registered potential, env options
or a reward-design wrapper from :data:`DESIGN_WRAPPERS`); a :class:`Suite` crosses designs
with envs, algorithms and seeds; :data:`SUITES` holds the built-in ones. :meth:`Suite.validate`
checks every name before anything trains, and a fingerprint identifies the settings
that change a run's result (:attr:`RunSpec.fingerprint`), so a results directory is never mixed
across suite versions.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from rewarddesign._references import D4RL_REFERENCE_SCORES

__all__ = [
    "Design",
    "DESIGN_WRAPPERS",
    "Suite",
    "RunSpec",
    "SUITES",
    "REFERENCE_SCORES",
    "known_env_ids",
    "suite_from_dict",
    "load_suite",
]


@dataclass(frozen=True)
class Design:
    """A named reward design: the env reward (``shaping=None``), a registered potential, or env options.

    Args:
        name: The design's name in results.
        shaping: A registered potential (see :data:`rewarddesign.shaping.POTENTIALS`).
        env_kwargs: ``gym.make`` options of the training envs that select a reward the env itself
            offers (``{"credit": "modular"}`` on the submodular envs); evaluation never uses them.
        envs: The env ids the design applies to; None for all of the suite's envs.
        wrapper: A name in :data:`DESIGN_WRAPPERS`: a reward-design wrapper of the training envs
            (a blend of the env reward with heuristics, for instance).
    """

    name: str
    shaping: str | None = None
    env_kwargs: tuple[tuple[str, Any], ...] = ()
    envs: tuple[str, ...] | None = None
    wrapper: str | None = None

    def __post_init__(self) -> None:
        if self.wrapper is not None and self.wrapper not in DESIGN_WRAPPERS:
            raise ValueError(f"unknown design wrapper {self.wrapper!r}; known: {', '.join(sorted(DESIGN_WRAPPERS))}")


def _grid_centre_blend(learn: bool) -> Callable[[str, int], Callable[[Any], Any]]:
    """The continuous grid's distractor heuristic, blended naively or as BARFI learns to blend it."""

    def factory(env_id: str, seed: int) -> Callable[[Any], Any]:
        from rewarddesign.bilevel import BehaviorAlignment, BlendedReward, tile_coding
        from rewarddesign.envs.alignment import grid_centre_bonus

        features = tile_coding([0, 0], [1, 1], 5)
        if learn:
            blend = BehaviorAlignment(env_id, [grid_centre_bonus], features, seed=seed, device="cpu").learn(960).blend
        else:
            blend = BlendedReward(features.size, 1)  # type: ignore[attr-defined]
        from rewarddesign.bilevel import BehaviorAlignedReward

        return lambda env: BehaviorAlignedReward(env, blend, [grid_centre_bonus], features)

    return factory


def _pendulum_heron(env_id: str, seed: int) -> Callable[[Any], Any]:
    """A reward model from HERON labels on random-action fragments of Pendulum (angle, then speed, then torque)."""
    import gymnasium as gym

    from rewarddesign.envs.reward_factors import with_reward_factors
    from rewarddesign.preferences import (
        HeronGatherer,
        LearnedReward,
        RewardModel,
        rollout_fragments,
        train_reward_model,
    )

    rng = np.random.default_rng(seed)
    env = with_reward_factors(gym.make(env_id))
    fragments, _ = rollout_fragments(env, None, 20, 25, rng)
    data = HeronGatherer(ranking=[0, 1, 2], signs=[-1, -1, -1], sigmas=[0.1, 0.1, 0.1]).all_pairs(fragments)
    model = RewardModel(env.observation_space, env.action_space, device="cpu", seed=seed)
    train_reward_model(model, data, epochs=5, seed=seed)
    return lambda inner: LearnedReward(inner, model)


#: Reward-design wrappers by name: ``factory(env_id, seed) -> (env -> wrapped env)``, called once per run.
DESIGN_WRAPPERS: dict[str, Callable[[str, int], Callable[[Any], Any]]] = {
    "grid_centre_naive": _grid_centre_blend(learn=False),
    "grid_centre_barfi": _grid_centre_blend(learn=True),
    "pendulum_heron": _pendulum_heron,
}


def known_env_ids() -> list[str]:
    """Every registered Gymnasium env id, the project's and dm-control's (through shimmy) included."""
    import gymnasium as gym

    import rewarddesign.envs  # noqa: F401  (registers rewarddesign/...)
    from rewarddesign.train import register_dm_control

    register_dm_control()
    return sorted(gym.registry)


def _unknown(kind: str, name: str, known: list[str]) -> ValueError:
    close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    listing = ", ".join(known) if len(known) <= 30 else f"{len(known)} registered (see gymnasium.registry)"
    return ValueError(f"unknown {kind} {name!r}{hint}; known: {listing}")


@dataclass(frozen=True)
class Suite:
    """A grid of runs.

    Args:
        name: The suite's name (results go under it).
        env_ids: Gymnasium env ids.
        designs: The reward designs compared.
        algos: SB3 algorithm names (see :data:`rewarddesign.train.ALGORITHMS`).
        seeds: One run per seed of each (env, design, algo).
        timesteps: Training steps of each run.
        eval_freq: Evaluate on the true reward every this many steps.
        eval_episodes: Episodes per evaluation.
        n_envs: Parallel training envs.
        gamma: The discount of the algorithm and the shaping.
        solved_at: The true return that counts as solving the task: one number, or a mapping from
            env id to number (envs left out have no threshold).
        algo_kwargs: Further keyword arguments by algorithm name.
        reference_scores: ``env id -> (low, high)`` returns that normalise scores to ``[0, 1]``
            for aggregates across envs (a random policy and an expert, say); envs left out are
            normalised by the lowest and highest final return in the results.
    """

    name: str
    env_ids: tuple[str, ...]
    designs: tuple[Design, ...]
    algos: tuple[str, ...]
    seeds: tuple[int, ...]
    timesteps: int
    eval_freq: int
    eval_episodes: int = 5
    n_envs: int = 1
    gamma: float = 0.99
    solved_at: float | dict[str, float] | None = None
    algo_kwargs: dict[str, dict[str, Any]] = field(default_factory=dict)
    reference_scores: dict[str, tuple[float, float]] = field(default_factory=dict)

    def runs(self) -> list[RunSpec]:
        return [
            RunSpec(self, env_id, design, algo, seed)
            for env_id in self.env_ids
            for design in self.designs
            if design.envs is None or env_id in design.envs
            for algo in self.algos
            for seed in self.seeds
        ]

    def validate(self) -> Suite:
        """Check every name and number before anything trains; return the suite.

        Raises:
            ValueError: An unknown env id, algorithm, potential or design wrapper (the known ones
                listed), duplicate design names, or a budget that is not positive.
        """
        from rewarddesign.shaping import POTENTIALS
        from rewarddesign.train import ALGORITHMS

        envs = known_env_ids()
        for env_id in self.env_ids:
            if env_id not in envs:
                raise _unknown("env", env_id, envs)
        for algo in self.algos:
            if algo.lower() not in ALGORITHMS:
                raise _unknown("algorithm", algo, sorted(ALGORITHMS))
        names = [design.name for design in self.designs]
        if len(set(names)) != len(names):
            raise ValueError(f"design names must be unique, got {names}")
        for design in self.designs:
            if design.shaping is not None and design.shaping not in POTENTIALS:
                raise _unknown("potential", design.shaping, sorted(POTENTIALS))
        if not self.seeds or min(self.timesteps, self.eval_freq, self.eval_episodes, self.n_envs) < 1:
            raise ValueError("a suite needs seeds and positive timesteps, eval_freq, eval_episodes and n_envs")
        return self

    def subset(
        self, envs: list[str] | None = None, designs: list[str] | None = None, seeds: list[int] | None = None
    ) -> Suite:
        """The same suite restricted to some env ids, design names or seeds (each checked against the suite's)."""
        for kind, asked, known in (
            ("env", envs, list(self.env_ids)),
            ("design", designs, [d.name for d in self.designs]),
        ):
            for name in asked or []:
                if name not in known:
                    raise _unknown(f"{kind} of suite {self.name!r}:", name, known)
        return replace(
            self,
            env_ids=tuple(e for e in self.env_ids if envs is None or e in envs),
            designs=tuple(d for d in self.designs if designs is None or d.name in designs),
            seeds=tuple(seeds) if seeds is not None else self.seeds,
        )


def _design_from(data: Any) -> Design:
    if isinstance(data, str):
        return Design(data)
    if not isinstance(data, dict) or "name" not in data:
        raise ValueError(f"a design is a name or a table with a name, got {data!r}")
    known = {f.name for f in dataclasses.fields(Design)}
    extra = sorted(set(data) - known)
    if extra:
        raise ValueError(f"unknown design keys {extra}; known: {', '.join(sorted(known))}")
    return Design(
        name=str(data["name"]),
        shaping=data.get("shaping"),
        env_kwargs=tuple(sorted(dict(data.get("env_kwargs", {})).items())),
        envs=tuple(data["envs"]) if data.get("envs") is not None else None,
        wrapper=data.get("wrapper"),
    )


def suite_from_dict(data: dict[str, Any]) -> Suite:
    """A :class:`Suite` from plain data (a parsed TOML or JSON table), checked.

    Keys are the suite's fields; ``designs`` holds names or tables (``{name, shaping, env_kwargs,
    envs, wrapper}``), ``reference_scores`` maps env ids to ``[low, high]``.

    Raises:
        ValueError: Missing or unknown keys, or any check of :meth:`Suite.validate`.
    """
    known = {f.name: f for f in dataclasses.fields(Suite)}
    required = [
        name
        for name, f in known.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [name for name in required if name not in data]
    extra = sorted(set(data) - set(known))
    if missing or extra:
        raise ValueError(f"suite data: missing keys {missing}, unknown keys {extra}; keys: {', '.join(known)}")
    fields = dict(data)
    for key in ("env_ids", "algos", "seeds"):
        if isinstance(fields[key], (str, int)) or not isinstance(fields[key], (list, tuple)):
            raise ValueError(f"suite data: {key} must be a list, got {fields[key]!r}")
        fields[key] = tuple(fields[key])
    fields["designs"] = tuple(_design_from(d) for d in fields["designs"])
    if "reference_scores" in fields:
        fields["reference_scores"] = {env: tuple(map(float, pair)) for env, pair in fields["reference_scores"].items()}
    return Suite(**fields).validate()


def load_suite(path: str | Path) -> Suite:
    """A suite from a ``.toml`` or ``.json`` file (see :func:`suite_from_dict` for the keys)."""
    path = Path(path)
    if path.suffix == ".json":
        data = json.loads(path.read_text())
    elif path.suffix == ".toml":
        try:
            import tomllib
        except ImportError as error:  # Python 3.10
            raise ValueError("TOML suites need Python 3.11 or later; use JSON") from error
        data = tomllib.loads(path.read_text())
    else:
        raise ValueError(f"a suite file is .toml or .json, got {path.name}")
    return suite_from_dict(data)


@dataclass(frozen=True)
class RunSpec:
    """One run of a suite."""

    suite: Suite
    env_id: str
    design: Design
    algo: str
    seed: int

    @property
    def key(self) -> str:
        env = self.env_id.replace("/", "-")
        return f"{self.suite.name}__{env}__{self.design.name}__{self.algo}__s{self.seed}"

    @property
    def fingerprint(self) -> str:
        """A short hash of the settings that change this run's result: budget, schedule, the design's
        definition and the algorithm's settings. A results directory whose run of the same key has
        another fingerprint comes from another version of the suite."""
        suite, design = self.suite, self.design
        settings = {
            "timesteps": suite.timesteps,
            "eval_freq": suite.eval_freq,
            "eval_episodes": suite.eval_episodes,
            "n_envs": suite.n_envs,
            "gamma": suite.gamma,
            "algo_kwargs": suite.algo_kwargs.get(self.algo),
            "design": [design.shaping, [list(kv) for kv in design.env_kwargs], design.wrapper],
        }
        return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


_MAZE_PPO = {"n_steps": 128, "batch_size": 128, "n_epochs": 4, "ent_coef": 0.01}
_MAZE = ("rewarddesign/GridMaze-v0",)
_COVERAGE = ("rewarddesign/CoverageGrid-v0",)
_TRUST = ("rewarddesign/TrustDilemma-v0",)
_GRID = ("rewarddesign/ContinuousGrid-v0",)
_PENDULUM = ("Pendulum-v1",)

_CONTROL = (
    "HalfCheetah-v5",
    "Hopper-v5",
    "Walker2d-v5",
    "dm_control/cartpole-swingup-v0",
    "dm_control/reacher-easy-v0",
    "dm_control/cheetah-run-v0",
    "dm_control/walker-walk-v0",
)

#: ``(low, high)`` returns that normalise each task's score to ``[0, 1]``: D4RL's random and expert
#: references for the Gymnasium MuJoCo tasks (Fu et al. 2020), 0 and the most a 1000-step episode
#: can earn for dm-control.
REFERENCE_SCORES: dict[str, tuple[float, float]] = {
    **D4RL_REFERENCE_SCORES,
    **{env_id: (0.0, 1000.0) for env_id in _CONTROL if env_id.startswith("dm_control/")},
}

#: The control suite's budget per run: what two CPU cores train 70 runs in within about 50 minutes.
CONTROL_TIMESTEPS = 30_000

#: Built-in suites by name.
SUITES: dict[str, Suite] = {
    "quick": Suite(
        name="quick",
        env_ids=_MAZE + _COVERAGE + _TRUST + _GRID + _PENDULUM,
        designs=(
            Design("original"),
            Design("maze_distance", "maze_distance", envs=_MAZE),
            Design("modular", env_kwargs=(("credit", "modular"),), envs=_COVERAGE),
            Design("risk_averse", env_kwargs=(("risk_aversion", 0.5),), envs=_TRUST),
            Design("naive_heuristic", wrapper="grid_centre_naive", envs=_GRID),
            Design("barfi", wrapper="grid_centre_barfi", envs=_GRID),
            Design("heron", wrapper="pendulum_heron", envs=_PENDULUM),
        ),
        algos=("ppo",),
        seeds=(0, 1, 2),
        timesteps=20_000,
        eval_freq=2_000,
        eval_episodes=1,
        n_envs=4,
        solved_at={_MAZE[0]: 1.0, _GRID[0]: 90.0},
        algo_kwargs={"ppo": _MAZE_PPO},
    ),
    "control": Suite(
        name="control",
        env_ids=_CONTROL,
        designs=(Design("original"), Design("posture", "control_posture")),
        algos=("ppo",),
        seeds=(0, 1, 2, 3, 4),
        timesteps=CONTROL_TIMESTEPS,
        eval_freq=CONTROL_TIMESTEPS // 5,
        eval_episodes=2,
        n_envs=1,
        reference_scores=REFERENCE_SCORES,
    ),
    "shaping": Suite(
        name="shaping",
        env_ids=("rewarddesign/GridMaze-v0",),
        designs=(
            Design("original"),
            Design("maze_distance", "maze_distance"),
            Design("maze_manhattan", "maze_manhattan"),
            Design("optimal_value", "optimal_value"),
        ),
        algos=("ppo",),
        seeds=(0, 1, 2, 3, 4),
        timesteps=40_000,
        eval_freq=2_000,
        eval_episodes=1,
        n_envs=4,
        solved_at=1.0,
        algo_kwargs={"ppo": _MAZE_PPO},
    ),
}
