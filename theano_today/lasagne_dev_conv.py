"""Lasagne's development API (0.2.dev1): the convolution, pooling and
upscaling layers Lasagne 0.1 lacks, on Theano 1.0's own operations.
Written from the development version's documentation:

  TransposedConv2DLayer (also Deconv2DLayer)   a convolution's backward pass
  DilatedConv2DLayer                           filters with holes (Yu and Koltun, 2016)
  Pool1DLayer                                  max or mean pooling along one axis
  Upscale1DLayer, Upscale2DLayer               repeat (or space out) the values

fixes.add_lasagne_dev_api puts them into lasagne.layers (PLACES).
"""
import theano.tensor as T
from lasagne import init, nonlinearities
from lasagne.layers import Layer
from lasagne.layers.pool import pool_output_length
from lasagne.utils import as_tuple
from theano.tensor.nnet.abstract_conv import conv2d_grad_wrt_inputs
from theano.tensor.signal.pool import pool_2d

#: Default initializers, one instance each as in Lasagne's signatures.
GLOROT_UNIFORM, ZERO = init.GlorotUniform(), init.Constant(0.)
#: Pooling modes: max, or the mean with or without the padding's zeros.
POOL_MODES = ("max", "average_inc_pad", "average_exc_pad")


class _FilterLayer(Layer):
    """What the two layers below share: filters W of shape (input channels,
    num_filters, rows, columns), bias b (per filter, or per filter and
    output position with untie_biases), a nonlinearity."""

    def __init__(self, incoming, num_filters, filter_size, untie_biases, W, b, nonlinearity,
                 flip_filters, **kwargs):
        super(_FilterLayer, self).__init__(incoming, **kwargs)
        if len(self.input_shape) != 4:
            raise ValueError("%s: the input must have 4 axes (batch, channels, rows, columns), "
                             "not shape %s" % (type(self).__name__, self.input_shape))
        self.num_filters = num_filters
        self.filter_size = as_tuple(filter_size, 2, int)
        self.untie_biases, self.flip_filters = untie_biases, flip_filters
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        self.W = self.add_param(W, self.get_W_shape(), name="W")
        if b is None:
            self.b = None
        else:
            shape = (num_filters,) + tuple(self.output_shape[2:]) if untie_biases \
                else (num_filters,)
            self.b = self.add_param(b, shape, name="b", regularizable=False)

    def get_W_shape(self):
        return (self.input_shape[1], self.num_filters) + self.filter_size

    def get_output_for(self, input, **kwargs):
        out = self.convolve(input)
        if self.b is not None:
            out += (self.b.dimshuffle("x", 0, 1, 2) if self.untie_biases
                    else self.b.dimshuffle("x", 0, "x", "x"))
        return self.nonlinearity(out)


