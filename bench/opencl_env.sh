# Source after the pygpu environment's env.sh (.gpu/gpu/ on the GPU machine,
# $THEANO_GPU_ENV in the tests), which defines real_lib, PY and GPUFLAGS:
# points its GPU flags at OpenCL device
# opencl0:0, where pocl (an OpenCL on the CPU) runs Theano's GPU back end, so
# the GPU code paths run on a machine without a GPU. Used by a dry run of
# bench/gpu_reproduce.sh (OPENCL_DRY_RUN=1) and by tests/test_gpu_backend.py.
# Needs: apt-get install pocl-opencl-icd ocl-icd-libopencl1 libclblast1
#
# libgpuarray opens libOpenCL.so and libclblast.so by those names, which only
# -dev packages provide: link them (into $LINKS, default /tmp/opencl-links).
LINKS=${LINKS:-/tmp/opencl-links}
mkdir -p "$LINKS"
for pair in libOpenCL.so:libOpenCL.so.1 libclblast.so:libclblast.so.1; do
  f=$(real_lib "${pair#*:}")
  [ -n "$f" ] && ln -sfn "$f" "$LINKS/${pair%%:*}"
done
export LD_LIBRARY_PATH="$LINKS:$LD_LIBRARY_PATH"
# pocl cannot build Theano's fused softmax / cross-entropy kernels: those few
# ops stay on the host (a later optimizer_excluding must repeat this list)
export OPENCL_EXCLUDING=local_gpua_crossentropysoftmaxargmax1hotwithbias:local_gpua_crossentropysoftmax1hotwithbiasdx:local_gpua_softmax:local_gpua_softmaxwithbias
export GPUFLAGS="${GPUFLAGS/device=cuda/device=opencl0:0},optimizer_excluding=$OPENCL_EXCLUDING"
