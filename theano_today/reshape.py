"""Reshapes that take -1 for the batch size (GPU): reshape_minus_one.

Lasagne's DenseLayer flattens its input (x.flatten(2)) and the gradient
reshapes back (g.reshape(x.shape)). In a step over a slice of the stored
images, the batch size is the slice's length, which Theano works out on the
host, and each such reshape takes a shape vector built there at every step
(a MakeVector node) with that length first. Where the other sizes are
constants and the array's own other sizes, as Theano's shape inference
knows them, multiply to the same number, the first size is the array's size
divided by them: -1 says that to the reshape itself, which then needs no
vector from the host. The same reshape, exactly; a wrong size, which the
original would have refused, cannot arise there.

GPU only; turned off by THEANO_FLAGS=optimizer_excluding=reshape.
"""
import numpy as np
from theano import gof, tensor
from theano.tensor.opt import MakeVector


def _constant(variable):
    """The int a constant scalar holds, else None."""
    try:
        return int(tensor.get_scalar_constant_value(variable))
    except tensor.NotScalarConstantError:
        return None


@gof.local_optimizer([tensor.Reshape])
def local_reshape_minus_one(node):
    """Reshape(x, [n, c1, c2, ...]) -> Reshape(x, [-1, c1, c2, ...]) where n
    is x's first size and x's other sizes multiply to c1*c2*..."""
    if not isinstance(node.op, tensor.Reshape):
        return None
    x, shape = node.inputs
    if shape.owner is None or not isinstance(shape.owner.op, MakeVector):
        return None
    first, rest = shape.owner.inputs[0], [_constant(s) for s in shape.owner.inputs[1:]]
    shapes = getattr(node.fgraph, "shape_feature", None)
    if (_constant(first) is not None or None in rest or shapes is None
            or x not in shapes.shape_of):
        return None
    x_first, *x_rest = shapes.shape_of[x]
    x_rest = [_constant(s) for s in x_rest]
    if x_first is not first or None in x_rest:
        return None
    others, known = int(np.prod(x_rest)), int(np.prod([s for s in rest if s != -1]))
    if rest.count(-1) > 1 or others == 0 or known == 0 or others % known:
        return None
    # a -1 among the others already (flatten's): its size, now known
    rest = [others // known if s == -1 else s for s in rest]
    if int(np.prod(rest)) != others:
        return None
    new_shape = tensor.constant(np.array([-1] + rest, dtype="int64"))
    return [tensor.Reshape(node.op.ndim)(x, new_shape)]


# Where theano_today.speedups registers them (tag reshape): in specialize (2), while its
# shape inference is still there (it goes at 10), before the GPU lifting (48.5) moves
# the reshapes, their shapes now constant, to the GPU.
REWRITES = {"local_reshape_minus_one": local_reshape_minus_one}
