"""theano_today's speed-ups (pooling, bias_add, corrmm, conv_blocks, parallel_dot,
batched_conv, fusion): each gives the numbers of Theano's stock implementation."""
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
    pool_args.setdefault("ignore_border", True)
    grad = T.grad((pool_2d(x, **pool_args) * w).sum(), x)
    mode = theano.compile.get_default_mode()
    return (theano.function([x, w], grad, mode=mode),
            theano.function([x, w], grad, mode=mode.excluding("pooling")))


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


@pytest.mark.parametrize("pool_args", [dict(ws=(2, 2), stride=(1, 1)),
                                       dict(ws=(2, 2), pad=(1, 1)),
                                       dict(ws=(2, 2), ignore_border=False)])
def test_overlapping_padded_or_partial_pooling_keeps_theanos_ops(theano_parts, pool_args):
    theano, T, pool_2d = theano_parts
    fast, _ = pool_grad_functions(theano, T, pool_2d, **pool_args)
    names = op_names(fast)
    assert "MaxPoolGrad" in names and "Pool" in names
    assert not {"FastMaxPoolGrad", "FastMaxPool"} & set(names)


@pytest.mark.parametrize("shape, ws", [((128, 16, 30, 30), (2, 2)),
                                       ((3, 2, 7, 9), (2, 2)), ((2, 3, 7, 9), (3, 2))])
def test_fast_max_pool_equals_theano(theano_parts, shape, ws):
    theano, T, pool_2d = theano_parts
    x = T.tensor4("x")
    pooled = pool_2d(x, ws=ws, ignore_border=True)
    mode = theano.compile.get_default_mode()
    fast = theano.function([x], pooled, mode=mode)
    stock = theano.function([x], pooled, mode=mode.excluding("pooling"))
    assert "FastMaxPool" in op_names(fast) and "Pool" not in op_names(fast)
    assert "Pool" in op_names(stock)
    data = np.random.RandomState(2).randn(*shape).astype(theano.config.floatX)
    got = fast(data)
    assert got.shape == (shape[0], shape[1], shape[2] // ws[0], shape[3] // ws[1])
    np.testing.assert_array_equal(got, stock(data))


# --- exact in the corner cases, on the C and the Python path ------------------
# "Exact" is defined in theano_today/pooling.py: what stock Theano's C code
# gives, bit for bit, on both paths of the fast ops.

def bits(a):
    """a's bytes as unsigned integers: equal only where a is equal bit for
    bit (0.0 and -0.0 differ, a NaN equals itself)."""
    a = np.ascontiguousarray(a)
    return a.view("u%d" % a.dtype.itemsize)


def corner_values(shape, seed):
    """Random float32 values, a third of them NaN, inf, -inf, 0.0, -0.0 or
    1.0 (ties), so that windows hold them first, later, and several times."""
    rng = np.random.RandomState(seed)
    x = rng.randn(*shape).astype("float32")
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0], dtype="float32")
    mask = rng.rand(*shape) < 0.35
    x[mask] = special[rng.randint(0, len(special), mask.sum())]
    return x


@pytest.fixture(scope="module")
def c_and_py(theano_parts):
    """Theano's default mode (C code) and the same optimizations with the
    Python linker, which runs every op's perform."""
    theano = theano_parts[0]
    return {"c": theano.compile.get_default_mode(),
            "py": theano.compile.Mode(linker="py", optimizer="fast_run")}


@pytest.mark.parametrize("shape, ws", [((2, 3, 7, 9), (2, 2)), ((3, 2, 8, 7), (3, 2))])
def test_fast_max_pool_is_exact_on_both_paths(theano_parts, c_and_py, shape, ws):
    theano, T, pool_2d = theano_parts
    x = T.tensor4("x")
    pooled = pool_2d(x, ws=ws, ignore_border=True)
    compiled = lambda mode: theano.function([x], pooled, mode=mode)
    data = corner_values(shape, seed=5)
    want = compiled(c_and_py["c"].excluding("pooling"))(data)
    for mode in c_and_py.values():
        fast = compiled(mode)
        assert "FastMaxPool" in op_names(fast)
        np.testing.assert_array_equal(bits(fast(data)), bits(want))
    # the data has windows that start with a NaN (their maximum is NaN) and
    # windows with a NaN further on (passed over)
    n, c, h, w = shape
    zh, zw = h // ws[0], w // ws[1]
    windows = data[:, :, :zh * ws[0], :zw * ws[1]].reshape(n, c, zh, ws[0], zw, ws[1])
    assert np.isnan(windows).any(axis=(3, 5)).sum() > np.isnan(want).sum() > 0
    # Stock Theano's Python Pool (np.max) lets those later NaNs win: the one
    # place where stock differs from its C code. Without NaN it agrees.
    stock_py = compiled(c_and_py["py"].excluding("pooling"))
    assert np.isnan(stock_py(data)).sum() > np.isnan(want).sum()
    no_nan = np.where(np.isnan(data), np.float32(2.0), data)
    np.testing.assert_array_equal(bits(compiled(c_and_py["py"])(no_nan)), bits(stock_py(no_nan)))


