"""The lab's benchmarks (bench/): what they count and print."""
import importlib.util
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest

from helpers import run_module


def test_flop_count_matches_the_cnn_layers(stack):
    from bench import vs_pytorch
    from ConvolutionNN import build_cnn
    from lasagne.layers import Conv2DLayer, DenseLayer, get_output_shape
    net = build_cnn(verbose=0)
    net.initialize_layers()
    forward, first_conv = 0, None
    for layer in net.layers_.values():
        if isinstance(layer, Conv2DLayer):
            _, c_out, h, w = get_output_shape(layer)
            k = layer.filter_size[0] * layer.filter_size[1]
            flops = 2 * k * layer.input_shape[1] * c_out * h * w
            first_conv = flops if first_conv is None else first_conv
            forward += flops
        elif isinstance(layer, DenseLayer):
            forward += 2 * layer.W.get_value().size
    # backward: gradients of inputs and weights, none for the image itself
    assert vs_pytorch.cnn_flops_per_sample() == 3 * forward - first_conv


def test_the_peak_is_measured_by_a_matrix_product_of_theanos_blas(stack):
    from bench import vs_pytorch
    rate = vs_pytorch.sgemm_gflops(n=512, tries=3)
    cores = len(os.sched_getaffinity(0))
    assert 1 <= rate <= 6.0 * 64 * cores  # at most 6 GHz x 64 FLOPs per cycle per core
    blas = vs_pytorch.blas_description()
    assert blas.startswith("BLAS loaded: ") and "numpy" in blas and "core type" in blas, blas
    # now that Theano's product ran, its library is among them, by name
    assert "libscipy_openblas.so" in blas, blas
    assert "from pip (scipy-openblas32)" in stack.blas.name(), stack.blas.name()


def burn(seconds):
    """A process that keeps one core busy for that long."""
    code = "import time\nt = time.time()\nwhile time.time() - t < %s: pass" % seconds
    return subprocess.Popen([sys.executable, "-c", code])


def test_a_repetition_knows_when_others_took_the_cores(stack):
    from bench import lab

    def work(X, y):  # a second of our own, meanwhile
        t = time.time()
        while time.time() - t < 1.0:
            pass

    burner = burn(3)
    try:
        time.sleep(0.5)  # let it start
        rate, others = lab.timed(work, range(100), None)
    finally:
        burner.wait()
    assert 90 <= rate <= 100
    assert others > lab.CONTENDED_CORES  # about one core: the burner


def test_a_repetition_of_several_passes_counts_them_all(stack):
    from bench import lab
    calls = []

    def work(X, y):
        calls.append(len(X))
        time.sleep(0.1)

    rate, _ = lab.timed(work, range(10), None, passes=3)
    assert calls == [10, 10, 10]
    assert 30 / 0.5 < rate <= 30 / 0.3  # 30 samples in a little over 0.3 s


def test_contended_rounds_are_shown_apart_and_repeated(stack, monkeypatch):
    from bench import lab
    others = iter([0.0, 0.0, 0.9, 0.0, 0.0, 0.0, 0.0, 0.0])  # round 2 is disturbed
    speeds = iter([100, 50, 10, 5, 100, 50, 100, 50])
    monkeypatch.setattr(lab, "timed",
                        lambda train, X, y, passes: (next(speeds), next(others)))
    rates, contended = lab.repetitions({"theano": None, "pytorch": None}, None, None,
                                       reps=3, retries=3)
    assert rates == {"theano": [100, 100, 100], "pytorch": [50, 50, 50]}
    assert contended == {"theano": [10], "pytorch": [5]}
    # retries are bounded: then a disturbed round counts
    others = iter([0.9] * 4)
    speeds = iter([1, 2, 3, 4])
    rates, contended = lab.repetitions({"theano": None, "pytorch": None}, None, None,
                                       reps=1, retries=1)
    assert rates == {"theano": [3], "pytorch": [4]} and contended["theano"] == [1]


@pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                    reason="PyTorch is optional (bench/requirements.txt)")
def test_pytorch_nets_have_the_same_parameters(stack):
    from bench import lab, vs_pytorch
    for name, (_, build) in lab.NETS.items():
        net = build(verbose=0)
        net.initialize_layers()
        theano_count = sum(p.get_value().size for p in net.get_all_params())
        torch_count = sum(p.numel() for p in vs_pytorch.torch_model(name).parameters())
        assert theano_count == torch_count, name


