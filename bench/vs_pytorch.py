"""Training speed on the CPU: this Theano stack against PyTorch, side by side.

Both train the article's MLP and CNN on the same CIFAR-10 grayscale images,
in minibatches of 128 with Nesterov momentum (the scripts' learning rates and
momentum), with the same number of threads. Theano runs the scripts' net's
own compiled training function, fed by nolearn's BatchIterator, exactly as
net.fit does (minibatches read as slices of the images stored once:
theano_today.shared_data). The two are timed in turns (several repetitions,
medians), so both see the same machine load.

    pip install -r bench/requirements.txt     # PyTorch, CPU build
    python -m bench.vs_pytorch                 # prints samples/s and the ratio

The last line reads `ratio theano/pytorch: mlp=X.XX cnn=Y.YY (...)` (above 1:
Theano is faster), then how many repetitions agree with it. A repetition
during which other processes took more than a quarter of a core
(/proc/stat) is contended: it is shown apart, not counted, and repeated. Stock Theano, to compare (docs/performance.md):
THEANO_FLAGS=openmp=False,optimizer_excluding=theano_today
python -m bench.vs_pytorch
"""
import argparse
import os
import sys

# Thread counts must be fixed before OpenMP, OpenBLAS or torch load, so
# --threads is read before anything else is imported (the full parser,
# below, takes this one as a parent).
THREADS = argparse.ArgumentParser(add_help=False)
THREADS.add_argument("--threads", type=int, default=os.cpu_count(),
                     help="threads for both libraries, by default one per CPU of this machine")
if __name__ == "__main__":
    # Theano's loops use OpenMP (openmp = True in .theanorc); its BLAS runs
    # all cores unless told otherwise (theano_today.blas.choose_threads).
    _threads = THREADS.parse_known_args()[0].threads
    if _threads < 1:  # before OMP_NUM_THREADS takes it
        sys.exit("vs_pytorch.py: argument --threads: must be a whole number of at least 1")
    os.environ["OMP_NUM_THREADS"] = str(_threads)
    if _threads != os.cpu_count():
        os.environ.setdefault("OPENBLAS_NUM_THREADS", str(_threads))

import theano_today  # noqa: E402,F401  (first: makes the 2015 stack run on today's Python)

import time  # noqa: E402

import numpy as np  # noqa: E402
from nolearn.lasagne import BatchIterator  # noqa: E402

import cifar_loader  # noqa: E402
from bench.lab import NETS, repetitions  # noqa: E402
from theano_today import blas, cli, conv_blocks, device  # noqa: E402

BATCH = 128
#: Passes over the --batches per timed repetition: the MLP's steps are so short
#: that one pass is over before the machine's noise averages out.
PASSES = {"mlp": 10, "cnn": 1}


def parse_args(argv=None):
    parser = cli.new_parser(__doc__, parents=[THREADS])
    cifar_loader.add_data_dir_option(parser)
    parser.add_argument("--batches", type=cli.count, default=40,
                        help="minibatches of 128 per pass; a timed repetition makes " + ", ".join(
                            "%d for the %s" % (n, name) for name, n in PASSES.items()))
    parser.add_argument("--reps", type=cli.count, default=5,
                        help="timed repetitions per library and net, medians reported")
    cli.add_nets_option(parser, NETS)
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error("argument --threads: must be a whole number of at least 1")
    return args


# --- the two implementations ---------------------------------------------------

def theano_trainer(name):
    """A function training one pass over (X, y), as nolearn's fit loop does."""
    net = NETS[name][1](epochs=1, verbose=0)
    net.initialize()
    batches = BatchIterator(batch_size=BATCH)

    def train(X, y):
        net.store(X, y)  # the images go to Theano once, as in fit()
        # every stored image once, in runs of 128 consecutive rows, as fit()'s batches
        for pb, yb in batches(np.arange(len(X)), y):
            net.train_iter_(pb, yb)
    return train


def torch_model(name):
    """The same architecture in PyTorch (ReLU everywhere, softmax output), layer
    for layer as mlp.build_mlp and ConvolutionNN.build_cnn (the tests compare
    their parameter counts)."""
    import torch.nn as nn
    if name == "mlp":
        return nn.Sequential(nn.Linear(1024, 100), nn.ReLU(), nn.Linear(100, 10))
    return nn.Sequential(
        nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 3 * 3, 200), nn.ReLU(), nn.Linear(200, 10))


def torch_trainer(name):
    import torch
    model = torch_model(name)
    script = NETS[name][0]
    optimizer = torch.optim.SGD(model.parameters(), lr=script.LEARNING_RATE,
                                momentum=script.MOMENTUM, nesterov=True)
    loss_fn = torch.nn.CrossEntropyLoss()

    def train(X, y):
        for i in range(0, len(X), BATCH):
            xb, yb = torch.from_numpy(X[i:i + BATCH]), torch.from_numpy(y[i:i + BATCH]).long()
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
    return train


# --- the distance to the machine's limit -------------------------------------

def cnn_flops_per_sample():
    """Multiply-adds x 2 of one training step of the CNN, per image.

    Forward: each conv output pixel costs k*k*c_in*c_out MACs, each dense
    layer in*out. Backward: about twice the forward (input and weight
    gradients), except that the first conv needs no input gradient.
    """
    convs = [(3, 1, 16, 30), (2, 16, 32, 14), (2, 32, 64, 6)]  # k, c_in, c_out, out size
    dense = [(576, 200), (200, 10)]
    conv_fwd = [2 * k * k * ci * co * s * s for k, ci, co, s in convs]
    dense_fwd = [2 * i * o for i, o in dense]
    return 3 * (sum(conv_fwd) + sum(dense_fwd)) - conv_fwd[0]


