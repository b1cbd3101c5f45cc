"""Do multi_output_fusion's merged kernels compute right on this device?

Run by gpu_reproduce.sh first thing on the GPU machine (and by
tests/test_gpu_backend.py on pocl): three training steps of a small dense
softmax layer with Lasagne's Nesterov momentum, the article's update, once
with speedups.py's merged kernels and once without; the losses and the new
parameters and velocities must agree. Prints 'multi_output_fusion: ok', or
fails (non-zero exit) and gpu_reproduce.sh goes on without the fusion.

    THEANO_FLAGS=device=cuda python tests/fusion_check.py
"""
import os
import sys

sys.path.insert(0, os.getcwd())
import compat  # noqa: E402,F401  (before theano and lasagne)

import lasagne  # noqa: E402
import numpy as np  # noqa: E402
import theano  # noqa: E402
import theano.tensor as T  # noqa: E402

x, y = T.fmatrix("x"), T.ivector("y")
layer = lasagne.layers.DenseLayer(lasagne.layers.InputLayer((None, 64), x), 10,
                                  nonlinearity=lasagne.nonlinearities.softmax)
loss = lasagne.objectives.categorical_crossentropy(lasagne.layers.get_output(layer), y).mean()
params = lasagne.layers.get_all_params(layer, trainable=True)
updates = lasagne.updates.nesterov_momentum(loss, params, learning_rate=0.01, momentum=0.9)
start = [(v, v.get_value()) for v in updates]  # parameters and velocities
rng = np.random.RandomState(0)
X, Y = rng.rand(128, 64).astype("float32"), rng.randint(0, 10, 128).astype("int32")


def train(mode):
    """Three steps from the same start: (step function, losses, new values)."""
    for v, value in start:
        v.set_value(value)
    step = theano.function([x, y], loss, updates=updates, mode=mode)
    losses = [float(step(X, Y)) for _ in range(3)]
    return step, losses, [np.asarray(v.get_value()) for v, _ in start]


mode = theano.compile.get_default_mode()
merged, losses, values = train(mode)
_, want_losses, want_values = train(mode.excluding("multi_output_fusion"))
ops = [type(node.op).__name__ for node in merged.maker.fgraph.toposort()]
assert "FusedGpuElemwise" in ops, "no merged GPU kernel: %s" % ops
np.testing.assert_allclose(losses, want_losses, rtol=1e-5)
for got, want in zip(values, want_values):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
print("multi_output_fusion: ok")
