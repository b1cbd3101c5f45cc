"""Lasagne's development API (0.2.dev1): the layers Lasagne 0.1 lacks, but
for convolution, pooling and upscaling (lasagne_dev_conv).

PyPI's only Lasagne is 0.1 (August 2015); code of late 2015 and 2016, and
nolearn 0.6.1 itself, was written against Lasagne's development version,
documented as "latest". Written from that documentation:

  BatchNormLayer, batch_norm   batch normalization (Ioffe and Szegedy, 2015)
  BiasLayer, ScaleLayer        a learned bias, a learned scale
  standardize                  a fixed offset and scale (not trained)
  ExpressionLayer              any function of the input
  InverseLayer                 the transpose of another layer: its gradient
  TransformerLayer             spatial transformer (Jaderberg et al., 2015)
  ParametricRectifierLayer, prelu      leaky rectifier of learned slopes
  RandomizedRectifierLayer, rrelu      leaky rectifier of random slopes
  dropout_channels (spatial_dropout), dropout_locations

fixes.add_lasagne_dev_api puts them into lasagne.layers (PLACES). Layers
with parameters shared over some axes (BatchNormLayer, BiasLayer, ...) take
'auto' for every axis but the second: the batch, and the positions of a
convolutional layer's output.
"""
import numpy as np
import theano
import theano.tensor as T
from lasagne import init, nonlinearities
from lasagne.layers import DropoutLayer, Layer, MergeLayer, NonlinearityLayer
from lasagne.random import get_rng
from lasagne.utils import as_tuple
from theano.sandbox.rng_mrg import MRG_RandomStreams

#: Default initializers, one instance each as in Lasagne's signatures.
ZERO, ONE, QUARTER = init.Constant(0), init.Constant(1), init.Constant(0.25)


def shared_axes_of(shared_axes, ndim):
    """The axes a parameter is shared over: 'auto' (all but the second),
    'all', one axis or a tuple of them."""
    if shared_axes == "auto":
        return (0,) + tuple(range(2, ndim))
    if shared_axes == "all":
        return tuple(range(ndim))
    return as_tuple(shared_axes, 1) if isinstance(shared_axes, int) else tuple(shared_axes)


def unshared_shape(layer, axes):
    """A parameter's shape: the input's sizes along the axes it is not
    shared over; these must be known."""
    shape = [size for axis, size in enumerate(layer.input_shape) if axis not in axes]
    if any(size is None for size in shape):
        raise ValueError("%s needs the size of every axis it does not share its parameters "
                         "over, got input shape %s" % (type(layer).__name__, layer.input_shape))
    return shape


def along(param, axes, ndim):
    """param (an axis for each axis not in axes) broadcast along axes."""
    kept = iter(range(param.ndim))
    return param.dimshuffle(["x" if axis in axes else next(kept) for axis in range(ndim)])


# --- normalization ------------------------------------------------------------------


class BatchNormLayer(Layer):
    """Normalizes its input over `axes` (by default 'auto'), then scales by
    gamma and shifts by beta:

        y = (x - mean) * inv_std * gamma + beta,  inv_std = 1 / sqrt(var + epsilon)

    In training, mean and var are the batch's, and the layer's running
    averages (`mean`, `inv_std`, not trainable) move towards them by alpha
    each time the training function runs; with deterministic=True the
    running averages are used. batch_norm_use_averages and
    batch_norm_update_averages override either choice. beta or gamma None:
    no shift or no scale.
    """

    def __init__(self, incoming, axes="auto", epsilon=1e-4, alpha=0.1, beta=ZERO, gamma=ONE,
                 mean=ZERO, inv_std=ONE, **kwargs):
        super(BatchNormLayer, self).__init__(incoming, **kwargs)
        self.axes = shared_axes_of(axes, len(self.input_shape))
        self.epsilon, self.alpha = epsilon, alpha
        shape = unshared_shape(self, self.axes)
        self.beta = None if beta is None else self.add_param(
            beta, shape, "beta", trainable=True, regularizable=False)
        self.gamma = None if gamma is None else self.add_param(
            gamma, shape, "gamma", trainable=True, regularizable=True)
        self.mean = self.add_param(mean, shape, "mean", trainable=False, regularizable=False)
        self.inv_std = self.add_param(inv_std, shape, "inv_std", trainable=False,
                                      regularizable=False)

    def get_output_for(self, input, deterministic=False, batch_norm_use_averages=None,
                       batch_norm_update_averages=None, **kwargs):
        input_mean = input.mean(self.axes)
        input_inv_std = T.inv(T.sqrt(input.var(self.axes) + self.epsilon))
        use_averages = deterministic if batch_norm_use_averages is None \
            else batch_norm_use_averages
        update_averages = (not deterministic) if batch_norm_update_averages is None \
            else batch_norm_update_averages
        if use_averages:
            mean, inv_std = self.mean, self.inv_std
        else:
            mean, inv_std = input_mean, input_inv_std
        if update_averages:
            # the running averages move when a function computing this output
            # runs (Theano's default_update); the outputs then depend on them
            running_mean = theano.clone(self.mean, share_inputs=False)
            running_inv_std = theano.clone(self.inv_std, share_inputs=False)
            running_mean.default_update = (1 - self.alpha) * running_mean + self.alpha * input_mean
            running_inv_std.default_update = ((1 - self.alpha) * running_inv_std
                                              + self.alpha * input_inv_std)
            mean += 0 * running_mean
            inv_std += 0 * running_inv_std
        beta = 0 if self.beta is None else along(self.beta, self.axes, input.ndim)
        gamma = 1 if self.gamma is None else along(self.gamma, self.axes, input.ndim)
        return ((input - along(mean, self.axes, input.ndim))
                * (gamma * along(inv_std, self.axes, input.ndim)) + beta)


