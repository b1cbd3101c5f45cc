"""Matrix products split over OpenMP's threads on the CPU: parallel_dot.

Theano's Dot22 and Dot22Scalar hand a product to the BLAS whole, and the
BLAS splits it over threads of its own. Beside Theano's OpenMP loops
(convolution, pooling, element-wise, with openmp = True) those are a second
set of threads on the same cores: after each loop, OpenMP's threads wait
spinning for the next while the BLAS's threads want those cores, and a
dense layer's product right after a pooling loop is slower than alone.
ParallelDot splits the product's rows into one block per OpenMP
thread, each block a one-thread BLAS call (as Theano's convolution does
around its loop): one set of threads for the whole step. Products too
small to share (under MIN_MACS multiply-adds) stay one call.

The blocks are rows of the output; each value is the same BLAS kernel's
sum over the same columns as in one call, so the results are those of
Dot22 (tests/test_speedups.py compares them bit for bit).

Registered on the CPU, with openmp on and a real BLAS (not Theano's
fallback, which cannot run in OpenMP threads). Turned off by
THEANO_FLAGS=optimizer_excluding=parallel_dot.
"""
import numpy as np
import theano
from theano import gof, tensor
from theano.gof import Apply, OpenMPOp
from theano.tensor import blas, blas_headers

#: Below this many multiply-adds a product is one BLAS call: splitting it
#: would cost more than it saves.
MIN_MACS = 1 << 18


def _blas_threads():
    """(get, set, declarations) of the linked BLAS's thread count: C
    expressions and the header text that declares them, chosen by name as
    Theano's convolution does (corr.py); ('0', '', '') where unknown."""
    ldflags = theano.config.blas.ldflags
    if "openblas" in ldflags:
        return ("openblas_get_num_threads()", "openblas_set_num_threads",
                blas_headers.openblas_threads_text())
    if "mkl" in ldflags:
        return "mkl_get_max_threads()", "mkl_set_num_threads", blas_headers.mkl_threads_text()
    return "0", "", ""


