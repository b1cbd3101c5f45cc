"""Time single ops of the CNN's CPU training step, with and without a rewrite.

    python -m bench.ops                      # every op below
    python -m bench.ops --ops pool_grad --reps 7

pool_grad  the max-pooling gradient at the CNN's three pooling shapes (batch
           128): pooling's FastMaxPoolGrad against Theano's MaxPoolGrad, with the
           fast op's memory rate (bytes it reads and writes / time), and a
           plain copy's.
bias_grad  the conv layers' bias gradients, per-channel sums of the output
           gradient: bias_grad against Theano's Sum (float64 sums).
bias_add   the conv layers' bias added to their output, in place as in the
           training step: bias_add against Theano's broadcasting Elemwise.
conv       the conv layers' convolution and both its gradients (CorrMM):
           corrmm against Theano's im2col and col2im loops (conv_blocks off in both).
conv_blocks  the same: conv_blocks's products against the BLAS's (corrmm in both).

Each repetition times both versions in turn (the median of --calls calls
each) and measures how many cores other processes took meanwhile (from
/proc/stat); a repetition where they took more than a quarter of a core is
marked contended. Prints milliseconds per call, medians over repetitions.
"""
import argparse
import time

import theano_today  # noqa: F401  (before theano: makes the 2015 stack run today)
from theano_today import cli, conv_blocks

import numpy as np
import theano
import theano.tensor as T
from theano.tensor.signal.pool import MaxPoolGrad

from bench.lab import CONTENDED_CORES, busy_seconds

BATCH = 128
#: the CNN's conv outputs (= pooling inputs): ConvolutionNN.py's layers on 32x32 images
CONV_OUTPUTS = [(BATCH, 16, 30, 30), (BATCH, 32, 14, 14), (BATCH, 64, 6, 6)]