def _without_nonlinearity(layer):
    """layer's nonlinearity (None if it has none), replaced by identity."""
    nonlinearity = getattr(layer, "nonlinearity", None)
    if nonlinearity is not None:
        layer.nonlinearity = nonlinearities.identity
    return nonlinearity


def batch_norm(layer, **kwargs):
    """layer without its bias and nonlinearity, followed by a BatchNormLayer
    (kwargs) and a NonlinearityLayer with layer's nonlinearity; returns the
    last of them. Named after layer ('conv1_bn', 'conv1_bn_nonlin') where it
    has a name."""
    return normalized(layer, BatchNormLayer, kwargs)


def normalized(layer, normalization, kwargs):
    """batch_norm with a normalization layer class of one's choice."""
    nonlinearity = _without_nonlinearity(layer)
    if getattr(layer, "b", None) is not None:
        del layer.params[layer.b]
        layer.b = None
    name = getattr(layer, "name", None)
    bn_name = name and name + "_bn"
    layer = normalization(layer, name=bn_name, **kwargs)
    if nonlinearity is not None:
        layer = NonlinearityLayer(layer, nonlinearity, name=bn_name and bn_name + "_nonlin")
    return layer


# --- special-purpose layers ------------------------------------------------------------


class BiasLayer(Layer):
    """input + b, b shared over shared_axes ('auto': over the batch and a
    convolutional layer's positions); b=None: no bias."""

    def __init__(self, incoming, b=ZERO, shared_axes="auto", **kwargs):
        super(BiasLayer, self).__init__(incoming, **kwargs)
        self.shared_axes = shared_axes_of(shared_axes, len(self.input_shape))
        self.b = None if b is None else self.add_param(
            b, unshared_shape(self, self.shared_axes), "b", regularizable=False)

    def get_output_for(self, input, **kwargs):
        if self.b is None:
            return input
        return input + along(self.b, self.shared_axes, input.ndim)


class ScaleLayer(Layer):
    """input * scales, scales shared over shared_axes, as BiasLayer's b."""

    def __init__(self, incoming, scales=ONE, shared_axes="auto", **kwargs):
        super(ScaleLayer, self).__init__(incoming, **kwargs)
        self.shared_axes = shared_axes_of(shared_axes, len(self.input_shape))
        self.scales = self.add_param(scales, unshared_shape(self, self.shared_axes), "scales",
                                     regularizable=False)

    def get_output_for(self, input, **kwargs):
        return input * along(self.scales, self.shared_axes, input.ndim)


def standardize(layer, offset, scale, shared_axes="auto"):
    """(input - offset) / scale, offset and scale fixed (a BiasLayer and a
    ScaleLayer whose parameters are not trainable), e.g. a training set's
    mean and standard deviation per feature. Here offset and scale are
    numbers or arrays: Lasagne 0.1's parameters cannot be expressions."""
    if isinstance(offset, theano.Variable) or isinstance(scale, theano.Variable):
        raise TypeError("standardize: give offset and scale as numpy arrays (with theano_today, "
                        "on Lasagne 0.1, a parameter cannot be a Theano expression)")
    dtype = theano.config.floatX
    layer = BiasLayer(layer, -np.asarray(offset, dtype), shared_axes)
    layer.params[layer.b].discard("trainable")
    layer = ScaleLayer(layer, 1 / np.asarray(scale, dtype), shared_axes)
    layer.params[layer.scales].discard("trainable")
    return layer


