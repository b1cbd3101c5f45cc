"""The scripts on Theano's GPU back end (pygpu), without a GPU.

Theano's GPU back end (gpuarray) also drives OpenCL devices, and pocl is an
OpenCL implementation on the CPU. With the pygpu environment the GPU machine
uses (../shared/gpu, named by THEANO_GPU_ENV, as .ci/run does) and pocl, these
tests run the GPU code path: device arrays, transfers, GPU ops. They check
what no CPU test can: that SharedDataNeuralNet really keeps the images on the
device and reads each minibatch there (a slice; a gather in its variant), and
trains exactly as nolearn's per-minibatch copies do; and that theano_today's
multi_output_fusion merges GPU kernels (GpuElemwise with several outputs,
which stock Theano never builds) and trains as the unmerged kernels do.
Speed on pocl means nothing; bench/gpu_reproduce.sh measures that on a GPU.

pocl cannot build Theano's fused softmax/cross-entropy kernels, so those few
ops stay on the host here (bench/opencl_env.sh); everything else is moved to
the device as on a GPU.

Skipped without THEANO_GPU_ENV or without an OpenCL platform
(apt-get install pocl-opencl-icd ocl-icd-libopencl1 libclblast1).
"""
import atexit
import concurrent.futures
import glob
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

from helpers import PROGRAMS, REPO, SCRIPT_ENV, write_cifar_dir

GPU_ENV = os.environ.get("THEANO_GPU_ENV")
HAS_OPENCL = bool(glob.glob("/etc/OpenCL/vendors/*.icd")) and subprocess.run(
    "ldconfig -p | grep -q libOpenCL.so.1", shell=True).returncode == 0

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not GPU_ENV, reason="THEANO_GPU_ENV (the folder of ../shared/gpu) "
                       "is not set"),
    pytest.mark.skipif(not HAS_OPENCL, reason="no OpenCL platform (apt-get install "
                       "pocl-opencl-icd ocl-icd-libopencl1 libclblast1)"),
]

#: The runs in the pygpu environment on pocl, each a program and its
#: arguments (CIFAR: a small CIFAR-10 folder), and the fixture of the same
#: name that gives its output. They take minutes, mostly compiling.
CIFAR = object()
RUNS = {"gpu_check": ["gpu_check.py"],
        "report": [PROGRAMS / "gpu_backend_run.py", CIFAR],
        "fusion_check": ["-m", "bench.fusion_check"],
        "step_nodes": [PROGRAMS / "gpu_step_nodes.py"],
        "im2col_check": [PROGRAMS / "gpu_im2col_check.py"]}
_started = {}
_in_thread = concurrent.futures.ThreadPoolExecutor(max_workers=1)


def start_background_runs(items):
    """Start the RUNS that the selected test items use, one after the other
    in a thread, so that the rest of the suite goes on meanwhile;
    conftest.py calls this once the tests are selected."""
    _start([name for name in RUNS
            if any(name in getattr(item, "fixturenames", ()) for item in items)])


def _start(names):
    names = [name for name in names if name not in _started]
    if not names or not (GPU_ENV and HAS_OPENCL):
        return
    folder = tempfile.mkdtemp(prefix="gpu-backend-")
    atexit.register(shutil.rmtree, folder, True)
    cifar = write_cifar_dir(os.path.join(folder, "cifar-10-batches-py"))
    env = dict(SCRIPT_ENV, THEANO_GPU_ENV=GPU_ENV, LINKS=os.path.join(folder, "links"))
    for name in names:
        command = ["bash", str(PROGRAMS / "in_gpu_env.sh")] + [
            cifar if a is CIFAR else str(a) for a in RUNS[name]]
        _started[name] = _in_thread.submit(subprocess.run, command, cwd=str(REPO), env=env,
                                           capture_output=True, text=True, timeout=900)


def finished(request):
    """The CompletedProcess of the run that the fixture request is named after
    (started here where conftest.py did not start it)."""
    _start([request.fixturename])
    result = _started[request.fixturename].result()
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def gpu_check(request):
    return finished(request)


@pytest.fixture(scope="module")
def fusion_check(request):
    return finished(request)