def pool_grad_case(shape):
    """(inputs, output, tag, data, bytes the fast op moves or None): MaxPoolGrad
    alone, given x, its 2x2 maxima z and their gradient gz."""
    x, z, gz = [T.tensor4(name, dtype="float32") for name in ("x", "z", "gz")]
    grad = MaxPoolGrad(ndim=2, ignore_border=True)(x, z, gz, (2, 2), (2, 2), (0, 0))
    rng = np.random.RandomState(0)
    n, c, h, w = shape
    data = np.maximum(rng.randn(*shape), 0).astype("float32")  # after a ReLU
    maxima = data[:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max(
        axis=(3, 5))
    # x and gx, then z and gz (a quarter of x each)
    moved = 4 * (2 * data.size + 2 * maxima.size)
    return [x, z, gz], grad, "pooling", [data, maxima, rng.randn(
        *maxima.shape).astype("float32")], moved


def bias_grad_case(shape):
    """The bias gradient of a conv layer whose output gradient is g."""
    g = T.tensor4("g", dtype="float32")
    b = theano.shared(np.zeros(shape[1], "float32"))
    out = g + b.dimshuffle("x", 0, "x", "x")
    grad = T.grad((out * g).sum(), b)  # the sum of g over axes 0, 2, 3
    data = [np.random.RandomState(1).randn(*shape).astype("float32")]
    return [g], grad, "bias_grad", data, 4 * int(np.prod(shape))


def bias_add_case(shape):
    """A conv layer's output plus its bias, written over the output (as the
    training step does: the input is mutable here, so calls add up)."""
    x = T.tensor4("x", dtype="float32")
    b = theano.shared(np.random.RandomState(2).randn(shape[1]).astype("float32"))
    out = x + b.dimshuffle("x", 0, "x", "x")
    data = [np.random.RandomState(1).randn(*shape).astype("float32")]
    return [theano.In(x, mutable=True)], out, "bias_add", data, 2 * 4 * int(np.prod(shape))


#: each conv output's layer: input channels, filter size (ConvolutionNN.py)
CONV_LAYERS = {CONV_OUTPUTS[0]: (1, 3), CONV_OUTPUTS[1]: (16, 2), CONV_OUTPUTS[2]: (32, 2)}


def conv_case(shape):
    """A conv layer's output and the gradients of its input and filters."""
    from theano.tensor.nnet import conv2d
    n, f, oh, ow = shape
    c, k = CONV_LAYERS[shape]
    x, g = T.tensor4("x", dtype="float32"), T.tensor4("g", dtype="float32")
    rng = np.random.RandomState(3)
    w = theano.shared(rng.randn(f, c, k, k).astype("float32"))
    out = conv2d(x, w, input_shape=(None, c, oh + k - 1, ow + k - 1), filter_shape=(f, c, k, k))
    grads = T.grad((out * g).sum(), [x, w])
    data = [rng.randn(n, c, oh + k - 1, ow + k - 1).astype("float32"),
            rng.randn(*shape).astype("float32")]
    return [x, g], [out] + grads, "corrmm", data, None


def conv_blocks_case(shape):
    """The same convolution, timed with and without conv_blocks."""
    inputs, outputs, _, data, moved = conv_case(shape)
    return inputs, outputs, "conv_blocks", data, moved


CASES = {"pool_grad": pool_grad_case, "bias_grad": bias_grad_case, "bias_add": bias_add_case,
         "conv": conv_case, "conv_blocks": conv_blocks_case}
#: speed-ups off in both versions of a case: the one that case does not time
OFF_IN_BOTH = {"conv": ("conv_blocks",)}


def per_call_ms(f, data, calls):
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        f(*data)
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


def copy_rate(x, calls):
    """GB/s of copying x into a new array (x read, the copy written): the
    memory speed an op that reads and writes that much can hope for."""
    return 2 * x.nbytes / per_call_ms(np.copy, [x], calls) / 1e6


def parse_args(argv=None):
    doc = (__doc__ or "").split("\n\n", 2)  # python -OO strips docstrings
    parser = argparse.ArgumentParser(
        description=doc[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=doc[2] if len(doc) > 2 else None)
    parser.add_argument("--ops", nargs="+", choices=sorted(CASES), default=sorted(CASES))
    parser.add_argument("--reps", type=cli.count, default=5, help="repetitions (default 5)")
    parser.add_argument("--calls", type=cli.count, default=50, help="calls per timing (default 50)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    for name in args.ops:
        if name == "conv_blocks":  # where the BLAS keeps the products, both are the same
            print("conv_blocks: the convolutions' products in %s" % conv_blocks.where_products_run())
        mode = theano.compile.get_default_mode().excluding(*OFF_IN_BOTH.get(name, ()))
        for shape in CONV_OUTPUTS:
            inputs, output, tag, data, moved = CASES[name](shape)
            with_ = theano.function(inputs, output, mode=mode)
            without = theano.function(inputs, output, mode=mode.excluding(tag))
            ms = {"with": [], "without": []}
            contended = 0
            for _ in range(args.reps):
                busy0, own0, t0 = busy_seconds(), time.process_time(), time.perf_counter()
                ms["with"].append(per_call_ms(with_, data, args.calls))
                ms["without"].append(per_call_ms(without, data, args.calls))
                wall = time.perf_counter() - t0
                if busy0 is not None:
                    others = (busy_seconds() - busy0 - (time.process_time() - own0)) / wall
                    contended += others > CONTENDED_CORES
            fast, slow = np.median(ms["with"]), np.median(ms["without"])
            rate = "" if moved is None else ", %.1f GB/s with (a copy: %.1f GB/s)" % (
                moved / fast / 1e6, copy_rate(data[0], args.calls))
            print("%-11s %-16s %s: %.3f ms, without: %.3f ms (x%.1f)%s; %d of %d repetitions "
                  "contended" % (name, "x".join(map(str, shape)), tag, fast, slow, slow / fast,
                                 rate, contended, args.reps))


if __name__ == "__main__":
    main()