@pytest.mark.slow
def test_vs_pytorch_help():
    result = run_module("bench.vs_pytorch", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--threads", "--batches", "--reps", "--nets", "--data-dir"):
        assert option in result.stdout, option
    assert "(default: 40)" in result.stdout  # --batches
    assert "default: None" not in result.stdout, result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("module, option", [("bench.ops", "--reps"), ("bench.ops", "--calls"),
                                            ("bench.vs_pytorch", "--threads"),
                                            ("bench.vs_pytorch", "--reps")])
def test_counts_below_one_are_refused_at_once(module, option):
    result = run_module(module, option, "0")
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert re.search(r"argument %s: must be a whole number of at least 1" % option,
                     result.stderr), result.stderr


@pytest.mark.slow
def test_feeding_times_each_way_of_feeding_the_data(shared_cifar_dir):
    result = run_module("bench.feeding", "--data-dir", shared_cifar_dir, "--epochs", "2",
                        "--nets", "mlp")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Theano 1.0.5 on cpu")
    rows = [re.fullmatch(r"mlp +(\w+) +(\S+) s/epoch +\(epochs: (\S+) (\S+)\)", line)
            for line in lines[1:4]]
    assert [row.group(1) for row in rows] == ["nolearn", "gather", "shared"]
    for row in rows:  # the median of the two epochs printed after it
        median, first, second = (float(row.group(i)) for i in (2, 3, 4))
        assert median == pytest.approx((first + second) / 2, abs=1e-3)
    assert re.fullmatch(r"s/epoch: mlp nolearn=\d+\.\d{3} gather=\d+\.\d{3} shared=\d+\.\d{3}",
                        lines[-1])


def test_feeding_builds_the_scripts_nets_with_each_class(stack):
    from bench import feeding
    from nolearn.lasagne import NeuralNet
    from theano_today.shared_data import SharedDataNeuralNet
    stock, ours = feeding.build("mlp", "nolearn"), feeding.build("mlp", "shared")
    gather = feeding.build("cnn", "gather")
    assert type(stock) is NeuralNet and type(ours) is SharedDataNeuralNet
    assert type(gather) is feeding.GatheringNeuralNet and not gather.slice_batches
    assert stock.hidden_num_units == ours.hidden_num_units == 100
    assert gather.conv1_num_filters == 16



def test_scan_cost_names_the_loop_and_prints_both_times(stack, monkeypatch, capsys):
    # the LSTM's compilation takes minutes: its step is stood in for here;
    # scan's bare loop is Theano's own
    import theano
    from bench import scan_cost
    assert scan_cost.running_sum()(np.arange(5, dtype=theano.config.floatX)) == 10
    # once a scan ran: the compiled loop, Theano's own or theano_today's mended one
    assert scan_cost.loop_kind().startswith("compiled (Cython 0.28's C")
    assert ("mended" in scan_cost.loop_kind()) == (sys.version_info >= (3, 11))

    def lstm_step(length, unroll):
        return lambda X, y: time.sleep(0.002 if unroll else 0.004)
    monkeypatch.setattr(scan_cost, "lstm_step", lstm_step)
    monkeypatch.setattr(sys, "argv", ["scan_cost", "--length", "2", "--steps", "2",
                                      "--rounds", "1"])
    scan_cost.main()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("scan loop: compiled")
    step = re.fullmatch(r"lstm training step \(batch 32, 2 time steps, 64 units\): "
                        r"scan (\S+) ms, unrolled (\S+) ms: scan/unrolled (\S+)", lines[1])
    assert step, lines[1]
    assert float(step.group(1)) >= 4.0 and float(step.group(2)) >= 2.0
    assert float(step.group(3)) == pytest.approx(
        float(step.group(1)) / float(step.group(2)), abs=0.01)
    assert re.fullmatch(r"scan's bare loop: \d+\.\d us per iteration", lines[2]), lines[2]
    assert re.fullmatch(r"machine: [0-2] of 2 timed runs contended \(others used more "
                        r"than 0\.25 cores\)", lines[3]), lines[3]