def sgemm_gflops(n=2048, tries=5):
    """The FP32 rate Theano's own BLAS reaches: the best of a few n x n
    float32 matrix products compiled by Theano (a Dot22 calling the BLAS
    that blas.ldflags links, on the threads it has for a lone product); a
    nominal clock times FLOPs per cycle overstates what code reaches."""
    import theano
    import theano.tensor as T
    rng = np.random.RandomState(0)
    a, b = (theano.shared(rng.rand(n, n).astype(np.float32)) for _ in range(2))
    product = theano.function([], T.dot(a, b))
    product()  # warm-up: threads start, pages map
    best = float("inf")
    for _ in range(tries):
        t0 = time.perf_counter()
        product()
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n ** 3 / best / 1e9


def blas_description():
    """Every BLAS loaded in this process and the code path each takes
    (OpenBLAS's core type, which OPENBLAS_CORETYPE can force, as some
    machines do): numpy's, scipy's, the one Theano's compiled code links
    (once a function ran), PyTorch's, each named by its file and folder."""
    from threadpoolctl import threadpool_info
    # the file with its folder: numpy.libs/..., scipy.libs/..., the system's
    blas = ["%s (%s %s, core type %s)" % (
        os.path.join(*info.get("filepath", "?/?").split(os.sep)[-2:]), info.get("internal_api"),
        info.get("version"), info.get("architecture"))
        for info in threadpool_info() if info.get("user_api") == "blas"]
    return "BLAS loaded: %s%s" % (
        "; ".join(blas) or "none found",
        " (OPENBLAS_CORETYPE=%s)" % os.environ["OPENBLAS_CORETYPE"]
        if os.environ.get("OPENBLAS_CORETYPE") else "")


# --- main ----------------------------------------------------------------------

def main(argv=None):
    args = parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    cli.seed_everything()
    print(device.describe())
    print("PyTorch %s, %d threads for both, batch %d, %d batches x %d repetitions "
          "(passes over them per repetition: %s)" % (
              torch.__version__, args.threads, BATCH, args.batches, args.reps,
              ", ".join("%s %d" % (name, PASSES[name]) for name in args.nets)))
    n = args.batches * BATCH
    peak = sgemm_gflops()  # the rate the CNN's is compared with, printed at the end
    ratios, notes = {}, {}
    for name in args.nets:
        X, y, _, _ = cifar_loader.load_or_exit(args.data_dir, limit=n)
        X = NETS[name][0].preprocess(X)
        trainers = {"theano": theano_trainer(name), "pytorch": torch_trainer(name)}
        for train in trainers.values():  # warm-up: first calls allocate and tune
            train(X[:4 * BATCH], y[:4 * BATCH])
        rates, contended = repetitions(trainers, X, y, args.reps, retries=args.reps,
                                       passes=PASSES[name])
        med = {lib: float(np.median(r)) for lib, r in rates.items()}
        ratios[name] = med["theano"] / med["pytorch"]
        # how many repetitions' own ratios lie within 10% of the median's
        agree = sum(abs(t / p / ratios[name] - 1) <= 0.1
                    for t, p in zip(rates["theano"], rates["pytorch"]))
        notes[name] = "%d of %d agree%s" % (
            agree, args.reps, ", %d contended and repeated" % len(contended["theano"])
            if contended["theano"] else "")
        print("%s: theano %.0f samples/s, pytorch %.0f samples/s (medians of %s / %s)%s" % (
            name, med["theano"], med["pytorch"],
            " ".join("%.0f" % r for r in rates["theano"]),
            " ".join("%.0f" % r for r in rates["pytorch"]),
            "; contended, not counted: %s / %s" % (
                " ".join("%.0f" % r for r in contended["theano"]),
                " ".join("%.0f" % r for r in contended["pytorch"]))
            if contended["theano"] else ""))
        if name == "cnn":
            flops = cnn_flops_per_sample()
            print("cnn: %.1f MFLOP per training image; achieved theano %.1f GFLOP/s "
                  "(%.0f%% of its BLAS's SGEMM; the convolutions' products in %s), "
                  "pytorch %.1f GFLOP/s" % (
                      flops / 1e6, med["theano"] * flops / 1e9,
                      100 * med["theano"] * flops / 1e9 / peak,
                      conv_blocks.where_products_run(), med["pytorch"] * flops / 1e9))
    print("Theano's BLAS: %s; a 2048x2048 SGEMM through it: %.0f GFLOP/s (OPENBLAS_NUM_THREADS=%s, "
          "OPENBLAS_CORETYPE=%s)" % (blas.name(), peak, os.environ.get(
              "OPENBLAS_NUM_THREADS", "unset: all cores"), os.environ.get("OPENBLAS_CORETYPE", "unset")))
    print(blas_description())
    print("ratio theano/pytorch: " + " ".join(
        "%s=%.2f" % (name, ratios[name]) for name in args.nets) + " (%s)" % "; ".join(
        "%s: %s" % (name, notes[name]) for name in args.nets))
    return ratios


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
