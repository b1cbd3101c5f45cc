"""Lasagne's development API (0.2.dev1) that Lasagne 0.1 lacks, on top of 0.1.

PyPI's only Lasagne is 0.1 (August 2015); code of late 2015 and 2016, and
nolearn 0.6.1 itself, was written against Lasagne's development version,
documented as "latest". Written from that documentation; covered so far:

  BatchNormLayer   batch normalization (Ioffe and Szegedy, 2015), with running
                   averages of the batch statistics for deterministic passes
  batch_norm       a layer with its bias and nonlinearity taken out, followed by
                   a BatchNormLayer and the nonlinearity
  the recurrent layers' mask_incoming_index (and hid_init_, cell_init_incoming_index):
                   where among its inputs a layer finds the mask (-1: none)

fixes.add_lasagne_dev_api puts these into lasagne.layers (and
lasagne.layers.normalization, where the development version has them), and
the indices onto Lasagne 0.1's recurrent layers (add_recurrent_indices).
"""
import theano
import theano.tensor as T
from lasagne import init, nonlinearities
from lasagne.layers import Layer, NonlinearityLayer

__all__ = ["BatchNormLayer", "batch_norm"]

#: BatchNormLayer's default initializers, one instance each as in Lasagne's signatures.
ZERO, ONE = init.Constant(0), init.Constant(1)


class BatchNormLayer(Layer):
    """Normalizes its input over `axes` (by default every axis but the
    second: the batch for dense layers, the batch and positions for
    convolutional ones), then scales by gamma and shifts by beta:

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
        if axes == "auto":
            axes = (0,) + tuple(range(2, len(self.input_shape)))
        elif isinstance(axes, int):
            axes = (axes,)
        self.axes = tuple(axes)
        self.epsilon, self.alpha = epsilon, alpha
        shape = [size for axis, size in enumerate(self.input_shape) if axis not in self.axes]
        if any(size is None for size in shape):
            raise ValueError("BatchNormLayer needs the size of every axis it does not "
                             "normalize over, got input shape %s" % (self.input_shape,))
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
        # mean, inv_std, beta and gamma broadcast along the normalized axes
        pattern = []
        kept = iter(range(input.ndim - len(self.axes)))
        for axis in range(input.ndim):
            pattern.append("x" if axis in self.axes else next(kept))
        beta = 0 if self.beta is None else self.beta.dimshuffle(pattern)
        gamma = 1 if self.gamma is None else self.gamma.dimshuffle(pattern)
        return (input - mean.dimshuffle(pattern)) * (gamma * inv_std.dimshuffle(pattern)) + beta


def batch_norm(layer, **kwargs):
    """layer without its bias and nonlinearity, followed by a BatchNormLayer
    (kwargs) and a NonlinearityLayer with layer's nonlinearity; returns the
    last of them. Named after layer ('conv1_bn', 'conv1_bn_nonlin') where it
    has a name."""
    nonlinearity = getattr(layer, "nonlinearity", None)
    if nonlinearity is not None:
        layer.nonlinearity = nonlinearities.identity
    if getattr(layer, "b", None) is not None:
        del layer.params[layer.b]
        layer.b = None
    name = getattr(layer, "name", None)
    bn_name = name and name + "_bn"
    layer = BatchNormLayer(layer, name=bn_name, **kwargs)
    if nonlinearity is not None:
        layer = NonlinearityLayer(layer, nonlinearity, name=bn_name and bn_name + "_nonlin")
    return layer


def add_recurrent_indices():
    """The development version's recurrent layers say where among their
    inputs each optional one is (nolearn reads mask_incoming_index). Lasagne
    0.1's take a mask only, as their second input, and initial states only
    as values: mask_incoming_index is 1 or -1, the others -1."""
    from lasagne.layers import recurrent
    for cls in (recurrent.CustomRecurrentLayer, recurrent.LSTMLayer, recurrent.GRULayer):
        if not hasattr(cls, "mask_incoming_index"):
            cls.mask_incoming_index = property(
                lambda self: 1 if len(self.input_layers) > 1 else -1)
            cls.hid_init_incoming_index = cls.cell_init_incoming_index = -1
