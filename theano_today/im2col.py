"""im2col columns in one GPU kernel: gpu_im2col.

batched_conv builds a layer's columns, rows (n, i, j) and columns (c, a, b),
from Theano's images2neibs, whose rows are (n, c, i, j): then a reshape, a
transpose and a reshape that copies, four nodes and two kernels per layer
and direction where the image has more than one channel. GpuIm2Col writes
the same columns straight from the images (any strides), one kernel, the
zero border of images2neibs's mode 'full' included. It only moves values:
the columns are the same, bit for bit.

This pass replaces that chain of four nodes, once Theano has moved it to
the GPU. GPU only; turned off by THEANO_FLAGS=optimizer_excluding=im2col.
"""
from theano import Apply, Op, gof
from theano.gpuarray.basic_ops import (GpuKernelBase, GpuReshape, Kernel,
                                       as_gpuarray_variable, infer_context_name)
from theano.gpuarray.elemwise import GpuDimShuffle
from theano.gpuarray.neighbours import GpuImages2Neibs
from theano.gpuarray.type import GpuArrayType, gpu_context_type

from theano_today.pooling import constant_tuple

try:
    from pygpu import gpuarray
except ImportError:  # only imported where the GPU back end runs
    gpuarray = None


class GpuIm2Col(GpuKernelBase, Op):
    """Images x (N, C, H, W) -> columns (N*oh*ow, C*kh*kw): row (n, i, j),
    column (c, a, b) holds x[n, c, i + a - ph, j + b - pw], 0 outside the
    image, where (ph, pw) = (0, 0) in mode 'valid' (oh = H - kh + 1) and
    (kh - 1, kw - 1) in mode 'full' (oh = H + kh - 1). sizes: the (C, oh,
    ow) the graph was built for; other images are refused."""
    __props__ = ("kh", "kw", "mode", "sizes")
    params_type = gpu_context_type

    def __init__(self, kh, kw, mode, sizes):
        self.kh, self.kw, self.mode = int(kh), int(kw), mode
        self.sizes = tuple(int(s) for s in sizes)
        if mode not in ("valid", "full"):
            raise ValueError("GpuIm2Col: mode 'valid' or 'full', not %r" % (mode,))

    def get_params(self, node):
        return node.inputs[0].type.context

    def make_node(self, x):
        x = as_gpuarray_variable(x, infer_context_name(x))
        if x.ndim != 4:
            raise TypeError("GpuIm2Col needs 4-d images")
        out = GpuArrayType(dtype=x.dtype, broadcastable=(False, False),
                           context_name=x.type.context_name)()
        return Apply(self, [x], [out])

    def _padding(self):
        return (self.kh - 1, self.kw - 1) if self.mode == "full" else (0, 0)

    def infer_shape(self, node, shapes):
        c, oh, ow = self.sizes
        return [(shapes[0][0] * oh * ow, c * self.kh * self.kw)]

    def c_headers(self):
        return ["<numpy_compat.h>", "<gpuarray/types.h>"]

    def c_code_cache_version(self):
        return (1,)

    def gpu_kernels(self, node, name):
        ctype = gpuarray.dtype_to_ctype(node.inputs[0].dtype)
        code = """#include "cluda.h"

KERNEL void im2col(const ga_size total, const ga_size C, const ga_size H, const ga_size W,
                   const ga_size oh, const ga_size ow, const ga_ssize ph, const ga_ssize pw,
                   const ga_ssize s0, const ga_ssize s1, const ga_ssize s2, const ga_ssize s3,
                   GLOBAL_MEM const %(ctype)s *x, const ga_size x_off,
                   GLOBAL_MEM %(ctype)s *z, const ga_size z_off) {
    x = (GLOBAL_MEM const %(ctype)s *)(((GLOBAL_MEM const char *)x) + x_off);
    z = (GLOBAL_MEM %(ctype)s *)(((GLOBAL_MEM char *)z) + z_off);
    const ga_size K = C * %(kh)d * %(kw)d;
    for (ga_size idx = GID_0 * LDIM_0 + LID_0; idx < total; idx += LDIM_0 * GDIM_0) {
        ga_size q = idx %% K, r = idx / K;
        const ga_ssize b = q %% %(kw)d; q /= %(kw)d;
        const ga_ssize a = q %% %(kh)d;
        const ga_ssize c = q / %(kh)d;
        const ga_ssize j = r %% ow; r /= ow;
        const ga_ssize i = r %% oh;
        const ga_ssize n = r / oh;
        const ga_ssize y = i + a - ph, v = j + b - pw;
        z[idx] = (y < 0 || y >= (ga_ssize) H || v < 0 || v >= (ga_ssize) W)
            ? (%(ctype)s) 0 : x[n * s0 + c * s1 + y * s2 + v * s3];
    }
}""" % dict(ctype=ctype, kh=self.kh, kw=self.kw)
        return [Kernel(code=code, name="im2col",
                       params=[gpuarray.SIZE, gpuarray.SIZE, gpuarray.SIZE, gpuarray.SIZE,
                               gpuarray.SIZE, gpuarray.SIZE, gpuarray.SSIZE, gpuarray.SSIZE,
                               gpuarray.SSIZE, gpuarray.SSIZE, gpuarray.SSIZE, gpuarray.SSIZE,
                               gpuarray.GpuArray, gpuarray.SIZE,
                               gpuarray.GpuArray, gpuarray.SIZE],
                       flags=Kernel.get_flags(node.inputs[0].dtype),
                       objvar="k_im2col_" + name)]

    def c_code(self, node, name, inputs, outputs, sub):
        x, = inputs
        z, = outputs
        fail, ctx = sub["fail"], sub["params"]
        kh, kw = self.kh, self.kw
        channels, want_oh, want_ow = self.sizes
        ph, pw = self._padding()
        kname = "k_im2col_" + name
        return """
        {
        size_t N = PyGpuArray_DIMS(%(x)s)[0], C = PyGpuArray_DIMS(%(x)s)[1];
        size_t H = PyGpuArray_DIMS(%(x)s)[2], W = PyGpuArray_DIMS(%(x)s)[3];
        if (C != %(channels)d || H + 2 * %(ph)d + 1 != %(want_oh)d + %(kh)d
            || W + 2 * %(pw)d + 1 != %(want_ow)d + %(kw)d) {
            PyErr_Format(PyExc_ValueError, "GpuIm2Col: images of %%llu channels, %%llu x %%llu,"
                         " where the graph was built for %(channels)d channels and %(kh)d x %(kw)d"
                         " patches at %(want_oh)d x %(want_ow)d places",
                         (unsigned long long) C, (unsigned long long) H, (unsigned long long) W);
            %(fail)s;
        }
        size_t oh = %(want_oh)d, ow = %(want_ow)d;
        size_t dims[2] = {N * oh * ow, C * %(kh)d * %(kw)d};
        if (!%(z)s || PyGpuArray_DIMS(%(z)s)[0] != dims[0] || PyGpuArray_DIMS(%(z)s)[1] != dims[1]
            || !GpuArray_IS_C_CONTIGUOUS(&%(z)s->ga)) {
            Py_XDECREF(%(z)s);
            %(z)s = pygpu_empty(2, dims, %(x)s->ga.typecode, GA_C_ORDER, %(ctx)s, Py_None);
            if (!%(z)s) {
                %(fail)s;
            }
        }
        size_t total = dims[0] * dims[1];
        if (total > 0) {
            ssize_t item = GpuArray_ITEMSIZE(&%(x)s->ga);
            ssize_t s0 = PyGpuArray_STRIDES(%(x)s)[0] / item, s1 = PyGpuArray_STRIDES(%(x)s)[1] / item;
            ssize_t s2 = PyGpuArray_STRIDES(%(x)s)[2] / item, s3 = PyGpuArray_STRIDES(%(x)s)[3] / item;
            ssize_t ph = %(ph)d, pw = %(pw)d;
            size_t ls = 256, gs = (total + ls - 1) / ls;
            if (gs > 4096) gs = 4096;  // the kernel loops over the rest
            int err = im2col_call(1, &gs, &ls, 0, total, C, H, W, oh, ow, ph, pw, s0, s1, s2, s3,
                                  %(x)s->ga.data, %(x)s->ga.offset,
                                  %(z)s->ga.data, %(z)s->ga.offset);
            if (err != GA_NO_ERROR) {
                PyErr_Format(PyExc_RuntimeError, "GpuIm2Col: %%s",
                             GpuKernel_error(&%(kname)s, err));
                %(fail)s;
            }
        }
        }
        """ % locals()


