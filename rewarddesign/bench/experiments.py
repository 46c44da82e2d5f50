"""Experiments as data: any run function over a grid of parameters and seeds, resumable, on any executor.

An :class:`Experiment` names its run function by an importable ``"module:function"`` (or
``"path/to/script.py:function"``) string, so spawned processes and Ray workers load it; it
crosses a grid of parameter sets with seeds into :class:`Run`\\ s (plain data). The run function
is called as ``function(seed=seed, **params)`` (and ``device=`` when it takes one) and returns a
:class:`RunOutput`: scalar metrics, optional curves and further JSON-able data. Each finished run
is written to ``OUT/runs/<key>.json`` the moment it finishes (a :class:`RunRecord`), beside
``OUT/experiment.json`` (the manifest: each run's fingerprint and seconds); a rerun skips
finished runs. A run's fingerprint hashes its parameters and the source code of the run
function and of the ``definition`` objects it names (the reward design or configuration it
uses), so a changed design is refused instead of mixed with the old results.

Statistics over seeds come from :mod:`rewarddesign.bench.stats` (:func:`metric_values` gathers
one metric per parameter set).

Example:
    >>> experiment = Experiment(
    ...     "demo", "rewarddesign.bench.experiments:constant_run", grid=({"value": 1.0},), seeds=(0, 1)
    ... )
    >>> [run.key for run in experiment.runs()]
    ['1.0__s0', '1.0__s1']
"""

from __future__ import annotations

import inspect
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rewarddesign.bench.executors import Executor
from rewarddesign.bench.fingerprint import qualified_name, resolve, settings_digest, source_digest
from rewarddesign.bench.store import check_name, read_manifest, sweep, write_atomic, write_manifest

__all__ = [
    "Experiment",
    "Run",
    "RunOutput",
    "RunRecord",
    "run_experiment",
    "execute_run",
    "record_run",
    "restamp",
    "load_records",
    "metric_values",
    "constant_run",
]


@dataclass(frozen=True)
class RunOutput:
    """What a run function returns.

    Attributes:
        metrics: Scalar results by name (the final return, a success rate).
        curves: Sequences by name (a learning curve: one value per evaluation, or ``[x, y]`` pairs).
        data: Further JSON-able results the report needs.
    """

    metrics: dict[str, float]
    curves: dict[str, list[Any]] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.metrics, Mapping):
            raise TypeError(f"metrics must be a mapping of names to numbers, got {type(self.metrics).__name__}")


@dataclass(frozen=True)
class Run:
    """One run of an experiment: plain data that a spawned process or a Ray worker can load.

    Attributes:
        experiment: The experiment's name.
        function: The run function, ``"module:function"`` or ``"path/to/script.py:function"``.
        params: Keyword arguments of the run function (JSON-able).
        seed: The run's seed.
        fingerprint: A hash of the parameters and of the source of the run function and the
            experiment's ``definition`` (see :attr:`Experiment.code_digest`).
        context: Further keyword arguments that do not change the result (see
            :attr:`Experiment.context`).
    """

    experiment: str
    function: str
    params: dict[str, Any]
    seed: int
    fingerprint: str
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The run's file name: the parameter values and the seed (``grid__barfi__s3``)."""
        parts = [_slug(value) for value in self.params.values()]
        return "__".join([*parts, f"s{self.seed}"])


