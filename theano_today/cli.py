"""The command line that the tutorial's scripts share: each option defined once.

    parser = cli.training_parser(__doc__, EPOCHS, LEARNING_RATE)   # mlp.py, ConvolutionNN.py
    parser = cli.data_parser(__doc__)                              # --data-dir and --limit only
"""
import argparse
import sys

import lasagne
import numpy as np

import cifar_loader


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's formatter that shows each option's default, except None
    and a switch's False: there the help says what None means (for
    --data-dir, the search order of cifar_loader.resolve_data_dir), and
    "(default: None)" would only confuse."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def new_parser(doc, parents=()):
    """An ArgumentParser described by the first paragraph of doc."""
    return argparse.ArgumentParser(description=doc.split("\n\n")[0], parents=list(parents),
                                   formatter_class=HelpFormatter)


def add_limit_option(parser):
    parser.add_argument("--limit", type=int, metavar="N",
                        help="use only the first N training and N test images "
                        "(a quick try-out; default: all)")


def data_parser(doc):
    """A parser with the data options of every script that trains: where
    CIFAR-10 is, and how much of it to use (both go to load_cifar10)."""
    parser = new_parser(doc)
    cifar_loader.add_data_dir_option(parser)
    add_limit_option(parser)
    return parser


def training_parser(doc, epochs, learning_rate):
    """The knobs both training scripts share, with the article's defaults."""
    parser = data_parser(doc)
    parser.add_argument("--epochs", type=int, default=epochs,
                        help="training epochs (the article's value)")
    parser.add_argument("--learning-rate", type=float, default=learning_rate,
                        help="Nesterov momentum learning rate (the article's value)")
    parser.add_argument("--seed", type=int, default=1,
                        help="random seed for weight initialisation: same seed, same result")
    parser.add_argument("--save", metavar="PATH",
                        help="write the trained parameters here (nolearn's "
                        "save_params_to; reload with net.load_params_from(PATH))")
    return parser


def seed_everything(seed):
    """Lasagne draws initial weights from its own RNG; nolearn's batch order
    and train/validation split are fixed (seed 42) already."""
    np.random.seed(seed)
    lasagne.random.set_rng(np.random.RandomState(seed))


def load_cifar10(data_dir=None, limit=None):
    """Xtr, Ytr, Xte, Yte from cifar_loader (the first limit images of each
    set, if limit); exits with one line and the fix when the data is bad."""
    try:
        Xtr, Ytr, Xte, Yte = cifar_loader.load_dataset(data_dir)
    except cifar_loader.CifarError as e:
        sys.exit("error: %s" % e)
    if limit:
        Xtr, Ytr, Xte, Yte = Xtr[:limit], Ytr[:limit], Xte[:limit], Yte[:limit]
    return Xtr, Ytr, Xte, Yte
