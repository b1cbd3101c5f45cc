"""Lasagne's development API (0.2.dev1) on Lasagne 0.1's own classes and
functions: the keyword arguments and behaviour they lack, added to them in
place (code that imports them from any module, or checks isinstance, sees
the same class). Written from the development version's documentation:

  Conv1DLayer, Conv2DLayer  flip_filters (default True: convolve, as 0.1
                            does; False: correlate)
  DenseLayer                num_leading_axes (default 1: as 0.1)
  DropoutLayer              shared_axes (default (): as 0.1)
  the recurrent layers      only_return_final (default False: as 0.1), and
                            mask_incoming_index & co. (nolearn reads them)
  squared_error, binary_crossentropy
                            a vector of targets for a column of predictions
                            is taken as a column (0.1 broadcast them into a
                            matrix); otherwise as 0.1

With a new argument at its default, 0.1's own code runs, unchanged.
extend() makes the changes (fixes.add_lasagne_dev_api calls it); ORIGINALS
keeps what they replaced (ABSENT: nothing), so that a test can show 0.1's
behaviour.
"""
import functools
import inspect

import numpy as np
import theano.tensor as T
from lasagne import nonlinearities, objectives
from lasagne.layers import (Conv1DLayer, Conv2DLayer, CustomRecurrentLayer, DenseLayer,
                            DropoutLayer, GRULayer, Layer, LSTMLayer, RecurrentLayer)

from theano_today.lasagne_dev_functions import align_targets

#: {(owner, attribute name): what extend() replaced, or ABSENT}.
ORIGINALS = {}
ABSENT = object()


def _replace(owner, name, new):
    if (owner, name) not in ORIGINALS:
        ORIGINALS[owner, name] = getattr(owner, name, ABSENT)
        setattr(owner, name, new)


def _with_keyword(cls, keyword, default, instead=None):
    """cls(..., keyword=value) keeps value as self.<keyword> (a class
    attribute gives the default to layers made before) and runs cls's own
    __init__ without it; where value is not the default and instead is
    given, instead(self, arguments) runs in its place, arguments being
    those that cls's __init__ would have taken, by name."""
    init = cls.__dict__["__init__"]
    signature = inspect.signature(init)

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        value = kwargs.pop(keyword, default)
        if value is not default:  # else the class's: a subclass may have set its own
            setattr(self, keyword, value)
        if instead is None or value == default:
            init(self, *args, **kwargs)
            return
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        instead(self, bound.arguments)
    parameters = list(signature.parameters.values())
    parameters.insert(-1 if parameters[-1].kind is parameters[-1].VAR_KEYWORD else len(parameters),
                      inspect.Parameter(keyword, inspect.Parameter.KEYWORD_ONLY, default=default))
    __init__.__signature__ = signature.replace(parameters=parameters)  # for help()
    _replace(cls, keyword, default)
    _replace(cls, "__init__", __init__)


# --- flip_filters --------------------------------------------------------------------


class Correlation(object):
    """A layer's convolution function, called with its filters flipped
    along their spatial axes: a correlation. (A class, not a closure, so
    that a layer that holds it still pickles.)"""

    def __init__(self, convolution):
        self.convolution = convolution

    def __call__(self, input, filters, *args, **kwargs):
        spatial = (slice(None), slice(None)) + (slice(None, None, -1),) * (filters.ndim - 2)
        return self.convolution(input, filters[spatial], *args, **kwargs)


def _add_flip_filters(cls):
    """cls(..., flip_filters=False) correlates. Not given, flip_filters stays
    as it was: True (0.1 convolves), or what a subclass set before calling
    cls's __init__ (the dnn stand-ins, which correlate in their own way)."""
    init = cls.__dict__["__init__"]

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        flip = kwargs.pop("flip_filters", None)
        init(self, *args, **kwargs)
        if flip is not None:
            self.flip_filters = flip
            if not flip:
                self.convolution = Correlation(self.convolution)
    _replace(cls, "flip_filters", True)
    _replace(cls, "__init__", __init__)


# --- DenseLayer's num_leading_axes ---------------------------------------------------


def _dense_leading_axes(self, arguments):
    """DenseLayer's __init__ where num_leading_axes is not 1: the dot product
    over the axes after the first num_leading_axes (a negative number: over
    the last -n axes), which the output keeps."""
    Layer.__init__(self, arguments["incoming"], **arguments["kwargs"])
    nonlinearity = arguments["nonlinearity"]
    self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
    self.num_units = arguments["num_units"]
    ndim, axes = len(self.input_shape), self.num_leading_axes
    if axes >= ndim or axes < -ndim:
        raise ValueError("DenseLayer: num_leading_axes=%d for a %d-dimensional input leaves "
                         "no axes for the dot product" % (axes, ndim))
    self.num_leading_axes = axes = axes % ndim
    if any(size is None for size in self.input_shape[axes:]):
        raise ValueError("DenseLayer: the input's shape after its first %d axes must be known, "
                         "got %r" % (axes, self.input_shape))
    num_inputs = int(np.prod(self.input_shape[axes:]))
    self.W = self.add_param(arguments["W"], (num_inputs, self.num_units), name="W")
    self.b = None if arguments["b"] is None else self.add_param(
        arguments["b"], (self.num_units,), name="b", regularizable=False)


