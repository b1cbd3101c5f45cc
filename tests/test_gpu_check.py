"""gpu_check.py, Theano's "is it using the GPU?" program, on this GPU-less machine."""
import importlib.util

import pytest

from conftest import run_script


@pytest.mark.skipif(importlib.util.find_spec("pygpu") is not None,
                    reason="pygpu is installed: the GPU may be used")
def test_gpu_check_runs_on_the_cpu_and_says_so():
    result = run_script("gpu_check.py")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "[Elemwise{exp,no_inplace}(<TensorType(float32, vector)>)]"
    assert lines[1].startswith("Looping 1000 times took ")
    assert lines[2].startswith("Result is [")
    assert lines[3:] == ["Used the cpu"]
    assert "Traceback" not in result.stderr, result.stderr
    notices = [line for line in result.stderr.splitlines() if "pygpu" in line]
    assert len(notices) == 1 and "running on the CPU" in notices[0], result.stderr
