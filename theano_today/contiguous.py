"""No GpuContiguous where the array is C-contiguous already: contiguous.

Theano's GPU ops that need a C-contiguous input get a GpuContiguous node in
front, whatever comes in. At run time it passes a C-contiguous array
through, but it is still a node of every step, with its call. Some inputs
are C-contiguous by construction: the outputs of GpuReshape (it reshapes
in C order, copying where it must), of GpuDot22, GpuPool and
GpuImages2Neibs (fresh C-order arrays), and of GpuElemwise where the
output is not written in place over an input. This pass, run after the
in-place passes have decided, drops GpuContiguous in front of those.

GPU only; turned off by THEANO_FLAGS=optimizer_excluding=contiguous.
"""
from theano import gof
from theano.gpuarray.basic_ops import GpuContiguous, GpuReshape
from theano.gpuarray.blas import GpuDot22
from theano.gpuarray.elemwise import GpuElemwise
from theano.gpuarray.neighbours import GpuImages2Neibs
from theano.gpuarray.pool import GpuPool

FRESH_C_ORDER = (GpuReshape, GpuDot22, GpuPool, GpuImages2Neibs)


def c_contiguous(variable):
    """True where variable's producer always gives a C-contiguous array."""
    node = variable.owner
    if node is None:
        return False
    if isinstance(node.op, FRESH_C_ORDER):
        return True
    return (isinstance(node.op, GpuElemwise)
            and node.outputs.index(variable) not in node.op.destroy_map)


class DropContiguous(gof.Optimizer):
    def add_requirements(self, fgraph):
        fgraph.attach_feature(gof.toolbox.ReplaceValidate())

    def apply(self, fgraph):
        for node in fgraph.toposort():
            if isinstance(node.op, GpuContiguous) and c_contiguous(node.inputs[0]):
                try:
                    fgraph.replace_validate(node.outputs[0], node.inputs[0],
                                            reason="gpu_contiguous")
                except gof.InconsistencyError:  # an in-place op would then overwrite it
                    pass


# Where theano_today.speedups registers them (tag contiguous): after the in-place passes
# (up to 75), which decide which element-wise outputs are written in place.
REWRITES = {"drop_gpu_contiguous": DropContiguous()}