@pytest.mark.parametrize("shape, ws", [((2, 3, 7, 9), (2, 2)), ((3, 2, 8, 7), (3, 2))])
def test_fast_max_pool_grad_is_exact_on_both_paths(theano_parts, c_and_py, shape, ws):
    """MaxPoolGrad on its own, with a gradient of NaN, inf and -0.0 and a
    maximum that is NaN where the window starts with one."""
    theano, T, pool_2d = theano_parts
    from theano.tensor.signal.pool import MaxPoolGrad
    x, z, gz = T.tensor4("x"), T.tensor4("z"), T.tensor4("gz")
    gx = MaxPoolGrad(ndim=2, ignore_border=True)(x, z, gz, ws, ws, (0, 0))
    data = corner_values(shape, seed=6)
    maxima = theano.function([x], pool_2d(x, ws=ws, ignore_border=True))(data)
    grads = corner_values(maxima.shape, seed=7)
    results = {}
    for path, mode in c_and_py.items():
        for name, m in [("fast", mode), ("stock", mode.excluding("pooling"))]:
            f = theano.function([x, z, gz], gx, mode=m)
            assert ("FastMaxPoolGrad" in op_names(f)) == (name == "fast")
            results[name, path] = f(data, maxima, grads)
    want = results["stock", "c"]
    for got in results.values():
        np.testing.assert_array_equal(bits(got), bits(want))
    # the corner cases were there: -0.0 gradients became 0.0, NaN ones
    # reached only inputs equal to their maximum
    hits = np.isin(bits(grads), bits(np.float32([-0.0, np.nan]))).any()
    assert hits and not np.signbit(want[want == 0]).any()
    assert np.isnan(want).sum() < np.isnan(grads).sum() * ws[0] * ws[1]


def pooling_agrees_with_stock(theano_parts, c_and_py, ws, data, weights):
    """Pooling and its gradient in one graph, as in a training step, on the C
    and the Python path: bit for bit what stock Theano's C code gives, which
    is returned (pooled, gradient)."""
    theano, T, pool_2d = theano_parts
    x, w = T.tensor4("x"), T.tensor4("w")
    pooled = pool_2d(x, ws=ws, ignore_border=True)
    outputs = [pooled, T.grad((pooled * w).sum(), x)]
    want = theano.function([x, w], outputs, mode=c_and_py["c"].excluding("pooling"))(
        data, weights)
    for mode in c_and_py.values():
        fast = theano.function([x, w], outputs, mode=mode)
        assert {"FastMaxPool", "FastMaxPoolGrad"} <= set(op_names(fast))
        for got, expected in zip(fast(data, weights), want):
            np.testing.assert_array_equal(bits(got), bits(expected))
    return want


@pytest.mark.parametrize("shape, ws", [((2, 3, 7, 9), (2, 2)), ((3, 2, 8, 7), (3, 2)),
                                       ((2, 2, 1, 3), (2, 2))])  # no whole window
