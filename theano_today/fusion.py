"""Fewer element-wise kernels per GPU step: multi_output_fusion.

Theano fuses a chain of element-wise ops into one loop (one kernel on the
GPU) only where each intermediate result has a single use. Nesterov momentum
uses each new velocity twice, as an update and inside the parameter's
update, so every parameter costs two kernels per step, a bias a third
(learning rate times gradient, also used twice), and a hidden layer's
pre-activation, used by the ReLU and by its gradient, one more.
MultiOutputFusion merges such a producer into its consumer: one loop that
computes both results. Same scalar ops in the same order; results agree to
float32 rounding (a compiler may now join a multiply and an add that were
separate kernels into one fused multiply-add). Short GPU steps are mostly
launches; on the CPU, where a loop costs no launch, it is not registered.

Turned off by THEANO_FLAGS=optimizer_excluding=fusion.
"""
import sys

from theano import gof, scalar
from theano.gof import Apply
from theano.gof.graph import ancestors
from theano.tensor.elemwise import Elemwise


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


# Where theano_today.speedups registers them (tag fusion): after Theano's own fusion
# (49) and before the in-place passes (49.5 on).
REWRITES = {"multi_output_fusion_pass": MultiOutputFusion()}
