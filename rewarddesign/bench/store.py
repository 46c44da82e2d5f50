"""The results store: one file per finished run and a manifest of fingerprints, written as runs finish.

A results directory holds ``runs/<key>.<ext>`` (one file per run, written to a temporary file and
renamed, so a file is either whole or absent) and a manifest ``<kind>.json`` naming the suite or
experiment, each finished run's fingerprint and its seconds. :func:`sweep` maps a run function
over the pending runs with an executor and records each result the moment it arrives; a rerun
skips finished runs (:func:`pending_runs`), so an interrupted sweep resumes and loses nothing,
and a run whose fingerprint changed is refused rather than mixed with the old results.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rewarddesign.bench.executors import Executor, make_executor

__all__ = ["Keyed", "Manifest", "read_manifest", "write_manifest", "pending_runs", "sweep", "write_atomic"]

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


def pending_runs(out_dir: str | Path, manifest: Manifest, runs: Sequence[RunT], suffix: str) -> list[RunT]:
    """The runs of ``runs`` without a finished file in ``out_dir``.

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
        if recorded is None or not (Path(out_dir) / "runs" / f"{run.key}{suffix}").exists():
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
    workers: int = 1,
    device: str = "auto",
    progress: bool = True,
    executor: Executor | str = "local",
    ray_address: str | None = None,
    ray_fallback: bool = False,
    units: tuple[str, Callable[[RunT], int]] | None = None,
) -> None:
    """Compute every pending run of ``runs`` and record each result the moment it arrives.

    Args:
        runs: All runs of the suite or experiment (finished ones are skipped).
        function: ``function(run, device)``, computed by the executor (importable by name in
            spawned processes and on Ray workers).
        save: Writes one result's file(s) and returns its run, its seconds and a line for the
            progress display.
        out_dir: The results directory.
        manifest: Its manifest (see :func:`read_manifest`); updated and rewritten after each run.
        suffix: The extension of the run files (``.csv``, ``.json``).
        workers: Processes of the local executor.
        device: Passed to every run.
        progress: Show a progress display.
        executor: ``"local"``, ``"ray"`` or an executor.
        ray_address: The Ray cluster to join; None starts a local instance.
        ray_fallback: Run locally when the Ray cluster does not answer.
        units: A second progress bar: its label and the units of work of each run (env steps).
    """
    out_dir = Path(out_dir)
    pending = pending_runs(out_dir, manifest, runs, suffix)
    if not pending:
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    write_manifest(out_dir, manifest)
    runner = make_executor(executor, workers=workers, address=ray_address, fallback=ray_fallback)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"),
    )
    done = [run for run in runs if run not in pending]
    try:
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
            results: Iterator[Any] = runner.map(function, pending, device)
            for result in results:
                run, seconds, last = save(result)
                manifest.runs[run.key] = run.fingerprint
                manifest.seconds[run.key] = {k: round(v, 3) for k, v in seconds.items()}
                write_manifest(out_dir, manifest)
                bar.update(task, advance=1, last=last)
                if units is not None:
                    bar.update(steps, advance=units[1](run))
    finally:
        if isinstance(executor, str) and hasattr(runner, "close"):
            runner.close()  # a Ray instance started for this sweep