def test_pooling_and_its_gradient_are_exact_on_both_paths(theano_parts, c_and_py, shape, ws):
    """With NaN, inf, ties and -0.0 in the images and in the gradient."""
    n, c, h, w = shape
    want = pooling_agrees_with_stock(theano_parts, c_and_py, ws, corner_values(shape, seed=10),
                                     corner_values((n, c, h // ws[0], w // ws[1]), seed=11))
    if want[0].size:  # the corner cases were there
        assert np.isnan(want[1]).any() and (want[1] == 0).any()


@pytest.mark.parametrize("ws", [(1, 2), (1, 4096)])
def test_pooling_a_long_signal(theano_parts, c_and_py, ws):
    """A 1-d signal of 2**20 + 1 float32 values, pooled as N x C x 1 x L:
    rows of any length (once a crash of the process), and windows wider than
    the stack buffers the gradient once had."""
    length = 2 ** 20 + 1
    pooling_agrees_with_stock(theano_parts, c_and_py, ws,
                              corner_values((1, 2, 1, length), seed=8),
                              corner_values((1, 2, 1, length // ws[1]), seed=9))


@pytest.mark.parametrize("border_mode, subsample, dilation, sizes", [
    ("valid", (1, 1), (1, 1), (3, 2, 7, 6, 4, 3, 2)),
    ("full", (1, 1), (1, 1), (3, 2, 7, 6, 4, 3, 2)),
    ("half", (1, 1), (1, 1), (3, 2, 7, 6, 4, 3, 3)),
    ((1, 2), (1, 1), (1, 1), (2, 3, 5, 4, 2, 2, 3)),
    ("valid", (1, 1), (1, 1), (2, 3, 5, 5, 2, 5, 5)),     # one patch per image
    ((1, 2), (2, 2), (1, 1), (3, 2, 9, 8, 4, 3, 2)),      # strided: Theano's loops
    ("valid", (1, 1), (2, 2), (3, 2, 9, 8, 4, 2, 2))])    # dilated: Theano's loops
def test_corrmm_copies_are_exact(theano_parts, border_mode, subsample, dilation, sizes):
    """A convolution and both its gradients, padded or not, with NaN and
    -0.0 among the images: identical bit for bit with and without."""
    theano, T, _ = theano_parts
    from theano.tensor.nnet import conv2d
    n, c, h, w, f, kh, kw = sizes
    x, k, g = T.tensor4("x"), T.tensor4("k"), T.tensor4("g")
    out = conv2d(x, k, border_mode=border_mode, subsample=subsample, filter_dilation=dilation)
    outputs = [out] + T.grad((out * g).sum(), [x, k])
    mode = theano.compile.get_default_mode().excluding("conv_blocks")  # not exact: below
    fast = theano.function([x, k, g], outputs, mode=mode)
    stock = theano.function([x, k, g], outputs, mode=mode.excluding("corrmm"))
    assert {"FastCorrMM", "FastCorrMM_gradWeights", "FastCorrMM_gradInputs"} <= set(op_names(fast))
    assert not any(name.startswith("Fast") for name in op_names(stock))
    rng = np.random.RandomState(12)
    data = [corner_values((n, c, h, w), seed=13), rng.randn(f, c, kh, kw).astype("float32")]
    data.append(rng.randn(*theano.function([x, k], out.shape)(*data)).astype("float32"))
    for got, want in zip(fast(*data), stock(*data)):
        np.testing.assert_array_equal(bits(got), bits(want))


def blocks_take(m, n, k):
    """Whether conv_blocks's C code takes a product of sgemm_'s sizes m, n, k."""
    from theano_today.conv_blocks import SMALL_OPERAND
    return m * k <= SMALL_OPERAND and n * k <= SMALL_OPERAND


@pytest.mark.parametrize("border_mode, subsample, sizes, kind", [
    ("valid", (1, 1), (128, 1, 32, 32, 16, 3, 3), None),    # the article's three layers
    ("valid", (1, 1), (128, 16, 15, 15, 32, 2, 2), None),
    ("valid", (1, 1), (128, 32, 7, 7, 64, 2, 2), None),
    ("valid", (1, 1), (3, 2, 7, 6, 4, 3, 2), None),         # partial blocks everywhere
    ("full", (1, 1), (3, 5, 19, 37, 9, 3, 2), None),
    ("half", (1, 1), (2, 3, 9, 17, 20, 3, 3), None),
    ((1, 2), (2, 2), (3, 2, 9, 8, 4, 3, 2), None),          # strided: Theano's copies
    ("valid", (1, 1), (3, 4, 9, 8, 6, 3, 2), "groups"),     # 2 groups: offsets into operands
    ("valid", (1, 1), (3, 2, 7, 6, 4, 3, 2), "unshared"),   # products of one position
    ("valid", (1, 1), (2, 64, 66, 66, 64, 3, 3), None),     # too large for the blocks
    ("valid", (1, 1), (2, 256, 16, 16, 16, 1, 1), None),    # 256 x 256: at the limit
    ("valid", (1, 1), (2, 257, 16, 16, 16, 1, 1), None)])   # 257 x 256: the BLAS's
def test_conv_blocks_round_as_the_blas_does(theano_parts, monkeypatch, border_mode, subsample,
                                           sizes, kind):
    """A convolution and both its gradients, a few NaN and inf among the
    images: NaN and inf where the BLAS's products have them, every other
    value within float32 rounding of the exact sum (float64) as the BLAS's
    are; the products the blocks do not take are the BLAS's, bit for bit.
    (The blocks whatever the BLAS's kernels; where g++ does not target
    AVX-512, their C code is the BLAS's calls and the test shows nothing.)"""
    theano, T, _ = theano_parts
    from theano.tensor.nnet import conv2d
    from theano_today import conv_blocks
    monkeypatch.setattr(conv_blocks, "blas_keeps_products", lambda ldflags: None)
    n, c, h, w, f, kh, kw = sizes
    oh, ow = (h - kh) // subsample[0] + 1, (w - kw) // subsample[1] + 1  # unshared's filters
    groups = 2 if kind == "groups" else 1
    kshape = (f, oh, ow, c, kh, kw) if kind == "unshared" else (f, c // groups, kh, kw)

    def convolution(dtype):
        x, k, g = T.tensor4(dtype=dtype), T.TensorType(dtype, (False,) * len(kshape))(), \
            T.tensor4(dtype=dtype)
        out = conv2d(x, k, border_mode=border_mode, subsample=subsample, num_groups=groups,
                     unshared=kind == "unshared")
        return [x, k, g], [out] + T.grad((out * g).sum(), [x, k])

    inputs, outputs = convolution("float32")
    mode = theano.compile.get_default_mode()
    fast = theano.function(inputs, outputs, mode=mode)
    stock = theano.function(inputs, outputs, mode=mode.excluding("conv_blocks"))
    assert {"BlockedCorrMM", "BlockedCorrMM_gradWeights", "BlockedCorrMM_gradInputs"} <= set(
        op_names(fast)) and not any(name.startswith("Blocked") for name in op_names(stock))
    exact = theano.function(*convolution("float64"))
    rng = np.random.RandomState(sum(sizes))
    images = rng.randn(n, c, h, w).astype("float32")
    special = rng.rand(*images.shape) < 0.002
    images[special] = rng.choice(np.array([np.nan, np.inf, -np.inf], "float32"), special.sum())
    data = [images, rng.randn(*kshape).astype("float32")]
    data.append(rng.randn(*theano.function(inputs[:2], outputs[0].shape)(*data[:2]))
                .astype("float32"))
    sizes_of = exact(*[np.nan_to_num(abs(d.astype("float64")), posinf=0) for d in data])
    # per output: its sums' terms, and whether the blocks take its products
    # (sgemm_'s m, n, k as CorrMM calls it: positions N, filters M, columns K)
    N, M, K = data[2].shape[2] * data[2].shape[3], f // groups, c // groups * kh * kw
    outs = [(K, blocks_take(N, M, K)), (f * kh * kw, blocks_take(N, K, M)),
            (n * N, blocks_take(K, M, N))]
    for got, want, sums, size, (terms, taken) in zip(
            fast(*data), stock(*data), exact(*data), sizes_of, outs):
        if border_mode == "valid" and kind != "unshared" and not taken:
            np.testing.assert_array_equal(bits(got), bits(want))
        finite = np.isfinite(want)
        np.testing.assert_array_equal(got[~finite], want[~finite])  # a NaN's sign may differ
        # a sum of L products rounds by at most L * eps * (the sum of their sizes)
        bound = (terms + 2) * np.finfo("float32").eps * size[finite]
        assert np.all(abs(want[finite] - sums[finite]) <= bound)  # the BLAS's rounding
        assert np.all(abs(got[finite] - sums[finite]) <= bound)


@pytest.mark.parametrize("ldflags, core, keeps", [
    ("", None, None),                        # Theano's fallback BLAS
    ("-lopenblas", "Haswell", None),         # AVX2 kernels: the blocks take the products
    ("-lopenblas", "Prescott", None),
    ("-lopenblas", "SkylakeX", "its own AVX-512 kernels, core type SkylakeX"),
    ("-lopenblas", "SapphireRapids", "its own AVX-512 kernels, core type SapphireRapids"),
    ("-lmkl_rt", None, "a BLAS other than OpenBLAS: blas.ldflags=-lmkl_rt")])
def test_the_blas_keeps_the_products_where_its_own_kernels_are_avx512(
        theano_parts, monkeypatch, ldflags, core, keeps):
    from theano_today import blas, conv_blocks
    monkeypatch.setattr(blas, "openblas_info",
                        lambda flags: None if core is None else {"core": core})
    conv_blocks.blas_keeps_products.cache_clear()
    try:
        assert conv_blocks.blas_keeps_products(ldflags) == keeps
    finally:
        conv_blocks.blas_keeps_products.cache_clear()


@pytest.mark.slow
@pytest.mark.parametrize("flags, says", [
    ("", None),
    ("blas.ldflags=", None),   # Theano's fallback BLAS: the blocks take its products
    ("gcc.cxxflags=-march=x86-64-v3", "the BLAS (g++ does not target AVX-512 here)")])
def test_conv_blocks_say_where_the_products_run(theano_parts, flags, says):
    """Where g++ targets AVX-512 (this machine, if its CPU has it) and the
    BLAS leaves them, the blocks compute the products, and round otherwise
    than the BLAS; for a CPU without it (AVX2: x86-64-v3), the C code is the
    BLAS's calls again."""
    theano = theano_parts[0]
    from theano_today import conv_blocks
    env = {"THEANO_FLAGS": flags} if flags else None
    result = run_program("conv_blocks_check.py", env=env)
    assert result.returncode == 0, result.stderr
    where, outcome = result.stdout.split("\n")[-3:-1]
    if says is None:
        ldflags = "" if flags == "blas.ldflags=" else theano.config.blas.ldflags
        keeps = conv_blocks.blas_keeps_products(ldflags)
        says = ("the BLAS (g++ does not target AVX-512 here)"
                if "avx512f" not in open("/proc/cpuinfo").read()
                else "the BLAS (%s)" % keeps if keeps else "conv_blocks's AVX-512 blocks")
    assert where == says
    assert outcome == ("differ" if "blocks" in where else "identical")


def bias_add_function(theano, T, mode, layout):
    """x + b.dimshuffle('x', 0, 'x', 'x') as a conv layer adds its bias, on
    x as given ("plain"), on a transposed view of it (not contiguous), or
    over x itself where x is a mutable input ("in place", both layouts)."""
    x, b = T.tensor4("x"), T.vector("b")
    view = x.dimshuffle(0, 1, 3, 2) if "transposed" in layout else x
    inputs = [theano.In(x, mutable=True) if "in place" in layout else x, b]
    return theano.function(inputs, view + b.dimshuffle("x", 0, "x", "x"), mode=mode)


@pytest.mark.parametrize("layout", ["plain", "transposed", "in place", "in place, transposed"])
def test_bias_add_is_exact_on_both_paths(theano_parts, c_and_py, layout):
    theano, T, _ = theano_parts
    data = [corner_values((3, 4, 5, 6), seed=10), corner_values((4,), seed=11)]
    stock = bias_add_function(theano, T, c_and_py["c"].excluding("bias_add"), layout)
    want = stock(data[0].copy(), data[1])
    assert np.isnan(want).any() and np.isinf(want).any()
    for mode in c_and_py.values():
        f = bias_add_function(theano, T, mode, layout)
        [node] = [n for n in f.maker.fgraph.toposort() if type(n.op).__name__ == "BiasAdd"]
        assert node.op.inplace == ("in place" in layout)
        x = data[0].copy()
        np.testing.assert_array_equal(bits(f(x, data[1])), bits(want))
        if layout == "plain":  # not in place: the input is left alone
            np.testing.assert_array_equal(bits(x), bits(data[0]))


@pytest.mark.parametrize("mode_name", ["c", "py"])
def test_bias_add_of_the_wrong_length_is_refused(theano_parts, c_and_py, mode_name):
    theano, T, _ = theano_parts
    f = bias_add_function(theano, T, c_and_py[mode_name], "plain")
    with pytest.raises(ValueError, match="3 channels but 2 biases"):
        f(np.zeros((1, 3, 2, 2), "float32"), np.zeros(2, "float32"))


@pytest.mark.parametrize("make", [lambda T, x, v: x + x[:, :1],          # bias of axis 1 missing
                                  lambda T, x, v: x + v.dimshuffle("x", "x", 0, "x"),
                                  lambda T, x, v: x + T.cast(v, "float64").dimshuffle(
                                      "x", 0, "x", "x")])
def test_other_additions_keep_theanos_elemwise(theano_parts, make):
    theano, T, _ = theano_parts
    x, v = T.tensor4("x"), T.vector("v")
    f = theano.function([x, v], make(T, x, v), on_unused_input="ignore")
    assert "BiasAdd" not in op_names(f) and "Elemwise" in op_names(f)


def test_speedups_leave_the_cnn_training_step_unchanged(theano_parts):
    """Loss and every gradient of the article's CNN: identical, bit for bit
    (the exact speed-ups; bias_grad, conv_blocks and parallel_dot round as
    BLAS does, below)."""
    theano, T, _ = theano_parts
    inputs, outputs = cnn_training_step(T)
    mode = theano.compile.get_default_mode().excluding("conv_blocks")  # rounds as BLAS does
    fast = theano.function(inputs, outputs, mode=mode)
    stock = theano.function(inputs, outputs, mode=mode.excluding("pooling", "bias_add", "corrmm"))
    ours = {"FastMaxPool", "FastMaxPoolGrad", "BiasAdd", "FastCorrMM", "FastCorrMM_gradWeights",
            "FastCorrMM_gradInputs"}
    assert ours <= set(op_names(fast)) and not ours & set(op_names(stock))
    assert op_names(fast).count("BiasAdd") == 3  # one per conv layer
    rng = np.random.RandomState(3)
    X = (rng.rand(64, 1, 32, 32) - 0.5).astype("float32")
    Y = rng.randint(0, 10, 64).astype("int32")
    for got, want in zip(fast(X, Y), stock(X, Y)):
        np.testing.assert_array_equal(got, want)


def dot_functions(theano, T, dtype, transposed, alpha):
    """alpha * dot(x, y), x and y given or read transposed, compiled with and
    without parallel_dot; and the bound of float rounding for (X, Y)."""
    x, y = T.matrix(dtype=dtype), T.matrix(dtype=dtype)
    ex, ey = (v.T if t else v for v, t in zip((x, y), transposed))
    product = alpha * T.dot(ex, ey) if alpha != 1 else T.dot(ex, ey)
    mode = theano.compile.get_default_mode()
    fast = theano.function([x, y], product, mode=mode)
    stock = theano.function([x, y], product, mode=mode.excluding("parallel_dot"))

    def bound(X, Y):  # k * eps * |alpha| * (|x| |y|): the rounding of a sum of k products
        X, Y = (V.T if t else V for V, t in zip((X, Y), transposed))
        return X.shape[1] * np.finfo(dtype).eps * abs(alpha) * np.dot(abs(X), abs(Y))
    return fast, stock, bound


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(128, 1024, 100), (1024, 128, 100), (128, 576, 200),
                                   (3, 5, 7), (97, 300, 1), (1, 300, 200)])
@pytest.mark.parametrize("transposed", [(False, False), (True, False), (False, True), (True, True)])
def test_parallel_dot_equals_theanos_product(theano_parts, dtype, shape, transposed):
    theano, T, _ = theano_parts
    m, k, n = shape
    alpha = 0.01 if transposed[0] else 1  # Dot22Scalar, as in a weight gradient; Dot22
    fast, stock, bound = dot_functions(theano, T, dtype, transposed, alpha)
    assert "ParallelDot" in op_names(fast) and "ParallelDot" not in op_names(stock)
    rng = np.random.RandomState(sum(shape))
    X = rng.randn(*((k, m) if transposed[0] else (m, k))).astype(dtype)
    Y = rng.randn(*((n, k) if transposed[1] else (k, n))).astype(dtype)
    got, want = fast(X, Y), stock(X, Y)
    assert got.shape == want.shape == (m, n) and got.dtype == want.dtype
    # rows split over threads: each value the same sum, up to the BLAS's rounding
    assert np.all(abs(got - want) <= bound(X, Y))
    assert np.allclose(got, alpha * np.dot(X.T if transposed[0] else X,
                                          Y.T if transposed[1] else Y),
                       rtol=1e-4 if dtype == "float32" else 1e-10, atol=1e-4)


def test_parallel_dot_reads_strided_views_and_refuses_bad_shapes(theano_parts):
    theano, T, _ = theano_parts
    from theano_today.parallel_dot import ParallelDot
    x, y = T.matrix(), T.matrix()
    f = theano.function([x, y], ParallelDot()(x[::2, ::3], y, np.float32(2)))
    rng = np.random.RandomState(1)
    X, Y = rng.rand(256, 300).astype("float32"), rng.rand(100, 40).astype("float32")
    np.testing.assert_allclose(f(X, Y), 2 * np.dot(X[::2, ::3], Y), rtol=1e-5)
    with pytest.raises(ValueError, match="do not multiply"):
        f(X, Y[:99])


def test_parallel_dot_trains_the_cnn_as_theanos_products(theano_parts):
    """Loss and every gradient of the article's CNN with and without it: to float32 rounding."""
    theano, T, _ = theano_parts
    inputs, outputs = cnn_training_step(T)
    mode = theano.compile.get_default_mode()
    fast = theano.function(inputs, outputs, mode=mode)
    stock = theano.function(inputs, outputs, mode=mode.excluding("parallel_dot"))
    assert op_names(fast).count("ParallelDot") == 6 and "ParallelDot" not in op_names(stock)
    rng = np.random.RandomState(3)
    X = (rng.rand(64, 1, 32, 32) - 0.5).astype("float32")
    Y = rng.randint(0, 10, 64).astype("int32")
    got, want = fast(X, Y), stock(X, Y)
    assert len(got) == len(want) == 11  # the loss, then a weight and a bias per layer (5)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-6)


def test_batched_conv_columns_are_im2col(theano_parts):
    theano, T, _ = theano_parts
    from theano_today.batched_conv import _columns
    n, c, h, w, kh, kw = 3, 2, 6, 5, 3, 2
    oh, ow = h - kh + 1, w - kw + 1
    img = np.random.RandomState(4).randn(n, c, h, w).astype("float32")
    x = T.tensor4()
    got = theano.function([x], _columns(x, c, kh, kw, oh, ow))(img)
    # row (image, output row, output column), column (channel, filter row, filter column)
    want = np.array([[img[b, ch, i + a, j + e] for ch in range(c) for a in range(kh)
                      for e in range(kw)]
                     for b in range(n) for i in range(oh) for j in range(ow)])
    np.testing.assert_array_equal(got, want)



@pytest.mark.parametrize("image_shape_known, flip, c", [(True, True, 2), (False, False, 2),
                                                       (True, True, 1)])
def test_batched_conv_rewrites_equal_theanos_convolution(theano_parts, image_shape_known, flip,
                                                         c):
    """Outside the article's shapes: a 3x2 filter, odd sizes, filter_flip
    both ways, an op that does not know the image's sizes (the reshapes
    then take them from the graph), and one channel (the patches are then
    the columns). Each rewrite applied by hand, as it is registered on the
    GPU only."""
    theano, T, _ = theano_parts
    from theano.tensor.nnet import conv2d
    from theano_today import batched_conv
    n, h, w, f, kh, kw = 3, 7, 6, 4, 3, 2
    x, k, g = T.tensor4("x"), T.tensor4("k"), T.tensor4("g")
    out = conv2d(x, k, input_shape=(None, c, h, w) if image_shape_known else None,
                 filter_shape=(f, c, kh, kw), filter_flip=flip)
    stock = [out] + T.grad((out * g).sum(), [x, k])
    rewrites = (batched_conv.local_batched_conv, batched_conv.local_batched_conv_grad_weights,
                batched_conv.local_batched_conv_grad_inputs)
    replace = {}
    for node in theano.gof.graph.io_toposort([x, k, g], stock):
        for rewrite in rewrites:
            new = rewrite.transform(node)
            if new:
                replace[node.outputs[0]] = new[0]
    assert len(replace) == 3  # the convolution and its two gradients
    batched = theano.function([x, k, g], theano.clone(stock, replace=replace))
    assert not any("Corr" in name for name in op_names(batched))
    rng = np.random.RandomState(5)
    data = [rng.randn(n, c, h, w), rng.randn(f, c, kh, kw), rng.randn(n, f, h - kh + 1, w - kw + 1)]
    data = [d.astype(theano.config.floatX) for d in data]
    for got, want in zip(batched(*data), theano.function([x, k, g], stock)(*data)):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * abs(want).max())

@pytest.mark.slow
def test_batched_conv_equals_corrmm_with_gradients():
    result = run_program("batched_conv_check.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("batched conv agrees")


@pytest.mark.slow
def test_multi_output_fusion_merges_updates_and_agrees():
    result = run_program("fusion_cpu_check.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("multi-output fusion agrees")
