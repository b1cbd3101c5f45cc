"""Lasagne's development API (0.2.dev1) on top of Lasagne 0.1: its layers
(theano_today.lasagne_dev, lasagne_dev_conv) checked against its
documentation (shapes, values on small inputs, gradients), and a
batch-normalised CNN that trains. The break and its mend: every name and
argument the fix adds, used by tests/programs/lasagne_dev_api.py. Its
functions: test_lasagne_dev_functions.py; 0.1's classes' new arguments:
test_lasagne_dev_args.py."""
import numpy as np
import pytest

from helpers import bright_top_half, run_program

slow = pytest.mark.slow


@pytest.fixture(scope="module")
def api_break():
    return run_program("lasagne_dev_api.py")


@pytest.fixture(scope="module")
def api_mend():
    return run_program("lasagne_dev_api.py", "--fixed")


@slow
def test_break_lasagne_0_1_lacks_the_development_api(api_break):
    lines = api_break.stdout.splitlines()
    assert api_break.returncode == 0 and len(lines) > 50, api_break.stderr
    assert [line for line in lines if line.endswith(": ok")] == []
    for words in ("from lasagne.layers import BatchNormLayer: ImportError: cannot import name",
                  "from lasagne.layers import TransposedConv2DLayer: ImportError",
                  "from lasagne.nonlinearities import elu: ImportError",
                  "from lasagne.updates import adamax: ImportError",
                  "DenseLayer(num_leading_axes=2): TypeError",
                  "LSTMLayer(only_return_final=True): TypeError",
                  "squared_error(column, vector) is a column: AssertionError: a column and a "
                  "vector broadcast into (3, 3)"):
        assert [line for line in lines if line.startswith(words)], (words, lines)


@slow
def test_fix_lasagne_dev_api_is_all_there(api_break, api_mend):
    assert api_mend.returncode == 0, api_mend.stderr
    lines = api_mend.stdout.splitlines()
    assert [line for line in lines if not line.endswith(": ok")] == []
    assert [line.split(":")[0] for line in lines] == \
        [line.split(":")[0] for line in api_break.stdout.splitlines()]


def test_the_names_are_in_lasagnes_modules(stack):
    import lasagne.layers.conv
    from lasagne.layers import BatchNormLayer, ExpressionLayer, TransposedConv2DLayer
    from lasagne.objectives import multiclass_hinge_loss
    from theano_today import lasagne_dev, lasagne_dev_conv, lasagne_dev_functions
    assert ExpressionLayer is lasagne_dev.ExpressionLayer
    assert BatchNormLayer is lasagne.layers.normalization.BatchNormLayer
    assert TransposedConv2DLayer is lasagne_dev_conv.TransposedConv2DLayer
    assert multiclass_hinge_loss is lasagne_dev_functions.multiclass_hinge_loss
    star = {}
    exec("from lasagne.layers.conv import *", star)
    assert star["Deconv2DLayer"] is TransposedConv2DLayer


def evaluate(layer, *inputs, **kwargs):
    """layer's output (lasagne.layers.get_output with kwargs) for numpy
    inputs, one per input layer of the network, in the order of
    get_all_layers."""
    import theano
    from lasagne.layers import InputLayer, get_all_layers, get_output
    variables = [each.input_var for each in get_all_layers(layer)
                 if isinstance(each, InputLayer)]
    return theano.function(variables, get_output(layer, **kwargs),
                           on_unused_input="ignore")(*[np.asarray(x, "float32") for x in inputs])


@pytest.fixture
def bn(stack):
    import theano
    from lasagne.layers import BatchNormLayer, InputLayer, get_output

    def make(shape, **kwargs):
        layer = BatchNormLayer(InputLayer((None,) + shape[1:]), **kwargs)
        x = theano.tensor.TensorType(theano.config.floatX, (False,) * len(shape))()
        train = theano.function([x], get_output(layer, x))
        test = theano.function([x], get_output(layer, x, deterministic=True))
        return layer, train, test
    return make


