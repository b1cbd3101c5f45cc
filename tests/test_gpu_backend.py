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
import glob
import json
import os
import subprocess

import numpy as np
import pytest

from helpers import PROGRAMS, REPO, SCRIPT_ENV

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

def run_in_gpu_env(tmp_path, *args):
    """args run by the pygpu environment's Python on pocl (programs/in_gpu_env.sh)."""
    env = dict(SCRIPT_ENV, THEANO_GPU_ENV=GPU_ENV, LINKS=str(tmp_path / "links"))
    result = subprocess.run(["bash", str(PROGRAMS / "in_gpu_env.sh")] + [str(a) for a in args],
                            cwd=str(REPO), env=env, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def report(shared_cifar_dir, tmp_path_factory):
    result = run_in_gpu_env(tmp_path_factory.mktemp("opencl"),
                            PROGRAMS / "gpu_backend_run.py", shared_cifar_dir)
    return json.loads(result.stdout.splitlines()[-1])


def test_gpu_check_runs_on_the_device(tmp_path):
    result = run_in_gpu_env(tmp_path, "gpu_check.py")
    assert "GpuElemwise{exp" in result.stdout
    assert result.stdout.strip().endswith("Used the gpu"), result.stdout


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


def test_fusion_check_of_the_device_script_passes(tmp_path):
    # bench/gpu_reproduce.sh runs it first on the GPU machine
    result = run_in_gpu_env(tmp_path, "-m", "bench.fusion_check")
    assert result.stdout.strip().endswith("multi_output_fusion: ok"), result.stdout


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


def test_trains_as_nolearn_does_on_the_gpu_back_end(report):
    stock = report["nolearn"]
    for ours in (report["shared"], report["gather"]):
        assert len(ours["history"]) == 2
        assert ours["history"] == stock["history"]
        assert ours["predictions"] == stock["predictions"]


@pytest.fixture(scope="module")
def step_nodes(tmp_path_factory):
    result = run_in_gpu_env(tmp_path_factory.mktemp("nodes"), PROGRAMS / "gpu_step_nodes.py")
    return json.loads(result.stdout.splitlines()[-1])


def test_gpu_training_steps_do_not_grow(step_nodes):
    """Each node of a GPU step is a kernel launch or some host work: the
    counts of the scripts' steps may fall, never rise (docs/performance.md)."""
    counts = {net: sum(ops.values()) for net, ops in step_nodes.items()}
    assert counts["mlp"] <= 47 and counts["cnn"] <= 160, step_nodes
    cnn = step_nodes["cnn"]
    # batched_conv: one product per layer and direction (3 + 3 + 2, the
    # first layer needs no input gradient) and the dense layers' 3; the
    # input gradient pads once instead of adding back each filter offset
    assert "GpuCorrMM" not in cnn and cnn["GpuDot22"] == 11, cnn
    assert cnn.get("GpuIncSubtensor", 0) <= 2 and cnn.get("MakeVector", 0) <= 2, cnn
