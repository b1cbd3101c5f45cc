"""Faster max pooling on the CPU: fast_max_pool and fast_max_pool_grad.

Theano's Pool and MaxPoolGrad handle every pooling variant (overlap,
padding, n-d) with one generic loop; MaxPoolGrad also walks the batch with
the *first* axis fastest, so consecutive steps land C*H*W floats apart in
memory. On the article's CNN they were the largest cost of a CPU training
step. For the common case (non-overlapping windows: stride == window size,
no padding, ignore_border=True, 4-d input) FastMaxPool and FastMaxPoolGrad
walk each image in memory order, in loops the compiler vectorizes. They run
after the GPU optimizations, so GPU graphs keep their GpuPool.

Both give exactly what stock Theano gives by default (the C code of Pool and
MaxPoolGrad), bit for bit, on both of their paths: their C code and the
Python perform Theano falls back on (linker=py, DebugMode, no compiler).
So in the corner cases: a window's maximum starts as its first element and
takes a later value only if it is larger; a NaN is the maximum only as the
window's first element (a later NaN is passed over), and of 0.0 and -0.0 the
first is kept. Every input equal to its window's maximum (ties included)
receives 0 + the window's gradient (-0.0 becomes 0.0), every other input
exactly 0, whatever the gradient (NaN, inf). Stock Theano's own Python
Pool (run again by fixes.mend_pool_perform) takes np.max, which lets any NaN
win: only there does stock Theano differ from its C code, and from these ops.

Each rewrite has a tag, so Theano's own flag turns it off, to compare:
THEANO_FLAGS=optimizer_excluding=pooling
"""
import numpy as np
from theano import gof, tensor
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
        # int64 divisors: under numpy 2's rules a plain int of 4096 made Theano's
        # shape a float64, which its shape inference refuses
        return [(n, c, h // np.int64(self.ws[0]), w // np.int64(self.ws[1]))]

    def perform(self, node, inputs, outputs):
        x, = inputs
        wh, ww = self.ws
        n, c, h, w = x.shape
        zh, zw = h // wh, w // ww
        windows = x[:, :, :zh * wh, :zw * ww].reshape(n, c, zh, wh, zw, ww)
        # the C code's order and comparison, not np.max: a NaN wins only as
        # its window's first element, and of equal values (0.0, -0.0) the
        # first is kept, as in Theano's Pool (module docstring)
        m = windows[:, :, :, 0, :, 0].copy()
        for a in range(wh):
            for b in range(ww):
                v = windows[:, :, :, a, :, b]
                m = np.where(v > m, v, m)
        outputs[0][0] = m

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


# FastMaxPoolGrad's loop. Whether an input equals its window's maximum is
# data, not control: a branch on it was mispredicted at about every other
# value, and the compiler could not vectorize the rows, so the gradient is
# chosen with a bit mask (all ones where equal, all zeros elsewhere: +0.0).
_GRAD_WINDOWS = """
static inline float tt_pool_pick(bool hit, float g) {
    npy_uint32 bits;
    memcpy(&bits, &g, sizeof bits);
    bits &= (npy_uint32)0 - (npy_uint32)hit;
    memcpy(&g, &bits, sizeof g);
    return g;
}
static inline double tt_pool_pick(bool hit, double g) {
    npy_uint64 bits;
    memcpy(&bits, &g, sizeof bits);
    bits &= (npy_uint64)0 - (npy_uint64)hit;
    memcpy(&g, &bits, sizeof g);
    return g;
}
template <typename T>
static inline T tt_pool_pick(bool hit, T g) { return hit ? g : 0; }

// One row of WH x WW windows: x and gx at the row's first input row (W
// values apart), z and gz at its first window.
template <int WH, int WW, typename T>
static inline void tt_pool_grad_windows(const T* __restrict__ x, const T* __restrict__ z,
                                        const T* __restrict__ gz, T* __restrict__ gx,
                                        npy_intp windows, npy_intp W) {
    for (npy_intp j = 0; j < windows; j++) {
        T m = z[j];
        T g = gz[j] + 0;  // Theano's MaxPoolGrad adds into zeros: -0.0 becomes 0.0
        for (int a = 0; a < WH; a++)
            for (int b = 0; b < WW; b++)
                gx[a * W + j * WW + b] = tt_pool_pick(x[a * W + j * WW + b] == m, g);
    }
}
"""


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
        # 0 + gz where hit, as Theano's MaxPoolGrad adds into zeros (-0.0
        # becomes 0.0), and 0 elsewhere, whatever gz is (NaN * 0 is NaN)
        gx[:, :, :zh * wh, :zw * ww] = np.where(
            hit, gz[:, :, :, None, :, None] + x.dtype.type(0), x.dtype.type(0)).reshape(
            n, c, zh * wh, zw * ww)
        outputs[0][0] = gx

    def c_support_code(self):
        return _GRAD_WINDOWS

    def c_code_cache_version(self):
        return (5, self.openmp)

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
            for (npy_intp zr = 0; zr < ZH; zr++) {
                tt_pool_grad_windows<%(wh)d, %(ww)d>(xi + zr * %(wh)d * W, zi + zr * ZW,
                                                     gi + zr * ZW, go + zr * %(wh)d * W, ZW, W);
                for (npy_intp a = 0; a < %(wh)d; a++)
                    for (npy_intp k = WW; k < W; k++)
                        go[(zr * %(wh)d + a) * W + k] = 0;  // right border: in no window
            }
            for (npy_intp k = ZH * %(wh)d * W; k < H * W; k++)
                go[k] = 0;  // bottom border: in no window
        }
        Py_DECREF(xc); Py_DECREF(zc); Py_DECREF(gzc);
        }
        """ % locals()


def constant_tuple(var):
    """The value of a constant int vector as a tuple, else None (im2col's
    rewrite reads its sizes with it too)."""
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
    ws, stride, pad = constant_tuple(ws), constant_tuple(stride), constant_tuple(pad)
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
    ws, stride, pad = constant_tuple(ws), constant_tuple(stride), constant_tuple(pad)
    if ws is None or ws != stride or pad != (0, 0):
        return None
    return [FastMaxPool(ws)(x)]


# Where theano_today.speedups registers them (tag pooling): on every device: after the
# GPU lifting (48.5), so only CPU pooling nodes are left.
REWRITES = {"local_fast_max_pool": local_fast_max_pool,
            "local_fast_max_pool_grad": local_fast_max_pool_grad}
