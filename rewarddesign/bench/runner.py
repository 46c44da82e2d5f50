"""The suite runner: train each run of a suite, evaluate it on the true reward, write its rows the moment it ends.

A suite is the built-in kind of experiment whose runs train an SB3 policy. Runs are computed by an
executor (:mod:`rewarddesign.bench.executors`: local processes, or Ray on a cluster) and return a
:class:`SuiteRunResult`; the driver alone writes files (:mod:`rewarddesign.bench.store`), so a
cluster needs no shared file system. Each run lands in ``OUT/runs/<key>.csv`` and ``OUT/suite.json``
records the suite's name, each finished run's fingerprint and its seconds (SB3's ``learn``, the
evaluations within it, the whole run). A rerun skips finished runs, so an interrupted sweep
resumes and loses nothing; a directory written by another version of the suite is refused. A
finished run's file that is empty or does not parse as its rows is run again, with a warning.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from rewarddesign.bench.catalogue import SUITES
from rewarddesign.bench.designs import DESIGN_WRAPPERS
from rewarddesign.bench.executors import Executor
from rewarddesign.bench.schema import RunSpec, Suite
from rewarddesign.bench.store import read_manifest, sweep, write_atomic
from rewarddesign.train import AlgoName, train

__all__ = ["COLUMNS", "SuiteRunResult", "run_one", "run_suite", "load_rows", "write_rows"]

COLUMNS = ("suite", "env", "design", "algo", "seed", "step", "true_return", "designed_return", "wall_time", "device")


@dataclass(frozen=True)
class SuiteRunResult:
    """One finished run of a suite.

    Attributes:
        spec: The run.
        rows: Its tidy rows (:data:`COLUMNS`), one per evaluation.
        train_time: Seconds of SB3's ``learn``, evaluations included.
        eval_time: Seconds of the evaluations within it.
        total_time: Seconds of the whole run (env and model construction included).
    """

    spec: RunSpec
    rows: list[dict[str, Any]]
    train_time: float
    eval_time: float
    total_time: float

    @property
    def seconds(self) -> dict[str, float]:
        """The three timings by name, as the manifest records them."""
        return {"train_time": self.train_time, "eval_time": self.eval_time, "total_time": self.total_time}


def run_one(spec: RunSpec, device: Literal["auto", "cpu", "cuda"] | str = "auto") -> SuiteRunResult:
    """Train one run and evaluate it on the true reward at the suite's schedule."""
    start = time.perf_counter()
    suite = spec.suite
    result = train(
        spec.env_id,
        cast(AlgoName, spec.algo.lower()),
        suite.timesteps,
        seed=spec.seed,
        shaping=spec.design.shaping,
        design_kwargs=dict(spec.design.env_kwargs),
        wrappers=[] if spec.design.wrapper is None else [DESIGN_WRAPPERS[spec.design.wrapper](spec.env_id, spec.seed)],
        gamma=spec.gamma,
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
    return SuiteRunResult(spec, rows, result.wall_time, result.eval_time, time.perf_counter() - start)


def write_rows(path: str | Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Write one run's rows as CSV, atomically (a temporary file renamed into place)."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, list[str](COLUMNS))
    writer.writeheader()
    writer.writerows(rows)
    return write_atomic(path, buffer.getvalue())


def run_suite(
    suite: Suite | str,
    out_dir: str | Path,
    *,
    workers: int = 1,
    device: Literal["auto", "cpu", "cuda"] | str = "auto",
    progress: bool = True,
    executor: Executor | Literal["local", "ray"] = "local",
    ray_address: str | None = None,
    ray_fallback: bool = False,
) -> list[dict[str, Any]]:
    """Run every unfinished run of ``suite`` and return all of its rows.

    Args:
        suite: A :class:`~rewarddesign.bench.schema.Suite` or the name of a built-in one.
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
        SweepInterrupted: SIGINT or SIGTERM stopped the sweep; every finished run is kept and a
            rerun resumes (see :mod:`rewarddesign.bench.interrupts`).
    """
    if isinstance(suite, str):
        if suite not in SUITES:
            raise ValueError(f"unknown suite {suite!r}; built in: {', '.join(sorted(SUITES))}")
        suite = SUITES[suite]
    suite.validate()
    out_dir = Path(out_dir)
    manifest = read_manifest(out_dir, "suite", suite.name)
    runs = suite.runs()

    def verify(path: Path, spec: RunSpec) -> None:
        rows = load_rows(path)
        strangers = {(row["env"], row["design"], row["algo"], row["seed"]) for row in rows} - {
            (spec.env_id, spec.design.name, spec.algo, spec.seed)
        }
        if strangers:
            raise ValueError(f"{path} holds rows of other runs: {sorted(strangers)}")

    def save(result: SuiteRunResult) -> tuple[RunSpec, dict[str, float], str]:
        spec = result.spec
        write_rows(out_dir / "runs" / f"{spec.key}.csv", result.rows)
        final = result.rows[-1]["true_return"] if result.rows else math.nan
        return spec, result.seconds, f"last: {spec.env_id} {spec.design.name} s{spec.seed}: {final:.1f}"

    sweep(
        runs,
        run_one,
        save,
        out_dir,
        manifest,
        suffix=".csv",
        verify=verify,
        workers=workers,
        device=device,
        progress=progress,
        executor=executor,
        ray_address=ray_address,
        ray_fallback=ray_fallback,
        units=("env steps of finished runs", lambda spec: suite.timesteps),
    )
    keys = {spec.key for spec in runs}
    return [row for path in sorted((out_dir / "runs").glob("*.csv")) if path.stem in keys for row in load_rows(path)]


def load_rows(path: str | Path) -> list[dict[str, Any]]:
    """Rows of one run file (or of every run file under a directory), with numbers parsed.

    Raises:
        ValueError: A run file that is empty, holds no rows, lacks a column of :data:`COLUMNS` or
            holds a value that does not parse (the file named).
    """
    path = Path(path)
    files = sorted(path.glob("runs/*.csv")) if path.is_dir() else [path]
    rows = []
    for file in files:
        try:
            with file.open(newline="") as handle:
                reader = csv.DictReader(handle)
                missing = [name for name in COLUMNS if name not in (reader.fieldnames or [])]
                if missing:
                    raise ValueError("empty" if reader.fieldnames is None else f"no column {missing}")
                before = len(rows)
                for row in reader:
                    for key in ("seed", "step"):
                        row[key] = int(row[key])
                    for key in ("true_return", "designed_return", "wall_time"):
                        row[key] = float(row[key])
                    rows.append(row)
                if len(rows) == before:
                    raise ValueError("no rows")
        except (ValueError, TypeError) as error:  # UnicodeDecodeError is a ValueError
            raise ValueError(f"{file} is not a whole run file of a suite ({error})") from error
    return rows
