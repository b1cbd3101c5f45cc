"""Lasagne's development API (0.2.dev1): the functions Lasagne 0.1 lacks.

Written from the development version's documentation ("latest"):

  lasagne.nonlinearities  ScaledTanH (and its other spelling ScaledTanh), elu,
                          softplus, SELU and selu
  lasagne.objectives      binary_hinge_loss, multiclass_hinge_loss, huber_loss,
                          binary_accuracy, categorical_accuracy
  lasagne.updates         adamax
  lasagne.utils           collect_shared_vars

fixes.add_lasagne_dev_api puts each into its module (PLACES).
"""
import warnings
from collections import OrderedDict

import numpy as np
import theano
import theano.tensor as T
from lasagne.updates import get_or_compute_grads
from lasagne.utils import floatX

# --- lasagne.nonlinearities -------------------------------------------------------------


class ScaledTanH(object):
    """tanh(scale_in * x) * scale_out; LeCun et al.'s 1998 choice is
    ScaledTanH(scale_in=2./3, scale_out=1.7159)."""

    def __init__(self, scale_in=1, scale_out=1):
        self.scale_in, self.scale_out = scale_in, scale_out

    def __call__(self, x):
        return T.tanh(x * self.scale_in) * self.scale_out


ScaledTanh = ScaledTanH


def elu(x):
    """Exponential linear unit (Clevert et al., 2015): x above 0, exp(x) - 1 below."""
    return T.switch(x > 0, x, T.expm1(x))


def softplus(x):
    """log(1 + exp(x))."""
    return T.nnet.softplus(x)


class SELU(object):
    """Scaled exponential linear unit (Klambauer et al., 2017):
    scale * x above 0, scale * scale_neg * (exp(x) - 1) below."""

    def __init__(self, scale=1, scale_neg=1):
        self.scale, self.scale_neg = scale, scale_neg

    def __call__(self, x):
        return self.scale * T.switch(x > 0, x, self.scale_neg * T.expm1(x))


#: The SELU whose activations keep mean 0 and variance 1 (the paper's constants).
selu = SELU(scale=1.0507009873554804934193349852946,
            scale_neg=1.6732632423543772848170429916717)

# --- lasagne.objectives -----------------------------------------------------------------


def align_targets(predictions, targets):
    """A vector of targets for a column of predictions (one output unit)
    becomes a column too, instead of broadcasting into a matrix."""
    if getattr(predictions, "broadcastable", None) == (False, True) \
            and getattr(targets, "ndim", None) == 1:
        targets = T.as_tensor_variable(targets).dimshuffle(0, "x")
    return predictions, targets


def binary_hinge_loss(predictions, targets, delta=1, log_odds=None, binary=True):
    """max(0, delta - t * p), elementwise. targets in {0, 1} (binary=True) or
    {-1, 1}; predictions are log-odds (log_odds=True, assumed with a
    warning when not given, as the development version does) or sigmoid
    outputs in (0, 1) (log_odds=False)."""
    if log_odds is None:
        warnings.warn("binary_hinge_loss: log_odds not given, so predictions are taken "
                      "as log-odds; its default will become False", FutureWarning)
        log_odds = True
    if not log_odds:
        predictions = T.log(predictions / (1 - predictions))
    if binary:
        targets = 2 * targets - 1
    predictions, targets = align_targets(predictions, targets)
    return T.nnet.relu(delta - predictions * targets)


def multiclass_hinge_loss(predictions, targets, delta=1):
    """max(0, max over the wrong classes of p_j, minus p_target, plus delta),
    per row; targets are class indices or one-hot rows."""
    num_classes = predictions.shape[1]
    if targets.ndim == predictions.ndim - 1:
        targets = T.extra_ops.to_one_hot(targets, num_classes)
    elif targets.ndim != predictions.ndim:
        raise TypeError("multiclass_hinge_loss: targets must be class indices (one axis less "
                        "than predictions) or one-hot rows (as many axes)")
    correct = (predictions * targets).sum(axis=1)
    # the wrong classes' best: the target's own score pushed below every other
    low = predictions.min() - 1
    wrong = T.switch(targets > 0, low, predictions).max(axis=1)
    return T.nnet.relu(wrong - correct + delta)