def _slug(value: Any) -> str:
    """A parameter value as part of a file name: no path separator, no leading dot (a hidden file)."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return re.sub(r"[^A-Za-z0-9_.+=-]+", "-", text).strip("-").lstrip(".") or "-"


@dataclass(frozen=True)
class RunRecord:
    """A finished run as the store holds it: the run's identity, its output and its seconds."""

    key: str
    experiment: str
    params: dict[str, Any]
    seed: int
    fingerprint: str
    metrics: dict[str, float]
    curves: dict[str, list[Any]]
    data: dict[str, Any]
    seconds: float

    def to_json(self) -> str:
        """The record as JSON text (the run file's content)."""
        return json.dumps(asdict(self), indent=1, sort_keys=True, default=_json_default)

    @classmethod
    def from_json(cls, text: str) -> RunRecord:
        """A record from :meth:`to_json`'s text.

        Raises:
            ValueError: ``text`` is not a record's JSON (empty, cut short, other fields).
        """
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise TypeError(f"a JSON object, got {type(data).__name__}")
            return cls(**data)
        except (ValueError, TypeError) as error:
            raise ValueError(f"not a run record ({error})") from error

    @classmethod
    def read(cls, path: str | Path) -> RunRecord:
        """The record in the run file ``path``.

        Raises:
            ValueError: The file is not a whole run record (the file named).
        """
        path = Path(path)
        try:
            return cls.from_json(path.read_text())
        except ValueError as error:  # UnicodeDecodeError is one too
            raise ValueError(f"{path} is not a whole run file of an experiment ({error})") from error


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"a run's output must be JSON-able, got {type(value).__name__}")


@dataclass(frozen=True)
class Experiment:
    """A grid of runs of one run function.

    Args:
        name: The experiment's name (its results directory records it): letters, digits and
            ``_ . + = -`` (see :func:`~rewarddesign.bench.store.check_name`).
        function: The run function, a module-level callable or its ``"module:function"`` /
            ``"path/to/script.py:function"`` name; called as ``function(seed=seed, **params)``
            (and ``device=device`` when it takes a ``device`` argument and the parameters do not
            set one) and returning a :class:`RunOutput`.
        grid: The parameter sets (keyword arguments of the run function); their values name the
            runs, so each set must differ from the others in its values.
        seeds: One run per seed of each parameter set; each seed once.
        definition: Further objects (or their ``"module:name"`` names) whose source defines the
            runs (the reward design, a configuration table): the fingerprint covers them, so a
            changed definition is never mixed with old results.
        context: Keyword arguments every run receives that do not change its result (where data
            or checkpoints live): left out of run keys and fingerprints.
    """

    name: str
    function: str | Callable[..., RunOutput]
    grid: tuple[dict[str, Any], ...]
    seeds: tuple[int, ...]
    definition: tuple[Any, ...] = ()
    context: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name(self.name, "name")
        object.__setattr__(self, "function", qualified_name(self.function))
        object.__setattr__(self, "grid", tuple(dict(params) for params in self.grid))
        object.__setattr__(self, "seeds", tuple(int(seed) for seed in self.seeds))
        repeated = sorted({seed for seed in self.seeds if self.seeds.count(seed) > 1})
        if repeated:
            raise ValueError(f"seeds of experiment {self.name!r} must differ, got {repeated} more than once")
        object.__setattr__(self, "definition", tuple(self.definition))
        object.__setattr__(self, "context", dict(self.context))
        if not self.grid or not self.seeds:
            raise ValueError(f"an experiment needs parameter sets and seeds, got grid={self.grid}, seeds={self.seeds}")
        for params in self.grid:
            if "seed" in params:
                raise ValueError(f"the seed goes in seeds, not in a parameter set: {params}")
            shared = sorted(set(params) & set(self.context))
            if shared:
                raise ValueError(f"{shared} are both parameters and context of experiment {self.name!r}")
        keys = [run.key for run in self.runs()]
        if len(set(keys)) != len(keys):
            raise ValueError(f"the parameter sets of experiment {self.name!r} must differ in their values: {keys}")

    @cached_property
    def code_digest(self) -> str:
        """A hash of the source of the run function and of the ``definition`` objects."""
        return source_digest(self.function, *self.definition)

    def runs(self) -> list[Run]:
        """Every run: each parameter set with each seed."""
        return [
            Run(self.name, str(self.function), params, seed, settings_digest([params, self.code_digest]), self.context)
            for params in self.grid
            for seed in self.seeds
        ]

    def subset(self, seeds: Sequence[int] | None = None, **only: Sequence[Any]) -> Experiment:
        """The experiment restricted to some seeds and to parameter sets whose values are among ``only``
        (``subset(method=["barfi"])``)."""
        for name in only:
            if not any(name in params for params in self.grid):
                raise ValueError(f"no parameter {name!r} in experiment {self.name!r}")
        grid = tuple(p for p in self.grid if all(p.get(name) in values for name, values in only.items()))
        if not grid:
            raise ValueError(f"no parameter set of experiment {self.name!r} matches {only}")
        return Experiment(self.name, self.function, grid, tuple(seeds or self.seeds), self.definition, self.context)


