"""Batched convolution on the GPU: batched_conv.

Theano's GpuCorrMM loops over the images of a minibatch: per image, one
im2col kernel and one small cuBLAS product. For the article's small images
that is 128 launches per layer and direction, and the GPU waits on launch
overhead. The rewrite expresses a stride-1 'valid' convolution and both its
gradients with ordinary tensor ops: every k x k patch of the whole batch
(im2col, by Theano's images2neibs), and ONE matrix product per layer and
direction, which Theano moves to the GPU like any other ops; the input
gradient adds the product's columns back at their k*k shifted places. Same
sums in another order: results agree to float32 rounding. On the CPU,
CorrMM's per-image loop measured faster, so it is registered on the GPU only.

Turned off by THEANO_FLAGS=optimizer_excluding=batched_conv.
"""
from theano import gof, tensor
from theano.compile import optdb
from theano.tensor.nnet.abstract_conv import (
    AbstractConv2d, AbstractConv2d_gradInputs, AbstractConv2d_gradWeights)
from theano.tensor.nnet.neighbours import images2neibs


def _plain_conv(node, op_class):
    """(kh, kw) when node is an op_class node of a stride-1, 'valid',
    ungrouped 2-d convolution with a known filter size, else None."""
    op = node.op
    if (not isinstance(op, op_class) or op.border_mode != "valid" or tuple(op.subsample) != (1, 1)
            or tuple(op.filter_dilation) != (1, 1) or op.num_groups != 1
            or op.unshared or op.kshp is None or None in tuple(op.kshp)[2:]):
        return None
    return tuple(int(k) for k in op.kshp[2:])


def _columns(img, kh, kw, oh, ow):
    """im2col of the whole batch: (N*oh*ow, C*kh*kw), column order (c, a, b)
    as in a (F, C, kh, kw) filter reshaped to (F, C*kh*kw). images2neibs
    cuts out every kh x kw patch in one op (one kernel on the GPU; a stack
    of the kh*kw shifted views took a copy kernel per view)."""
    n, c = img.shape[0], img.shape[1]
    patches = images2neibs(img, (kh, kw), (1, 1))  # (N*C*oh*ow, kh*kw), rows (n, c, i, j)
    return patches.reshape((n, c, oh, ow, kh * kw)).dimshuffle(0, 2, 3, 1, 4).reshape(
        (n * oh * ow, c * kh * kw))


def _flip(kern, flip):
    # filter_flip=True (Lasagne's default) is a true convolution: the filter
    # is applied upside down and mirrored.
    return kern[:, :, ::-1, ::-1] if flip else kern


@gof.local_optimizer([AbstractConv2d])
def local_batched_conv(node):
    size = _plain_conv(node, AbstractConv2d)
    if size is None:
        return None
    kh, kw = size
    img, kern = node.inputs
    n, f = img.shape[0], kern.shape[0]
    oh, ow = img.shape[2] - kh + 1, img.shape[3] - kw + 1
    weights = _flip(kern, node.op.filter_flip).reshape((f, -1))
    out = tensor.dot(_columns(img, kh, kw, oh, ow), weights.T)  # (N*oh*ow, F)
    out = out.reshape((n, oh, ow, f)).dimshuffle(0, 3, 1, 2)
    return [tensor.patternbroadcast(out, node.outputs[0].broadcastable)]


@gof.local_optimizer([AbstractConv2d_gradWeights])
def local_batched_conv_grad_weights(node):
    size = _plain_conv(node, AbstractConv2d_gradWeights)
    if size is None:
        return None
    kh, kw = size
    img, topgrad = node.inputs[:2]
    n, c, f = img.shape[0], img.shape[1], topgrad.shape[1]
    oh, ow = topgrad.shape[2], topgrad.shape[3]
    grad = topgrad.dimshuffle(0, 2, 3, 1).reshape((n * oh * ow, f))
    gw = tensor.dot(grad.T, _columns(img, kh, kw, oh, ow)).reshape((f, c, kh, kw))
    gw = _flip(gw, node.op.filter_flip)
    return [tensor.patternbroadcast(gw, node.outputs[0].broadcastable)]


@gof.local_optimizer([AbstractConv2d_gradInputs])
def local_batched_conv_grad_inputs(node):
    size = _plain_conv(node, AbstractConv2d_gradInputs)
    if size is None:
        return None
    kh, kw = size
    kern, topgrad, shape = node.inputs
    n, f, oh, ow = [topgrad.shape[i] for i in range(4)]
    c = kern.shape[1]
    weights = _flip(kern, node.op.filter_flip).reshape((f, -1))
    cols = tensor.dot(topgrad.dimshuffle(0, 2, 3, 1).reshape((n * oh * ow, f)), weights)
    cols = cols.reshape((n, oh, ow, c, kh * kw))
    # col2im: each filter offset adds its share back at its shifted place
    gx = tensor.zeros((n, c, shape[0], shape[1]), dtype=topgrad.dtype)
    for a in range(kh):
        for b in range(kw):
            gx = tensor.inc_subtensor(gx[:, :, a:a + oh, b:b + ow],
                                      cols[:, :, :, :, a * kw + b].dimshuffle(0, 3, 1, 2))
    return [tensor.patternbroadcast(gx, node.outputs[0].broadcastable)]


def register():
    """Add the three rewrites to Theano's optimizer (once). Early (stabilize,
    1.5): before the BLAS optimizations (1.7) turn the new dot()s into
    Gemm/Dot22, which the GPU lifting (48.5) moves to the GPU, and before the
    choice of convolution implementation (48.6)."""
    for name, opt in [("local_batched_conv", local_batched_conv),
                      ("local_batched_conv_grad_weights", local_batched_conv_grad_weights),
                      ("local_batched_conv_grad_inputs", local_batched_conv_grad_inputs)]:
        if name not in optdb["stabilize"].__db__:
            optdb["stabilize"].register(name, opt, "fast_run", "batched_conv")
