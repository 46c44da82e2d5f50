"""Benchmark suites: reward designs compared over envs and seeds, resumable, on local processes or Ray.

- :mod:`~rewarddesign.bench.suites`: suites as data (:class:`Suite`, :class:`Design`,
  :data:`SUITES`: ``quick``, ``control``, ``shaping``) with name checks.
- :mod:`~rewarddesign.bench.runner`: :func:`run_suite` trains each run with
  :func:`rewarddesign.train.train`, evaluates it on the *true* reward at fixed intervals, and
  writes the run's rows to its own CSV file the moment it finishes; a rerun skips finished runs.
- :mod:`~rewarddesign.bench.executors`: where runs compute (local processes, Ray).
- :mod:`~rewarddesign.bench.stats`: IQM, optimality gap, stratified bootstrap intervals,
  probability of improvement, performance profiles.
- :mod:`~rewarddesign.bench.report`: per-env tables, aggregates across envs, learning curves and
  performance profiles of a results directory (``rewarddesign bench report DIR``).

Rows are tidy: ``suite, env, design, algo, seed, step, true_return, designed_return, wall_time, device``.
"""

from rewarddesign.bench.executors import EXECUTORS, LocalExecutor, RayExecutor, make_executor
from rewarddesign.bench.report import (
    aggregate_table,
    final_scores,
    format_table,
    plot_curves,
    plot_profiles,
    report,
    summarize,
)
from rewarddesign.bench.runner import COLUMNS, load_rows, run_one, run_suite, write_rows
from rewarddesign.bench.suites import (
    DESIGN_WRAPPERS,
    REFERENCE_SCORES,
    SUITES,
    Design,
    RunSpec,
    Suite,
    known_env_ids,
    load_suite,
    suite_from_dict,
)

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
    "COLUMNS",
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
]
