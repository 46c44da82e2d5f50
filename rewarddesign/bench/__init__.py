"""Experiments and benchmark suites: runs as data, resumable, on local processes or Ray, with robust statistics.

- :mod:`~rewarddesign.bench.experiments`: any experiment as data (:class:`Experiment`: a run
  function named ``"module:function"``, a grid of parameters, seeds); :func:`run_experiment`
  computes the unfinished runs and stores each :class:`RunRecord` (metrics, curves) the moment
  it finishes; the fingerprint covers the run function's and the design's source.
- :mod:`~rewarddesign.bench.schema`: suites as data (:class:`Suite`, :class:`Design`,
  :class:`RunSpec`) with name checks; :mod:`~rewarddesign.bench.catalogue`: the built-in suites
  (:data:`SUITES`: ``quick``, ``control``, ``control-full``, ``shaping``); :mod:`~rewarddesign.bench.designs`:
  design factories that build or train a reward model for a run (:data:`DESIGN_WRAPPERS`).
- :mod:`~rewarddesign.bench.runner`: :func:`run_suite` trains each run of a suite with
  :func:`rewarddesign.train.train`, evaluates it on the *true* reward at fixed intervals, and
  writes the run's rows to its own CSV file the moment it finishes; a rerun skips finished runs.
- :mod:`~rewarddesign.bench.store`: the results directory (one file per run and a manifest of
  fingerprints) and the sweep loop both kinds share.
- :mod:`~rewarddesign.bench.executors`: where runs compute (local processes, Ray).
- :mod:`~rewarddesign.bench.interrupts`: SIGINT and SIGTERM stop a sweep within seconds, its
  workers stopped and its finished runs kept (:class:`SweepInterrupted`).
- :mod:`~rewarddesign.bench.fingerprint`: loading run functions by name and hashing their source.
- :mod:`~rewarddesign.bench.stats`: IQM, optimality gap, stratified bootstrap intervals,
  probability of improvement, performance profiles.
- :mod:`~rewarddesign.bench.report`: per-env tables, aggregates across envs, learning curves and
  performance profiles of a suite's results directory, and the mean and IQM with bootstrap
  intervals per parameter set of an experiment's (``rewarddesign bench report DIR``).

A suite's rows are tidy: ``suite, env, design, algo, seed, step, true_return, designed_return, wall_time, device``.
"""

from rewarddesign.bench.catalogue import CONTROL_TIMESTEPS, REFERENCE_SCORES, SUITES
from rewarddesign.bench.designs import DESIGN_WRAPPERS
from rewarddesign.bench.executors import EXECUTORS, LocalExecutor, RayExecutor, make_executor
from rewarddesign.bench.experiments import (
    Experiment,
    Run,
    RunOutput,
    RunRecord,
    execute_run,
    load_records,
    metric_values,
    record_run,
    restamp,
    run_experiment,
)
from rewarddesign.bench.fingerprint import source_digest
from rewarddesign.bench.interrupts import SweepInterrupted
from rewarddesign.bench.report import (
    aggregate_table,
    experiment_summary,
    final_scores,
    format_table,
    plot_curves,
    plot_profiles,
    report,
    summarize,
)
from rewarddesign.bench.runner import COLUMNS, SuiteRunResult, load_rows, run_one, run_suite, write_rows
from rewarddesign.bench.schema import Design, RunSpec, Suite, known_env_ids, load_suite, suite_from_dict
from rewarddesign.bench.store import check_name

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
    "source_digest",
    "SweepInterrupted",
    "check_name",
    "Design",
    "DESIGN_WRAPPERS",
    "Suite",
    "RunSpec",
    "SUITES",
    "REFERENCE_SCORES",
    "CONTROL_TIMESTEPS",
    "known_env_ids",
    "suite_from_dict",
    "load_suite",
    "COLUMNS",
    "SuiteRunResult",
    "run_suite",
    "run_one",
    "write_rows",
    "load_rows",
    "LocalExecutor",
    "RayExecutor",
    "make_executor",
    "EXECUTORS",
    "summarize",
    "format_table",
    "plot_curves",
    "final_scores",
    "aggregate_table",
    "plot_profiles",
    "report",
    "experiment_summary",
]
