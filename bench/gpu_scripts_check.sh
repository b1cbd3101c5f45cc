#!/usr/bin/env bash
# docs/gpu.md, step 5, on the GPU machine: the article's scripts,
# unchanged, on the GPU (mlp.py, ConvolutionNN.py, then mlp.py with
# allow_gc=False), with the Debian pygpu stack prepared in .gpu/ and the
# repository's .theanorc, as gpu_reproduce.sh uses them. Writes the log to
# $OUT/scripts-gpu-log.txt (default /tmp/out); the log of its run on the H100
# is results/device/run4/log.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
exec > >(tee "$OUT/scripts-gpu-log.txt") 2>&1
export PYTHONUNBUFFERED=1 THEANORC=$PWD/.theanorc
python3 .gpu/cifar10/build.py /tmp/cifar >/dev/null || exit 1
export CIFAR10_DIR=/tmp/cifar/cifar-10-batches-py
source .gpu/gpu/env.sh || exit 1
echo "=== $(date +%T) python mlp.py"; THEANO_FLAGS="$GPUFLAGS" "$PY" mlp.py
echo "=== $(date +%T) python ConvolutionNN.py"; THEANO_FLAGS="$GPUFLAGS" "$PY" ConvolutionNN.py
echo "=== $(date +%T) python mlp.py with allow_gc=False"; THEANO_FLAGS="$GPUFLAGS,allow_gc=False" "$PY" mlp.py
echo "=== $(date +%T) done"