class ExpressionLayer(Layer):
    """function(input). output_shape: None (the input's), a tuple, a
    function of the input shape, or 'auto' (found by applying function to
    zeros of the input's shape; an unknown size counts as 0, and a size 0
    found means unknown)."""

    def __init__(self, incoming, function, output_shape=None, **kwargs):
        super(ExpressionLayer, self).__init__(incoming, **kwargs)
        self.function = function
        if callable(output_shape):
            self.get_output_shape_for = output_shape
            output_shape = None
        elif output_shape not in (None, "auto"):
            output_shape = tuple(output_shape)
        self._output_shape, self._found_shapes = output_shape, {}

    def get_output_shape_for(self, input_shape):
        if self._output_shape is None:
            return input_shape
        if self._output_shape != "auto":
            return self._output_shape
        input_shape = tuple(input_shape)
        if input_shape not in self._found_shapes:  # one small Theano function per shape
            zeros = T.zeros([0 if size is None else size for size in input_shape])
            found = self.function(zeros).shape.eval()
            self._found_shapes[input_shape] = tuple(int(size) or None for size in found)
        return self._found_shapes[input_shape]

    def get_output_for(self, input, **kwargs):
        return self.function(input)


class InverseLayer(MergeLayer):
    """Inverts `layer`: its incoming is taken as a gradient of layer's
    output, and the output is the gradient of layer's input (a transposed
    DenseLayer, a transposed convolution, max-unpooling), through layer's
    nonlinearity and bias where it has them. Shares layer's parameters."""

    def __init__(self, incoming, layer, **kwargs):
        super(InverseLayer, self).__init__([incoming, layer, layer.input_layer], **kwargs)

    def get_output_shape_for(self, input_shapes):
        return input_shapes[2]

    def get_output_for(self, inputs, **kwargs):
        gradient, layer_output, layer_input = inputs
        return theano.grad(None, wrt=layer_input, known_grads={layer_output: gradient})


class TransformerLayer(MergeLayer):
    """Spatial transformer: each image of incoming (batch, channels, rows,
    columns) sampled, bilinearly, at the points of a regular grid moved by
    an affine map, whose six numbers (a 2x3 matrix, row by row) are the
    localization network's output. Coordinates run from -1 to 1 across
    the image; points outside take the nearest border value. The output's
    rows and columns: the input's divided by downsample_factor."""

    def __init__(self, incoming, localization_network, downsample_factor=1,
                 border_mode="nearest", **kwargs):
        super(TransformerLayer, self).__init__([incoming, localization_network], **kwargs)
        if border_mode != "nearest":
            raise NotImplementedError("TransformerLayer: only border_mode='nearest' here")
        self.downsample_factor = as_tuple(downsample_factor, 2)
        self.border_mode = border_mode
        input_shape, theta_shape = self.input_shapes
        if len(theta_shape) != 2 or theta_shape[1] != 6:
            raise ValueError("TransformerLayer: the localization network's output must have "
                             "shape (batch, 6), not %s" % (theta_shape,))
        if len(input_shape) != 4:
            raise ValueError("TransformerLayer: the input must have 4 axes (batch, channels, "
                             "rows, columns), not shape %s" % (input_shape,))

    def get_output_shape_for(self, input_shapes):
        shape = input_shapes[0]
        return tuple(shape[:2]) + tuple(None if size is None else int(size / factor)
                                        for size, factor in zip(shape[2:], self.downsample_factor))

    def get_output_for(self, inputs, **kwargs):
        images, theta = inputs
        batch, channels, height, width = images.shape
        out_height = T.cast(height / self.downsample_factor[0], "int64")
        out_width = T.cast(width / self.downsample_factor[1], "int64")
        # the grid (x, y, 1) of the output's points, then where each samples
        ys, xs = _linspace(out_height), _linspace(out_width)
        grid = T.stack([T.outer(T.ones_like(ys), xs).flatten(),
                        T.outer(ys, T.ones_like(xs)).flatten(),
                        T.ones((out_height * out_width,))])
        source = T.dot(theta.reshape((-1, 2, 3)), grid)  # (batch, 2, points)
        x = (T.clip(source[:, 0], -1, 1) + 1) / 2 * _float(width - 1)
        y = (T.clip(source[:, 1], -1, 1) + 1) / 2 * _float(height - 1)
        pixels = images.dimshuffle(0, 2, 3, 1).reshape((-1, channels))
        x0, y0 = T.floor(x), T.floor(y)
        first = (T.arange(batch) * height * width).dimshuffle(0, "x")
        sampled = 0
        for dx in (0, 1):
            for dy in (0, 1):
                weight = (1 - abs(x - x0 - dx)) * (1 - abs(y - y0 - dy))
                xi = T.cast(T.minimum(x0 + dx, width - 1), "int64")
                yi = T.cast(T.minimum(y0 + dy, height - 1), "int64")
                sampled += weight.dimshuffle(0, 1, "x") * pixels[first + yi * width + xi]
        return sampled.reshape((batch, out_height, out_width, channels)).dimshuffle(0, 3, 1, 2)