def test_batch_norm_normalizes_each_feature_in_training(bn):
    rng = np.random.RandomState(0)
    X = (rng.rand(64, 3) * [1, 5, 10] + [0, -3, 7]).astype("float32")
    layer, train, _ = bn(X.shape, epsilon=1e-4)
    out = train(X)
    want = (X - X.mean(0)) / np.sqrt(X.var(0) + 1e-4)
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4)
    assert [p.name for p in layer.get_params(trainable=True)] == ["beta", "gamma"]
    assert [p.name for p in layer.get_params(trainable=False)] == ["mean", "inv_std"]
    assert [p.name for p in layer.get_params(regularizable=True)] == ["gamma"]


def test_batch_norm_running_averages_move_by_alpha_and_serve_deterministic_passes(bn):
    rng = np.random.RandomState(1)
    X = (rng.rand(32, 2) * 4 + 1).astype("float32")
    layer, train, test = bn(X.shape, alpha=0.25, epsilon=0.0)
    before = test(X)
    np.testing.assert_allclose(before, X)  # mean 0, inv_std 1, gamma 1, beta 0 at first
    train(X)
    np.testing.assert_allclose(layer.mean.get_value(), 0.25 * X.mean(0), rtol=1e-5)
    np.testing.assert_allclose(layer.inv_std.get_value(),
                               0.75 + 0.25 / X.std(0), rtol=1e-5)
    np.testing.assert_allclose(test(X), (X - layer.mean.get_value()) * layer.inv_std.get_value(),
                               rtol=1e-5)
    test(X)  # a deterministic pass leaves them alone
    np.testing.assert_allclose(layer.mean.get_value(), 0.25 * X.mean(0), rtol=1e-5)


def test_batch_norm_scales_shifts_and_finds_the_axes_of_a_conv_layer(bn):
    rng = np.random.RandomState(2)
    X = rng.randn(8, 3, 5, 4).astype("float32")
    layer, train, _ = bn(X.shape, beta=np.array([1, 2, 3], "float32"),
                         gamma=np.array([2, 1, 0.5], "float32"))
    assert layer.axes == (0, 2, 3) and layer.mean.get_value().shape == (3,)
    out = train(X)
    norm = (X - X.mean((0, 2, 3), keepdims=True)) / np.sqrt(X.var((0, 2, 3), keepdims=True) + 1e-4)
    want = norm * np.array([2, 1, 0.5]).reshape(1, 3, 1, 1) + np.array([1, 2, 3]).reshape(1, 3, 1, 1)
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4)
    layer2, train2, _ = bn(X.shape, beta=None, gamma=None)
    assert layer2.get_params(trainable=True) == []
    np.testing.assert_allclose(train2(X), norm, rtol=1e-4, atol=1e-4)


def test_batch_norm_gradients_are_right(stack):
    import theano
    from lasagne.layers import BatchNormLayer, InputLayer, get_output
    layer = BatchNormLayer(InputLayer((None, 3)), gamma=np.array([1.5, 0.5, 2.0]))
    rng = np.random.RandomState(3)
    theano.gradient.verify_grad(  # batch statistics, the running ones left alone
        lambda x: (get_output(layer, x, batch_norm_update_averages=False)
                   * np.arange(1.0, 4.0)).sum(axis=1),
        [rng.randn(6, 3)], rng=rng, abs_tol=1e-3, rel_tol=1e-3)


def test_batch_norm_refuses_an_unknown_feature_size(stack):
    from lasagne.layers import BatchNormLayer, InputLayer
    with pytest.raises(ValueError, match="size of every axis"):
        BatchNormLayer(InputLayer((None, None)))


def test_batch_norm_helper_takes_out_bias_and_nonlinearity(stack):
    from lasagne.layers import (BatchNormLayer, DenseLayer, InputLayer, NonlinearityLayer,
                                batch_norm, get_all_params)
    from lasagne.nonlinearities import identity, rectify
    dense = DenseLayer(InputLayer((None, 5)), 4, name="fc", nonlinearity=rectify)
    out = batch_norm(dense)
    assert isinstance(out, NonlinearityLayer) and out.nonlinearity is rectify
    assert isinstance(out.input_layer, BatchNormLayer) and out.input_layer.input_layer is dense
    assert (out.name, out.input_layer.name) == ("fc_bn_nonlin", "fc_bn")
    assert dense.b is None and dense.nonlinearity is identity
    assert [p.name for p in get_all_params(out)] == ["fc.W", "fc_bn.beta", "fc_bn.gamma",
                                                     "fc_bn.mean", "fc_bn.inv_std"]
    # a linear layer's nonlinearity is identity: it follows the BatchNormLayer too
    linear = batch_norm(DenseLayer(InputLayer((None, 5)), 4, nonlinearity=None))
    assert linear.nonlinearity is identity and linear.name is None
    assert isinstance(linear.input_layer, BatchNormLayer)


