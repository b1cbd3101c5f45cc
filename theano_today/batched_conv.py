"""Batched convolution on the GPU: batched_conv.

Theano's GpuCorrMM loops over the images of a minibatch: per image, one
im2col kernel and one small cuBLAS product. For the article's small images
that is 128 launches per layer and direction, and the GPU waits on launch
overhead. The rewrite expresses a stride-1 'valid' convolution and both its
gradients with ordinary tensor ops: every k x k patch of the whole batch
(im2col, by Theano's images2neibs), and ONE matrix product per layer and
direction, which Theano moves to the GPU like any other ops; the input
gradient is the same product on the zero-padded output gradient. Where the
op knows the sizes (Lasagne gives all but the batch), the reshapes take
constant shapes, so the graph carries no shape bookkeeping. Same sums in
another order: results agree to float32 rounding. On the CPU,
CorrMM's per-image loop measured faster, so it is registered on the GPU only.

Turned off by THEANO_FLAGS=optimizer_excluding=batched_conv.
"""
from theano import gof, tensor
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


def _known(size, fallback):
    """size where the op knows it (an int: the reshapes then take constant
    shapes, no shape bookkeeping in the graph), else the symbolic fallback."""
    return fallback if size is None else int(size)


def _sizes(op, img_shape, kern_shape):
    """(c, h, w, f) of the convolution: from the op's imshp and kshp (Lasagne
    gives every size but the batch), else from the symbolic shapes."""
    imshp = tuple(op.imshp) if op.imshp is not None else (None,) * 4
    kshp = tuple(op.kshp)
    c = _known(imshp[1] if imshp[1] is not None else kshp[1], img_shape[1])
    return (c, _known(imshp[2], img_shape[2]), _known(imshp[3], img_shape[3]),
            _known(kshp[0], kern_shape[0]))


def _columns(img, c, kh, kw, oh, ow, mode="valid"):
    """im2col of the whole batch: (N*oh*ow, C*kh*kw), column order (c, a, b)
    as in a (F, C, kh, kw) filter reshaped to (F, C*kh*kw). images2neibs
    cuts out every kh x kw patch in one op (one kernel on the GPU; a stack
    of the kh*kw shifted views took a copy kernel per view); mode 'full'
    pads the images with kh-1, kw-1 zeros on each side first."""
    patches = images2neibs(img, (kh, kw), (1, 1), mode=mode)  # (N*C*oh*ow, kh*kw), rows (n, c, i, j)
    if isinstance(c, int) and c == 1:  # one channel: the rows are already (n, i, j)
        return patches
    return patches.reshape((-1, c, oh, ow, kh * kw)).dimshuffle(0, 2, 3, 1, 4).reshape(
        (-1, c * kh * kw))


def _correlate(columns, weights, oh, ow, f):
    """The product of im2col columns (N*oh*ow, C*kh*kw) with weights
    (C*kh*kw, F), ONE matrix product, as images (N, F, oh, ow)."""
    out = tensor.dot(columns, weights)  # (N*oh*ow, F)
    return out.reshape((-1, oh, ow, f)).dimshuffle(0, 3, 1, 2)


def _flip(kern, flip):
    # filter_flip=True (Lasagne's default) is a true convolution: the filter
    # is applied upside down and mirrored.
    return kern[:, :, ::-1, ::-1] if flip else kern


def _valid_conv(node, op_class):
    """(image, second input, kh, kw, c, h, w, f, oh, ow) of a forward or
    weight-gradient node that _plain_conv accepts, else None; the second
    input is the filters (forward) or the output gradient (its shape[1:]
    gives f)."""
    size = _plain_conv(node, op_class)
    if size is None:
        return None
    kh, kw = size
    img, second = node.inputs[:2]
    second_shape = second.shape if op_class is AbstractConv2d else second.shape[1:]
    c, h, w, f = _sizes(node.op, img.shape, second_shape)
    return img, second, kh, kw, c, h, w, f, h - kh + 1, w - kw + 1


@gof.local_optimizer([AbstractConv2d])
def local_batched_conv(node):
    found = _valid_conv(node, AbstractConv2d)
    if found is None:
        return None
    img, kern, kh, kw, c, h, w, f, oh, ow = found
    weights = _flip(kern, node.op.filter_flip).reshape((f, -1)).T
    out = _correlate(_columns(img, c, kh, kw, oh, ow), weights, oh, ow, f)
    return [tensor.patternbroadcast(out, node.outputs[0].broadcastable)]


@gof.local_optimizer([AbstractConv2d_gradWeights])
def local_batched_conv_grad_weights(node):
    found = _valid_conv(node, AbstractConv2d_gradWeights)
    if found is None:
        return None
    img, topgrad, kh, kw, c, h, w, f, oh, ow = found
    grad = topgrad.dimshuffle(1, 0, 2, 3).reshape((f, -1))  # columns (n, i, j), as the rows below
    # -1, not c: a reshape to a constant 1 makes that axis broadcastable,
    # and the weights' type would then need a Rebroadcast node
    gw = tensor.dot(grad, _columns(img, c, kh, kw, oh, ow)).reshape((f, -1, kh, kw))
    gw = _flip(gw, node.op.filter_flip)
    return [tensor.patternbroadcast(gw, node.outputs[0].broadcastable)]


@gof.local_optimizer([AbstractConv2d_gradInputs])
def local_batched_conv_grad_inputs(node):
    """The input gradient is the 'full' correlation of the output gradient
    with the filters turned by 180 degrees and C and F swapped: a valid one
    of the output gradient padded by kh-1, kw-1 zeros, which images2neibs's
    mode 'full' does as it cuts the patches, again one product (adding the
    product's columns back at their k*k shifted places took an
    IncSubtensor, and its slices, per filter offset)."""
    size = _plain_conv(node, AbstractConv2d_gradInputs)
    if size is None:
        return None
    kh, kw = size
    kern, topgrad, shape = node.inputs
    c, h, w, f = _sizes(node.op, (None, kern.shape[1], shape[0], shape[1]), kern.shape)
    # turned: the flip the forward applies, undone by a second one; rows
    # (f, a, b) as the columns of the padded output gradient, columns c
    turned = _flip(kern, not node.op.filter_flip).dimshuffle(0, 2, 3, 1).reshape((-1, c))
    gx = _correlate(_columns(topgrad, f, kh, kw, h, w, mode="full"), turned, h, w, c)
    return [tensor.patternbroadcast(gx, node.outputs[0].broadcastable)]


# Where theano_today.speedups registers them (tag batched_conv): early
# (stabilize, 1.5): before the BLAS optimizations (1.7) turn the new dot()s into
# Gemm/Dot22, which the GPU lifting (48.5) moves to the GPU, and before the choice of
# convolution implementation (48.6).
REWRITES = {"local_batched_conv": local_batched_conv,
            "local_batched_conv_grad_weights": local_batched_conv_grad_weights,
            "local_batched_conv_grad_inputs": local_batched_conv_grad_inputs}
