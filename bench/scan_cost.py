"""What theano.scan costs, compiled or in Python.

Theano 1.0.5's compiled scan loop (C from Cython 0.28) does not build on
Python 3.11 and later as it is; theano_today builds it mended there
(theano_today/scan_c.py), and runs scan's Python loop where that fails.
This times a training step of an LSTM (Lasagne's LSTMLayer, the recurrent
layer of 2015 code) once through theano.scan and once unrolled
(unroll_scan=True: no scan, every time step in the graph), and scan's bare
loop: a running sum, per iteration.

    python -m bench.scan_cost [--steps 20] [--length 20] [--rounds 3]
    python -m bench.scan_cost --python-loop     # scan's Python loop, to compare
"""
import sys
import time

import theano_today  # noqa: F401  (before theano: makes the 2015 stack run today)

import lasagne
import numpy as np
import theano
import theano.tensor as T

from bench.lab import CONTENDED_CORES, timed
from theano_today import cli

BATCH = 32     # sequences per step
FEATURES = 32  # inputs per time step
UNITS = 64     # LSTM units


def lstm_step(length, unroll):
    """A compiled training step (Adam, the loss of a softmax on the last
    output) of an LSTM over sequences of that length."""
    x, y = T.tensor3("x"), T.ivector("y")
    layer = lasagne.layers.InputLayer((BATCH, length, FEATURES), x)
    layer = lasagne.layers.LSTMLayer(layer, UNITS, unroll_scan=unroll)
    layer = lasagne.layers.SliceLayer(layer, -1, axis=1)  # the last time step's output
    layer = lasagne.layers.DenseLayer(layer, 10, nonlinearity=lasagne.nonlinearities.softmax)
    loss = lasagne.objectives.categorical_crossentropy(
        lasagne.layers.get_output(layer), y).mean()
    params = lasagne.layers.get_all_params(layer, trainable=True)
    return theano.function([x, y], loss, updates=lasagne.updates.adam(loss, params))


def running_sum():
    x = T.vector("x")
    sums, _ = theano.scan(lambda a, total: total + a, sequences=x,
                          outputs_info=T.constant(np.asarray(0, dtype=x.dtype)))
    return theano.function([x], sums[-1])


def loop_kind():
    """Which loop the scans compiled so far run (after one has run)."""
    ext = sys.modules.get("theano.scan_module.scan_perform_ext")
    if ext is None:
        return "Python"
    return "compiled (Cython 0.28's C%s)" % (", mended by theano_today.scan_c"
                                            if sys.version_info >= (3, 11) else "")


def main():
    parser = cli.new_parser(__doc__)
    parser.add_argument("--steps", type=cli.count, default=20,
                        help="training steps timed per round")
    parser.add_argument("--length", type=cli.count, default=20, help="time steps per sequence")
    parser.add_argument("--rounds", type=cli.count, default=3,
                        help="rounds, scan and unrolled alternating; the best counts")
    parser.add_argument("--python-loop", action="store_true",
                        help="run scan's Python loop instead of its compiled one")
    args = parser.parse_args()
    if args.python_loop:  # Theano falls back to its Python loop without this module
        sys.modules["theano.scan_module.scan_perform_ext"] = None

    rng = np.random.RandomState(0)
    X = rng.rand(BATCH, args.length, FEATURES).astype(theano.config.floatX)
    y = rng.randint(0, 10, BATCH).astype("int32")
    print("compiling the LSTM step twice ...", file=sys.stderr)
    steps = {"scan": lstm_step(args.length, unroll=False),
             "unrolled": lstm_step(args.length, unroll=True)}
    print("scan loop: %s" % loop_kind())
    best = {name: float("inf") for name in steps}
    contended = 0
    for _ in range(args.rounds):
        for name, step in steps.items():
            def train(X, y, step=step):
                for _ in range(args.steps):
                    step(X, y)
            rate, others = timed(train, X, y)  # len(X) / the wall time of all steps
            contended += others is not None and others > CONTENDED_CORES
            best[name] = min(best[name], 1000.0 * len(X) / rate / args.steps)
    print("lstm training step (batch %d, %d time steps, %d units): scan %.2f ms, "
          "unrolled %.2f ms: scan/unrolled %.2f"
          % (BATCH, args.length, UNITS, best["scan"], best["unrolled"],
             best["scan"] / best["unrolled"]))

    total, values = running_sum(), np.ones(10000, dtype=theano.config.floatX)
    total(values)
    start = time.perf_counter()
    for _ in range(args.rounds):
        total(values)
    per_iteration = (time.perf_counter() - start) / args.rounds / len(values)
    print("scan's bare loop: %.1f us per iteration" % (per_iteration * 1e6))
    print("machine: %d of %d timed runs contended (others used more than %.2f cores)"
          % (contended, 2 * args.rounds, CONTENDED_CORES))


if __name__ == "__main__":
    cli.run(main)
