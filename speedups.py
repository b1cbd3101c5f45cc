"""Speed-ups for the tutorial's nets, registered the Theano way.

Nothing here changes what a user writes: the nets stay Lasagne layers inside
nolearn. Each speed-up is a graph optimization that swaps an op of Theano
1.0.5 for a faster one computing the same numbers; compat.py registers them.
Each has a tag, so Theano's own flag turns it off, to compare:

    THEANO_FLAGS=optimizer_excluding=fast_max_pool:fast_max_pool_grad python bench.py

fast_max_pool, fast_max_pool_grad (CPU)
    Theano's Pool and MaxPoolGrad handle every pooling variant (overlap,
    padding, n-d) with one generic loop; MaxPoolGrad also walks the batch
    with the *first* axis fastest, so consecutive steps land C*H*W floats
    apart in memory. On the article's CNN they were the largest cost of a
    CPU training step. For the common case (non-overlapping windows: stride
    == window size, no padding, ignore_border=True, 4-d input) FastMaxPool
    and FastMaxPoolGrad walk each image in memory order, in loops the
    compiler vectorizes. Same results, bit for bit, ties included: every
    input equal to its window's maximum receives that window's gradient.
    They run after the GPU optimizations, so GPU graphs keep their GpuPool.

batched_conv (GPU)
    Theano's GpuCorrMM loops over the images of a minibatch: per image, one
    im2col kernel and one small cuBLAS product. For the article's small
    images that is 128 launches per layer and direction, and the GPU waits
    on launch overhead. The rewrite expresses a stride-1 'valid' convolution
    and both its gradients with ordinary tensor ops: every k x k patch of
    the whole batch (im2col, by Theano's images2neibs), and ONE matrix
    product per layer and direction, which Theano moves to the GPU like any
    other ops; the input gradient adds the product's columns back at their
    k*k shifted places. Same sums in another order: results agree to
    float32 rounding. On the CPU, CorrMM's per-image loop measured faster,
    so it is used on the GPU only.

multi_output_fusion (GPU)
    Theano fuses a chain of element-wise ops into one loop (one kernel on
    the GPU) only where each intermediate result has a single use. Nesterov
    momentum uses each new velocity twice, as an update and inside the
    parameter's update, so every parameter costs two kernels per step, a
    bias a third (learning rate times gradient, also used twice), and a
    hidden layer's pre-activation, used by the ReLU and by its gradient,
    one more. MultiOutputFusion merges such a producer into its consumer:
    one loop that computes both results. The GPU steps of the article's
    nets then launch 6 element-wise kernels instead of 13 (MLP) and 18
    instead of 40 (CNN), counted on Theano's GPU back end through pocl, and
    short GPU steps are mostly launches. Same scalar ops in the same order;
    results agree to float32 rounding (a compiler may now join a multiply
    and an add that were separate kernels into one fused multiply-add). On
    the CPU, where loops cost no launch, it is not registered.
"""
import sys

import numpy as np
from theano import gof, scalar, tensor
from theano.compile import optdb
from theano.gof import Apply, OpenMPOp
from theano.gof.graph import ancestors
from theano.tensor.elemwise import Elemwise
from theano.tensor.nnet.abstract_conv import (
    AbstractConv2d, AbstractConv2d_gradInputs, AbstractConv2d_gradWeights)
from theano.tensor.nnet.neighbours import images2neibs
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


# --- batched_conv ----------------------------------------------------------------

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


# --- multi_output_fusion -----------------------------------------------------

class FusedElemwise(Elemwise):
    """An Elemwise made by MultiOutputFusion. A subclass so that Theano's
    in-place pass (which matches the exact class) leaves it alone: with
    several outputs it may let one output overwrite an input that a later
    output of the same loop still reads."""


# Theano imports its GPU back end only to run on a GPU (device=cuda...)
GPU_BACK_END = "theano.gpuarray" in sys.modules
if GPU_BACK_END:
    from theano.gpuarray.basic_ops import as_gpuarray_variable, infer_context_name
    from theano.gpuarray.elemwise import GpuDimShuffle, GpuElemwise
    from theano.gpuarray.type import GpuArrayType

    class FusedGpuElemwise(GpuElemwise):
        """A GpuElemwise made by MultiOutputFusion, never in place (as
        FusedElemwise). GpuElemwise.make_node refuses several outputs
        although its C code and libgpuarray's kernels handle them; this
        make_node is GpuElemwise's without that refusal."""

        def make_node(self, *inputs):
            context = infer_context_name(*inputs)
            inputs = [as_gpuarray_variable(i, context) for i in inputs]
            dtypes, patterns, inputs = Elemwise.get_output_info(self, GpuDimShuffle, *inputs)
            outputs = [GpuArrayType(dtype=dtype, broadcastable=pattern, context_name=context)()
                       for dtype, pattern in zip(dtypes, patterns)]
            return Apply(self, inputs, outputs)


def _scalar_results(op, args):
    """The outputs of scalar op applied to args, with a Composite's own
    graph copied in: so no composite holds another with several outputs,
    which Composite's Python fallback cannot run."""
    if not isinstance(op, scalar.Composite):
        return op(*args, return_list=True)
    inner = op.fgraph
    equiv = gof.graph.clone_get_equiv(inner.inputs, inner.outputs,
                                      memo=dict(zip(inner.inputs, args)))
    return [equiv[out] for out in inner.outputs]