@gof.local_optimizer([GpuReshape])
def local_gpu_im2col(node):
    """GpuReshape(GpuDimShuffle{0,2,3,1,4}(GpuReshape(GpuImages2Neibs(x))))
    with batched_conv's sizes -> GpuIm2Col(x)."""
    chain = [node]
    for op_class in (GpuDimShuffle, GpuReshape, GpuImages2Neibs):
        owner = chain[-1].inputs[0].owner
        if owner is None or not isinstance(owner.op, op_class):
            return None
        chain.append(owner)
    final, turn, split, neibs = chain
    if tuple(turn.op.new_order) != (0, 2, 3, 1, 4) or neibs.op.mode not in ("valid", "full"):
        return None
    x, neib_shape, neib_step = neibs.inputs
    kernel, step = constant_tuple(neib_shape), constant_tuple(neib_step)
    sizes, columns = constant_tuple(split.inputs[1]), constant_tuple(final.inputs[1])
    if None in (kernel, step, sizes, columns) or step != (1, 1) or len(sizes) != 5:
        return None
    kh, kw = kernel
    n, c, oh, ow, kk = sizes
    if (n != -1 or kk != kh * kw or columns != (-1, c * kk) or c < 1
            or x.dtype not in ("float32", "float64")):
        return None
    # the sizes the reshapes were given: GpuIm2Col refuses other images
    return [GpuIm2Col(kh, kw, neibs.op.mode, (c, oh, ow))(x)]


# Where theano_today.speedups registers them (tag im2col): after the GPU lifting (48.5),
# before the in-place passes (49.5 onward).
REWRITES = {"local_gpu_im2col": local_gpu_im2col}
