"""gpu_check.py, Theano's "is it using the GPU?" program, on this GPU-less machine."""
import importlib.util

import pytest

from helpers import run_script


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("pygpu") is not None,
                    reason="pygpu is installed: the GPU may be used")
def test_gpu_check_runs_on_the_cpu_and_says_why():
    result = run_script("gpu_check.py")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "[Elemwise{exp,no_inplace}(<TensorType(float32, vector)>)]"
    assert lines[1].startswith("Looping 1000 times took ")
    assert lines[2].startswith("Result is [")
    assert lines[3] == "Used the cpu"
    # the repository's .theanorc asks for device=cuda: one line of information
    # says why the CPU and where to read on, and nothing is reported as a failure
    assert len(lines) == 5 and lines[4].startswith("Theano runs on the CPU:")
    assert "pygpu" in lines[4] and "docs/gpu.md" in lines[4]
    assert [line for line in result.stderr.splitlines()
            if "BLAS" not in line] == [], result.stderr  # (a machine without OpenBLAS says so)
