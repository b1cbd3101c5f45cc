"""What mlp.py and ConvolutionNN.py share: command line, data, seeding, report.

Kept here so each training script shows only the article's own steps:
load the data, define the NeuralNet, fit it, report the test accuracy.
"""
import compat  # noqa: F401  (before theano, lasagne and nolearn)

import argparse
import sys

import lasagne
import numpy as np
import theano

import cifar_loader


def make_parser(description, epochs, learning_rate):
    """The knobs both training scripts share, with the article's defaults."""
    parser = argparse.ArgumentParser(
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data-dir", default=None,
                        help="cifar-10-batches-py folder (default: $CIFAR10_DIR, "
                        "else %s, downloaded there once)" % cifar_loader.DEFAULT_DIR)
    parser.add_argument("--epochs", type=int, default=epochs,
                        help="training epochs (the article's value)")
    parser.add_argument("--learning-rate", type=float, default=learning_rate,
                        help="Nesterov momentum learning rate (the article's value)")
    parser.add_argument("--seed", type=int, default=1,
                        help="random seed for weight initialisation: same seed, same result")
    parser.add_argument("--save", metavar="PATH",
                        help="write the trained parameters here (nolearn's "
                        "save_params_to; reload with net.load_params_from(PATH))")
    parser.add_argument("--limit", type=int, metavar="N",
                        help="use only the first N training and N test images "
                        "(a quick try-out; default: all)")
    return parser


def seed_everything(seed):
    """Lasagne draws initial weights from its own RNG; nolearn's batch order
    and train/validation split are fixed (seed 42) already."""
    np.random.seed(seed)
    lasagne.random.set_rng(np.random.RandomState(seed))


def describe_device():
    """One line: where Theano runs, in which precision, with which BLAS."""
    device = theano.config.device
    if device.startswith("cuda"):
        from theano import gpuarray
        if not gpuarray.pygpu_activated:
            device = "cpu (GPU %s did not start)" % device
    blas = theano.config.blas.ldflags or "Theano's built-in BLAS"
    return "Theano %s on %s, floatX=%s, BLAS: %s" % (
        theano.__version__, device, theano.config.floatX, blas)


def load_data(data_dir, shape, limit=None):
    """CIFAR-10, preprocessed as in the article; exits with the fix on bad data.

    shape: 'flat' for the MLP, 'image' for the CNN (see cifar_loader.preprocess).
    """
    try:
        Xtr, Ytr, Xte, Yte = cifar_loader.load_dataset(data_dir)
    except cifar_loader.CifarError as e:
        sys.exit("error: %s" % e)
    if limit:
        Xtr, Ytr, Xte, Yte = Xtr[:limit], Ytr[:limit], Xte[:limit], Yte[:limit]
    return (cifar_loader.preprocess(Xtr, shape), Ytr,
            cifar_loader.preprocess(Xte, shape), Yte)


def test_accuracy(net, X, y):
    """Fraction of test images whose predicted class is right."""
    return float(np.mean(net.predict(X) == y))


def finish(net, Xte, Yte, save=None):
    """Save the parameters if asked, then print the last line: the test accuracy."""
    if save:
        net.save_params_to(save)
        print("parameters saved to %s" % save)
    accuracy = test_accuracy(net, Xte, Yte)
    print("test accuracy: %.4f" % accuracy)
    return accuracy
