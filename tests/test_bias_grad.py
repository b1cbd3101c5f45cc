"""theano_today.bias_grad: a conv layer's bias gradient as two products with
ones vectors, summed in float32, within the float32 bound of the float64 sums."""
import numpy as np
import pytest

from helpers import cnn_training_step


@pytest.fixture(scope="module")
def theano(stack):
    import theano
    return theano


def op_names(f):
    return [str(node.op) for node in f.maker.fgraph.toposort()]


def channel_sums(theano, dtype):
    """x.sum(axis=(0, 2, 3)) compiled with and without bias_grad_dot: what
    Theano makes of a conv layer's bias gradient."""
    x = theano.tensor.tensor4("x", dtype=dtype)
    mode = theano.compile.get_default_mode()
    sums = x.sum(axis=[0, 2, 3])
    return (theano.function([x], sums, mode=mode),
            theano.function([x], sums, mode=mode.excluding("bias_grad")))


def summing_bound(x, eps):
    """How far per-channel sums of x can be from the exact ones when each
    image's channel (H*W values) is summed, then the N images, each addition
    rounded with relative error eps: at most (H*W + N) * eps * the sum of the
    absolute values (Higham, Accuracy and Stability, 4.2: recursive summation
    of m terms errs by at most (m - 1) * eps * sum |x_i|, to first order;
    BLAS's partial sums only shorten the chains), plus the final rounding."""
    n, _, h, w = x.shape
    abs_sums = np.abs(x.astype("float64")).sum(axis=(0, 2, 3))
    return (h * w + n) * eps * abs_sums + eps * abs_sums


@pytest.mark.parametrize("shape", [(128, 16, 30, 30), (128, 64, 6, 6), (3, 5, 7, 1),
                                   (1, 1, 1, 1), (0, 3, 4, 4)])
def test_float32_sums_within_rounding_of_float64(theano, shape):
    fast, stock = channel_sums(theano, "float32")
    assert not any("Sum" in name for name in op_names(fast))
    assert any("Gemv" in name for name in op_names(fast))
    assert "Sum{axis=[0, 2, 3], acc_dtype=float64}" in op_names(stock)
    rng = np.random.RandomState(0)
    # gradients of both signs around an offset: sums with cancellation
    x = (rng.randn(*shape) * 100 + 3).astype("float32")
    exact = x.astype("float64").sum(axis=(0, 2, 3))
    got = fast(x)
    assert got.dtype == np.float32 and got.shape == (shape[1],)
    eps = np.finfo(np.float32).eps / 2  # 2**-24, float32's unit roundoff
    assert np.all(np.abs(got - exact) <= summing_bound(x, eps))
    # stock Theano sums in float64: the exact sums, rounded once
    np.testing.assert_array_equal(stock(x), exact.astype("float32"))


def test_float64_sums_too(theano):
    fast, _ = channel_sums(theano, "float64")
    assert any("Gemv" in name for name in op_names(fast))
    x = np.random.RandomState(1).randn(16, 8, 9, 9)
    exact = np.array([np.sum(np.sort(x[:, c].ravel())) for c in range(8)])
    assert np.all(np.abs(fast(x) - exact) <= summing_bound(x, np.finfo(np.float64).eps / 2))


@pytest.mark.parametrize("make", [lambda T, x: x.sum(axis=[0, 2]),
                                  lambda T, x: x.sum(axis=[1, 2, 3]),
                                  lambda T, x: T.cast(x, "int32").sum(axis=[0, 2, 3])])
def test_other_sums_keep_theanos_op(theano, make):
    x = theano.tensor.tensor4("x")
    f = theano.function([x], make(theano.tensor, x))
    assert not any("Gemv" in name for name in op_names(f))
    assert any("Sum" in name for name in op_names(f))


def test_cnn_step_changes_only_the_bias_gradients(theano):
    T = theano.tensor
    inputs, outputs = cnn_training_step(T)
    mode = theano.compile.get_default_mode()
    fast = theano.function(inputs, outputs, mode=mode)
    stock = theano.function(inputs, outputs, mode=mode.excluding("bias_grad"))
    summed = lambda f: sum("Sum{axis=[0, 2, 3]" in name for name in op_names(f))
    assert summed(fast) == 0 and summed(stock) == 3  # one per conv layer
    rng = np.random.RandomState(2)
    X = (rng.rand(64, 1, 32, 32) - 0.5).astype("float32")
    Y = rng.randint(0, 10, 64).astype("int32")
    got, want = fast(X, Y), stock(X, Y)
    # the gradients come in Lasagne's parameter order: W, b per layer; the
    # conv layers' b are outputs 2, 4 and 6 (after the loss)
    for i, (g, w) in enumerate(zip(got, want)):
        if i in (2, 4, 6):
            assert g.shape == w.shape and g.ndim == 1
            # float32 sums of the float64 ones (bounded in the tests above);
            # these gradients have little cancellation: 1e-4 relative is
            # (H*W + N) * 2**-24 for H*W + N = 1,678, above the 964 summed here
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-7)
        else:
            np.testing.assert_array_equal(g, w)