def _float(x):
    return T.cast(x, theano.config.floatX)


def _linspace(n):
    """n evenly spaced values from -1 to 1 (floatX)."""
    return T.arange(n, dtype=theano.config.floatX) * _float(2. / (n - 1)) - 1


class ParametricRectifierLayer(Layer):
    """max(x, 0) + alpha * min(x, 0), alpha learned (He et al., 2015) and
    shared over shared_axes ('auto', 'all': one alpha, an axis or axes)."""

    def __init__(self, incoming, alpha=QUARTER, shared_axes="auto", **kwargs):
        super(ParametricRectifierLayer, self).__init__(incoming, **kwargs)
        self.shared_axes = shared_axes_of(shared_axes, len(self.input_shape))
        self.alpha = self.add_param(alpha, unshared_shape(self, self.shared_axes), "alpha",
                                    regularizable=False)

    def get_output_for(self, input, **kwargs):
        return T.nnet.relu(input, along(self.alpha, self.shared_axes, input.ndim))


def prelu(layer, **kwargs):
    """layer's nonlinearity replaced by a ParametricRectifierLayer after it."""
    _without_nonlinearity(layer)
    return ParametricRectifierLayer(layer, **kwargs)


class RandomizedRectifierLayer(Layer):
    """Leaky rectifier whose slope below 0 is drawn from U(lower, upper) at
    each pass in training (one slope for all positions along shared_axes),
    and is (lower + upper) / 2 with deterministic=True (Xu et al., 2015)."""

    def __init__(self, incoming, lower=0.3, upper=0.8, shared_axes="auto", **kwargs):
        super(RandomizedRectifierLayer, self).__init__(incoming, **kwargs)
        if not isinstance(lower > upper, theano.Variable) and lower > upper:
            raise ValueError("RandomizedRectifierLayer: lower (%s) must not exceed upper (%s)"
                             % (lower, upper))
        self._srng = MRG_RandomStreams(get_rng().randint(1, 2147462579))
        self.lower, self.upper = lower, upper
        self.shared_axes = shared_axes_of(shared_axes, len(self.input_shape))

    def get_output_for(self, input, deterministic=False, **kwargs):
        if deterministic or self.upper == self.lower:
            return T.nnet.relu(input, (self.lower + self.upper) / 2.)
        shape = self.input_shape
        if any(size is None for size in shape):
            shape = input.shape
        shape = tuple(1 if axis in self.shared_axes else shape[axis] for axis in range(input.ndim))
        slopes = self._srng.uniform(shape, low=self.lower, high=self.upper, dtype=input.dtype)
        return T.nnet.relu(input, T.addbroadcast(slopes, *self.shared_axes))


def rrelu(layer, **kwargs):
    """layer's nonlinearity replaced by a RandomizedRectifierLayer after it."""
    _without_nonlinearity(layer)
    return RandomizedRectifierLayer(layer, **kwargs)


# --- dropout ---------------------------------------------------------------------------


def dropout_channels(incoming, *args, **kwargs):
    """A DropoutLayer dropping whole channels (feature maps): its mask shared
    over every axis after the second."""
    ndim = len(getattr(incoming, "output_shape", incoming))
    return DropoutLayer(incoming, *args, shared_axes=tuple(range(2, ndim)), **kwargs)


spatial_dropout = dropout_channels


def dropout_locations(incoming, *args, **kwargs):
    """A DropoutLayer dropping whole locations (all channels of a pixel)."""
    return DropoutLayer(incoming, *args, shared_axes=(1,), **kwargs)


__all__ = ["BatchNormLayer", "batch_norm", "BiasLayer", "ScaleLayer", "standardize",
           "ExpressionLayer", "InverseLayer", "TransformerLayer", "ParametricRectifierLayer",
           "prelu", "RandomizedRectifierLayer", "rrelu", "dropout_channels", "spatial_dropout",
           "dropout_locations"]

#: Where fixes.add_lasagne_dev_api puts each name.
PLACES = {"lasagne.layers": __all__,
          "lasagne.layers.normalization": ["BatchNormLayer", "batch_norm"],
          "lasagne.layers.noise": ["dropout_channels", "spatial_dropout", "dropout_locations"]}
