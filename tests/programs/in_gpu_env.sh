#!/usr/bin/env bash
# Run "$@" with the Python of the pygpu environment ($THEANO_GPU_ENV, the
# folder of ../shared/gpu) on Theano's GPU back end through pocl: env.sh sets
# PY and GPUFLAGS (device=cuda, float32, its OpenBLAS, its cache), and
# bench/opencl_env.sh turns GPUFLAGS to OpenCL and links the libraries.
# Used by tests/test_gpu_backend.py, from the repository root.
source "$THEANO_GPU_ENV/env.sh" >/dev/null 2>&1 || { echo "env.sh failed" >&2; exit 90; }
source bench/opencl_env.sh || exit 91
export THEANO_FLAGS="$GPUFLAGS"
exec "$PY" "$@"