def execute_run(run: Run, device: str = "auto") -> RunRecord:
    """Load the run function, compute the run and return its record (what executors compute)."""
    function = resolve(run.function)
    kwargs: dict[str, Any] = {**run.context, **run.params}
    if "device" not in kwargs and "device" in inspect.signature(function).parameters:
        kwargs["device"] = device
    start = time.perf_counter()
    output = function(seed=run.seed, **kwargs)
    if not isinstance(output, RunOutput):
        raise TypeError(f"{run.function} must return a RunOutput, got {type(output).__name__}")
    return _record(run, output, time.perf_counter() - start)


def _record(run: Run, output: RunOutput, seconds: float) -> RunRecord:
    return RunRecord(
        run.key,
        run.experiment,
        dict(run.params),
        run.seed,
        run.fingerprint,
        {name: float(value) for name, value in output.metrics.items()},
        dict(output.curves),
        dict(output.data),
        seconds,
    )


def record_run(out_dir: str | Path, run: Run, output: RunOutput, seconds: float = math.nan) -> RunRecord:
    """Write one run's output to the store as if the run had just finished (importing kept raw results).

    Raises:
        ValueError: ``out_dir`` holds another experiment, or this run with another fingerprint.
    """
    out_dir = Path(out_dir)
    manifest = read_manifest(out_dir, "experiment", run.experiment)
    recorded = manifest.runs.get(run.key)
    if recorded is not None and recorded != run.fingerprint:
        raise ValueError(f"{out_dir} holds run {run.key} with fingerprint {recorded}, not {run.fingerprint}")
    record = _record(run, output, seconds)
    write_atomic(out_dir / "runs" / f"{run.key}.json", record.to_json())
    manifest.runs[run.key] = run.fingerprint
    if math.isfinite(seconds):
        manifest.seconds[run.key] = {"total_time": round(seconds, 3)}
    write_manifest(out_dir, manifest)
    return record


def restamp(experiment: Experiment, out_dir: str | Path) -> list[str]:
    """Give the finished runs of ``experiment`` in ``out_dir`` the experiment's current fingerprints.

    For a change of the run function or its definition that keeps every result (a renamed library
    call, a refactor): the kept runs are then resumed from instead of refused. Deciding that the
    results are unchanged is the caller's; a changed design needs a new results directory.

    Returns:
        The keys whose fingerprint changed.

    Raises:
        ValueError: ``out_dir`` holds another experiment.
    """
    out_dir = Path(out_dir)
    manifest = read_manifest(out_dir, "experiment", experiment.name)
    changed = []
    for run in experiment.runs():
        path = out_dir / "runs" / f"{run.key}.json"
        if run.key not in manifest.runs or not path.exists() or manifest.runs[run.key] == run.fingerprint:
            continue
        record = RunRecord.read(path)
        write_atomic(path, replace(record, fingerprint=run.fingerprint).to_json())
        manifest.runs[run.key] = run.fingerprint
        changed.append(run.key)
    if changed:
        write_manifest(out_dir, manifest)
    return changed


