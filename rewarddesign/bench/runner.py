"""The runner: train each run of a suite, evaluate it on the true reward, write its rows the moment it ends.

Runs are computed by an executor (:mod:`rewarddesign.bench.executors`: local processes, or Ray
on a cluster) and return their rows; the driver alone writes files, so a cluster needs no shared
file system. Each run lands in ``OUT/runs/<key>.csv`` (written to a temporary file and renamed,
so a file is either whole or absent), and ``OUT/suite.json`` records the suite's name, each
finished run's fingerprint and its seconds (SB3's ``learn``, the evaluations within it, the
whole run). A rerun skips finished runs, so an interrupted sweep resumes and loses nothing; a
directory written by another version of the suite is refused.
"""

from __future__ import annotations

import csv
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

from rewarddesign.bench.executors import Executor, make_executor
from rewarddesign.bench.suites import DESIGN_WRAPPERS, SUITES, RunSpec, Suite

__all__ = ["COLUMNS", "run_one", "run_suite", "load_rows", "write_rows", "MANIFEST"]

COLUMNS = ("suite", "env", "design", "algo", "seed", "step", "true_return", "designed_return", "wall_time", "device")
MANIFEST = "suite.json"


def run_one(spec: RunSpec, device: str = "auto") -> dict[str, Any]:
    """Train one run; return its rows and timings (``rows``, ``train_time``, ``eval_time``, ``total_time``).

    ``train_time`` is SB3's ``learn`` (evaluations included), ``eval_time`` the evaluations
    within it, ``total_time`` the whole call (env and model construction included).
    """
    start = time.perf_counter()
    import torch

    from rewarddesign.train import train

    torch.set_num_threads(1)  # runs go in parallel processes; one thread each avoids oversubscription
    suite = spec.suite
    result = train(
        spec.env_id,
        spec.algo,
        suite.timesteps,
        seed=spec.seed,
        shaping=spec.design.shaping,
        design_kwargs=dict(spec.design.env_kwargs),
        wrappers=[] if spec.design.wrapper is None else [DESIGN_WRAPPERS[spec.design.wrapper](spec.env_id, spec.seed)],
        gamma=suite.gamma,
        n_envs=suite.n_envs,
        device=device,
        eval_freq=suite.eval_freq,
        eval_episodes=suite.eval_episodes,
        algo_kwargs=suite.algo_kwargs.get(spec.algo),
    )
    rows = [
        {
            "suite": suite.name,
            "env": spec.env_id,
            "design": spec.design.name,
            "algo": spec.algo,
            "seed": spec.seed,
            "step": step,
            "true_return": mean,
            "designed_return": designed,
            "wall_time": round(result.wall_time, 3),
            "device": result.device,
        }
        for step, mean, _, designed in result.evaluations
    ]
    return {
        "key": spec.key,
        "rows": rows,
        "train_time": result.wall_time,
        "eval_time": result.eval_time,
        "total_time": time.perf_counter() - start,
    }


