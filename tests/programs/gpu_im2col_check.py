"""Run by tests/test_gpu_backend.py with the Python of the pygpu environment
(programs/in_gpu_env.sh): GpuIm2Col against the chain it replaces
(images2neibs, reshape, transpose, reshape), on Theano's GPU back end.
Columns of odd shapes, both modes, from views that are not contiguous (a
transpose, a flip), must be the same bit for bit, images of other sizes
refused; then the article's CNN's loss and gradients, with and without the
rewrite, identical. Prints 'gpu im2col agrees'.

    python tests/programs/gpu_im2col_check.py   (from the repository root)
"""
import os
import sys

sys.path[:0] = [os.getcwd(), os.path.join(os.getcwd(), "tests")]  # no PYTHONPATH here
import theano_today  # noqa: E402,F401  (first: makes the 2015 stack run on today's Python)

import numpy as np  # noqa: E402
import theano  # noqa: E402
import theano.tensor as T  # noqa: E402

from helpers import cnn_training_step  # noqa: E402
from theano_today.batched_conv import _columns  # noqa: E402

MODE = theano.compile.get_default_mode()


def ops(f):
    return [type(node.op).__name__ for node in f.maker.fgraph.toposort()]


def columns(c, kh, kw, oh, ow, mode, view):
    """The columns of view(x) both ways: (with GpuIm2Col, without)."""
    x = T.tensor4("x")
    cols = _columns(view(x), c, kh, kw, oh, ow, mode=mode)
    fast = theano.function([x], cols, mode=MODE)
    stock = theano.function([x], cols, mode=MODE.excluding("im2col"))
    assert "GpuIm2Col" in ops(fast) and "GpuIm2Col" not in ops(stock), (c, kh, kw, oh, ow, mode)
    return fast, stock


def bits(a):
    return np.ascontiguousarray(a).view("u4")


rng = np.random.RandomState(0)
views = {"plain": lambda x: x, "transposed": lambda x: x.dimshuffle(0, 1, 3, 2),
         "flipped": lambda x: x[:, :, ::-1, ::-1]}
for (n, c, h, w), (kh, kw) in [((3, 2, 7, 6), (3, 2)), ((2, 5, 4, 9), (2, 2)),
                               ((1, 3, 4, 5), (3, 3))]:
    for mode in ("valid", "full"):
        for name, view in views.items():
            vh, vw = (w, h) if name == "transposed" else (h, w)
            grow = 1 if mode == "full" else -1
            oh, ow = vh + grow * (kh - 1), vw + grow * (kw - 1)
            fast, stock = columns(c, kh, kw, oh, ow, mode, view)
            data = rng.randn(n, c, h, w).astype("float32")
            data[0, 0, 0, :2] = [np.nan, -0.0]
            got, want = fast(data), stock(data)
            assert got.shape == want.shape == (n * oh * ow, c * kh * kw), (got.shape, want.shape)
            assert np.array_equal(bits(got), bits(want)), (n, c, h, w, kh, kw, mode, name)
        # images of another size or channel count: the chain's reshape
        # refuses them, GpuIm2Col too
        for other in [(n, c, h + 1, w), (n, c + 1, h, w)]:
            try:
                fast(rng.randn(*other).astype("float32"))
            except ValueError as error:
                assert "GpuIm2Col" in str(error), error
            else:
                raise AssertionError("GpuIm2Col took images of %s" % (other,))

inputs, outputs = cnn_training_step(T)
fast = theano.function(inputs, outputs, mode=MODE)
stock = theano.function(inputs, outputs, mode=MODE.excluding("im2col"))
assert ops(fast).count("GpuIm2Col") == 4 and "GpuIm2Col" not in ops(stock), ops(fast)
X = (rng.rand(16, 1, 32, 32) - 0.5).astype("float32")
Y = rng.randint(0, 10, 16).astype("int32")
for got, want in zip(fast(X, Y), stock(X, Y)):
    assert np.array_equal(bits(np.asarray(got)), bits(np.asarray(want)))
print("gpu im2col agrees")
