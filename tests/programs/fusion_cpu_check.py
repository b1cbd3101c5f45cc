"""multi_output_fusion on the CPU (where it is not registered by default):
the article's MLP trains as with Theano's own fusion, with one loop per
parameter and its velocity, in C and in Python; and what must not be
merged is not. In a fresh interpreter, as registering the pass changes every
later graph. Prints 'multi-output fusion agrees'."""
import theano_today  # noqa: F401

import numpy as np
import theano
import theano.tensor as T
from lasagne.layers import get_all_params
from theano.tensor.elemwise import Elemwise

from bench.fusion_check import nesterov_training, trainer
from mlp import build_mlp
from theano_today import fusion, speedups

speedups.register_speedup("fusion")
theano.config.on_opt_error = "raise"  # a failing rewrite fails here instead of being skipped
mode = theano.compile.get_default_mode()


def loops(f):
    return [n for n in f.maker.fgraph.toposort() if isinstance(n.op, Elemwise)]


def fused(f):
    return [n for n in loops(f) if type(n.op) is fusion.FusedElemwise]


# the article's MLP, one training step with its Nesterov momentum
net = build_mlp(verbose=0)
net.initialize_layers()
x, y = net.layers_["input"].input_var, T.ivector()
loss, updates = nesterov_training(net.layers_["output"], y)
params = get_all_params(net.layers_["output"], trainable=True)
rng = np.random.RandomState(0)
data = (rng.rand(128, 1024) - 0.5).astype("float32"), rng.randint(0, 10, 128).astype("int32")
train = trainer([x, y], loss, updates, data, steps=5)

ours, ours_losses, ours_values = train(mode)
stock, stock_losses, stock_values = train(mode.excluding("fusion"))
python, python_losses, _ = train(theano.compile.Mode(linker="py", optimizer=mode.optimizer))


def update_loops(f):
    """The nodes computing the new parameters and velocities."""
    return {out.owner for out in f.maker.fgraph.outputs[1:]}


# each parameter and its velocity: one loop computes both new values
assert len(update_loops(stock)) == 2 * len(params), update_loops(stock)
assert len(update_loops(ours)) == len(params), update_loops(ours)
assert update_loops(ours) <= set(fused(ours)) and fused(python)
assert not any(n.op.inplace_pattern for n in fused(ours))
assert not fused(stock)
np.testing.assert_allclose(ours_losses, stock_losses, rtol=1e-6)
np.testing.assert_allclose(python_losses, stock_losses, rtol=1e-5)
for got, want in zip(ours_values, stock_values):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
print("mlp loops: %d fused, %d stock" % (len(loops(ours)), len(loops(stock))))

# not merged: a consumer that also needs the producer through another node
# (a cycle), and a producer result that the consumer's loop broadcasts
v, row, m = T.fvector(), T.frow(), T.fmatrix()
a, r = T.exp(v), T.exp(row)
f = theano.function([v, row, m], [a * a.sum(), r + m, r.sum()], mode=mode)
assert not fused(f), fused(f)
vv, rr, mm = np.float32([0.5, -1.0]), np.float32([[1.0, 2.0]]), np.ones((3, 2), "float32")
want = [np.exp(vv) * np.exp(vv).sum(), np.exp(rr) + mm, np.exp(rr).sum()]
for got, w in zip(f(vv, rr, mm), want):
    np.testing.assert_allclose(got, w, rtol=1e-6)
print("multi-output fusion agrees")