@pytest.fixture(scope="module")
def report(request):
    return json.loads(finished(request).stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def step_nodes(request):
    return json.loads(finished(request).stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def im2col_check(request):
    return finished(request)


def test_gpu_check_runs_on_the_device(gpu_check):
    assert "GpuElemwise{exp" in gpu_check.stdout
    assert gpu_check.stdout.strip().endswith("Used the gpu"), gpu_check.stdout


def test_shared_data_stays_on_the_device(report):
    assert report["device"] == "opencl0:0" and report["gpu"]
    # the scripts see the GPU back end: GPU speed-ups on, rows tagged gpu
    assert report["gpu_active"] and report["batched_conv"] and report["device_info"] == "gpu"
    ours, gather, stock = report["shared"], report["gather"], report["nolearn"]
    for net in (ours, gather):
        assert net["stored"] == ["GpuArraySharedVariable", "GpuArraySharedVariable"]
    # nolearn's step takes the images themselves; the scripts' step takes two
    # numbers and reads a slice of the stored images and labels, on the device:
    # no copy, no gather
    assert stock["step_inputs"][0] == "TensorType(float32, matrix)"
    assert ours["step_inputs"][:2] == ["TensorType(int64, scalar)"] * 2
    assert "GpuFromHost" not in ours["first_input_to"]  # start stays on the host
    assert ours["step_ops"].count("GpuSubtensor") == 2
    assert not ours["gathered"]
    # the gathering variant sends positions and gathers images and labels there
    assert gather["step_inputs"][0] == "TensorType(int64, vector)"
    assert "GpuFromHost" in gather["first_input_to"]
    assert gather["step_ops"].count("GpuAdvancedSubtensor1") == 2
    for net in (ours, stock):
        assert "GpuAdvancedSubtensor1" not in net["step_ops"]
        assert "GpuDot22" in net["step_ops"]


def test_fusion_check_of_the_device_script_passes(fusion_check):
    # bench/gpu_reproduce.sh runs it first on the GPU machine
    assert fusion_check.stdout.strip().endswith("multi_output_fusion: ok"), fusion_check.stdout


def test_multi_output_fusion_on_the_gpu_back_end(report):
    ours, unfused = report["shared"], report["unfused"]
    loops = lambda net: net["step_ops"].count("GpuElemwise") + net["step_ops"].count(
        "FusedGpuElemwise")
    # each parameter and its velocity: one kernel computes both new values
    assert unfused["update_nodes"] == 8 and ours["update_nodes"] == 4
    assert "FusedGpuElemwise" not in unfused["step_ops"]
    assert loops(ours) <= loops(unfused) - 6, (ours["step_ops"], unfused["step_ops"])
    np.testing.assert_allclose(ours["history"], unfused["history"], rtol=1e-5)
    assert np.mean(np.equal(ours["predictions"], unfused["predictions"])) > 0.99


def test_plain_products_train_as_theanos_gemms(report):
    # scaled_dot: the MLP's three GEMMs into fresh buffers, and the second
    # product of the hidden layer's gradient, become plain products
    ours, gemm = report["shared"], report["gemm"]
    assert gemm["step_ops"].count("GpuGemm") == 4 and "GpuAllocEmpty" in gemm["step_ops"]
    assert "GpuGemm" not in ours["step_ops"] and "GpuAllocEmpty" not in ours["step_ops"]
    # three GEMMs became products; the fourth computed one of those again
    assert ours["step_ops"].count("GpuDot22") == gemm["step_ops"].count("GpuDot22") + 3
    np.testing.assert_allclose(ours["history"], gemm["history"], rtol=1e-5)
    assert np.mean(np.equal(ours["predictions"], gemm["predictions"])) > 0.99


def test_trains_as_nolearn_does_on_the_gpu_back_end(report):
    stock = report["nolearn"]
    for ours in (report["shared"], report["gather"]):
        assert len(ours["history"]) == 2
        assert ours["history"] == stock["history"]
        assert ours["predictions"] == stock["predictions"]


def test_gpu_training_steps_do_not_grow(step_nodes):
    """Each node of a GPU step is a kernel launch or some host work: the
    counts of the scripts' steps may fall, never rise (docs/performance.md)."""
    counts = {net: sum(ops.values()) for net, ops in step_nodes.items()}
    assert counts["mlp"] <= 32 and counts["cnn"] <= 111, step_nodes
    cnn = step_nodes["cnn"]
    # batched_conv: one product per layer and direction (3 + 3 + 2, the
    # first layer needs no input gradient), and the dense layers' 6 (2 each
    # way and for the weights); the input gradient's padding is
    # images2neibs's own (mode 'full')
    assert "GpuCorrMM" not in cnn and cnn["GpuDot22"] == 14, cnn
    assert "GpuIncSubtensor" not in cnn and "GpuAlloc" not in cnn, cnn
    # scaled_dot: no GEMM into a fresh buffer, no host work for its shape
    for ops in step_nodes.values():
        assert "GpuGemm" not in ops and "GpuAllocEmpty" not in ops, ops
    # gpu_contiguous: the two copies left are real (transposed gradients)
    assert cnn.get("GpuContiguous", 0) <= 2, cnn
    # reshape_minus_one: the dense layer's flatten takes no shape vector
    # (its gradient's still does); no Rebroadcast of the one-channel filters
    assert cnn.get("MakeVector", 0) <= 1 and "Rebroadcast" not in cnn, cnn
    # gpu_im2col: the columns of layers 2 and 3, both directions, one kernel
    # each; the first layer's one channel takes images2neibs's as they are
    assert cnn["GpuIm2Col"] == 4 and cnn["GpuImages2Neibs"] == 1, cnn


def test_gpu_im2col_gives_the_columns_of_images2neibs(im2col_check):
    """Odd shapes, both modes, views that are not contiguous, NaN and -0.0:
    the same columns bit for bit; images of other sizes refused; the CNN's
    loss and gradients identical (tests/programs/gpu_im2col_check.py)."""
    assert im2col_check.stdout.strip().endswith("gpu im2col agrees")
