"""lasagne.layers.dnn on every machine: cuDNN's layers as Theano 1.0 computes them.

Lasagne's dnn module wraps the old CUDA back end's cuDNN ops
(theano.sandbox.cuda.dnn), which Theano 1.0 removed: it cannot even be
imported, so 2015 models built from Conv2DDNNLayer and MaxPool2DDNNLayer (most
ImageNet nets of the time) cannot be built. These classes keep that module's
names, arguments and semantics and compute with Theano's own convolution
and pooling: on the CPU, and on the GPU back end (device=cuda), where Theano
moves them to the GPU itself.

Semantics kept from Lasagne's dnn layers: Conv2DDNNLayer correlates by
default (flip_filters=False), where Conv2DLayer convolves; pad='same' is
real padding of (filter_size - 1) // 2 (odd filters), not a cropped 'full';
pooling always ignores the border (ignore_border=False is refused), and its
modes are cuDNN's: 'max', 'average_inc_pad', 'average_exc_pad'.
BatchNormDNNLayer and batch_norm_dnn (of the development version) are
BatchNormLayer and batch_norm (theano_today.lasagne_dev).
fixes.add_dnn_module makes `import lasagne.layers.dnn` give these classes.
"""
import theano.tensor as T
from lasagne import init, nonlinearities
from lasagne.layers import Conv2DLayer, Layer, Pool2DLayer

from theano_today import lasagne_dev

__all__ = ["DNNLayer", "Pool2DDNNLayer", "MaxPool2DDNNLayer", "Conv2DDNNLayer",
           "BatchNormDNNLayer", "batch_norm_dnn"]

#: Conv2DDNNLayer's default initializers, one instance each as in Lasagne's own signature.
GLOROT_UNIFORM, ZERO = init.GlorotUniform(), init.Constant(0.)
#: cuDNN's pooling modes, which Theano's pool_2d also takes.
POOL_MODES = ("max", "average_inc_pad", "average_exc_pad")


class DNNLayer(Layer):
    """The base class of the cuDNN layers, for isinstance checks."""


class Pool2DDNNLayer(DNNLayer, Pool2DLayer):
    """2-d max or mean pooling, as Lasagne's Pool2DDNNLayer (borders ignored)."""

    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0),
                 ignore_border=True, mode="max", **kwargs):
        if not ignore_border:
            raise NotImplementedError("Pool2DDNNLayer does not support ignore_border=False.")
        if mode not in POOL_MODES:
            raise ValueError("Pool2DDNNLayer: mode must be one of %s, not %r"
                             % (", ".join(POOL_MODES), mode))
        super(Pool2DDNNLayer, self).__init__(incoming, pool_size, stride, pad,
                                             ignore_border=True, mode=mode, **kwargs)


class MaxPool2DDNNLayer(Pool2DDNNLayer):
    """Pool2DDNNLayer with mode='max'."""

    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0),
                 ignore_border=True, **kwargs):
        super(MaxPool2DDNNLayer, self).__init__(incoming, pool_size, stride, pad,
                                                ignore_border, mode="max", **kwargs)


class Conv2DDNNLayer(DNNLayer, Conv2DLayer):
    """2-d convolution layer, as Lasagne's Conv2DDNNLayer: a correlation unless
    flip_filters=True, pad 'valid', 'full', 'same' or explicit numbers."""

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1), pad=0,
                 untie_biases=False, W=GLOROT_UNIFORM, b=ZERO,
                 nonlinearity=nonlinearities.rectify, flip_filters=False, **kwargs):
        self.flip_filters = flip_filters
        if pad == "same":  # real padding, as cuDNN does it (odd filter sizes)
            size = filter_size if isinstance(filter_size, (tuple, list)) else (filter_size,) * 2
            pad = tuple((s - 1) // 2 for s in size)
        super(Conv2DDNNLayer, self).__init__(incoming, num_filters, filter_size, stride, pad,
                                             untie_biases, W, b, nonlinearity, **kwargs)

    def get_output_for(self, input, **kwargs):
        conved = T.nnet.conv2d(input, self.W, input_shape=self.input_shape,
                               filter_shape=self.get_W_shape(),
                               border_mode="full" if self.pad == "full" else self.pad,
                               subsample=self.stride, filter_flip=self.flip_filters)
        if self.b is None:
            activation = conved
        elif self.untie_biases:
            activation = conved + self.b.dimshuffle("x", 0, 1, 2)
        else:
            activation = conved + self.b.dimshuffle("x", 0, "x", "x")
        return self.nonlinearity(activation)


class BatchNormDNNLayer(lasagne_dev.BatchNormLayer):
    """BatchNormLayer, under its cuDNN name."""


def batch_norm_dnn(layer, **kwargs):
    """batch_norm, with a BatchNormDNNLayer."""
    return lasagne_dev.normalized(layer, BatchNormDNNLayer, kwargs)
