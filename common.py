"""What mlp.py and ConvolutionNN.py share: command line, data, seeding, the
NeuralNet class they train, and the report.

Kept here so each training script shows only the article's own steps:
load the data, define the NeuralNet, fit it, report the test accuracy.
"""
import compat  # noqa: F401  (before theano, lasagne and nolearn)

import argparse
import sys

import lasagne
import numpy as np
import theano
from lasagne.layers import InputLayer, get_output
from nolearn.lasagne import NeuralNet
from theano import tensor

import cifar_loader
import speedups


def data_parser(description):
    """A parser with the data options of every script that trains: where
    CIFAR-10 is, and how much of it to use (both go to load_data)."""
    parser = argparse.ArgumentParser(
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data-dir", default=None,
                        help="cifar-10-batches-py folder (default: $CIFAR10_DIR, "
                        "else %s, downloaded there once)" % cifar_loader.DEFAULT_DIR)
    parser.add_argument("--limit", type=int, metavar="N",
                        help="use only the first N training and N test images "
                        "(a quick try-out; default: all)")
    return parser


def make_parser(description, epochs, learning_rate):
    """The knobs both training scripts share, with the article's defaults."""
    parser = data_parser(description)
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


def describe_device():
    """One line: where Theano runs, in which precision, with which BLAS."""
    device = theano.config.device
    if device.startswith("cuda") and not speedups.gpu_active():
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


class SharedDataNeuralNet(NeuralNet):
    """nolearn's NeuralNet, with the data copied to Theano once per fit().

    Stock nolearn hands Theano every minibatch as a numpy array, so on the
    GPU each training step starts with a copy from host to device (0.5 MB
    for 128 images), on top of the step's own work. Here the images travel
    once: Theano keeps them in shared variables, in GPU memory when it runs
    there. The copy weighs most where steps are short, like the MLP's on a GPU.

    fit(X, y) stores X and y in two shared variables (on the GPU when Theano
    runs there) and hands nolearn's own training loop the positions
    0..len(X)-1 in place of the images. nolearn splits, batches and weighs
    those positions exactly as it would the images; the compiled training
    and validation functions take a minibatch of positions and gather its
    images and labels from the shared variables. predict() is unchanged: it
    streams new images in minibatches, as NeuralNet does.

    Same batches, same order, same arithmetic: on the CPU the training
    history equals NeuralNet's, bit for bit (tests/test_shared_data.py). For
    single-input classifiers like the tutorial's, without custom scores.
    """

    def _create_iter_funcs(self, layers, objective, update, output_type):
        inputs = [l for l in layers.values() if isinstance(l, InputLayer)]
        if (len(inputs) != 1 or self.regression or self.use_label_encoder
                or self.custom_scores or self.scores_train or self.scores_valid):
            raise ValueError("SharedDataNeuralNet handles one input layer and "
                             "integer class labels, without custom scores: "
                             "use nolearn's NeuralNet for other nets")
        x = inputs[0].input_var
        y = output_type("y_batch")
        # one-element placeholders until store() fills them
        self.images_ = theano.shared(np.zeros((1,) * x.ndim, x.dtype), name="images")
        self.labels_ = theano.shared(np.zeros((1,) * y.ndim, y.dtype), name="labels")
        positions = tensor.lvector("positions")
        # nolearn passes each minibatch's labels too: they are already stored
        labels_passed = output_type("labels_passed")
        gathered = {x: self.images_[positions], y: self.labels_[positions]}

        objective_kw = self._get_params_for("objective")
        loss_train = objective(layers, target=y, **objective_kw)
        loss_eval = objective(layers, target=y, deterministic=True, **objective_kw)
        proba = get_output(self._output_layers, None, deterministic=True)
        accuracy = tensor.mean(tensor.eq(proba[0].argmax(axis=1), y))
        params = self.get_all_params(trainable=True)
        updates = update(theano.grad(loss_train, params), params,
                         **self._get_params_for("update"))

        batch = [theano.In(positions, name="positions"),
                 theano.In(labels_passed, name="y")]
        train_iter = theano.function(batch, [loss_train], updates=updates,
                                     givens=gathered, on_unused_input="ignore")
        eval_iter = theano.function(batch, [loss_eval, accuracy],
                                    givens=gathered, on_unused_input="ignore")
        predict_iter = theano.function([theano.In(x, name=inputs[0].name)], proba,
                                       allow_input_downcast=True)
        return train_iter, eval_iter, predict_iter

    def store(self, X, y):
        """Copy X and y into the shared variables; returns the positions
        (int64) that the training and validation functions take."""
        self.initialize()
        X = np.asarray(X, dtype=self.images_.dtype)
        if X.ndim != self.images_.ndim or len(X) != len(y):
            raise ValueError("expected %d-d images, one label each; got X of shape "
                             "%s and %d labels" % (self.images_.ndim, X.shape, len(y)))
        self.images_.set_value(X, borrow=True)
        self.labels_.set_value(np.asarray(y, dtype=self.labels_.dtype), borrow=True)
        return np.arange(len(X), dtype=np.int64)

    def fit(self, X, y, epochs=None):
        """NeuralNet.fit, on positions into the stored data."""
        return super(SharedDataNeuralNet, self).fit(self.store(X, y), y, epochs)


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
