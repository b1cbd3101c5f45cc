"""batched_conv against Theano's CorrMM: the article's CNN's loss and every
gradient, both ways, on the CPU (where batched_conv is not registered by
default). In a fresh interpreter, as registering it changes every later
graph. Prints 'batched conv agrees'."""
import theano_today  # noqa: F401

import numpy as np
import theano
import theano.tensor as T

from helpers import cnn_training_step
from theano_today import speedups

speedups.register_speedup("batched_conv")  # on the CPU too, to compare with CorrMM
inputs, outputs = cnn_training_step(T)
# Theano's own products both ways (parallel_dot would take batched_conv's Dot22s)
mode = theano.compile.get_default_mode().excluding("parallel_dot")
batched = theano.function(inputs, outputs, mode=mode)
stock = theano.function(inputs, outputs, mode=mode.excluding("batched_conv", "corrmm"))


def names(f):
    return {type(n.op).__name__ for n in f.maker.fgraph.toposort()}


assert not any("Corr" in n for n in names(batched)), names(batched)
assert "Dot" not in names(batched) and "Dot22" in names(batched), names(batched)
assert "Images2Neibs" in names(batched) and "Join" not in names(batched), names(batched)
assert {"CorrMM", "CorrMM_gradWeights", "CorrMM_gradInputs"} <= names(stock)
rng = np.random.RandomState(0)
X = (rng.rand(16, 1, 32, 32) - 0.5).astype("float32")
Y = rng.randint(0, 10, 16).astype("int32")
for got, want in zip(batched(X, Y), stock(X, Y)):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6 * abs(want).max())
print("batched conv agrees")
