"""The results store: one file per finished run and a manifest of fingerprints, written as runs finish.

A results directory holds ``runs/<key>.<ext>`` (one file per run, written to a temporary file and
renamed, so a file is either whole or absent) and a manifest ``<kind>.json`` naming the suite or
experiment, each finished run's fingerprint and its seconds. :func:`sweep` maps a run function
over the pending runs with an executor and records each result the moment it arrives; a rerun
skips finished runs (:func:`pending_runs`), so an interrupted sweep resumes and loses nothing,
and a run whose fingerprint changed is refused rather than mixed with the old results.

Nothing is written outside the results directory: the names that make up file names (suites,
experiments, designs) are checked by :func:`check_name`. A finished run's file is verified
when a sweep resumes (a file that is empty or does not parse, copied in or cut short by a full
disk, is run again, with a warning), and SIGINT or SIGTERM stop a sweep within seconds, every
finished run kept (see :mod:`rewarddesign.bench.interrupts`).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rewarddesign.bench.executors import Executor, make_executor
from rewarddesign.bench.interrupts import InterruptGuard, SweepInterrupted

__all__ = [
    "Keyed",
    "Manifest",
    "check_name",
    "read_manifest",
    "write_manifest",
    "pending_runs",
    "sweep",
    "write_atomic",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+=-]*")


def check_name(name: str, argument: str) -> str:
    """Check a name that becomes part of result file names (a suite, experiment or design); return it.

    A name is letters, digits and ``_ . + = -``, starting with a letter or digit: no path
    separator, no ``..``, no hidden file, so nothing is written outside the results directory
    and every run file is found again by the report.

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: ``name`` is empty or holds another character.
    """
    if not isinstance(name, str):
        raise TypeError(f"{argument} must be a string, got {type(name).__name__} {name!r}")
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"{argument} must be letters, digits and _ . + = -, starting with a letter or digit (it names "
            f"result files), got {name!r}"
        )
    return name


Kind = Literal["suite", "experiment"]


class Keyed(Protocol):
    """A run the store can track: a file name and a fingerprint of what it computes."""

    @property
    def key(self) -> str: ...

    @property
    def fingerprint(self) -> str: ...


RunT = TypeVar("RunT", bound=Keyed)


@dataclass
class Manifest:
    """What a results directory holds: whose runs, each finished run's fingerprint and seconds."""

    kind: Kind
    name: str
    runs: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        """``suite.json`` or ``experiment.json``."""
        return f"{self.kind}.json"


def read_manifest(out_dir: str | Path, kind: Kind, name: str) -> Manifest:
    """The manifest of ``out_dir`` (an empty one when there is none yet).

    Raises:
        ValueError: The directory holds results of another suite or experiment.
    """
    path = Path(out_dir) / f"{kind}.json"
    if not path.exists():
        return Manifest(kind, name)
    data = json.loads(path.read_text())
    if data.get(kind) != name:
        raise ValueError(f"{out_dir} holds results of {kind} {data.get(kind)!r}, not {name!r}")
    return Manifest(kind, name, dict(data.get("runs", {})), dict(data.get("seconds", {})))


def write_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file renamed into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def write_manifest(out_dir: str | Path, manifest: Manifest) -> Path:
    """Write the manifest atomically."""
    data = {manifest.kind: manifest.name, "runs": manifest.runs, "seconds": manifest.seconds}
    return write_atomic(Path(out_dir) / manifest.filename, json.dumps(data, indent=1, sort_keys=True))


def pending_runs(
    out_dir: str | Path,
    manifest: Manifest,
    runs: Sequence[RunT],
    suffix: str,
    verify: Callable[[Path, RunT], None] | None = None,
) -> list[RunT]:
    """The runs of ``runs`` without a finished, whole file in ``out_dir``.

    Args:
        out_dir: The results directory.
        manifest: Its manifest; a run whose file fails ``verify`` is dropped from it.
        runs: All runs.
        suffix: The extension of the run files.
        verify: ``verify(path, run)`` raises ValueError when a finished run's file is damaged (empty,
            cut short, not of the run): that run is pending again, with a warning.

    Raises:
        ValueError: A finished run was made with another fingerprint (another version of the
            suite or experiment: another design, settings or code).
    """
    pending = []
    for run in runs:
        recorded = manifest.runs.get(run.key)
        if recorded is not None and recorded != run.fingerprint:
            raise ValueError(
                f"{out_dir} comes from another version of {manifest.kind} {manifest.name!r}: run {run.key} was made "
                f"with settings {recorded}, the {manifest.kind} now has {run.fingerprint}; use a new results directory"
            )
        path = Path(out_dir) / "runs" / f"{run.key}{suffix}"
        if recorded is None or not path.exists():
            pending.append(run)
            continue
        if verify is not None:
            try:
                verify(path, run)
            except ValueError as error:
                warnings.warn(f"{error}; running {run.key} again", RuntimeWarning, stacklevel=3)
                manifest.runs.pop(run.key, None)
                manifest.seconds.pop(run.key, None)
                pending.append(run)
    return pending