def _loop_kind(node):
    """FusedGpuElemwise for a GpuElemwise node, FusedElemwise for another
    Elemwise, else None."""
    if GPU_BACK_END and isinstance(node.op, GpuElemwise):
        return FusedGpuElemwise
    if isinstance(node.op, Elemwise):
        return FusedElemwise
    return None


class MultiOutputFusion(gof.Optimizer):
    """Merges an element-wise node into an element-wise consumer of its
    results, where Theano's fusion stopped because the results have other
    uses: the merged node computes both in one loop and returns the
    producer's results that are still used elsewhere, beside the
    consumer's. Repeated until nothing merges."""

    max_arguments = 24  # inputs and outputs of one loop (a kernel's parameters)

    def add_requirements(self, fgraph):
        fgraph.attach_feature(gof.toolbox.ReplaceValidate())

    def apply(self, fgraph):
        merged = True
        while merged:
            merged = any(self.merge_into(fgraph, node) for node in fgraph.toposort())

    def merge_into(self, fgraph, consumer):
        """Merge one producer of consumer's inputs into it; True if done."""
        kind = _loop_kind(consumer)
        if kind is None or consumer.op.inplace_pattern:
            return False
        producers = [v.owner for v in consumer.inputs if v.owner is not None]
        for producer in sorted(set(producers), key=producers.index):
            if _loop_kind(producer) is not kind or producer.op.inplace_pattern:
                continue
            others = [v for v in consumer.inputs if v.owner is not producer]
            if any(v.owner is producer for v in ancestors(others, blockers=fgraph.inputs)):
                continue  # consumer also needs producer through other nodes
            inputs = []
            for v in producer.inputs + others:
                if v not in inputs:
                    inputs.append(v)
            # the producer's results used elsewhere too (or returned)
            kept = [out for out in producer.outputs
                    if any(client is not consumer for client, _ in out.clients)]
            replaced = kept + consumer.outputs
            if len(inputs) + len(replaced) > self.max_arguments:
                continue
            # the scalar graph: producer's scalar op, then consumer's on its results
            scalars = {v: scalar.get_scalar_type(v.dtype)() for v in inputs}
            scalars.update(zip(producer.outputs, _scalar_results(
                producer.op.scalar_op, [scalars[v] for v in producer.inputs])))
            results = _scalar_results(consumer.op.scalar_op,
                                      [scalars[v] for v in consumer.inputs])
            loop = kind(scalar.Composite([scalars[v] for v in inputs],
                                         [scalars[out] for out in kept] + results))
            new = loop(*inputs, return_list=True)
            if [v.type for v in new] != [v.type for v in replaced]:
                continue  # a kept result was broadcast in the consumer's loop
            fgraph.replace_all_validate(list(zip(replaced, new)),
                                        reason="multi_output_fusion")
            return True
        return False


def gpu_active():
    """True when Theano computes on its GPU back end: device=cuda (or an
    OpenCL device, such as pocl in tests/opencl_env.sh) and pygpu started."""
    import theano
    if not theano.config.device.startswith(("cuda", "opencl")):
        return False
    from theano import gpuarray
    return bool(gpuarray.pygpu_activated)


def register(batched_conv=None, fusion=None):
    """Add the speed-ups to Theano's optimizer (once). Each is selected by its
    tag, so optimizer_excluding=<tag> turns it off. batched_conv and fusion
    (multi_output_fusion): None means on the GPU only (on the CPU, CorrMM's
    per-image loop measured faster, and a loop costs no launch)."""
    if batched_conv is None:
        batched_conv = gpu_active()
    if fusion is None:
        fusion = gpu_active()
    # after Theano's fusion (49) and before the in-place passes (49.5 on)
    if fusion and "multi_output_fusion_pass" not in optdb.__db__:
        optdb.register("multi_output_fusion_pass", MultiOutputFusion(), 49.4,
                       "fast_run", "multi_output_fusion")
    # after the GPU lifting (48.5): only CPU MaxPoolGrad nodes are left
    places = [("specialize_device", "local_fast_max_pool_grad",
               local_fast_max_pool_grad, "fast_max_pool_grad"),
              ("specialize_device", "local_fast_max_pool",
               local_fast_max_pool, "fast_max_pool")]
    if batched_conv:
        # early (stabilize, 1.5): before the BLAS optimizations (1.7) turn
        # the new dot()s into Gemm/Dot22, which the GPU lifting (48.5) moves
        # to the GPU; and before the choice of conv implementation (48.6)
        places += [("stabilize", name, opt, "batched_conv") for name, opt in [
            ("local_batched_conv", local_batched_conv),
            ("local_batched_conv_grad_weights", local_batched_conv_grad_weights),
            ("local_batched_conv_grad_inputs", local_batched_conv_grad_inputs)]]
    for db, name, opt, tag in places:
        if name not in optdb[db].__db__:
            optdb[db].register(name, opt, "fast_run", tag)
