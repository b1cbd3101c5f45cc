"""The article's multilayer perceptron on CIFAR-10 (Theano + Lasagne + nolearn).

Each 32x32 image becomes 1024 gray values; one hidden layer of 100 units
and a 10-way softmax learn to classify them. nolearn's NeuralNet wraps the
Lasagne layers in a scikit-learn style fit / predict, holds out 20% of the
training set for validation and prints one row per epoch.

    python mlp.py                     # 50 epochs, as in the article
    python mlp.py --epochs 5 --save mlp.pkl
"""
import theano_today  # noqa: F401  (first: makes the 2015 stack run on today's Python)

import numpy as np
from lasagne import layers
from lasagne.nonlinearities import softmax
from lasagne.updates import nesterov_momentum

import cifar_loader
from theano_today import cli, device
from theano_today.divergence import StopOnDivergence
from theano_today.interrupt import stop_between_batches
from theano_today.shared_data import SharedDataNeuralNet

# The article's settings
EPOCHS = 50              # passes over the training images
LEARNING_RATE = 0.01     # step size of Nesterov momentum
MOMENTUM = 0.9           # how much of the last step each step keeps
ARTICLE_ACCURACY = 0.41  # the article's test accuracy, to compare with


def preprocess(X):
    """Grayscale, values scaled to -0.5..0.5, each image one row of 1024."""
    gray = cifar_loader.to_grayscale(X)
    return (gray / 255 - 0.5).reshape(len(X), 32 * 32)


def build_mlp(epochs=EPOCHS, learning_rate=LEARNING_RATE, verbose=1,
              net_class=SharedDataNeuralNet):
    """Input 1024 -> dense 100 (rectify) -> dense 10 (softmax).

    net_class: SharedDataNeuralNet is nolearn's NeuralNet with the images
    copied to Theano (to the GPU, on a GPU) once per fit instead of once per
    minibatch; nolearn.lasagne.NeuralNet trains the same net, as in 2015."""
    return net_class(
        layers=[
            ("input", layers.InputLayer),
            ("hidden", layers.DenseLayer),
            ("output", layers.DenseLayer),
        ],
        # layer parameters
        input_shape=(None, 1024),
        hidden_num_units=100,
        output_nonlinearity=softmax,
        output_num_units=10,
        # optimization: Nesterov momentum, on nolearn's default minibatches of 128
        update=nesterov_momentum,
        update_learning_rate=learning_rate,
        update_momentum=MOMENTUM,
        max_epochs=epochs,
        # a loss that is no longer a number ends training, with the last good parameters
        on_training_started=[StopOnDivergence()],
        verbose=verbose,
    )


# main() mirrors ConvolutionNN.py's step for step, on purpose: the article's two
# scripts differ in their net and settings, not in how they run.
def main(argv=None):
    args = cli.training_parser(__doc__, EPOCHS, LEARNING_RATE,
                               cifar_loader.add_data_dir_option).parse_args(argv)
    print(device.describe())
    cli.seed_everything(args.seed)

    # Load CIFAR-10 with the CS231n loader (cifar_loader.load_CIFAR10):
    # 50,000 training and 10,000 test images, 32x32 colour.
    Xtr, Ytr, Xte, Yte = cifar_loader.load_or_exit(args.data_dir, args.limit)

    # Preprocess: grayscale, centred on zero, flattened to 1024 values.
    Xtr, Xte = preprocess(Xtr), preprocess(Xte)

    # Build the network and train it (nolearn prints a row per epoch; Ctrl-C stops it).
    net = build_mlp(args.epochs, args.learning_rate)
    with stop_between_batches(net):  # Ctrl-C stops after the minibatch under way
        net.fit(Xtr, Ytr)
    saved = cli.save_params(net, args.save) if args.save else True

    # Evaluate on the 10,000 test images it never saw.
    accuracy = np.mean(net.predict(Xte) == Yte)
    print("test accuracy: %.4f (the article: %.2f)" % (accuracy, ARTICLE_ACCURACY))
    cli.exit_unless_complete(net, args.epochs, args.learning_rate, saved)
    return net


if __name__ == "__main__":
    cli.run(main)