class TransposedConv2DLayer(_FilterLayer):
    """The backward pass of a 2-d convolution ("deconvolution"): the input,
    with stride - 1 zeros between its values and filter_size - 1 - crop zeros
    around them, cross-correlated with the filters (convolved with
    flip_filters=True). crop: 0 ('valid'), a number or pair, 'full' (filter
    size - 1) or 'same' (half the filter size, odd sizes). The output is the
    smallest a convolution of that stride maps back to the input's size,
    unless output_size says which. Tied to a Conv2DLayer `conv`:
    TransposedConv2DLayer(conv, conv.input_shape[1], conv.filter_size,
    stride=conv.stride, crop=conv.pad, W=conv.W, flip_filters=not conv.flip_filters)."""

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1), crop=0,
                 untie_biases=False, W=GLOROT_UNIFORM, b=ZERO,
                 nonlinearity=nonlinearities.rectify, flip_filters=False, output_size=None,
                 **kwargs):
        self.stride = as_tuple(stride, 2, int)
        size = as_tuple(filter_size, 2, int)
        if crop == "same" and any(s % 2 == 0 for s in size):
            raise NotImplementedError("TransposedConv2DLayer: crop='same' needs odd filter sizes")
        self.crop = (0, 0) if crop == "valid" else crop if crop in ("full", "same") \
            else as_tuple(crop, 2, int)
        self.output_size = None if output_size is None else as_tuple(output_size, 2, int)
        super(TransposedConv2DLayer, self).__init__(incoming, num_filters, filter_size,
                                                    untie_biases, W, b, nonlinearity,
                                                    flip_filters, **kwargs)

    def get_output_shape_for(self, input_shape):
        if self.output_size is not None:
            return (input_shape[0], self.num_filters) + self.output_size
        crops = {"full": [s - 1 for s in self.filter_size],
                 "same": [s // 2 for s in self.filter_size]}.get(self.crop, self.crop)
        return (input_shape[0], self.num_filters) + tuple(
            None if n is None else (n - 1) * stride - 2 * crop + size
            for n, size, stride, crop in zip(input_shape[2:], self.filter_size, self.stride,
                                             crops))

    def convolve(self, input):
        size = self.output_shape[2:]
        if any(s is None for s in size):
            size = self.get_output_shape_for([input.shape[axis] for axis in range(4)])[2:]
        return conv2d_grad_wrt_inputs(
            input, self.W, (None, self.num_filters) + tuple(size), self.get_W_shape(),
            border_mode="half" if self.crop == "same" else self.crop,
            subsample=self.stride, filter_flip=not self.flip_filters)


Deconv2DLayer = TransposedConv2DLayer


class DilatedConv2DLayer(_FilterLayer):
    """2-d correlation with dilated filters: dilation - 1 zeros between
    adjacent filter values (Yu and Koltun, 2016). No padding (pad=0 or
    'valid'; a PadLayer before it pads) and no flipping
    (flip_filters=False), as the development version's."""

    def __init__(self, incoming, num_filters, filter_size, dilation=(1, 1), pad=0,
                 untie_biases=False, W=GLOROT_UNIFORM, b=ZERO,
                 nonlinearity=nonlinearities.rectify, flip_filters=False, **kwargs):
        self.dilation = as_tuple(dilation, 2, int)
        self.pad = (0, 0) if pad == "valid" else as_tuple(pad, 2, int)
        if self.pad != (0, 0):
            raise NotImplementedError("DilatedConv2DLayer: pad must be 0 (a PadLayer before it "
                                      "pads), not %r" % (pad,))
        if flip_filters:
            raise NotImplementedError("DilatedConv2DLayer: flip_filters must be False")
        super(DilatedConv2DLayer, self).__init__(incoming, num_filters, filter_size,
                                                 untie_biases, W, b, nonlinearity,
                                                 flip_filters, **kwargs)

    def get_output_shape_for(self, input_shape):
        return (input_shape[0], self.num_filters) + tuple(
            None if n is None else n - (size - 1) * dilation
            for n, size, dilation in zip(input_shape[2:], self.filter_size, self.dilation))

    def convolve(self, input):
        W_shape = self.get_W_shape()
        return T.nnet.conv2d(input, self.W.dimshuffle(1, 0, 2, 3), self.input_shape,
                             (W_shape[1], W_shape[0]) + W_shape[2:], filter_flip=False,
                             filter_dilation=self.dilation)


class Pool1DLayer(Layer):
    """Max or mean pooling along the last axis of a 3-d input; mode as
    Pool2DLayer's ('max', 'average_inc_pad', 'average_exc_pad')."""

    def __init__(self, incoming, pool_size, stride=None, pad=0, ignore_border=True, mode="max",
                 **kwargs):
        super(Pool1DLayer, self).__init__(incoming, **kwargs)
        if len(self.input_shape) != 3:
            raise ValueError("Pool1DLayer: the input must have 3 axes (batch, channels, "
                             "positions), not shape %s" % (self.input_shape,))
        if mode not in POOL_MODES:
            raise ValueError("Pool1DLayer: mode must be one of %s, not %r"
                             % (", ".join(POOL_MODES), mode))
        self.pool_size = as_tuple(pool_size, 1)
        self.stride = self.pool_size if stride is None else as_tuple(stride, 1)
        self.pad = as_tuple(pad, 1)
        self.ignore_border, self.mode = ignore_border, mode

    def get_output_shape_for(self, input_shape):
        return tuple(input_shape[:2]) + (pool_output_length(
            input_shape[2], self.pool_size[0], self.stride[0], self.pad[0], self.ignore_border),)

    def get_output_for(self, input, **kwargs):
        pooled = pool_2d(T.shape_padright(input), ws=(self.pool_size[0], 1),
                         stride=(self.stride[0], 1), pad=(self.pad[0], 0),
                         ignore_border=self.ignore_border, mode=self.mode)
        return pooled[:, :, :, 0]


class _UpscaleLayer(Layer):
    """Upscales the last `spatial` axes (Upscale1DLayer, Upscale2DLayer)."""
    spatial = None

    def __init__(self, incoming, scale_factor, mode="repeat", **kwargs):
        super(_UpscaleLayer, self).__init__(incoming, **kwargs)
        self.scale_factor = as_tuple(scale_factor, self.spatial)
        if min(self.scale_factor) < 1:
            raise ValueError("%s: scale_factor must be 1 or more, not %s"
                             % (type(self).__name__, scale_factor))
        if mode not in ("repeat", "dilate"):
            raise ValueError("%s: mode must be 'repeat' or 'dilate', not %r"
                             % (type(self).__name__, mode))
        self.mode = mode

    def get_output_shape_for(self, input_shape):
        first = len(input_shape) - self.spatial
        return tuple(input_shape[:first]) + tuple(
            None if n is None else n * factor
            for n, factor in zip(input_shape[first:], self.scale_factor))

    def get_output_for(self, input, **kwargs):
        first = input.ndim - self.spatial
        if self.mode == "repeat":
            for axis, factor in enumerate(self.scale_factor, first):
                if factor > 1:
                    input = T.extra_ops.repeat(input, factor, axis)
            return input
        spaced = (slice(None),) * first + tuple(slice(None, None, f) for f in self.scale_factor)
        shape = [input.shape[axis] for axis in range(input.ndim)]
        zeros = T.zeros(self.get_output_shape_for(shape), dtype=input.dtype)
        return T.set_subtensor(zeros[spaced], input)


class Upscale1DLayer(_UpscaleLayer):
    """Upscales the last axis of a 3-d input by scale_factor: mode 'repeat'
    repeats each value, 'dilate' puts it first in a block of zeros."""
    spatial = 1


class Upscale2DLayer(_UpscaleLayer):
    """Upscales the last two axes of a 4-d input by scale_factor (a number or
    a pair): mode 'repeat' repeats each value, 'dilate' puts it first in a
    block of zeros."""
    spatial = 2


__all__ = ["TransposedConv2DLayer", "Deconv2DLayer", "DilatedConv2DLayer", "Pool1DLayer",
           "Upscale1DLayer", "Upscale2DLayer"]

#: Where fixes.add_lasagne_dev_api puts each name.
PLACES = {"lasagne.layers": __all__,
          "lasagne.layers.conv": ["TransposedConv2DLayer", "Deconv2DLayer", "DilatedConv2DLayer"],
          "lasagne.layers.pool": ["Pool1DLayer", "Upscale1DLayer", "Upscale2DLayer"]}
