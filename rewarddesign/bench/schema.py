"""Suites as data: env ids x reward designs x algorithms x seeds, a budget and an evaluation schedule.

A :class:`Design` names a reward design (the env reward, a registered potential, env options
or a reward-design wrapper from :data:`~rewarddesign.bench.designs.DESIGN_WRAPPERS`); a
:class:`Suite` crosses designs with envs, algorithms and seeds (the built-in ones are in
:mod:`rewarddesign.bench.catalogue`). :meth:`Suite.validate` checks every name before anything
trains, and a fingerprint identifies what changes a run's result (:attr:`RunSpec.fingerprint`:
the settings and the source of the design's potential or wrapper), so a results directory is
never mixed across suite versions.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rewarddesign._validation import check_gamma
from rewarddesign.bench.designs import DESIGN_WRAPPERS
from rewarddesign.bench.fingerprint import settings_digest, source_digest
from rewarddesign.bench.store import check_name
from rewarddesign.shaping import POTENTIALS
from rewarddesign.train import ALGORITHMS, register_dm_control

__all__ = [
    "Design",
    "Suite",
    "RunSpec",
    "known_env_ids",
    "suite_from_dict",
    "load_suite",
]


@dataclass(frozen=True)
class Design:
    """A named reward design: the env reward (``shaping=None``), a registered potential, or env options.

    Args:
        name: The design's name in results and run files: letters, digits and ``_ . + = -`` (see
            :func:`~rewarddesign.bench.store.check_name`).
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
        check_name(self.name, "design name")
        if self.wrapper is not None and self.wrapper not in DESIGN_WRAPPERS:
            raise ValueError(f"unknown design wrapper {self.wrapper!r}; known: {', '.join(sorted(DESIGN_WRAPPERS))}")


def known_env_ids() -> list[str]:
    """Every registered Gymnasium env id, the project's and dm-control's (through shimmy) included."""
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
        name: The suite's name (results go under it, and it starts each run file's name): letters,
            digits and ``_ . + = -`` (see :func:`~rewarddesign.bench.store.check_name`).
        env_ids: Gymnasium env ids, each once.
        designs: The reward designs compared.
        algos: SB3 algorithm names (see :data:`rewarddesign.train.ALGORITHMS`), each once.
        seeds: One run per seed of each (env, design, algo); integers, each once.
        timesteps: Training steps of each run.
        eval_freq: Evaluate on the true reward every this many steps.
        eval_episodes: Episodes per evaluation.
        n_envs: Parallel training envs.
        gamma: The discount of the algorithm and the shaping: one number, or a mapping from env id
            to number (every env of the suite given), for tasks whose time steps differ.
        solved_at: The true return that counts as solving the task: one number, or a mapping from
            env id to number (envs left out have no threshold).
        algo_kwargs: Further keyword arguments by algorithm name.
        reference_scores: ``env id -> (low, high)`` returns that normalise scores to ``[0, 1]``
            for aggregates across envs (a random policy and an expert, say); envs left out are
            normalised by the lowest and highest final return in the results.

    Raises:
        ValueError: A name that cannot name result files, or a seed, env id or algorithm given twice.
        TypeError: A seed that is not an integer.
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
    gamma: float | dict[str, float] = 0.99
    solved_at: float | dict[str, float] | None = None
    algo_kwargs: dict[str, dict[str, Any]] = field(default_factory=dict)
    reference_scores: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name(self.name, "suite name")
        for seed in self.seeds:
            if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
                raise TypeError(f"seeds of suite {self.name!r} must be integers, got {seed!r}")
        for kind, values in (("seeds", self.seeds), ("env_ids", self.env_ids), ("algos", self.algos)):
            repeated = sorted({value for value in values if list(values).count(value) > 1})
            if repeated:
                raise ValueError(f"{kind} of suite {self.name!r} must differ, got {repeated} more than once")

    def runs(self) -> list[RunSpec]:
        """Every run of the grid: env x design (where it applies) x algorithm x seed."""
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
        if isinstance(self.gamma, dict):
            missing = [env_id for env_id in self.env_ids if env_id not in self.gamma]
            extra = sorted(set(self.gamma) - set(self.env_ids))
            if missing or extra:
                raise ValueError(f"gamma by env must name each env of the suite: missing {missing}, unknown {extra}")
        gammas = self.gamma.items() if isinstance(self.gamma, dict) else [(None, self.gamma)]
        for env_id, gamma in gammas:
            check_gamma(gamma, "gamma" if env_id is None else f"gamma of {env_id}", allow_zero=True)
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
        env_ids = tuple(e for e in self.env_ids if envs is None or e in envs)
        gamma = {e: g for e, g in self.gamma.items() if e in env_ids} if isinstance(self.gamma, dict) else self.gamma
        return replace(
            self,
            env_ids=env_ids,
            gamma=gamma,
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
        ValueError: Missing or unknown keys, a value of the wrong type, or any check of
            :class:`Suite` and :meth:`Suite.validate`.
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
    try:
        suite = Suite(**fields)
    except TypeError as error:  # a value of the wrong type in the file: the data's mistake
        raise ValueError(f"suite data: {error}") from error
    return suite.validate()


def load_suite(path: str | Path) -> Suite:
    """A suite from a ``.toml`` or ``.json`` file (see :func:`suite_from_dict` for the keys)."""
    path = Path(path)
    if path.suffix == ".json":
        data = json.loads(path.read_text())
    elif path.suffix == ".toml":
        try:
            import tomllib  # pyright: ignore[reportMissingImports]
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
    def gamma(self) -> float:
        """This run's discount: the suite's, or the suite's for this env."""
        gamma = self.suite.gamma
        return gamma[self.env_id] if isinstance(gamma, dict) else gamma  # as given: fingerprints stay put

    @property
    def fingerprint(self) -> str:
        """A short hash of what changes this run's result: budget, schedule, the design's settings and
        the source of its potential or wrapper factory, and the algorithm's settings. A results
        directory whose run of the same key has another fingerprint comes from another version of
        the suite."""
        suite, design = self.suite, self.design
        settings: dict[str, Any] = {
            "timesteps": suite.timesteps,
            "eval_freq": suite.eval_freq,
            "eval_episodes": suite.eval_episodes,
            "n_envs": suite.n_envs,
            "gamma": self.gamma,
            "algo_kwargs": suite.algo_kwargs.get(self.algo),
            "design": [design.shaping, [list(kv) for kv in design.env_kwargs], design.wrapper],
        }
        definition = [
            *([POTENTIALS[design.shaping]] if design.shaping in POTENTIALS else []),
            *([DESIGN_WRAPPERS[design.wrapper]] if design.wrapper is not None else []),
        ]
        if definition:
            settings["definition"] = source_digest(*definition)
        return settings_digest(settings)