class ParallelDot(OpenMPOp):
    """z = alpha * dot(x, y) for float32 or float64 matrices, alpha a scalar
    of their dtype (Dot22Scalar's inputs; Dot22's with alpha 1)."""
    __props__ = ("openmp",)

    def make_node(self, x, y, alpha):
        x, y, alpha = (tensor.as_tensor_variable(v) for v in (x, y, alpha))
        if (x.ndim, y.ndim, alpha.ndim) != (2, 2, 0) or not (
                x.dtype == y.dtype == alpha.dtype in ("float32", "float64")):
            raise TypeError("ParallelDot needs two float matrices and a scalar of one dtype")
        out = tensor.TensorType(x.dtype, (x.broadcastable[0], y.broadcastable[1]))()
        return Apply(self, [x, y, alpha], [out])

    def infer_shape(self, node, shapes):
        return [(shapes[0][0], shapes[1][1])]

    def perform(self, node, inputs, outputs):
        x, y, alpha = inputs
        outputs[0][0] = np.asarray(alpha * np.dot(x, y), dtype=node.outputs[0].dtype)

    # the BLAS, as Theano's own products link it
    def c_libraries(self):
        return blas.ldflags()

    def c_compile_args(self):
        return super(ParallelDot, self).c_compile_args() + blas.ldflags(libs=False, flags=True)

    def c_lib_dirs(self):
        return blas.ldflags(libs=False, libs_dir=True)

    def c_header_dirs(self):
        return blas.ldflags(libs=False, include_dir=True)

    def c_support_code(self):
        return blas_headers.blas_header_text() + _blas_threads()[2]

    def c_code_cache_version(self):
        return (1, self.openmp, MIN_MACS) + _blas_threads()[:2]

    def c_code(self, node, name, inputs, outputs, sub):
        x, y, alpha = inputs
        z, = outputs
        fail = sub["fail"]
        dtype = node.outputs[0].dtype
        ctype, gemm, typenum = {"float32": ("float", "sgemm_", "NPY_FLOAT32"),
                                "float64": ("double", "dgemm_", "NPY_FLOAT64")}[dtype]
        get_threads, set_threads, _ = _blas_threads()
        if self.openmp:
            max_threads, omp = "omp_get_max_threads()", "#pragma omp parallel for schedule(static)"
        else:
            max_threads, omp = "1", ""
        if not set_threads:
            set_threads = "(void)"
        min_flops = MIN_MACS
        return """
        {
        // BLAS reads a matrix with one unit stride: otherwise, a C-contiguous copy
        PyArrayObject *xc = NULL, *yc = NULL;
        xc = (PyArray_IS_C_CONTIGUOUS(%(x)s) || PyArray_IS_F_CONTIGUOUS(%(x)s)) ? %(x)s
            : (PyArrayObject*) PyArray_NewCopy(%(x)s, NPY_CORDER);
        yc = (PyArray_IS_C_CONTIGUOUS(%(y)s) || PyArray_IS_F_CONTIGUOUS(%(y)s)) ? %(y)s
            : (PyArrayObject*) PyArray_NewCopy(%(y)s, NPY_CORDER);
        if (xc == %(x)s) Py_INCREF(xc);
        if (yc == %(y)s) Py_INCREF(yc);
        if (!xc || !yc) { Py_XDECREF(xc); Py_XDECREF(yc); %(fail)s }
        npy_intp M = PyArray_DIMS(xc)[0], K = PyArray_DIMS(xc)[1], N = PyArray_DIMS(yc)[1];
        if (PyArray_DIMS(yc)[0] != K) {
            PyErr_Format(PyExc_ValueError, "ParallelDot: shapes (%%ld,%%ld) and (%%ld,%%ld) "
                         "do not multiply", (long)M, (long)K, (long)PyArray_DIMS(yc)[0], (long)N);
            Py_DECREF(xc); Py_DECREF(yc); %(fail)s
        }
        if (!%(z)s || !PyArray_IS_C_CONTIGUOUS(%(z)s) || PyArray_DIMS(%(z)s)[0] != M
            || PyArray_DIMS(%(z)s)[1] != N) {
            npy_intp dims[2] = {M, N};
            Py_XDECREF(%(z)s);
            %(z)s = (PyArrayObject*) PyArray_EMPTY(2, dims, %(typenum)s, 0);
            if (!%(z)s) { Py_DECREF(xc); Py_DECREF(yc); %(fail)s }
        }
        %(ctype)s *zd = (%(ctype)s*) PyArray_DATA(%(z)s);
        if (K == 0) {
            for (npy_intp i = 0; i < M * N; ++i) zd[i] = 0;
        } else if (M > 0 && N > 0) {
            // In BLAS's column-major terms the C-contiguous z is z^T (N x M), and
            // z^T = y^T x^T: y^T is y's memory as it is ('N') when y is
            // C-contiguous, else y read transposed ('T'); likewise x^T.
            // The rows i0..i1 of z and x are columns of z^T and x^T.
            int elsize = sizeof(%(ctype)s);
            int x_c = PyArray_IS_C_CONTIGUOUS(xc), y_c = PyArray_IS_C_CONTIGUOUS(yc);
            char tx = x_c ? 'N' : 'T', ty = y_c ? 'N' : 'T';
            int ldx = x_c ? (int)K : (int)M, ldy = y_c ? (int)N : (int)K, ldz = (int)N;
            if (ldx < 1) ldx = 1;
            if (ldy < 1) ldy = 1;
            npy_intp x_row = PyArray_STRIDES(xc)[0] / elsize;
            %(ctype)s a = ((%(ctype)s*) PyArray_DATA(%(alpha)s))[0], b = 0;
            int n = (int)N, k = (int)K;
            const %(ctype)s *xd = (const %(ctype)s*) PyArray_DATA(xc);
            const %(ctype)s *yd = (const %(ctype)s*) PyArray_DATA(yc);
            int blocks = %(max_threads)s;
            if (blocks > M) blocks = (int)M;
            if ((double)M * N * K < %(min_flops)s || blocks < 2) {
                int m = (int)M;
                %(gemm)s(&ty, &tx, &n, &m, &k, &a, (%(ctype)s*)yd, &ldy, (%(ctype)s*)xd, &ldx,
                         &b, zd, &ldz);
            } else {
                int saved = %(get_threads)s;
                %(set_threads)s(1);  // one BLAS thread per OpenMP thread
                %(omp)s
                for (int blk = 0; blk < blocks; ++blk) {
                    npy_intp i0 = M * blk / blocks, i1 = M * (blk + 1) / blocks;
                    int m = (int)(i1 - i0);
                    %(gemm)s(&ty, &tx, &n, &m, &k, &a, (%(ctype)s*)yd, &ldy,
                             (%(ctype)s*)(xd + i0 * x_row), &ldx, &b, zd + i0 * N, &ldz);
                }
                %(set_threads)s(saved);
            }
        }
        Py_DECREF(xc);
        Py_DECREF(yc);
        }
        """ % locals()


@gof.local_optimizer([blas.Dot22, blas.Dot22Scalar])
def local_parallel_dot(node):
    """Dot22(x, y) -> ParallelDot(x, y, 1); Dot22Scalar(x, y, a) -> ParallelDot(x, y, a),
    with openmp on and a real BLAS (Theano's fallback cannot run in OpenMP threads)."""
    if (not isinstance(node.op, (blas.Dot22, blas.Dot22Scalar)) or not theano.config.openmp
            or not theano.config.blas.ldflags.strip()):
        return None
    x, y = node.inputs[:2]
    dtype = node.outputs[0].dtype
    if dtype not in ("float32", "float64") or x.dtype != dtype or y.dtype != dtype:
        return None
    alpha = node.inputs[2] if len(node.inputs) == 3 else tensor.constant(np.asarray(1, dtype))
    if alpha.dtype != dtype:
        alpha = tensor.cast(alpha, dtype)
    out = ParallelDot()(x, y, alpha)
    return [tensor.patternbroadcast(out, node.outputs[0].broadcastable)]


# Where theano_today.speedups registers them (tag parallel_dot): after the BLAS passes
# have made their Dot22s (BlasOpt, 1.7) and the CPU's choices are made
# (specialize_device, 48.6).
REWRITES = {"local_parallel_dot": local_parallel_dot}
