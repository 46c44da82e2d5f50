#!/usr/bin/env bash
# GPU check on a lent GPU machine: CUDA training, the batched distance code and SubPO timed beside
# the CPU (benchmarks/gpu_check.py), then the Ant coverage benchmark at full length on CUDA.
#
# Run from the repository root, within 10 minutes:
#     bash benchmarks/gpu_check.sh [ANT_TIMESTEPS]
# On a machine without a package registry, put wheels of the missing packages (gymnasium,
# stable-baselines3, mujoco and their needs) in .whl/ first; they are installed to /tmp/site.
# Results: benchmarks/results/gpu_check.md and benchmarks/results/submodular_ant*.
set -euo pipefail
ANT_TIMESTEPS=${1:-400000}
PY=${PYTHON:-python3}
if [ -d .whl ]; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    "$PY" -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target /tmp/site .
    export PYTHONPATH=/tmp/site
fi
export MUJOCO_GL=egl OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
"$PY" benchmarks/gpu_check.py
"$PY" benchmarks/submodular_ant.py --timesteps "$ANT_TIMESTEPS" --seeds 3 --workers 6 --device cuda \
    --out "benchmarks/results/submodular_ant_${ANT_TIMESTEPS}"