# --- special-purpose layers ----------------------------------------------------------


def test_bias_and_scale_layers_share_their_parameters_over_the_documented_axes(stack):
    from lasagne.layers import BiasLayer, InputLayer, ScaleLayer
    assert BiasLayer((20, 30, 40, 50), shared_axes=(0, 2)).b.get_value().shape == (30, 50)
    assert ScaleLayer((20, 30, 40, 50), shared_axes=(0, 2)).scales.get_value().shape == (30, 50)
    x = np.random.RandomState(0).randn(2, 3, 4, 5)
    b, s = np.array([1., 2., 3.]), np.array([-1., 0.5, 2.])
    bias, scale = BiasLayer(InputLayer((None, 3, 4, 5)), b=b), \
        ScaleLayer(InputLayer((None, 3, 4, 5)), scales=s)
    np.testing.assert_allclose(evaluate(bias, x), x + b.reshape(1, 3, 1, 1), rtol=1e-6)
    np.testing.assert_allclose(evaluate(scale, x), x * s.reshape(1, 3, 1, 1), rtol=1e-6)
    assert bias.get_params(regularizable=True) == [] and len(bias.get_params(trainable=True)) == 1
    assert scale.get_params(regularizable=True) == []
    nothing = BiasLayer(InputLayer((None, 3)), b=None)
    assert nothing.get_params() == []
    np.testing.assert_allclose(evaluate(nothing, x[:, :, 0, 0]), x[:, :, 0, 0], rtol=1e-6)


