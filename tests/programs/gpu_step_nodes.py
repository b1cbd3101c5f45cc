"""Run by tests/test_gpu_backend.py with the Python of the pygpu environment
(programs/in_gpu_env.sh): the nodes of the scripts' training steps (mlp.py's
and ConvolutionNN.py's nets, SharedDataNeuralNet) on Theano's GPU back end;
prints one JSON report, {net: {op name: count}}. Tags of rewrites named
after it are left out (to count what each one saves).

    python tests/programs/gpu_step_nodes.py [TAG ...]   (from the repository root)
"""
import collections
import json
import os
import sys

sys.path.insert(0, os.getcwd())  # the repository root: the pygpu Python has no PYTHONPATH
import theano_today  # noqa: E402,F401  (first: makes the 2015 stack run on today's Python)

import numpy as np  # noqa: E402
import theano  # noqa: E402

from bench import feeding  # noqa: E402


def main(excluding):
    # nolearn compiles with Theano's default mode
    theano.compile.mode.instantiated_default_mode = (
        theano.compile.get_default_mode().excluding(*excluding))
    report = {}
    rng = np.random.RandomState(0)
    for name, shape in [("mlp", (256, 1024)), ("cnn", (256, 1, 32, 32))]:
        net = feeding.build(name, "shared")
        X = rng.rand(*shape).astype("float32") - 0.5
        y = (np.arange(shape[0]) % 10).astype("int32")
        net.fit(X, y, epochs=1)
        step = net.train_iter_.sliced.maker.fgraph
        report[name] = dict(collections.Counter(
            type(node.op).__name__ for node in step.apply_nodes))
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
