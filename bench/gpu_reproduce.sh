#!/usr/bin/env bash
# The GPU half of the article, measured on a machine with an NVIDIA GPU and the
# Debian pygpu stack prepared in .gpu/ (see docs/gpu.md), with the
# repository's .theanorc (the flags from .gpu/gpu/env.sh override its device
# and BLAS lines). Run from anywhere: bash bench/gpu_reproduce.sh
#   1. Theano's GPU test, on the GPU and on the CPU;
#   2. both nets with the article's settings on the GPU, then on the same
#      machine's CPU (reproduce.py), so the speed-up compares like with like;
#   3. the levers (bench/feeding.py): nolearn's per-minibatch copies against the
#      data stored once (gathered by positions, or sliced as the scripts do)
#      on the GPU, the scripts' way without theano_today's fusion,
#      without the node cuts (scaled_dot, contiguous, reshape, im2col), and with allow_gc=False; the MLP on
#      the CPU with a one-thread OpenBLAS too (is the default its best?);
#   4. the CNN as stock Theano and nolearn run it (no speed-ups), on the GPU
#      and on the CPU: the article's own comparison;
#   5. Theano's profile of both nets' GPU steps (profile-gpu.txt).
# Most important first: a run cut short still brings back what it finished.
# Writes four files to $OUT (default ./gpu-results; the device tool brings
# back eight at most): log.txt, results.json and RESULTS.md, and
# sections.tar.gz with each section's own files (gpu_check-*.txt,
# bench-*.txt, profile-gpu.txt), packed again as each section starts.
# Bring the rows home with: python reproduce.py --merge gpu-results/results.json
# REPRO_ARGS adds arguments to every reproduce.py call and BENCH_ARGS to every
# bench.feeding call (a dry run: REPRO_ARGS=--quick BENCH_ARGS="--limit 500 --epochs 1",
# with OPENCL_DRY_RUN=1 on Theano's GPU back end through pocl, if installed).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-results}
RUN=/tmp/gpu-run  # the sections' files, packed into $OUT/sections.tar.gz
rm -rf "$RUN" && mkdir -p "$OUT" "$RUN"
exec > >(tee "$OUT/log.txt") 2>&1
export PYTHONUNBUFFERED=1 THEANORC=$PWD/.theanorc
pack() { tar czf "$OUT/sections.tar.gz" -C "$RUN" .; }
trap pack EXIT
section() { pack; echo "=== $(date +%T) $*"; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

# CIFAR-10 from the offline copy, decoded with the machine's own python3 (numpy,
# Pillow) before env.sh puts its own Python first on PATH
${BUILD_PY:-python3} .gpu/cifar10/build.py /tmp/cifar >/dev/null || exit 1
export CIFAR10_DIR=/tmp/cifar/cifar-10-batches-py
source .gpu/gpu/env.sh || exit 1
# a dry run of the GPU code paths on a machine without a GPU (pocl, see
# bench/opencl_env.sh); its timings mean nothing
if [ -n "${OPENCL_DRY_RUN:-}" ]; then source bench/opencl_env.sh || exit 1; fi

section "gpu_check.py on the GPU"; THEANO_FLAGS="$GPUFLAGS" "$PY" gpu_check.py | tee "$RUN/gpu_check-gpu.txt"
section "gpu_check.py on the CPU"; THEANO_FLAGS="$CPUFLAGS" "$PY" gpu_check.py | tee "$RUN/gpu_check-cpu.txt"

# OFF: what every later optimizer_excluding must start with (on pocl its
# host-only ops; fusion too if it fails on this GPU)
OFF=${OPENCL_EXCLUDING:+$OPENCL_EXCLUDING:}
section "fusion on this GPU: merged kernels against unmerged (off for the run if they differ)"
if ! THEANO_FLAGS="$GPUFLAGS" "$PY" -m bench.fusion_check; then
  OFF=${OFF}fusion:
  GPUFLAGS="$GPUFLAGS,optimizer_excluding=${OFF%:}"
  echo "fusion (multi-output kernels) FAILED on this GPU: the rest of the run goes without it"
fi

RES=/tmp/gpu-results   # parameters and histories stay here; only the summary travels
section "both nets on the GPU"
THEANO_FLAGS="$GPUFLAGS" "$PY" reproduce.py --runs mlp cnn --out "$RES" ${REPRO_ARGS:-} || exit 1
cp "$RES/results.json" "$RES/RESULTS.md" "$OUT/"
section "both nets on the CPU"
THEANO_FLAGS="$CPUFLAGS" "$PY" reproduce.py --runs mlp cnn --out "$RES" ${REPRO_ARGS:-} || exit 1
cp "$RES/results.json" "$RES/RESULTS.md" "$OUT/"

section "levers on the GPU: how the data is fed"
THEANO_FLAGS="$GPUFLAGS" "$PY" -m bench.feeding --nets mlp ${BENCH_ARGS:-} | tee "$RUN/bench-gpu.txt"
THEANO_FLAGS="$GPUFLAGS" "$PY" -m bench.feeding --nets cnn --loaders nolearn shared ${BENCH_ARGS:-} \
  | tee "$RUN/bench-gpu-cnn.txt"
section "levers on the GPU: without fusion (more, smaller kernels)"
THEANO_FLAGS="$GPUFLAGS,optimizer_excluding=${OFF}fusion" "$PY" -m bench.feeding --loaders shared ${BENCH_ARGS:-} \
  | tee "$RUN/bench-gpu-unfused.txt"
section "levers on the GPU: without the node cuts (GEMMs into fresh buffers, copy nodes, shape vectors, im2col chains)"
THEANO_FLAGS="$GPUFLAGS,optimizer_excluding=${OFF}scaled_dot:contiguous:reshape:im2col" "$PY" -m bench.feeding --loaders shared ${BENCH_ARGS:-} \
  | tee "$RUN/bench-gpu-gemm.txt"
section "levers on the GPU: allow_gc=False"
THEANO_FLAGS="$GPUFLAGS,allow_gc=False" "$PY" -m bench.feeding --loaders shared ${BENCH_ARGS:-} | tee "$RUN/bench-gpu-nogc.txt"
section "the MLP on the CPU, OpenBLAS with one thread and with all (theano_today's default)"
OPENBLAS_NUM_THREADS=1 THEANO_FLAGS="$CPUFLAGS" "$PY" -m bench.feeding --nets mlp --loaders shared ${BENCH_ARGS:-} | tee "$RUN/bench-cpu.txt"
THEANO_FLAGS="$CPUFLAGS" "$PY" -m bench.feeding --nets mlp --loaders shared ${BENCH_ARGS:-} \
  | tee "$RUN/bench-cpu-openblas-all.txt"

section "the CNN as stock Theano and nolearn run it (no speed-ups), 2 epochs: GPU, then CPU"
THEANO_FLAGS="$GPUFLAGS,optimizer_excluding=${OFF}theano_today" \
  "$PY" -m bench.feeding --nets cnn --loaders nolearn --epochs 2 ${BENCH_ARGS:-} | tee "$RUN/bench-gpu-stock-cnn.txt"
THEANO_FLAGS="$CPUFLAGS,openmp=False,optimizer_excluding=theano_today" \
  "$PY" -m bench.feeding --nets cnn --loaders nolearn --epochs 2 ${BENCH_ARGS:-} | tee "$RUN/bench-cpu-stock-cnn.txt"
section "where a GPU step's time goes: Theano's profiler, 2 epochs of each net"
# Theano's profiler refuses to time asynchronous GPU calls: make each call wait
CUDA_LAUNCH_BLOCKING=1 THEANO_FLAGS="$GPUFLAGS,profile=True" "$PY" -m bench.feeding --loaders shared --epochs 2 ${BENCH_ARGS:-} \
  > "$RUN/profile-gpu.txt" 2>&1 && grep -A 12 "^Class$" "$RUN/profile-gpu.txt" | head -60
section "summary"
for f in "$RUN"/gpu_check-*.txt "$OUT/RESULTS.md" "$RUN"/bench-*.txt; do
  grep "^Used the\|same machine:\|^s/epoch:" "$f" | sed "s|^|$(basename "$f"): |"
done
section "done"