def test_standardize_applies_a_fixed_offset_and_scale(stack):
    import theano
    from lasagne.layers import InputLayer, get_all_params, standardize
    data = np.random.RandomState(1).randn(100, 20)
    low, high = data.min(axis=0), data.max(axis=0)
    layer = standardize(InputLayer((None, 20)), low, high - low, shared_axes=0)
    out = evaluate(layer, data)
    np.testing.assert_allclose(out.min(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out.max(axis=0), 1, atol=1e-5)
    assert len(get_all_params(layer)) == 2 and get_all_params(layer, trainable=True) == []
    with pytest.raises(TypeError, match="numpy arrays"):
        standardize(InputLayer((None, 20)), theano.shared(low), high - low, shared_axes=0)


def test_expression_layer_applies_its_function_and_finds_its_shape(stack):
    from lasagne.layers import ExpressionLayer, InputLayer
    l_in = InputLayer((32, 100, 20))
    assert ExpressionLayer(l_in, lambda X: X.mean(-1), output_shape="auto").output_shape \
        == (32, 100)  # the documentation's example
    assert ExpressionLayer(l_in, lambda X: 2 * X).output_shape == (32, 100, 20)
    assert ExpressionLayer(l_in, lambda X: X[:, 0], output_shape=(32, 20)).output_shape == (32, 20)
    assert ExpressionLayer(l_in, lambda X: X.T, output_shape=lambda s: s[::-1]).output_shape \
        == (20, 100, 32)
    unknown = ExpressionLayer(InputLayer((None, 4)), lambda X: X[:, :2], output_shape="auto")
    assert unknown.output_shape == (None, 2)
    x = np.arange(8.).reshape(2, 4)
    np.testing.assert_allclose(evaluate(unknown, x), x[:, :2])


def test_inverse_layer_is_the_transpose_of_a_dense_layer_through_its_nonlinearity(stack):
    from lasagne.layers import DenseLayer, InputLayer, InverseLayer, get_all_params
    from lasagne.nonlinearities import rectify
    rng = np.random.RandomState(2)
    W, b, x = rng.randn(5, 3).astype("float32"), rng.randn(3).astype("float32"), rng.randn(4, 5)
    dense = DenseLayer(InputLayer((None, 5)), 3, W=W, b=b, nonlinearity=rectify)
    inverse = InverseLayer(dense, dense)
    assert inverse.output_shape == (None, 5) and get_all_params(inverse) == [dense.W, dense.b]
    y = np.maximum(x.dot(W) + b, 0)
    want = (y * (x.dot(W) + b > 0)).dot(W.T)  # rectify's derivative, then W transposed
    np.testing.assert_allclose(evaluate(inverse, x), want, rtol=1e-5, atol=1e-6)


def test_inverse_layer_of_max_pooling_unpools(stack):
    from lasagne.layers import InputLayer, InverseLayer, MaxPool2DLayer
    x = np.array([[1, 5, 0, 2], [3, 4, 7, 1], [0, 1, 2, 2], [9, 0, 3, 1]], "float32")
    pool = MaxPool2DLayer(InputLayer((None, 1, 4, 4)), 2)
    unpooled = evaluate(InverseLayer(pool, pool), x.reshape(1, 1, 4, 4))
    want = np.zeros((4, 4))
    want[0, 1], want[1, 2], want[3, 0], want[3, 2] = 5, 7, 9, 3  # each maximum, where it was
    np.testing.assert_allclose(unpooled[0, 0], want)


def transformer(shape, downsample_factor=1):
    from lasagne.layers import InputLayer, TransformerLayer
    images, theta = InputLayer(shape), InputLayer((None, 6))
    return TransformerLayer(images, theta, downsample_factor=downsample_factor)


IDENTITY = np.array([[1, 0, 0, 0, 1, 0]], "float32")


def test_transformer_layer_with_the_identity_reproduces_its_input(stack):
    x = np.random.RandomState(3).rand(1, 2, 5, 7)
    layer = transformer((None, 2, 5, 7))
    assert layer.output_shape == (None, 2, 5, 7)
    np.testing.assert_allclose(evaluate(layer, x, IDENTITY), x, atol=1e-5)


def test_transformer_layer_moves_downsamples_and_keeps_the_border(stack):
    columns = np.tile(np.arange(5.), (5, 1)).reshape(1, 1, 5, 5)  # each pixel: its column
    shift = np.array([[1, 0, 2. / 4, 0, 1, 0]])  # one pixel to the right, in [-1, 1] units
    moved = evaluate(transformer((None, 1, 5, 5)), columns, shift)
    np.testing.assert_allclose(moved[0, 0], np.tile([1, 2, 3, 4, 4], (5, 1)), atol=1e-5)
    half = transformer((None, 1, 5, 5), downsample_factor=2)
    assert half.output_shape == (None, 1, 2, 2)
    np.testing.assert_allclose(evaluate(half, columns, IDENTITY)[0, 0], [[0, 4], [0, 4]],
                               atol=1e-5)


def test_transformer_layer_gradient_reaches_theta(stack):
    import theano
    from lasagne.layers import get_output
    layer = transformer((2, 1, 4, 4))
    rng = np.random.RandomState(4)
    images = rng.rand(2, 1, 4, 4)
    theano.gradient.verify_grad(  # between pixels: the bilinear sampling is smooth there
        lambda theta: get_output(layer, {layer.input_layers[0]: images,
                                         layer.input_layers[1]: theta}).sum(),
        [np.array([[0.8, 0.1, 0.13, -0.1, 0.9, 0.07], [0.7, 0, -0.11, 0, 0.75, 0.09]])],
        rng=rng, abs_tol=1e-3, rel_tol=1e-3)


def test_transformer_layer_refuses_a_wrong_localization_network(stack):
    from lasagne.layers import InputLayer, TransformerLayer
    with pytest.raises(ValueError, match=r"\(batch, 6\)"):
        TransformerLayer(InputLayer((None, 1, 4, 4)), InputLayer((None, 4)))


def test_parametric_rectifier_learns_a_slope_per_channel(stack):
    import theano
    from lasagne.layers import (DenseLayer, InputLayer, ParametricRectifierLayer, get_output,
                                prelu)
    from lasagne.nonlinearities import identity
    layer = ParametricRectifierLayer((20, 3, 28, 28), shared_axes=(0, 3))
    assert layer.alpha.get_value().shape == (3, 28)  # the documentation's example
    np.testing.assert_allclose(layer.alpha.get_value(), 0.25)
    assert ParametricRectifierLayer((None, 3), shared_axes="all").alpha.get_value().shape == ()
    x = np.random.RandomState(5).randn(4, 3, 2, 2)
    alpha = np.array([0.1, 0.2, 0.3])
    layer = ParametricRectifierLayer(InputLayer((None, 3, 2, 2)), alpha=alpha)
    a = alpha.reshape(1, 3, 1, 1)
    np.testing.assert_allclose(evaluate(layer, x), np.where(x > 0, x, a * x), rtol=1e-5)
    grad = theano.grad(get_output(layer).sum(), layer.alpha)  # d/d alpha: sum of min(x, 0)
    np.testing.assert_allclose(theano.function([layer.input_layer.input_var], grad)(
        x.astype("float32")), np.minimum(x, 0).sum(axis=(0, 2, 3)), rtol=1e-5)
    dense = DenseLayer(InputLayer((None, 5)), 3)
    out = prelu(dense)
    assert isinstance(out, ParametricRectifierLayer) and dense.nonlinearity is identity


def test_randomized_rectifier_draws_one_slope_per_channel_in_training(stack):
    from lasagne.layers import DenseLayer, InputLayer, RandomizedRectifierLayer, rrelu
    layer = RandomizedRectifierLayer(InputLayer((None, 4, 3, 3)), lower=0.3, upper=0.8)
    minus = -np.ones((5, 4, 3, 3))
    slopes = -evaluate(layer, minus)
    assert np.all((slopes >= 0.3) & (slopes <= 0.8))
    assert np.all(slopes == slopes[:1, :, :1, :1])  # shared over the batch and the positions
    assert len(np.unique(slopes[0, :, 0, 0])) == 4  # a slope of its own for each channel
    np.testing.assert_allclose(evaluate(layer, minus, deterministic=True), -0.55, rtol=1e-6)
    np.testing.assert_allclose(evaluate(layer, -minus), 1)  # positive values pass
    with pytest.raises(ValueError, match="lower"):
        RandomizedRectifierLayer((None, 3), lower=0.9, upper=0.1)
    assert isinstance(rrelu(DenseLayer(InputLayer((None, 5)), 3)), RandomizedRectifierLayer)


def test_dropout_channels_and_locations_drop_whole_maps_and_pixels(stack):
    from lasagne.layers import InputLayer, dropout_channels, dropout_locations, spatial_dropout
    assert spatial_dropout is dropout_channels
    ones = np.ones((8, 6, 5, 5))
    channels = evaluate(dropout_channels(InputLayer((None, 6, 5, 5)), p=0.5), ones)
    per_map = channels.reshape(8, 6, 25)
    assert np.all(per_map == per_map[:, :, :1]) and set(np.unique(channels)) == {0, 2}
    locations = evaluate(dropout_locations(InputLayer((None, 6, 5, 5)), p=0.5), ones)
    assert np.all(locations == locations[:, :1]) and set(np.unique(locations)) == {0, 2}


# --- convolution, pooling, upscaling --------------------------------------------------


def correlate(x, W):
    """Valid cross-correlation: x (batch, channels, rows, columns) with W
    (channels, filters, rows, columns): (batch, filters, ...), by loops."""
    rows, cols = x.shape[2] - W.shape[2] + 1, x.shape[3] - W.shape[3] + 1
    out = np.zeros((x.shape[0], W.shape[1], rows, cols))
    for i in range(rows):
        for j in range(cols):
            window = x[:, :, i:i + W.shape[2], j:j + W.shape[3]]
            out[:, :, i, j] = np.einsum("bcuv,cfuv->bf", window, W)
    return out


def transposed_by_the_book(x, W, stride, crop):
    """The documentation's description of a transposed convolution: stride - 1
    zeros between the input's values, filter_size - 1 - crop zeros around
    them, then a cross-correlation with the filters."""
    spaced = np.zeros(x.shape[:2] + tuple((n - 1) * stride + 1 for n in x.shape[2:]))
    spaced[:, :, ::stride, ::stride] = x
    border = W.shape[2] - 1 - crop
    padded = np.pad(spaced, ((0, 0), (0, 0), (border, border), (border, border)))
    return correlate(padded, W)


@pytest.mark.parametrize("stride, crop, named", [(1, 0, 0), (2, 1, 1), (1, 1, "same"),
                                                 (2, 2, "full"), (1, 0, "valid")])
def test_transposed_convolution_is_the_documented_one(stack, stride, crop, named):
    from lasagne.layers import InputLayer, TransposedConv2DLayer
    rng = np.random.RandomState(6)
    x, W = rng.randn(2, 3, 4, 5), rng.randn(3, 2, 3, 3).astype("float32")
    layer = TransposedConv2DLayer(InputLayer((None, 3, 4, 5)), 2, 3, stride=stride, crop=named,
                                  W=W, b=None, nonlinearity=None)
    want = transposed_by_the_book(x, W, stride, crop)
    assert layer.output_shape == (None,) + want.shape[1:]
    np.testing.assert_allclose(evaluate(layer, x), want, rtol=1e-4, atol=1e-5)
    flipping = TransposedConv2DLayer(InputLayer((None, 3, 4, 5)), 2, 3, stride=stride,
                                     crop=named, W=W, b=None, nonlinearity=None, flip_filters=True)
    np.testing.assert_allclose(evaluate(flipping, x),
                               transposed_by_the_book(x, W[:, :, ::-1, ::-1], stride, crop),
                               rtol=1e-4, atol=1e-5)


def test_transposed_convolution_tied_to_a_convolution_is_its_adjoint(stack):
    from lasagne.layers import Conv2DLayer, Deconv2DLayer, InputLayer, TransposedConv2DLayer
    assert Deconv2DLayer is TransposedConv2DLayer
    # the documentation's example of tied weights; then <conv(x), y> == <x, deconv(y)>
    conv = Conv2DLayer(InputLayer((None, 1, 33, 33)), 16, 3, stride=2, pad=2, b=None,
                       nonlinearity=None)

    def transpose(incoming):
        return TransposedConv2DLayer(incoming, conv.input_shape[1], conv.filter_size,
                                     stride=conv.stride, crop=conv.pad, W=conv.W, b=None,
                                     nonlinearity=None, flip_filters=not conv.flip_filters)
    assert transpose(conv).output_shape == (None, 1, 33, 33)
    rng = np.random.RandomState(7)
    x, y = rng.randn(2, 1, 33, 33), rng.randn(2, 16, 18, 18)
    conved = evaluate(conv, x)
    assert conved.shape == y.shape
    back = evaluate(transpose(InputLayer(conv.output_shape)), y)
    np.testing.assert_allclose((conved * y).sum(), (x * back).sum(), rtol=1e-4)


def test_transposed_convolution_output_size_and_untied_biases(stack):
    from lasagne.layers import InputLayer, TransposedConv2DLayer
    layer = TransposedConv2DLayer(InputLayer((None, 1, 4, 4)), 2, 3, stride=2, output_size=10,
                                  untie_biases=True, b=np.arange(200.).reshape(2, 10, 10),
                                  W=np.zeros((1, 2, 3, 3)), nonlinearity=None)
    assert layer.output_shape == (None, 2, 10, 10)  # 9 at the least: one more asked for
    np.testing.assert_allclose(evaluate(layer, np.ones((1, 1, 4, 4)))[0], layer.b.get_value())
    with pytest.raises(NotImplementedError, match="odd"):
        TransposedConv2DLayer(InputLayer((None, 1, 4, 4)), 2, 2, crop="same")


def test_dilated_convolution_spaces_its_filters(stack):
    from lasagne.layers import DilatedConv2DLayer, InputLayer
    rng = np.random.RandomState(8)
    x, W = rng.randn(2, 3, 9, 8), rng.randn(3, 4, 3, 2).astype("float32")
    layer = DilatedConv2DLayer(InputLayer((None, 3, 9, 8)), 4, (3, 2), dilation=(2, 3), W=W,
                               b=None, nonlinearity=None)
    assert layer.W.get_value().shape == (3, 4, 3, 2) and layer.output_shape == (None, 4, 5, 5)
    spaced = np.zeros((3, 4, 5, 4))  # the filters with dilation - 1 zeros between values
    spaced[:, :, ::2, ::3] = W
    np.testing.assert_allclose(evaluate(layer, x), correlate(x, spaced), rtol=1e-4, atol=1e-5)
    with pytest.raises(NotImplementedError, match="pad"):
        DilatedConv2DLayer(InputLayer((None, 3, 9, 8)), 4, 3, pad=1)
    with pytest.raises(NotImplementedError, match="flip_filters"):
        DilatedConv2DLayer(InputLayer((None, 3, 9, 8)), 4, 3, flip_filters=True)


def test_pool1d_layer_pools_the_last_axis(stack):
    from lasagne.layers import InputLayer, Pool1DLayer
    x = np.array([[[1, 3, 2, 8, 5, 4, 7]]], "float32")
    largest = Pool1DLayer(InputLayer((None, 1, 7)), 2)
    assert largest.output_shape == (None, 1, 3)
    np.testing.assert_allclose(evaluate(largest, x), [[[3, 8, 5]]])
    partial = Pool1DLayer(InputLayer((None, 1, 7)), 2, ignore_border=False, mode="average_inc_pad")
    assert partial.output_shape == (None, 1, 4)
    np.testing.assert_allclose(evaluate(partial, x), [[[2, 5, 4.5, 7]]])
    with pytest.raises(ValueError, match="mode"):
        Pool1DLayer(InputLayer((None, 1, 7)), 2, mode="median")


def test_upscale_layers_repeat_or_dilate(stack):
    from lasagne.layers import InputLayer, Upscale1DLayer, Upscale2DLayer
    x = np.arange(6.).reshape(1, 1, 2, 3)
    repeat = Upscale2DLayer(InputLayer((None, 1, 2, 3)), (2, 3))
    assert repeat.output_shape == (None, 1, 4, 9)
    np.testing.assert_allclose(evaluate(repeat, x), x.repeat(2, axis=2).repeat(3, axis=3))
    dilate = evaluate(Upscale2DLayer(InputLayer((None, 1, 2, 3)), 2, mode="dilate"), x)
    want = np.zeros((1, 1, 4, 6))
    want[:, :, ::2, ::2] = x
    np.testing.assert_allclose(dilate, want)
    line = np.array([[[1., 2.]]])
    np.testing.assert_allclose(evaluate(Upscale1DLayer(InputLayer((None, 1, 2)), 3), line),
                               [[[1, 1, 1, 2, 2, 2]]])
    with pytest.raises(ValueError, match="mode"):
        Upscale2DLayer(InputLayer((None, 1, 2, 3)), 2, mode="nearest")
    with pytest.raises(ValueError, match="1 or more"):
        Upscale1DLayer(InputLayer((None, 1, 2)), 0)


def test_dnn_batch_norm_is_batch_norm_under_its_cudnn_name(stack):
    from lasagne.layers import BatchNormLayer, NonlinearityLayer
    from lasagne.layers.dnn import BatchNormDNNLayer, Conv2DDNNLayer, batch_norm_dnn
    out = batch_norm_dnn(Conv2DDNNLayer((None, 2, 5, 5), 3, 3, name="conv"))
    assert isinstance(out, NonlinearityLayer) and type(out.input_layer) is BatchNormDNNLayer
    assert isinstance(out.input_layer, BatchNormLayer) and out.input_layer.name == "conv_bn"
    assert out.input_layer.input_layer.b is None


@slow
def test_a_batch_normalised_cnn_of_2016_trains(stack):
    from lasagne.layers import (Conv2DLayer, DenseLayer, InputLayer, MaxPool2DLayer,
                                batch_norm)
    from lasagne.nonlinearities import softmax
    from nolearn.lasagne import NeuralNet
    X, y = bright_top_half(seed=0)
    layer = InputLayer((None, 1, 12, 12))
    layer = batch_norm(Conv2DLayer(layer, 8, 3, pad=1))
    layer = MaxPool2DLayer(layer, 2)
    layer = batch_norm(DenseLayer(layer, 16))
    layer = DenseLayer(layer, 2, nonlinearity=softmax)
    net = NeuralNet(layer, update_learning_rate=0.05, max_epochs=20, verbose=0)
    net.fit(X, y)
    losses = [row["train_loss"] for row in net.train_history_]
    assert len(losses) == 20 and losses[-1] < 0.8 * losses[0], losses
    assert (net.predict(X) == y).mean() > 0.7


@slow
def test_a_2016_program_of_the_development_api_trains():
    # a batch-normalised CNN and a net of dnn layers, Lasagne's mnist.py style
    result = run_program("lasagne_dev_train.py")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["bn-cnn", "dnn-net"], lines
