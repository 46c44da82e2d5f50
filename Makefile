# Set-up and everyday commands. `make test` and `make demo` each create .venv and install what they need.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export MUJOCO_GL ?= egl

LINTED := rewarddesign envs tests benchmarks docs/griffe_extensions.py
# What the tests, the docs and the benchmarks need: every extra but gambit (pygambit compiles C++ on
# Linux; the games use the project's own solvers without it, and its tests skip).
EXTRAS := dev,docs,control,games,offline,ray,multiobjective

.PHONY: setup lint layers test test-slow demo bench gpu-check docs package clean

setup: $(STAMP)

# torch first, at the pinned version; then the package in editable form with the extras above.
# --no-compile: no bytecode for the 2 GB installed (a cold install took 7 min 46 s with it, 2 min 26 s
# without, on a busy machine); Python compiles the modules a run imports, once, when it imports them.
$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-compile torch==2.13.0
	$(PY) -m pip install --quiet --no-compile -e '.[$(EXTRAS)]'
	touch $(STAMP)

lint: setup
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/pyright
	$(MAKE) --no-print-directory layers

# The import-linter contract of pyproject.toml; the task catalogue (envs/, installed as
# rewarddesign.envs) is part of the checked graph through the link rewarddesign/envs.
layers: setup
	$(VENV)/bin/lint-imports --no-cache

# One test process per core (pytest-xdist; tests marked with one xdist_group share a process); each
# process runs torch on one thread (tests/conftest.py). `make test` leaves out the tests marked slow
# (about 3 minutes on 2 cores: Ray instances, signals to sweeps, benchmark scripts, each in child
# processes); `make test-slow` runs them, and .ci/run runs both.
test: lint
	$(PY) -m pytest -q --numprocesses=auto --dist=loadgroup -m "not slow" --durations=15

test-slow: setup
	$(PY) -m pytest -q --numprocesses=auto --dist=loadgroup -m slow --durations=10

demo: setup
	OMP_NUM_THREADS=1 $(PY) benchmarks/demo.py --workers 2

bench: setup
	$(PY) benchmarks/shaping_overhead.py
	$(PY) benchmarks/shaping_sample_efficiency.py
	OMP_NUM_THREADS=1 $(PY) benchmarks/distance_speed.py
	$(PY) benchmarks/starc_regret_correlation.py --mdps 1024
	$(PY) benchmarks/submodular_speed.py
	OMP_NUM_THREADS=1 $(PY) benchmarks/submodular_coverage.py --workers 2
	OMP_NUM_THREADS=1 $(PY) benchmarks/submodular_ant.py --timesteps 50000 --seeds 3 --workers 2
	OMP_NUM_THREADS=1 $(PY) benchmarks/games_solvers.py
	OMP_NUM_THREADS=1 $(PY) benchmarks/psro_driving.py --workers 2
	OMP_NUM_THREADS=1 $(PY) benchmarks/bilevel_alignment.py --workers 2
	$(PY) benchmarks/preference_labels_speed.py
	OMP_NUM_THREADS=1 $(PY) benchmarks/bench_runner_overhead.py
	OMP_NUM_THREADS=1 $(VENV)/bin/rewarddesign bench --suite control --workers 2 --device cpu --no-progress
	OMP_NUM_THREADS=1 $(PY) benchmarks/preference_learning.py --env Pendulum-v1 --workers 2
	OMP_NUM_THREADS=1 $(PY) benchmarks/preference_learning.py --env MountainCarContinuous-v0 --workers 2
	OMP_NUM_THREADS=1 $(PY) benchmarks/offline_preferences.py --workers 2
	OMP_NUM_THREADS=1 $(PY) benchmarks/offline_preferences_mixed.py --workers 2
	OMP_NUM_THREADS=1 $(PY) benchmarks/heron_classic_control.py --env Pendulum-v1
	OMP_NUM_THREADS=1 $(PY) benchmarks/overoptimization.py
	OMP_NUM_THREADS=1 $(PY) benchmarks/overoptimization.py --speed
	OMP_NUM_THREADS=1 $(PY) benchmarks/overoptimization_deep.py
	OMP_NUM_THREADS=1 $(PY) benchmarks/reward_machines.py --workers 2
	OMP_NUM_THREADS=1 $(PY) benchmarks/reward_machines_deep.py --workers 2
	OMP_NUM_THREADS=1 $(PY) benchmarks/multi_objective.py --seeds 10 --workers 2

# On a machine with CUDA: the GPU checks and the Ant benchmark at full length (benchmarks/gpu_check.sh).
gpu-check: setup
	PYTHON=$(PY) bash benchmarks/gpu_check.sh

docs: setup
	$(VENV)/bin/mkdocs build --strict

# The wheel and the sdist (python -m build: the wheel is built from the sdist), installed into a
# clean virtualenv with the core dependencies only, where the command and every module must work.
package: setup
	PYTHON=$(PY) bash .ci/package

clean:
	rm -rf $(VENV) site build dist *.egg-info