def huber_loss(predictions, targets, delta=1):
    """Elementwise: half the squared error where |error| <= delta, linear
    (delta * (|error| - delta / 2)) beyond; a regression loss that large
    errors pull less."""
    predictions, targets = align_targets(predictions, targets)
    error = abs(targets - predictions)
    return T.switch(error <= delta, 0.5 * error ** 2, delta * (error - 0.5 * delta))


def binary_accuracy(predictions, targets, threshold=0.5):
    """1 where (predictions >= threshold) equals targets (in {0, 1}), else 0."""
    predictions, targets = align_targets(predictions, targets)
    return T.eq(T.ge(predictions, threshold), targets)


def categorical_accuracy(predictions, targets, top_k=1):
    """1 per row whose target class (an index, or a one-hot row) is among
    the top_k largest predictions, else 0."""
    if targets.ndim == predictions.ndim:
        targets = T.argmax(targets, axis=-1)
    elif targets.ndim != predictions.ndim - 1:
        raise TypeError("categorical_accuracy: targets must be class indices (one axis less "
                        "than predictions) or one-hot rows (as many axes)")
    if top_k == 1:
        return T.eq(T.argmax(predictions, axis=-1), targets)
    top = T.argsort(predictions, axis=-1)[(slice(None),) * (predictions.ndim - 1)
                                          + (slice(-top_k, None),)]
    return T.any(T.eq(top, T.shape_padright(targets)), axis=-1)

# --- lasagne.updates --------------------------------------------------------------------


def adamax(loss_or_grads, params, learning_rate=0.002, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """Adam's variant on the infinity norm (Kingma and Ba, 2014, sec. 7.1):
    m = beta1 m + (1 - beta1) g;  u = max(beta2 u, |g|);
    param -= learning_rate / (1 - beta1^t) * m / (u + epsilon)."""
    grads = get_or_compute_grads(loss_or_grads, params)
    t_prev = theano.shared(floatX(0.))
    t = t_prev + 1
    step_size = learning_rate / (1 - beta1 ** t)
    updates = OrderedDict()
    for param, grad in zip(params, grads):
        value = param.get_value(borrow=True)
        m_prev = theano.shared(np.zeros(value.shape, dtype=value.dtype),
                               broadcastable=param.broadcastable)
        u_prev = theano.shared(np.zeros(value.shape, dtype=value.dtype),
                               broadcastable=param.broadcastable)
        m = beta1 * m_prev + (1 - beta1) * grad
        u = T.maximum(beta2 * u_prev, abs(grad))
        updates[m_prev], updates[u_prev] = m, u
        updates[param] = param - step_size * m / (u + epsilon)
    updates[t_prev] = t
    return updates

# --- lasagne.utils ----------------------------------------------------------------------


def collect_shared_vars(expressions):
    """The shared variables that an expression, or a list of them, depends on
    (an expression that is one counts), each once, in the order a left-first
    depth-first search meets them."""
    if isinstance(expressions, theano.Variable):
        expressions = [expressions]
    found = []
    for variable in theano.gof.graph.inputs(reversed(list(expressions))):
        if isinstance(variable, theano.compile.SharedVariable) and variable not in found:
            found.append(variable)
    return found


#: Where fixes.add_lasagne_dev_api puts each name.
PLACES = {
    "lasagne.nonlinearities": ["ScaledTanH", "ScaledTanh", "elu", "softplus", "SELU", "selu"],
    "lasagne.objectives": ["binary_hinge_loss", "multiclass_hinge_loss", "huber_loss",
                           "binary_accuracy", "categorical_accuracy"],
    "lasagne.updates": ["adamax"],
    "lasagne.utils": ["collect_shared_vars"],
}
