"""The development version's functions that Lasagne 0.1 lacks
(theano_today.lasagne_dev_functions): nonlinearities, objectives, adamax,
collect_shared_vars, against their documented formulas on small inputs
worked out by hand or with numpy. The break: test_lasagne_dev.py's
lasagne_dev_api.py runs."""
import numpy as np
import pytest


def apply(function, *arrays):
    """function of Theano variables, evaluated for arrays (of float32, or of
    int32 where they hold integers)."""
    import theano
    import theano.tensor as T
    arrays = [np.asarray(a, "int32" if np.asarray(a).dtype.kind in "iu" else "float32")
              for a in arrays]
    variables = [T.TensorType(a.dtype, (False,) * a.ndim)() for a in arrays]
    return theano.function(variables, function(*variables))(*arrays)


X = np.array([-2., -0.5, 0., 1.5])


def test_elu_softplus_and_scaled_tanh(stack):
    from lasagne.nonlinearities import ScaledTanh, ScaledTanH, elu, softplus
    np.testing.assert_allclose(apply(elu, X), [np.exp(-2) - 1, np.exp(-.5) - 1, 0, 1.5],
                               rtol=1e-6)
    np.testing.assert_allclose(apply(softplus, X), np.log1p(np.exp(X)), rtol=1e-6)
    lecun = ScaledTanH(scale_in=2. / 3, scale_out=1.7159)
    np.testing.assert_allclose(apply(lecun, X), 1.7159 * np.tanh(2. / 3 * X), rtol=1e-6)
    assert ScaledTanh is ScaledTanH


def test_elu_gradient_is_exp_below_zero(stack):
    import theano
    import theano.tensor as T
    from lasagne.nonlinearities import elu
    x = T.vector()
    grad = theano.function([x], T.grad(elu(x).sum(), x))(X[[0, 1, 3]].astype("float32"))
    np.testing.assert_allclose(grad, [np.exp(-2), np.exp(-.5), 1], rtol=1e-6)


def test_selu_has_the_papers_constants(stack):
    from lasagne.nonlinearities import SELU, selu
    scale, scale_neg = 1.0507009873554805, 1.6732632423543772
    np.testing.assert_allclose(apply(selu, X), scale * np.where(X > 0, X, scale_neg * np.expm1(X)),
                               rtol=1e-6)
    np.testing.assert_allclose(apply(SELU(scale=2, scale_neg=3), X),
                               2 * np.where(X > 0, X, 3 * np.expm1(X)), rtol=1e-6)


def test_binary_hinge_loss(stack):
    import warnings

    from lasagne.objectives import binary_hinge_loss
    log_odds, targets = [2., -0.5, 0.3], [1, 0, 1]  # targets {0, 1}: -1 and 1 for the margin
    np.testing.assert_allclose(
        apply(lambda p, t: binary_hinge_loss(p, t, log_odds=True), log_odds, targets),
        [0, 0.5, 0.7], rtol=1e-6)
    np.testing.assert_allclose(
        apply(lambda p, t: binary_hinge_loss(p, t, delta=2, log_odds=True, binary=False),
              log_odds, [1, -1, -1]), [0, 1.5, 2.3], rtol=1e-6)
    probabilities = 1 / (1 + np.exp(-np.array(log_odds)))  # sigmoid outputs
    np.testing.assert_allclose(
        apply(lambda p, t: binary_hinge_loss(p, t, log_odds=False), probabilities, targets),
        [0, 0.5, 0.7], rtol=1e-5, atol=1e-6)
    for given, warned in ((False, 1), (True, 0)):  # log_odds not given: a warning
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            apply(lambda p, t: binary_hinge_loss(p, t, **({"log_odds": True} if given else {})),
                  log_odds, targets)
        assert len([w for w in caught if w.category is FutureWarning]) == warned


def test_multiclass_hinge_loss_and_its_gradient(stack):
    import theano
    import theano.tensor as T
    from lasagne.objectives import multiclass_hinge_loss
    p = np.array([[0.7, 0.2, 0.1], [0.3, 0.6, 0.1]])
    # row 0: best wrong 0.2, right 0.7: 1 + 0.2 - 0.7; row 1: 1 + 0.6 - 0.1
    want = [0.5, 1.5]
    np.testing.assert_allclose(apply(multiclass_hinge_loss, p, [0, 2]), want, rtol=1e-6)
    np.testing.assert_allclose(apply(multiclass_hinge_loss, p, np.eye(3)[[0, 2]]), want,
                               rtol=1e-6)
    predictions, targets = T.matrix(), T.ivector()
    grad = theano.function([predictions, targets], T.grad(
        multiclass_hinge_loss(predictions, targets).sum(), predictions))(
        p.astype("float32"), np.array([0, 2], "int32"))
    np.testing.assert_allclose(grad, [[-1, 1, 0], [0, 1, -1]])
    with pytest.raises(TypeError, match="class indices"):
        multiclass_hinge_loss(T.matrix(), T.tensor3())


def test_huber_loss_is_quadratic_then_linear(stack):
    from lasagne.objectives import huber_loss
    np.testing.assert_allclose(apply(huber_loss, [0.5, 3., -1.], [0., 1., 1.]),
                               [0.125, 1.5, 1.5], rtol=1e-6)


def test_binary_and_categorical_accuracy(stack):
    from lasagne.objectives import binary_accuracy, categorical_accuracy
    np.testing.assert_array_equal(apply(binary_accuracy, [0.2, 0.7, 0.5], [0, 0, 1]), [1, 0, 1])
    p = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.2, 0.3, 0.5]])
    targets = np.array([2, 0, 1])
    np.testing.assert_array_equal(apply(categorical_accuracy, p, targets), [0, 1, 0])
    np.testing.assert_array_equal(apply(lambda p, t: categorical_accuracy(p, t, top_k=2),
                                        p, targets), [1, 1, 1])
    np.testing.assert_array_equal(apply(categorical_accuracy, p, np.eye(3)[targets]), [0, 1, 0])


def test_adamax_follows_its_update_rule(stack):
    import theano
    from lasagne.updates import adamax
    start, rate, beta1, beta2 = np.array([1., -2., 3.], "float32"), 0.1, 0.9, 0.999
    param = theano.shared(start)
    loss = (param ** 2).sum() + param[0] * param[1]
    step = theano.function([], [], updates=adamax(loss, [param], learning_rate=rate))
    value, m, u = start.astype(float), 0, 0
    for t in (1, 2, 3):  # by the rule, in numpy
        grad = 2 * value + [value[1], value[0], 0]
        m = beta1 * m + (1 - beta1) * grad
        u = np.maximum(beta2 * u, abs(grad))
        value = value - rate / (1 - beta1 ** t) * m / (u + 1e-8)
        step()
        np.testing.assert_allclose(param.get_value(), value, rtol=1e-5)
    # the first step: the learning rate, against the gradient's sign
    first = theano.shared(start)
    theano.function([], [], updates=adamax((first ** 2).sum(), [first], learning_rate=rate))()
    np.testing.assert_allclose(first.get_value(), start - rate * np.sign(start), rtol=1e-6)


def test_collect_shared_vars_in_search_order(stack):
    import theano
    from lasagne.utils import collect_shared_vars
    a, b, c, d = (theano.shared(np.float32(v), name=n) for v, n in zip(range(4), "abcd"))
    x = theano.tensor.scalar()
    assert collect_shared_vars([a * x + b * c, c, d]) == [a, b, c, d]
    assert collect_shared_vars(d) == [d] and collect_shared_vars(x * 2) == []
