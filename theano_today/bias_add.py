"""Conv layers' bias added in one pass over memory on the CPU: bias_add.

A conv layer adds one bias per channel to its output: x + b.dimshuffle('x',
0, 'x', 'x') in Lasagne. Theano's Elemwise walks such a broadcasting sum
with a generic loop over all four axes, far slower than its own plain
element-wise loops over the same array, and in the CNN's training step the
sum stays an Elemwise of its own (the ReLU's gradient also reads it, so
fusion leaves it apart). BiasAdd walks each image's channel as one
contiguous run with that channel's bias, the runs spread over OpenMP's
threads. Same additions in the same order: the results are identical bit for
bit, on the C path and the Python one.

Turned off by THEANO_FLAGS=optimizer_excluding=bias_add.
"""
import numpy as np
from theano import gof, scalar, tensor
from theano.gof import Apply, OpenMPOp
from theano.tensor.elemwise import DimShuffle, Elemwise


class BiasAdd(OpenMPOp):
    """x + b along axis 1: x (N, C, ...), b (C,), the same float dtype.
    With inplace, the sum is written over x (where x is C-contiguous)."""
    __props__ = ("inplace", "openmp")

    def __init__(self, inplace=False, openmp=None):
        super(BiasAdd, self).__init__(openmp=openmp)
        self.inplace = bool(inplace)
        if self.inplace:
            self.destroy_map = {0: [0]}

    def make_node(self, x, b):
        x, b = tensor.as_tensor_variable(x), tensor.as_tensor_variable(b)
        if x.ndim < 2 or b.ndim != 1 or x.dtype != b.dtype:
            raise TypeError("BiasAdd needs x of 2 or more dimensions and a vector b "
                            "of its dtype")
        return Apply(self, [x, b], [x.type()])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def perform(self, node, inputs, outputs):
        x, b = inputs
        if x.shape[1] != b.shape[0]:
            raise ValueError("BiasAdd: %d channels but %d biases" % (x.shape[1], b.shape[0]))
        per_channel = b.reshape((1, -1) + (1,) * (x.ndim - 2))
        if self.inplace:
            np.add(x, per_channel, out=x)
            outputs[0][0] = x
        else:
            outputs[0][0] = x + per_channel

    def c_code_cache_version(self):
        return (1, self.inplace, self.openmp)

    def c_code(self, node, name, inputs, outputs, sub):
        x, b = inputs
        z, = outputs
        fail = sub["fail"]
        omp = "#pragma omp parallel for schedule(static)" if self.openmp else ""
        if self.inplace:
            # the sum goes over x itself, or over a contiguous copy of it
            output = """
            Py_XDECREF(%(z)s);
            %(z)s = PyArray_IS_C_CONTIGUOUS(%(x)s) ? %(x)s
                : (PyArrayObject*) PyArray_NewCopy(%(x)s, NPY_CORDER);
            if (%(z)s == %(x)s) Py_INCREF(%(z)s);
            xc = %(z)s;
            Py_XINCREF(xc);
            """ % locals()
        else:
            output = """
            xc = PyArray_GETCONTIGUOUS(%(x)s);
            if (!%(z)s || !PyArray_IS_C_CONTIGUOUS(%(z)s)
                || !PyArray_SAMESHAPE(%(z)s, %(x)s)) {
                Py_XDECREF(%(z)s);
                %(z)s = (PyArrayObject*) PyArray_EMPTY(
                    PyArray_NDIM(%(x)s), PyArray_DIMS(%(x)s), PyArray_TYPE(%(x)s), 0);
            }
            """ % locals()
        # one block, so that Theano's error gotos jump out of it, not past
        # its initialisations
        return """
        {
        npy_intp N = PyArray_DIMS(%(x)s)[0], C = PyArray_DIMS(%(x)s)[1], inner = 1;
        for (int d = 2; d < PyArray_NDIM(%(x)s); d++)
            inner *= PyArray_DIMS(%(x)s)[d];
        if (PyArray_DIMS(%(b)s)[0] != C) {
            PyErr_Format(PyExc_ValueError, "BiasAdd: %%lld channels but %%lld biases",
                         (long long) C, (long long) PyArray_DIMS(%(b)s)[0]);
            %(fail)s;
        }
        PyArrayObject *xc = NULL;
        %(output)s
        PyArrayObject *bc = PyArray_GETCONTIGUOUS(%(b)s);
        if (!xc || !bc || !%(z)s) {
            Py_XDECREF(xc); Py_XDECREF(bc);
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_MemoryError, "BiasAdd: out of memory");
            %(fail)s;
        }
        const dtype_%(x)s *xp = (dtype_%(x)s*) PyArray_DATA(xc);
        const dtype_%(b)s *bp = (dtype_%(b)s*) PyArray_DATA(bc);
        dtype_%(z)s *zp = (dtype_%(z)s*) PyArray_DATA(%(z)s);
        npy_intp planes = N * C;
        %(omp)s
        for (npy_intp p = 0; p < planes; p++) {
            const dtype_%(b)s v = bp[p %% C];
            const dtype_%(x)s *xi = xp + p * inner;
            dtype_%(z)s *zo = zp + p * inner;
            for (npy_intp k = 0; k < inner; k++)
                zo[k] = xi[k] + v;  // x first, as in the Elemwise it replaces
        }
        Py_DECREF(xc); Py_DECREF(bc);
        }
        """ % locals()


def _channel_vector(bias):
    """The vector behind a (1, C, 1, ...) broadcastable bias: the input of
    Lasagne's b.dimshuffle('x', 0, 'x', 'x'), else one dropping those axes."""
    owner = bias.owner
    if (owner is not None and isinstance(owner.op, DimShuffle)
            and owner.inputs[0].ndim == 1 and list(owner.op.new_order).count(0) == 1):
        return owner.inputs[0]
    return bias.dimshuffle(1)


@gof.local_optimizer([Elemwise])
def local_bias_add(node):
    """x + bias, bias broadcast over all axes but axis 1 -> BiasAdd(x, b)."""
    op = node.op
    if (not isinstance(op, Elemwise) or not isinstance(op.scalar_op, scalar.Add)
            or len(node.inputs) != 2):
        return None
    x, bias = node.inputs
    out = node.outputs[0]
    if (x.ndim < 3 or x.dtype not in ("float32", "float64") or bias.dtype != x.dtype
            or out.dtype != x.dtype or x.broadcastable != out.broadcastable
            or bias.broadcastable != (True, False) + (True,) * (x.ndim - 2)):
        return None
    if op.inplace_pattern not in ({}, {0: 0}):
        return None
    return [BiasAdd(inplace=bool(op.inplace_pattern))(x, _channel_vector(bias))]


# Where theano_today.speedups registers them (tag bias_add): after Theano's in-place pass
# (75), so that an Add writing over its input becomes a BiasAdd doing so.
REWRITES = {"local_bias_add": local_bias_add}
