"""Faster max pooling on the CPU: fast_max_pool and fast_max_pool_grad.

Theano's Pool and MaxPoolGrad handle every pooling variant (overlap,
padding, n-d) with one generic loop; MaxPoolGrad also walks the batch with
the *first* axis fastest, so consecutive steps land C*H*W floats apart in
memory. On the article's CNN they were the largest cost of a CPU training
step. For the common case (non-overlapping windows: stride == window size,
no padding, ignore_border=True, 4-d input) FastMaxPool and FastMaxPoolGrad
walk each image in memory order, in loops the compiler vectorizes. Same
results, bit for bit, ties included: every input equal to its window's
maximum receives that window's gradient. They run after the GPU
optimizations, so GPU graphs keep their GpuPool.

Each rewrite has a tag, so Theano's own flag turns it off, to compare:
THEANO_FLAGS=optimizer_excluding=fast_max_pool:fast_max_pool_grad
"""
import numpy as np
from theano import gof, tensor
from theano.compile import optdb
from theano.gof import Apply, OpenMPOp
from theano.tensor.signal.pool import MaxPoolGrad, Pool


class FastMaxPool(OpenMPOp):
    """2-d max pooling with non-overlapping windows (ignore_border=True).

    Input x (N, C, H, W); output (N, C, H//wh, W//ww). Same values as
    Theano's Pool: each output is the largest value of its window.
    """
    __props__ = ("ws", "openmp")

    def __init__(self, ws, openmp=None):
        super(FastMaxPool, self).__init__(openmp=openmp)
        self.ws = tuple(int(w) for w in ws)

    def make_node(self, x):
        x = tensor.as_tensor_variable(x)
        if x.ndim != 4:
            raise TypeError("FastMaxPool needs a 4-d input")
        return Apply(self, [x], [x.type()])

    def infer_shape(self, node, shapes):
        n, c, h, w = shapes[0]
        return [(n, c, h // self.ws[0], w // self.ws[1])]

    def perform(self, node, inputs, outputs):
        x, = inputs
        wh, ww = self.ws
        n, c, h, w = x.shape
        zh, zw = h // wh, w // ww
        windows = x[:, :, :zh * wh, :zw * ww].reshape(n, c, zh, wh, zw, ww)
        outputs[0][0] = windows.max(axis=(3, 5))

    def c_code_cache_version(self):
        return (1, self.openmp)

    def c_code(self, node, name, inputs, outputs, sub):
        x, = inputs
        z, = outputs
        wh, ww = self.ws
        fail = sub["fail"]
        omp = "#pragma omp parallel for schedule(static)" if self.openmp else ""
        # one block, so that Theano's error gotos jump out of it, not past
        # its initialisations
        return """
        {
        npy_intp N = PyArray_DIMS(%(x)s)[0], C = PyArray_DIMS(%(x)s)[1];
        npy_intp H = PyArray_DIMS(%(x)s)[2], W = PyArray_DIMS(%(x)s)[3];
        npy_intp dims[4] = {N, C, H / %(wh)d, W / %(ww)d};
        npy_intp ZH = dims[2], ZW = dims[3];
        PyArrayObject *xc = PyArray_GETCONTIGUOUS(%(x)s);
        if (!%(z)s || !PyArray_IS_C_CONTIGUOUS(%(z)s)
            || PyArray_DIMS(%(z)s)[0] != N || PyArray_DIMS(%(z)s)[1] != C
            || PyArray_DIMS(%(z)s)[2] != ZH || PyArray_DIMS(%(z)s)[3] != ZW) {
            Py_XDECREF(%(z)s);
            %(z)s = (PyArrayObject*) PyArray_EMPTY(4, dims, PyArray_TYPE(%(x)s), 0);
        }
        if (!xc || !%(z)s) {
            Py_XDECREF(xc);
            PyErr_SetString(PyExc_MemoryError, "FastMaxPool: out of memory");
            %(fail)s;
        }
        const dtype_%(x)s *xp = (dtype_%(x)s*) PyArray_DATA(xc);
        dtype_%(z)s *zp = (dtype_%(z)s*) PyArray_DATA(%(z)s);
        npy_intp planes = (ZH > 0 && ZW > 0) ? N * C : 0;
        %(omp)s
        for (npy_intp p = 0; p < planes; p++) {
            const dtype_%(x)s *xi = xp + p * H * W;
            dtype_%(z)s *zo = zp + p * ZH * ZW;
            for (npy_intp zr = 0; zr < ZH; zr++) {
                dtype_%(z)s *zrow = zo + zr * ZW;
                // window rows in memory order; the first one starts each max
                for (npy_intp a = 0; a < %(wh)d; a++) {
                    const dtype_%(x)s *xrow = xi + (zr * %(wh)d + a) * W;
                    for (npy_intp zc = 0; zc < ZW; zc++) {
                        dtype_%(z)s m = (a == 0) ? xrow[zc * %(ww)d] : zrow[zc];
                        for (npy_intp b = 0; b < %(ww)d; b++) {
                            dtype_%(x)s v = xrow[zc * %(ww)d + b];
                            m = (v > m) ? v : m;
                        }
                        zrow[zc] = m;
                    }
                }
            }
        }
        Py_DECREF(xc);
        }
        """ % locals()


class FastMaxPoolGrad(OpenMPOp):
    """Gradient of 2-d max pooling with non-overlapping windows.

    Inputs: x (N, C, H, W), the pooled maximum z (N, C, H//wh, W//ww), its
    gradient gz (same shape as z); window (wh, ww) is fixed in the op.
    Output: gx like x. Windows are pooled with ignore_border=True, so rows
    and columns past the last whole window get zero gradient.
    """
    __props__ = ("ws", "openmp")

    def __init__(self, ws, openmp=None):
        super(FastMaxPoolGrad, self).__init__(openmp=openmp)
        self.ws = tuple(int(w) for w in ws)

    def make_node(self, x, z, gz):
        x, z, gz = [tensor.as_tensor_variable(v) for v in (x, z, gz)]
        if not (x.ndim == z.ndim == gz.ndim == 4):
            raise TypeError("FastMaxPoolGrad needs 4-d inputs")
        if not (x.dtype == z.dtype == gz.dtype):
            raise TypeError("FastMaxPoolGrad needs inputs of one dtype")
        return Apply(self, [x, z, gz], [x.type()])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def perform(self, node, inputs, outputs):
        x, z, gz = inputs
        wh, ww = self.ws
        n, c, zh, zw = z.shape
        gx = np.zeros_like(x)
        # (N, C, zh, wh, zw, ww) views: each window is an [..., i, :, j, :] block
        xw = x[:, :, :zh * wh, :zw * ww].reshape(n, c, zh, wh, zw, ww)
        hit = xw == z[:, :, :, None, :, None]
        gx[:, :, :zh * wh, :zw * ww] = (hit * gz[:, :, :, None, :, None]).reshape(
            n, c, zh * wh, zw * ww)
        outputs[0][0] = gx

    def c_code_cache_version(self):
        return (3, self.openmp)

    def c_code(self, node, name, inputs, outputs, sub):
        x, z, gz = inputs
        gx, = outputs
        wh, ww = self.ws
        fail = sub["fail"]
        omp = "#pragma omp parallel for schedule(static)" if self.openmp else ""
        # one block, so that Theano's error gotos jump out of it, not past
        # its initialisations
        return """
        {
        int typenum = PyArray_TYPE(%(x)s);
        npy_intp N = PyArray_DIMS(%(x)s)[0], C = PyArray_DIMS(%(x)s)[1];
        npy_intp H = PyArray_DIMS(%(x)s)[2], W = PyArray_DIMS(%(x)s)[3];
        npy_intp ZH = PyArray_DIMS(%(z)s)[2], ZW = PyArray_DIMS(%(z)s)[3];
        if (PyArray_DIMS(%(z)s)[0] != N || PyArray_DIMS(%(z)s)[1] != C
            || ZH != H / %(wh)d || ZW != W / %(ww)d
            || !PyArray_SAMESHAPE(%(z)s, %(gz)s)) {
            PyErr_SetString(PyExc_ValueError, "FastMaxPoolGrad: shapes do not match");
            %(fail)s;
        }
        // work on C-contiguous copies (no copy when already contiguous)
        PyArrayObject *xc = PyArray_GETCONTIGUOUS(%(x)s);
        PyArrayObject *zc = PyArray_GETCONTIGUOUS(%(z)s);
        PyArrayObject *gzc = PyArray_GETCONTIGUOUS(%(gz)s);
        if (!%(gx)s || !PyArray_IS_C_CONTIGUOUS(%(gx)s)
            || !PyArray_SAMESHAPE(%(gx)s, %(x)s)) {
            Py_XDECREF(%(gx)s);
            %(gx)s = (PyArrayObject*) PyArray_EMPTY(4, PyArray_DIMS(%(x)s), typenum, 0);
        }
        if (!xc || !zc || !gzc || !%(gx)s) {
            Py_XDECREF(xc); Py_XDECREF(zc); Py_XDECREF(gzc);
            PyErr_SetString(PyExc_MemoryError, "FastMaxPoolGrad: out of memory");
            %(fail)s;
        }
        const dtype_%(x)s *xp = (dtype_%(x)s*) PyArray_DATA(xc);
        const dtype_%(z)s *zp = (dtype_%(z)s*) PyArray_DATA(zc);
        const dtype_%(gz)s *gzp = (dtype_%(gz)s*) PyArray_DATA(gzc);
        dtype_%(gx)s *gxp = (dtype_%(gx)s*) PyArray_DATA(%(gx)s);
        npy_intp planes = N * C;
        npy_intp WW = ZW * %(ww)d;  // columns covered by whole windows
        %(omp)s
        for (npy_intp p = 0; p < planes; p++) {
            const dtype_%(x)s *xi = xp + p * H * W;
            const dtype_%(z)s *zi = zp + p * ZH * ZW;
            const dtype_%(gz)s *gi = gzp + p * ZH * ZW;
            dtype_%(gx)s *go = gxp + p * H * W;
            // each window's max and gradient, repeated across its columns,
            // so that the loop over a row is a plain compare-and-select
            // the compiler vectorizes
            dtype_%(z)s zrep[WW > 0 ? WW : 1];
            dtype_%(gz)s grep[WW > 0 ? WW : 1];
            for (npy_intp zr = 0; zr < ZH; zr++) {
                for (npy_intp k = 0; k < WW; k++) {
                    zrep[k] = zi[zr * ZW + k / %(ww)d];
                    grep[k] = gi[zr * ZW + k / %(ww)d];
                }
                for (npy_intp a = 0; a < %(wh)d; a++) {
                    const dtype_%(x)s *xrow = xi + (zr * %(wh)d + a) * W;
                    dtype_%(gx)s *grow = go + (zr * %(wh)d + a) * W;
                    for (npy_intp k = 0; k < WW; k++)
                        grow[k] = (xrow[k] == zrep[k]) ? grep[k] : 0;
                    for (npy_intp k = WW; k < W; k++)
                        grow[k] = 0;  // right border: in no window
                }
            }
            for (npy_intp k = ZH * %(wh)d * W; k < H * W; k++)
                go[k] = 0;  // bottom border: in no window
        }
        Py_DECREF(xc); Py_DECREF(zc); Py_DECREF(gzc);
        }
        """ % locals()


def _constant_tuple(var):
    """The value of a constant int vector as a tuple, else None."""
    if isinstance(var, tensor.TensorConstant):
        return tuple(int(v) for v in np.ravel(var.data))
    return None


@gof.local_optimizer([MaxPoolGrad])
def local_fast_max_pool_grad(node):
    """MaxPoolGrad -> FastMaxPoolGrad where windows do not overlap."""
    op = node.op
    if not isinstance(op, MaxPoolGrad) or op.ndim != 2 or not op.ignore_border:
        return None
    x, z, gz, ws, stride, pad = node.inputs
    if x.ndim != 4:
        return None
    ws, stride, pad = _constant_tuple(ws), _constant_tuple(stride), _constant_tuple(pad)
    if ws is None or ws != stride or pad != (0, 0):
        return None
    return [FastMaxPoolGrad(ws)(x, z, gz)]


@gof.local_optimizer([Pool])
def local_fast_max_pool(node):
    """Pool -> FastMaxPool where windows do not overlap (max mode)."""
    op = node.op
    if (not isinstance(op, Pool) or op.mode != "max" or op.ndim != 2
            or not op.ignore_border or node.inputs[0].ndim != 4):
        return None
    x, ws, stride, pad = node.inputs
    ws, stride, pad = _constant_tuple(ws), _constant_tuple(stride), _constant_tuple(pad)
    if ws is None or ws != stride or pad != (0, 0):
        return None
    return [FastMaxPool(ws)(x)]


def register():
    """Add both rewrites to Theano's optimizer (once), on every device:
    after the GPU lifting (48.5), so only CPU pooling nodes are left."""
    for name, opt, tag in [("local_fast_max_pool_grad", local_fast_max_pool_grad,
                            "fast_max_pool_grad"),
                           ("local_fast_max_pool", local_fast_max_pool, "fast_max_pool")]:
        if name not in optdb["specialize_device"].__db__:
            optdb["specialize_device"].register(name, opt, "fast_run", tag)
