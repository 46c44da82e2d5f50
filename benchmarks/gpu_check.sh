#!/usr/bin/env bash
# GPU check on a lent GPU machine: CUDA training, the batched distance code and SubPO timed beside
# the CPU (benchmarks/gpu_check.py), then the Ant coverage benchmark at full length on the
# machine's CPU cores (PPO with an MLP policy is faster there than on CUDA).
#
# Run from the repository root (within 10 minutes with the defaults):
#     bash benchmarks/gpu_check.sh [ANT_TIMESTEPS] [RESULTS_DIR]
# On a machine without a package registry, put wheels of the missing packages (gymnasium,
# stable-baselines3, mujoco and their needs) in .whl/ first; they are installed to /tmp/site.
# Results: RESULTS_DIR (default benchmarks/results)/gpu_check.md and submodular_ant_<steps>.{md,png}.
set -euo pipefail
ANT_TIMESTEPS=${1:-300000}
RESULTS_DIR=${2:-benchmarks/results}
PY=${PYTHON:-python3}
if [ -d .whl ]; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    "$PY" -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target /tmp/site .
    export PYTHONPATH=/tmp/site
fi
export MUJOCO_GL=${MUJOCO_GL:-disable} OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1  # no rendering needed
mkdir -p "$RESULTS_DIR"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
"$PY" benchmarks/gpu_check.py --out "$RESULTS_DIR/gpu_check.md"
ANT=submodular_ant_${ANT_TIMESTEPS}
"$PY" benchmarks/submodular_ant.py --timesteps "$ANT_TIMESTEPS" --seeds 3 --workers 6 --device cpu \
    --out "benchmarks/results/$ANT"
if [ "$RESULTS_DIR" != benchmarks/results ]; then
    cp "benchmarks/results/$ANT.md" "benchmarks/results/$ANT.png" "$RESULTS_DIR/"
fi
