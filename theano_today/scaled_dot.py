"""Scaled matrix products on the GPU: scaled_dot.

Theano folds a constant factor into a matrix product (Dot22Scalar), and its
GPU back end runs that as a GEMM into a fresh, uninitialized buffer
(GpuGemm on GpuAllocEmpty), whose shape the host works out at every step
(Shape, Subtensor and GpuAllocEmpty nodes). Where a gradient needs one
product twice, as Lasagne 0.1's rectify, 0.5 * (x + abs(x)), does (its
gradient is 0.5*g + 0.5*g*sgn(x), g a product), Theano's GEMM optimizer
folds each use into a GEMM of its own, and the product is computed twice.

This pass turns those GEMMs into one plain product (GpuDot22) per pair of
operands, and leaves the factor, and the addition, to an element-wise
kernel, which Theano's fusion then merges into the kernel that follows.
The factor is applied to the rounded product: results agree to float32
rounding. GEMMs that add to a buffer whose product is not computed
elsewhere stay as they are.

Turned off by THEANO_FLAGS=optimizer_excluding=scaled_dot.
"""
import numpy as np
from theano import gof, scalar
from theano.gpuarray.basic_ops import GpuAllocEmpty, as_gpuarray_variable
from theano.gpuarray.blas import GpuDot22, GpuGemm, gpu_dot22
from theano.gpuarray.elemwise import GpuElemwise


def _value(variable):
    """The number a constant scalar holds, else None."""
    data = getattr(variable, "data", None)
    return None if data is None or np.ndim(data) != 0 else float(data)


def _times(factor, product):
    """factor * product, as an element-wise kernel (none for a factor of 1)."""
    if factor == 1:
        return product
    constant = as_gpuarray_variable(np.full((1, 1), factor, dtype=product.dtype),
                                    product.type.context_name)
    return GpuElemwise(scalar.mul)(constant, product)


class ScaledDot(gof.Optimizer):
    """GpuGemm -> factor * GpuDot22 (+ the buffer), one product per operands."""

    def add_requirements(self, fgraph):
        fgraph.attach_feature(gof.toolbox.ReplaceValidate())

    def apply(self, fgraph):
        # equal operands are one variable only after a merge (Theano's next
        # is at 49): the lifting to the GPU leaves copies of equal nodes
        gof.MergeOptimizer().optimize(fgraph)
        products = {tuple(node.inputs): node.outputs[0]
                    for node in fgraph.apply_nodes if isinstance(node.op, GpuDot22)}
        for node in fgraph.toposort():
            if not isinstance(node.op, GpuGemm) or node not in fgraph.apply_nodes:
                continue
            buffer, alpha, x, y, beta = node.inputs
            a, b = _value(alpha), _value(beta)
            if a is None or b is None:
                continue
            # a GEMM into an uninitialized buffer is a scaled product alone
            product_alone = b == 0 and buffer.owner is not None and isinstance(
                buffer.owner.op, GpuAllocEmpty)
            if not (product_alone or (x, y) in products):
                continue
            if (x, y) not in products:
                products[(x, y)] = gpu_dot22(x, y)
            new = _times(a, products[(x, y)])
            if not product_alone:  # the GEMM also added b times its buffer
                new = GpuElemwise(scalar.add)(_times(b, buffer), new)
            fgraph.replace_validate(node.outputs[0], new, reason="scaled_dot")


# Where theano_today.speedups registers them (tag scaled_dot): after the GPU lifting
# (48.5) and its specializations (48.6), before the element-wise fusion (49).
REWRITES = {"scaled_dot_pass": ScaledDot()}
