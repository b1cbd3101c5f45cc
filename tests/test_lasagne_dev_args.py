"""The development version's arguments on Lasagne 0.1's own classes, and
its objectives' alignment of targets (theano_today.lasagne_dev_args),
checked against its documentation; with each new argument at its default,
0.1's behaviour. The break: test_lasagne_dev.py's lasagne_dev_api.py runs."""
import pickle

import numpy as np
import pytest

from test_lasagne_dev import correlate, evaluate


def test_conv2d_layer_correlates_with_flip_filters_false(stack):
    from lasagne.layers import Conv2DLayer, InputLayer
    rng = np.random.RandomState(0)
    x, W = rng.randn(2, 3, 6, 5), rng.randn(4, 3, 3, 2).astype("float32")
    image = InputLayer((None, 3, 6, 5))
    correlating = Conv2DLayer(image, 4, (3, 2), W=W, b=None, nonlinearity=None,
                              flip_filters=False)
    convolving = Conv2DLayer(image, 4, (3, 2), W=W, b=None, nonlinearity=None)
    assert (correlating.flip_filters, convolving.flip_filters) == (False, True)
    by_hand = correlate(x, W.transpose(1, 0, 2, 3))
    np.testing.assert_allclose(evaluate(correlating, x), by_hand, rtol=1e-4, atol=1e-5)
    flipped = correlate(x, W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))  # 0.1's: a convolution
    np.testing.assert_allclose(evaluate(convolving, x), flipped, rtol=1e-4, atol=1e-5)
    copy = pickle.loads(pickle.dumps(correlating))  # nets are pickled whole
    assert copy.flip_filters is False and copy.convolution.convolution is \
        correlating.convolution.convolution


def test_conv1d_layer_correlates_with_flip_filters_false(stack):
    from lasagne.layers import Conv1DLayer, InputLayer
    x = np.array([[[1, 2, 4, 8, 16]]], "float32")
    W = np.array([[[1, 10, 100]]], "float32")
    correlating = Conv1DLayer(InputLayer((None, 1, 5)), 1, 3, W=W, b=None, nonlinearity=None,
                              flip_filters=False)
    np.testing.assert_allclose(evaluate(correlating, x), [[[421, 842, 1684]]])
    convolving = Conv1DLayer(InputLayer((None, 1, 5)), 1, 3, W=W, b=None, nonlinearity=None)
    np.testing.assert_allclose(evaluate(convolving, x), [[[124, 248, 496]]])


def test_dnn_layers_keep_their_own_flip_filters(stack):
    from lasagne.layers.dnn import Conv2DDNNLayer
    assert Conv2DDNNLayer((None, 1, 5, 5), 2, 3).flip_filters is False
    assert Conv2DDNNLayer((None, 1, 5, 5), 2, 3, flip_filters=True).flip_filters is True


def test_dense_layer_over_trailing_axes_with_num_leading_axes(stack):
    from lasagne.layers import DenseLayer, InputLayer
    rng = np.random.RandomState(1)
    x, W, b = rng.randn(2, 4, 5), rng.randn(5, 3).astype("float32"), np.ones(3, "float32")
    sequence = InputLayer((None, 4, 5))
    for axes in (2, -1):
        layer = DenseLayer(sequence, 3, W=W, b=b, nonlinearity=None, num_leading_axes=axes)
        assert layer.num_leading_axes == 2 and layer.output_shape == (None, 4, 3)
        assert [p.name for p in layer.get_params()] == ["W", "b"]
        np.testing.assert_allclose(evaluate(layer, x), x.dot(W) + b, rtol=1e-5)
    flat = DenseLayer(sequence, 3)  # the default: 0.1's layer, all trailing axes flattened
    assert flat.num_leading_axes == 1 and flat.W.get_value().shape == (20, 3)
    assert flat.output_shape == (None, 3)
    with pytest.raises(ValueError, match="no axes for the dot product"):
        DenseLayer(sequence, 3, num_leading_axes=3)
    with pytest.raises(ValueError, match="must be known"):
        DenseLayer(InputLayer((None, None, 5)), 3, num_leading_axes=0)


def test_dropout_layer_shares_its_mask_over_shared_axes(stack):
    from lasagne.layers import DropoutLayer, InputLayer
    ones = np.ones((6, 3, 4))
    batch_shared = evaluate(DropoutLayer(InputLayer((None, 3, 4)), p=0.5, shared_axes=(0,)), ones)
    assert np.all(batch_shared == batch_shared[:1]) and set(np.unique(batch_shared)) == {0, 2}
    last = evaluate(DropoutLayer(InputLayer((None, 3, 4)), p=0.5, shared_axes=(-1,)), ones)
    assert np.all(last == last[:, :, :1])
    kept = evaluate(DropoutLayer(InputLayer((None, 3, 4)), shared_axes=(0,)), ones,
                    deterministic=True)
    np.testing.assert_allclose(kept, ones)
    plain = evaluate(DropoutLayer(InputLayer((None, 3, 4)), p=0.5), ones)  # 0.1's own mask
    assert not np.all(plain == plain[:1])


@pytest.mark.parametrize("name", ["RecurrentLayer", "LSTMLayer", "GRULayer"])
@pytest.mark.parametrize("backwards", [False, True])
def test_recurrent_layers_only_return_final(stack, name, backwards):
    import lasagne
    from lasagne.layers import InputLayer, get_all_param_values, set_all_param_values
    cls = getattr(lasagne.layers, name)
    sequence = InputLayer((None, 6, 3))
    every = cls(sequence, 4, backwards=backwards)
    final = cls(sequence, 4, backwards=backwards, only_return_final=True)
    set_all_param_values(final, get_all_param_values(every))
    assert every.output_shape == (None, 6, 4) and final.output_shape == (None, 4)
    x = np.random.RandomState(2).randn(2, 6, 3)
    steps = evaluate(every, x)
    # the last step computed: the sequence's first, going backwards
    np.testing.assert_allclose(evaluate(final, x), steps[:, 0 if backwards else -1], rtol=1e-5)


def test_recurrent_layers_say_where_their_mask_is(stack):
    from lasagne.layers import GRULayer, InputLayer, LSTMLayer, RecurrentLayer
    x, mask = InputLayer((None, 6, 3)), InputLayer((None, 6))
    for cls in (RecurrentLayer, LSTMLayer, GRULayer):
        assert cls(x, 2, mask_input=mask).mask_incoming_index == 1
        assert cls(x, 2).mask_incoming_index == -1 and cls(x, 2).hid_init_incoming_index == -1


def test_squared_error_and_crossentropy_take_a_vector_of_targets_as_a_column(stack):
    import theano
    import theano.tensor as T
    from lasagne.objectives import binary_crossentropy, squared_error
    column, vector = T.addbroadcast(T.matrix(), 1), T.vector()  # one output unit, targets
    p, t = np.array([[0.2], [0.7], [0.9]], "float32"), np.array([0, 1, 1], "float32")
    error = theano.function([column, vector], squared_error(column, vector))(p, t)
    np.testing.assert_allclose(error, (p - t[:, None]) ** 2, rtol=1e-6)
    entropy = theano.function([column, vector], binary_crossentropy(column, vector))(p, t)
    np.testing.assert_allclose(entropy, -np.log(np.where(t[:, None] == 1, p, 1 - p)), rtol=1e-5)
    a, b = T.matrices("ab")  # same shapes: as 0.1
    x, y = np.random.RandomState(3).randn(2, 4, 5).astype("float32")
    np.testing.assert_allclose(squared_error(a, b).eval({a: x, b: y}), (x - y) ** 2, rtol=1e-6)
