"""Bias gradients as matrix products on the CPU: bias_grad_dot.

A conv layer adds its bias to every position of every image, so the bias
gradient sums the output gradient over the batch and the positions: Theano's
Sum{axis=[0, 2, 3], acc_dtype=float64}, a generic one-thread loop that
widens every value to float64. The rewrite writes it as two products with
ones vectors, which Theano's BLAS optimizations turn into GEMVs: the H*W
values of each image's channel summed, then the N images. The sums are
float32 for float32 data, and differ from the float64 ones by at most
(H*W + N) * 2**-24 times the sum of the absolute values (the bound for
summing in that order; BLAS's partial sums only lower it), as
tests/test_bias_grad.py checks.

Registered on the CPU only: on the GPU, Theano's reduction is one kernel.

Turned off by THEANO_FLAGS=optimizer_excluding=bias_grad.
"""
from theano import gof, tensor


@gof.local_optimizer([tensor.Sum])
def local_bias_grad_dot(node):
    """Sum over axes 0, 2, 3 of a 4-d float tensor -> two products with ones."""
    op = node.op
    if (not isinstance(op, tensor.Sum) or op.axis is None or node.inputs[0].ndim != 4
            or tuple(sorted(op.axis)) != (0, 2, 3)):
        return None
    x = node.inputs[0]
    if x.dtype not in ("float32", "float64") or node.outputs[0].dtype != x.dtype:
        return None
    n, c, h, w = x.shape
    per_image = tensor.dot(x.reshape((n * c, h * w)), tensor.ones((h * w,), x.dtype))
    sums = tensor.dot(tensor.ones((n,), x.dtype), per_image.reshape((n, c)))
    return [tensor.patternbroadcast(sums, node.outputs[0].broadcastable)]


# Where theano_today.speedups registers them (tag bias_grad): early (stabilize, 1.5):
# before the BLAS optimizations (1.7) turn the dot()s into GEMVs.
REWRITES = {"local_bias_grad_dot": local_bias_grad_dot}
