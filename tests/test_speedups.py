"""theano_today's speed-ups (pooling, batched_conv, fusion): each gives the
numbers of Theano's stock implementation."""
import numpy as np
import pytest

from helpers import cnn_training_step, run_program


@pytest.fixture(scope="module")
def theano_parts(stack):
    import theano
    import theano.tensor as T
    from theano.tensor.signal.pool import pool_2d
    return theano, T, pool_2d


def pool_grad_functions(theano, T, pool_2d, **pool_args):
    """d(sum(pool(x) * w))/dx, compiled with and without fast_max_pool_grad."""
    x, w = T.tensor4("x"), T.tensor4("w")
    grad = T.grad((pool_2d(x, ignore_border=True, **pool_args) * w).sum(), x)
    mode = theano.compile.get_default_mode()
    return (theano.function([x, w], grad, mode=mode),
            theano.function([x, w], grad, mode=mode.excluding("fast_max_pool_grad")))


def op_names(f):
    return [type(node.op).__name__ for node in f.maker.fgraph.toposort()]


@pytest.mark.parametrize("shape", [(128, 16, 30, 30), (3, 2, 7, 9), (2, 1, 5, 4)])
def test_fast_max_pool_grad_equals_theano(theano_parts, shape):
    theano, T, pool_2d = theano_parts
    fast, stock = pool_grad_functions(theano, T, pool_2d, ws=(2, 2))
    assert "FastMaxPoolGrad" in op_names(fast) and "MaxPoolGrad" not in op_names(fast)
    assert "MaxPoolGrad" in op_names(stock)
    rng = np.random.RandomState(0)
    # after a ReLU many windows are all zeros: ties must get the gradient too
    x = np.maximum(rng.randn(*shape), 0).astype(theano.config.floatX)
    x[0, 0, :2, :2] = 1.5  # a window whose four values tie at the maximum
    w = rng.randn(shape[0], shape[1], shape[2] // 2, shape[3] // 2).astype(theano.config.floatX)
    got, want = fast(x, w), stock(x, w)
    np.testing.assert_array_equal(got, want)
    assert np.count_nonzero(got[0, 0, :2, :2]) == 4
    if shape[2] % 2:  # the row past the last whole window gets no gradient
        assert not got[:, :, -1, :].any()


def test_fast_max_pool_grad_python_fallback_agrees(theano_parts):
    theano, T, pool_2d = theano_parts
    from theano_today.pooling import FastMaxPoolGrad
    fast, _ = pool_grad_functions(theano, T, pool_2d, ws=(3, 2))
    rng = np.random.RandomState(1)
    x = np.maximum(rng.randn(2, 3, 7, 9), 0).astype(theano.config.floatX)
    w = rng.randn(2, 3, 2, 4).astype(theano.config.floatX)
    z = theano.function([], pool_2d(x, ws=(3, 2), ignore_border=True))()
    op = FastMaxPoolGrad((3, 2))
    node = op.make_node(x, z, w)
    out = [[None]]
    op.perform(node, [x, z, w], out)
    np.testing.assert_array_equal(out[0][0], fast(x, w))


@pytest.mark.parametrize("pool_args", [dict(ws=(2, 2), stride=(1, 1)),
                                       dict(ws=(2, 2), pad=(1, 1))])
def test_overlapping_or_padded_pooling_keeps_theanos_op(theano_parts, pool_args):
    theano, T, pool_2d = theano_parts
    fast, _ = pool_grad_functions(theano, T, pool_2d, **pool_args)
    assert "MaxPoolGrad" in op_names(fast) and "FastMaxPoolGrad" not in op_names(fast)


@pytest.mark.parametrize("shape, ws", [((128, 16, 30, 30), (2, 2)),
                                       ((3, 2, 7, 9), (2, 2)), ((2, 3, 7, 9), (3, 2))])
def test_fast_max_pool_equals_theano(theano_parts, shape, ws):
    theano, T, pool_2d = theano_parts
    x = T.tensor4("x")
    pooled = pool_2d(x, ws=ws, ignore_border=True)
    mode = theano.compile.get_default_mode()
    fast = theano.function([x], pooled, mode=mode)
    stock = theano.function([x], pooled, mode=mode.excluding("fast_max_pool"))
    assert "FastMaxPool" in op_names(fast) and "Pool" not in op_names(fast)
    assert "Pool" in op_names(stock)
    data = np.random.RandomState(2).randn(*shape).astype(theano.config.floatX)
    got = fast(data)
    assert got.shape == (shape[0], shape[1], shape[2] // ws[0], shape[3] // ws[1])
    np.testing.assert_array_equal(got, stock(data))
    # and the Python implementation Theano falls back on
    from theano_today.pooling import FastMaxPool
    op = FastMaxPool(ws)
    out = [[None]]
    op.perform(op.make_node(data), [data], out)
    np.testing.assert_array_equal(out[0][0], got)


def test_speedups_leave_the_cnn_training_step_unchanged(theano_parts):
    """Loss and every gradient of the article's CNN: identical, bit for bit."""
    theano, T, _ = theano_parts
    inputs, outputs = cnn_training_step(T)
    mode = theano.compile.get_default_mode()
    fast = theano.function(inputs, outputs, mode=mode)
    stock = theano.function(inputs, outputs,
                            mode=mode.excluding("fast_max_pool", "fast_max_pool_grad"))
    assert {"FastMaxPool", "FastMaxPoolGrad"} <= set(op_names(fast))
    assert not {"FastMaxPool", "FastMaxPoolGrad"} & set(op_names(stock))
    rng = np.random.RandomState(3)
    X = (rng.rand(64, 1, 32, 32) - 0.5).astype("float32")
    Y = rng.randint(0, 10, 64).astype("int32")
    for got, want in zip(fast(X, Y), stock(X, Y)):
        np.testing.assert_array_equal(got, want)


def test_batched_conv_columns_are_im2col(theano_parts):
    theano, T, _ = theano_parts
    from theano_today.batched_conv import _columns
    n, c, h, w, kh, kw = 3, 2, 6, 5, 3, 2
    oh, ow = h - kh + 1, w - kw + 1
    img = np.random.RandomState(4).randn(n, c, h, w).astype("float32")
    x = T.tensor4()
    got = theano.function([x], _columns(x, kh, kw, oh, ow))(img)
    # row (image, output row, output column), column (channel, filter row, filter column)
    want = np.array([[img[b, ch, i + a, j + e] for ch in range(c) for a in range(kh)
                      for e in range(kw)]
                     for b in range(n) for i in range(oh) for j in range(ow)])
    np.testing.assert_array_equal(got, want)


@pytest.mark.slow
def test_batched_conv_equals_corrmm_with_gradients():
    result = run_program("batched_conv_check.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("batched conv agrees")


def test_batched_conv_is_off_on_the_cpu(stack):
    from theano.compile import optdb
    assert not stack.runtime.gpu_active()
    assert "local_batched_conv" not in optdb["stabilize"].__db__
    assert "local_fast_max_pool_grad" in optdb["specialize_device"].__db__
    assert "local_fast_max_pool" in optdb["specialize_device"].__db__


@pytest.mark.slow
def test_multi_output_fusion_merges_updates_and_agrees():
    result = run_program("fusion_cpu_check.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("multi-output fusion agrees")


def test_multi_output_fusion_is_off_on_the_cpu(stack):
    from theano.compile import optdb
    assert "multi_output_fusion_pass" not in optdb.__db__