def _dense_output_shape(self, input_shape):
    if self.num_leading_axes == 1:
        return ORIGINALS[DenseLayer, "get_output_shape_for"](self, input_shape)
    return tuple(input_shape[:self.num_leading_axes]) + (self.num_units,)


def _dense_output(self, input, **kwargs):
    if self.num_leading_axes == 1:
        return ORIGINALS[DenseLayer, "get_output_for"](self, input, **kwargs)
    if input.ndim > self.num_leading_axes + 1:
        input = input.flatten(self.num_leading_axes + 1)
    activation = T.dot(input, self.W)
    if self.b is not None:
        activation = activation + self.b
    return self.nonlinearity(activation)


# --- DropoutLayer's shared_axes ------------------------------------------------------


def _dropout_output(self, input, deterministic=False, **kwargs):
    """With shared_axes, one mask value for all positions along those axes
    (shared_axes=(2, 3): whole feature maps dropped)."""
    shared = tuple(axis % input.ndim for axis in self.shared_axes)
    if not shared or deterministic or self.p == 0:
        return ORIGINALS[DropoutLayer, "get_output_for"](self, input, deterministic, **kwargs)
    keep = 1 - self.p
    if self.rescale:
        input = input / keep
    shape = self.input_shape
    if any(size is None for size in shape):
        shape = input.shape
    mask_shape = tuple(1 if axis in shared else shape[axis] for axis in range(input.ndim))
    mask = self._srng.binomial(mask_shape, p=keep, dtype=input.dtype)
    return input * T.addbroadcast(mask, *shared)


# --- the recurrent layers' only_return_final -----------------------------------------


def _final_only(cls):
    def get_output_shape_for(self, input_shapes):
        shape = ORIGINALS[cls, "get_output_shape_for"](self, input_shapes)
        return (shape[0],) + tuple(shape[2:]) if self.only_return_final else shape

    def get_output_for(self, inputs, **kwargs):
        output = ORIGINALS[cls, "get_output_for"](self, inputs, **kwargs)
        if not self.only_return_final:
            return output
        # the last step computed: the sequence's first when going backwards
        return output[:, 0] if self.backwards else output[:, -1]
    _replace(cls, "get_output_shape_for", get_output_shape_for)
    _replace(cls, "get_output_for", get_output_for)


def _mask_index(self):
    return 1 if len(self.input_layers) > 1 else -1


# --- objectives ----------------------------------------------------------------------


def squared_error(a, b):
    """(a - b) ** 2, elementwise; a vector b for a column a is taken as a column."""
    a, b = align_targets(a, b)
    return T.square(a - b)


def binary_crossentropy(predictions, targets):
    """-t log(p) - (1 - t) log(1 - p), elementwise; a vector of targets for a
    column of predictions is taken as a column."""
    predictions, targets = align_targets(predictions, targets)
    return T.nnet.binary_crossentropy(predictions, targets)


def extend():
    """Add the development version's arguments and behaviour to Lasagne
    0.1's classes and functions; safe to call more than once."""
    for cls in (Conv1DLayer, Conv2DLayer):
        _add_flip_filters(cls)
    _with_keyword(DenseLayer, "num_leading_axes", 1, instead=_dense_leading_axes)
    _replace(DenseLayer, "get_output_shape_for", _dense_output_shape)
    _replace(DenseLayer, "get_output_for", _dense_output)
    _with_keyword(DropoutLayer, "shared_axes", ())
    _replace(DropoutLayer, "get_output_for", _dropout_output)
    # RecurrentLayer, a CustomRecurrentLayer, would pass it to its DenseLayers too
    _with_keyword(RecurrentLayer, "only_return_final", False)
    for cls in (CustomRecurrentLayer, LSTMLayer, GRULayer):
        _with_keyword(cls, "only_return_final", False)
        _final_only(cls)
        # 0.1 takes the mask as the second input only, initial states as values only
        _replace(cls, "mask_incoming_index", property(_mask_index))
        _replace(cls, "hid_init_incoming_index", -1)
        _replace(cls, "cell_init_incoming_index", -1)
    for name, new in (("squared_error", squared_error),
                      ("binary_crossentropy", binary_crossentropy)):
        _replace(objectives, name, new)

