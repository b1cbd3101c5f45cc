"""Lasagne's development API on top of Lasagne 0.1 (theano_today.lasagne_dev,
fixes.add_lasagne_dev_api), checked against its documentation: shapes,
values on small inputs, gradients, and a batch-normalised CNN that trains."""
import numpy as np
import pytest

from helpers import bright_top_half, run_program

slow = pytest.mark.slow


@slow
def test_break_lasagne_0_1_has_no_batch_norm():
    result = run_program("lasagne_dev_api.py")
    assert result.returncode != 0 and "cannot import name 'BatchNormLayer'" in result.stderr


@slow
def test_fix_batch_norm_imports_from_lasagne_layers():
    result = run_program("lasagne_dev_api.py", "--fixed")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "theano_today.lasagne_dev"


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


def test_recurrent_layers_say_where_their_mask_is(stack):
    from lasagne.layers import GRULayer, InputLayer, LSTMLayer, RecurrentLayer
    x, mask = InputLayer((None, 6, 3)), InputLayer((None, 6))
    for cls in (RecurrentLayer, LSTMLayer, GRULayer):
        assert cls(x, 2, mask_input=mask).mask_incoming_index == 1
        assert cls(x, 2).mask_incoming_index == -1 and cls(x, 2).hid_init_incoming_index == -1


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
