"""bench.py: its FLOP count describes the article's CNN as nolearn builds it."""
import importlib.util

import pytest

from conftest import run_script


def test_flop_count_matches_the_cnn_layers(compat_module):
    import bench
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
    assert bench.cnn_flops_per_sample() == 3 * forward - first_conv


def test_peak_is_estimated_from_the_cpu(compat_module):
    import bench
    peak = bench.peak_gflops(2)
    assert peak is None or 2 <= peak <= 2 * 6.0 * 64  # 2 cores, at most 6 GHz x 64


@pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                    reason="PyTorch is optional (requirements-bench.txt)")
def test_pytorch_nets_have_the_same_parameters(compat_module):
    import bench
    from ConvolutionNN import build_cnn
    from mlp import build_mlp
    for name, build in (("mlp", build_mlp), ("cnn", build_cnn)):
        net = build(verbose=0)
        net.initialize_layers()
        theano_count = sum(p.get_value().size for p in net.get_all_params())
        torch_count = sum(p.numel() for p in bench.torch_model(name).parameters())
        assert theano_count == torch_count, name


def test_help():
    result = run_script("bench.py", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--threads", "--batches", "--reps", "--nets", "--data-dir"):
        assert option in result.stdout, option
