"""Seconds per epoch, nolearn's data feeding against the scripts': what keeping
the images in Theano shared variables buys, on the device Theano runs on.

Each net trains a few epochs with the article's settings, once per loader:

  nolearn  nolearn's NeuralNet: every minibatch goes to Theano as a numpy
           array, so on a GPU each step starts with a host-to-device copy
  gather   the images are copied to Theano once per fit; each step sends
           its minibatch's positions and gathers those images there
  shared   SharedDataNeuralNet (theano_today), what mlp.py and ConvolutionNN.py use:
           stored once, in the order nolearn visits them, so each step
           reads its minibatch as a slice (start, stop) of the store

Figures are nolearn's own 'dur' (a training and a validation pass, after
compilation), median over the epochs. Theano's flags apply as usual, so a
flag's effect is a second run with it, for example on the GPU:

    THEANO_FLAGS=device=cuda python -m bench.feeding
    THEANO_FLAGS=device=cuda,allow_gc=False python -m bench.feeding
    THEANO_FLAGS=device=cuda,optimizer_excluding=fusion python -m bench.feeding
    THEANO_FLAGS=device=cpu python -m bench.feeding --nets mlp

The last line reads `s/epoch: mlp nolearn=X gather=Y shared=Z cnn nolearn=...`.
"""
import theano_today  # noqa: F401  (first: makes the 2015 stack run on today's Python)

import sys

import nolearn.lasagne
import numpy as np

import cifar_loader
from bench.lab import NETS
from theano_today import cli, device
from theano_today.shared_data import SharedDataNeuralNet

class GatheringNeuralNet(SharedDataNeuralNet):
    """SharedDataNeuralNet that gathers every minibatch by its positions."""
    slice_batches = False


LOADERS = {"nolearn": nolearn.lasagne.NeuralNet, "gather": GatheringNeuralNet,
           "shared": SharedDataNeuralNet}


def parse_args(argv=None):
    parser = cli.data_parser(__doc__, cifar_loader.add_data_dir_option)
    cli.add_nets_option(parser, NETS)
    parser.add_argument("--loaders", nargs="+", default=["nolearn", "gather", "shared"],
                        choices=sorted(LOADERS),
                        help="ways of feeding the data (see above)")
    parser.add_argument("--epochs", type=cli.count, default=5, help="epochs per net and loader")
    return parser.parse_args(argv)


def build(name, loader):
    """The script's own net, with the article's settings, as the loader's class."""
    return NETS[name][1](verbose=0, net_class=LOADERS[loader])


def seconds_per_epoch(name, loader, X, y, epochs):
    cli.seed_everything()
    net = build(name, loader)
    net.fit(X, y, epochs=epochs)
    durations = [row["dur"] for row in net.train_history_]
    return float(np.median(durations)), durations


def main(argv=None):
    args = parse_args(argv)
    print(device.describe())
    medians = {}
    for name in args.nets:
        X, y, _, _ = cifar_loader.load_or_exit(args.data_dir, args.limit)
        X = NETS[name][0].preprocess(X)
        for loader in args.loaders:
            median, durations = seconds_per_epoch(name, loader, X, y, args.epochs)
            medians[name, loader] = median
            print("%-4s %-8s %8.3f s/epoch  (epochs: %s)" % (
                name, loader, median, " ".join("%.3f" % d for d in durations)))
    print("s/epoch: " + " ".join(
        "%s %s" % (name, " ".join("%s=%.3f" % (loader, medians[name, loader])
                                  for loader in args.loaders))
        for name in args.nets))
    return medians


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