def write_rows(path: str | Path, rows: list[dict[str, Any]]) -> Path:
    """Write one run's rows as CSV, atomically (a temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)
    return path


def _read_manifest(out_dir: Path, suite: Suite) -> dict[str, Any]:
    path = out_dir / MANIFEST
    if not path.exists():
        # run files from before manifests existed: adopt those of this suite, without a version check
        found = {p.stem for p in (out_dir / "runs").glob("*.csv")}
        adopted = {spec.key: spec.fingerprint for spec in suite.runs() if spec.key in found}
        if found and not adopted:
            raise ValueError(f"{out_dir} holds run files of another suite than {suite.name!r} and no {MANIFEST}")
        if adopted:
            warnings.warn(
                f"{out_dir} has no {MANIFEST}: adopting {len(adopted)} run files of suite {suite.name!r} "
                "without checking the settings they were made with",
                RuntimeWarning,
                stacklevel=3,
            )
        return {"suite": suite.name, "runs": adopted}
    manifest = json.loads(path.read_text())
    if manifest.get("suite") != suite.name:
        raise ValueError(f"{out_dir} holds results of suite {manifest.get('suite')!r}, not {suite.name!r}")
    return manifest


def _write_manifest(out_dir: Path, manifest: dict[str, Any]) -> None:
    tmp = out_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(tmp, out_dir / MANIFEST)


def run_suite(
    suite: Suite | str,
    out_dir: str | Path,
    *,
    workers: int = 1,
    device: str = "auto",
    progress: bool = True,
    executor: Executor | str = "local",
    ray_address: str | None = None,
    ray_fallback: bool = False,
) -> list[dict[str, Any]]:
    """Run every unfinished run of ``suite`` and return all of its rows.

    Args:
        suite: A :class:`~rewarddesign.bench.suites.Suite` or the name of a built-in one.
        out_dir: Results directory; finished runs found there are skipped.
        workers: Parallel processes of the local executor.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"`` for every run.
        progress: Show a progress display of runs (rich).
        executor: ``"local"`` (processes on this machine), ``"ray"``, or an
            :class:`~rewarddesign.bench.executors.Executor`.
        ray_address: The Ray cluster to join (``"auto"``, ``"host:port"``); None starts a local
            Ray instance.
        ray_fallback: When the Ray cluster does not answer, run locally instead of failing.

    Raises:
        ValueError: An unknown suite or name in it, or a results directory of another suite or
            of another version of this one (a finished run whose fingerprint differs).
    """
    if isinstance(suite, str):
        if suite not in SUITES:
            raise ValueError(f"unknown suite {suite!r}; built in: {', '.join(sorted(SUITES))}")
        suite = SUITES[suite]
    suite.validate()
    out_dir = Path(out_dir)
    manifest = _read_manifest(out_dir, suite)
    runs = suite.runs()
    pending = []
    for spec in runs:
        recorded = manifest["runs"].get(spec.key)
        if recorded is not None and recorded != spec.fingerprint:
            raise ValueError(
                f"{out_dir} comes from another version of suite {suite.name!r}: run {spec.key} was made with "
                f"settings {recorded}, the suite now has {spec.fingerprint}; use a new results directory"
            )
        if recorded is None or not (out_dir / "runs" / f"{spec.key}.csv").exists():
            pending.append(spec)
    if pending:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        out_dir.mkdir(parents=True, exist_ok=True)
        _write_manifest(out_dir, manifest)
        runner = make_executor(executor, workers=workers, address=ray_address, fallback=ray_fallback)
        by_key = {spec.key: spec for spec in pending}
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[last]}"),
        )
        try:
            with Progress(*columns, disable=not progress) as bar:
                task = bar.add_task(
                    f"suite {suite.name} ({runner.name}): runs",
                    total=len(runs),
                    completed=len(runs) - len(pending),
                    last="",
                )
                steps = bar.add_task(
                    "env steps of finished runs",
                    total=len(runs) * suite.timesteps,
                    completed=(len(runs) - len(pending)) * suite.timesteps,
                    last="",
                )
                for result in runner.map(run_one, pending, device):
                    spec = by_key[result["key"]]
                    write_rows(out_dir / "runs" / f"{spec.key}.csv", result["rows"])
                    manifest["runs"][spec.key] = spec.fingerprint
                    manifest.setdefault("seconds", {})[spec.key] = {
                        k: round(result[k], 3) for k in ("train_time", "eval_time", "total_time")
                    }
                    _write_manifest(out_dir, manifest)
                    final = result["rows"][-1]["true_return"] if result["rows"] else float("nan")
                    last = f"last: {spec.env_id} {spec.design.name} s{spec.seed}: {final:.1f}"
                    bar.update(task, advance=1, last=last)
                    bar.update(steps, advance=suite.timesteps)
        finally:
            if isinstance(executor, str) and hasattr(runner, "close"):
                runner.close()  # a Ray instance started for this sweep
    keys = {spec.key for spec in runs}
    return [row for path in sorted((out_dir / "runs").glob("*.csv")) if path.stem in keys for row in load_rows(path)]


def load_rows(path: str | Path) -> list[dict[str, Any]]:
    """Rows of one run file (or of every run file under a directory), with numbers parsed."""
    path = Path(path)
    files = sorted(path.glob("runs/*.csv")) if path.is_dir() else [path]
    rows = []
    for file in files:
        with file.open(newline="") as handle:
            for row in csv.DictReader(handle):
                for key in ("seed", "step"):
                    row[key] = int(row[key])
                for key in ("true_return", "designed_return", "wall_time"):
                    row[key] = float(row[key])
                rows.append(row)
    return rows