def run_experiment(
    experiment: Experiment,
    out_dir: str | Path,
    *,
    workers: int = 1,
    device: Literal["auto", "cpu", "cuda"] | str = "auto",
    progress: bool = True,
    executor: Executor | Literal["local", "ray"] = "local",
    ray_address: str | None = None,
    ray_fallback: bool = False,
) -> list[RunRecord]:
    """Compute every unfinished run of ``experiment``; return the records of all its runs (in grid order).

    Args:
        experiment: The experiment.
        out_dir: Results directory; finished runs found there are skipped.
        workers: Parallel processes of the local executor.
        device: Passed to run functions that take a ``device``.
        progress: Show a progress display (rich).
        executor: ``"local"``, ``"ray"`` or an :class:`~rewarddesign.bench.executors.Executor`.
        ray_address: The Ray cluster to join; None starts a local Ray instance.
        ray_fallback: When the Ray cluster does not answer, run locally instead of failing.

    A finished run's file that is empty or not its record is run again, with a warning.

    Raises:
        ValueError: A results directory of another experiment, or of another version of this one
            (a finished run whose fingerprint differs: other parameters or changed code).
        SweepInterrupted: SIGINT or SIGTERM stopped the sweep; every finished run is kept and a
            rerun resumes (see :mod:`rewarddesign.bench.interrupts`).
    """
    out_dir = Path(out_dir)
    manifest = read_manifest(out_dir, "experiment", experiment.name)
    runs = experiment.runs()
    by_key = {run.key: run for run in runs}

    def verify(path: Path, run: Run) -> None:
        record = RunRecord.read(path)
        if (record.key, record.fingerprint) != (run.key, run.fingerprint):
            raise ValueError(f"{path} holds run {record.key} ({record.fingerprint}), not {run.key} ({run.fingerprint})")

    def save(record: RunRecord) -> tuple[Run, dict[str, float], str]:
        write_atomic(out_dir / "runs" / f"{record.key}.json", record.to_json())
        shown = ", ".join(f"{name} {value:.3g}" for name, value in list(record.metrics.items())[:2])
        return by_key[record.key], {"total_time": record.seconds}, f"last: {record.key}: {shown}"

    sweep(
        runs,
        execute_run,
        save,
        out_dir,
        manifest,
        suffix=".json",
        verify=verify,
        workers=workers,
        device=device,
        progress=progress,
        executor=executor,
        ray_address=ray_address,
        ray_fallback=ray_fallback,
    )
    return [RunRecord.read(out_dir / "runs" / f"{run.key}.json") for run in runs]


def load_records(out_dir: str | Path) -> list[RunRecord]:
    """Every run record in a results directory (``runs/*.json``), sorted by key.

    Raises:
        ValueError: A run file that is not a whole record (the file named).
    """
    return [RunRecord.read(path) for path in sorted(Path(out_dir).glob("runs/*.json"))]


def metric_values(records: Sequence[RunRecord], metric: str, by: Sequence[str]) -> dict[tuple[Any, ...], np.ndarray]:
    """One metric's per-seed values, grouped by the values of the parameters ``by`` (seed order).

    Raises:
        ValueError: A record lacks the metric or one of the parameters.
    """
    groups: dict[tuple[Any, ...], list[tuple[int, float]]] = {}
    for record in records:
        missing = [name for name in by if name not in record.params]
        if missing or metric not in record.metrics:
            raise ValueError(f"run {record.key} has no parameter {missing} or metric {metric!r}")
        group = tuple(record.params[name] for name in by)
        groups.setdefault(group, []).append((record.seed, record.metrics[metric]))
    return {group: np.array([value for _, value in sorted(pairs)]) for group, pairs in groups.items()}


def constant_run(seed: int, value: float = 0.0, steps: int = 3) -> RunOutput:
    """A run function for tests and examples: ``value + seed`` as ``score``, and a curve rising to it."""
    score = float(value) + seed
    return RunOutput({"score": score}, {"score": [score * (i + 1) / steps for i in range(steps)]}, {"steps": steps})
