"""Do multi_output_fusion's merged kernels compute right on this device?

Run by bench/gpu_reproduce.sh first thing on the GPU machine (and by
tests/test_gpu_backend.py on pocl): three training steps of a small dense
softmax layer with Lasagne's Nesterov momentum, the article's update, once
with theano_today.fusion's merged kernels and once without; the losses and
the new parameters and velocities must agree. Prints 'multi_output_fusion:
ok', or fails (non-zero exit) and gpu_reproduce.sh goes on without the fusion.
tests/programs/fusion_cpu_check.py uses its two helpers for the same check on the CPU.

    THEANO_FLAGS=device=cuda python -m bench.fusion_check
"""

import theano_today  # noqa: F401  (before theano: makes the 2015 stack run today)
from theano_today import cli

import lasagne
import numpy as np
import theano
import theano.tensor as T

import mlp


def nesterov_training(output_layer, y):
    """The article's training of a Lasagne net: (loss, updates), mean
    cross-entropy and the MLP's Nesterov momentum (mlp.py's settings)."""
    loss = lasagne.objectives.categorical_crossentropy(
        lasagne.layers.get_output(output_layer), y).mean()
    params = lasagne.layers.get_all_params(output_layer, trainable=True)
    return loss, lasagne.updates.nesterov_momentum(
        loss, params, learning_rate=mlp.LEARNING_RATE, momentum=mlp.MOMENTUM)


def trainer(inputs, loss, updates, data, steps):
    """train(mode): compiles the step in that mode and takes `steps` steps on
    data, each time from the same parameters and velocities; returns the
    step function, the losses and the new parameters and velocities."""
    start = [(v, v.get_value()) for v in updates]

    def train(mode):
        for v, value in start:
            v.set_value(value)
        step = theano.function(inputs, loss, updates=updates, mode=mode)
        losses = [float(step(*data)) for _ in range(steps)]
        return step, losses, [np.asarray(v.get_value()) for v, _ in start]
    return train


def main():
    x, y = T.fmatrix("x"), T.ivector("y")
    layer = lasagne.layers.DenseLayer(lasagne.layers.InputLayer((None, 64), x), 10,
                                      nonlinearity=lasagne.nonlinearities.softmax)
    loss, updates = nesterov_training(layer, y)
    rng = np.random.RandomState(0)
    data = rng.rand(128, 64).astype("float32"), rng.randint(0, 10, 128).astype("int32")
    train = trainer([x, y], loss, updates, data, steps=3)
    mode = theano.compile.get_default_mode()
    merged, losses, values = train(mode)
    _, want_losses, want_values = train(mode.excluding("fusion"))
    ops = [type(node.op).__name__ for node in merged.maker.fgraph.toposort()]
    assert "FusedGpuElemwise" in ops, "no merged GPU kernel: %s" % ops
    np.testing.assert_allclose(losses, want_losses, rtol=1e-5)
    for got, want in zip(values, want_values):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    print("multi_output_fusion: ok")


if __name__ == "__main__":
    cli.new_parser(__doc__).parse_args()
    main()