def sweep(
    runs: Sequence[RunT],
    function: Callable[[RunT, str], Any],
    save: Callable[[Any], tuple[RunT, dict[str, float], str]],
    out_dir: str | Path,
    manifest: Manifest,
    *,
    suffix: str,
    verify: Callable[[Path, RunT], None] | None = None,
    workers: int = 1,
    device: str = "auto",
    progress: bool = True,
    executor: Executor | str = "local",
    ray_address: str | None = None,
    ray_fallback: bool = False,
    units: tuple[str, Callable[[RunT], int]] | None = None,
) -> None:
    """Compute every pending run of ``runs`` and record each result the moment it arrives.

    SIGINT and SIGTERM stop the sweep: the runs not started are cancelled, those in progress
    stopped, and :class:`~rewarddesign.bench.interrupts.SweepInterrupted` is raised once every
    finished run is recorded (see :mod:`rewarddesign.bench.interrupts`).

    Args:
        runs: All runs of the suite or experiment (finished ones are skipped); their keys differ.
        function: ``function(run, device)``, computed by the executor (importable by name in
            spawned processes and on Ray workers).
        save: Writes one result's file(s) and returns its run, its seconds and a line for the
            progress display.
        out_dir: The results directory.
        manifest: Its manifest (see :func:`read_manifest`); updated and rewritten after each run.
        suffix: The extension of the run files (``.csv``, ``.json``).
        verify: Checks a finished run's file (see :func:`pending_runs`).
        workers: Processes of the local executor.
        device: Passed to every run.
        progress: Show a progress display.
        executor: ``"local"``, ``"ray"`` or an executor.
        ray_address: The Ray cluster to join; None starts a local instance.
        ray_fallback: Run locally when the Ray cluster does not answer.
        units: A second progress bar: its label and the units of work of each run (env steps).

    Raises:
        ValueError: Two runs share a key, or a finished run has another fingerprint.
        SweepInterrupted: SIGINT or SIGTERM stopped the sweep (finished runs are kept).
    """
    keys = [run.key for run in runs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ValueError(f"runs of {manifest.kind} {manifest.name!r} must differ, got {repeated} more than once")
    out_dir = Path(out_dir)
    pending = pending_runs(out_dir, manifest, runs, suffix, verify)
    if not pending:
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    write_manifest(out_dir, manifest)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"),
    )
    done = [run for run in runs if run not in pending]
    guard = InterruptGuard()
    results: Iterator[Any] | None = None
    runner: Any = None
    with guard:
        try:
            with guard.deferred():  # an executor is started whole, so that it can be stopped
                runner = make_executor(executor, workers=workers, address=ray_address, fallback=ray_fallback)
            guard.take_back()
            with Progress(*columns, disable=not progress) as bar:
                task = bar.add_task(
                    f"{manifest.kind} {manifest.name} ({runner.name}): runs",
                    total=len(runs),
                    completed=len(done),
                    last="",
                )
                if units is not None:
                    label, count = units
                    steps = bar.add_task(label, total=sum(map(count, runs)), completed=sum(map(count, done)), last="")
                results = stream = runner.map(function, pending, device)
                for result in stream:
                    with guard.deferred():  # a finished run is written and recorded whole
                        run, seconds, last = save(result)
                        manifest.runs[run.key] = run.fingerprint
                        manifest.seconds[run.key] = {k: round(v, 3) for k, v in seconds.items()}
                        write_manifest(out_dir, manifest)
                    bar.update(task, advance=1, last=last)
                    if units is not None:
                        bar.update(steps, advance=units[1](run))
        except KeyboardInterrupt:  # SweepInterrupted, or a library's own for it (Ray's waits raise one)
            if guard.signum is None:  # a KeyboardInterrupt of the caller's, not from a signal
                raise
        finally:
            guard.hold()  # signals from now on are only recorded: the clean-up is not cut
            close = getattr(results, "close", None)
            if close is not None:
                close()  # stops the executor's workers when the sweep ends early
            if isinstance(executor, str) and runner is not None and hasattr(runner, "close"):
                runner.close()  # a Ray instance started for this sweep
    if guard.signum is not None:
        finished = sum(1 for run in runs if manifest.runs.get(run.key) == run.fingerprint)
        what = f"{manifest.kind} {manifest.name!r}"
        raise SweepInterrupted(guard.signum, what, out_dir, finished, len(runs)) from None
