#!/usr/bin/env bash
# The GPU half of the article, measured on a machine with an NVIDIA GPU and the
# Debian pygpu stack prepared in .gpu/ (see README.md, "Using a GPU"):
#   1. Theano's GPU test, on the GPU and on the CPU;
#   2. both nets with the article's settings on the GPU, then on the same
#      machine's CPU (reproduce.py), so the speed-up compares like with like;
#   3. the CNN once more on the GPU with this project's speed-ups switched off.
# Writes results.json, RESULTS.md and logs to $OUT (default ./gpu-results);
# bring them home with: python reproduce.py --merge gpu-results/results.json
# REPRO_ARGS adds arguments to every reproduce.py call (--quick: a dry run).
set -uo pipefail
OUT=${OUT:-$PWD/gpu-results}
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

# CIFAR-10 from the offline copy, decoded with the machine's own python3 (numpy,
# Pillow) before env.sh puts its own Python first on PATH
${BUILD_PY:-python3} .gpu/cifar10/build.py /tmp/cifar >/dev/null || exit 1
export CIFAR10_DIR=/tmp/cifar/cifar-10-batches-py
source .gpu/gpu/env.sh || exit 1

echo "=== gpu_check.py on the GPU"; THEANO_FLAGS="$GPUFLAGS" "$PY" gpu_check.py | tee "$OUT/gpu_check-gpu.txt"
echo "=== gpu_check.py on the CPU"; THEANO_FLAGS="$CPUFLAGS" "$PY" gpu_check.py | tee "$OUT/gpu_check-cpu.txt"

RES=/tmp/gpu-results   # parameters and histories stay here; only the summary travels
echo "=== both nets on the GPU"
THEANO_FLAGS="$GPUFLAGS" "$PY" reproduce.py --runs mlp cnn --out "$RES" ${REPRO_ARGS:-} || exit 1
cp "$RES/results.json" "$RES/RESULTS.md" "$OUT/"
echo "=== both nets on the CPU"
THEANO_FLAGS="$CPUFLAGS" "$PY" reproduce.py --runs mlp cnn --out "$RES" ${REPRO_ARGS:-} || exit 1
cp "$RES/results.json" "$RES/RESULTS.md" "$OUT/"
echo "=== CNN on the GPU, speed-ups off (stock Theano 1.0.5), 2 epochs"
THEANO_FLAGS="$GPUFLAGS,optimizer_excluding=batched_conv:fast_max_pool_grad" \
  "$PY" reproduce.py --runs cnn --epochs 2 --out /tmp/gpu-stock ${REPRO_ARGS:-} | grep -E "^ +[0-9]+ |accuracy"
echo "=== done"
