"""The article's convolutional network on CIFAR-10 (Theano + Lasagne + nolearn).

Three convolution + max-pooling stages find local patterns in the 32x32
grayscale images; a dense layer of 200 units and a 10-way softmax classify
them. Same NeuralNet interface as mlp.py; only the layers differ.

    python ConvolutionNN.py           # 5 epochs, learning rate 0.015, as printed
    python ConvolutionNN.py --epochs 50 --learning-rate 0.005
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

# The article's settings, as printed
EPOCHS = 5               # passes over the training images
LEARNING_RATE = 0.015    # step size of Nesterov momentum
MOMENTUM = 0.9           # how much of the last step each step keeps
ARTICLE_ACCURACY = 0.61  # the article's test accuracy, to compare with
# The settings of the article's own project code, which reach its 61%
PROJECT_EPOCHS = 50
PROJECT_LEARNING_RATE = 0.005


def preprocess(X):
    """Grayscale, values scaled to -0.5..0.5, each image one 32x32 channel."""
    gray = cifar_loader.to_grayscale(X)
    return (gray / 255 - 0.5).reshape(len(X), 1, 32, 32)


def build_cnn(epochs=EPOCHS, learning_rate=LEARNING_RATE, verbose=1,
              net_class=SharedDataNeuralNet):
    """conv 16x3x3, pool 2x2, conv 32x2x2, pool 2x2, conv 64x2x2, pool 2x2,
    dense 200, dense 10 softmax (rectify everywhere else).

    net_class: as in mlp.build_mlp."""
    return net_class(
        layers=[
            ("input", layers.InputLayer),
            ("conv1", layers.Conv2DLayer),
            ("pool1", layers.MaxPool2DLayer),
            ("conv2", layers.Conv2DLayer),
            ("pool2", layers.MaxPool2DLayer),
            ("conv3", layers.Conv2DLayer),
            ("pool3", layers.MaxPool2DLayer),
            ("hidden4", layers.DenseLayer),
            ("output", layers.DenseLayer),
        ],
        # layer parameters: one gray channel in, 32x32 pixels
        input_shape=(None, 1, 32, 32),
        conv1_num_filters=16, conv1_filter_size=(3, 3), pool1_pool_size=(2, 2),
        conv2_num_filters=32, conv2_filter_size=(2, 2), pool2_pool_size=(2, 2),
        conv3_num_filters=64, conv3_filter_size=(2, 2), pool3_pool_size=(2, 2),
        hidden4_num_units=200,
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


# main() mirrors mlp.py's step for step, on purpose: the article's two
# scripts differ in their net and settings, not in how they run.
def main(argv=None):
    args = cli.training_parser(__doc__, EPOCHS, LEARNING_RATE,
                               cifar_loader.add_data_dir_option).parse_args(argv)
    print(device.describe())
    cli.seed_everything(args.seed)

    # Load CIFAR-10 with the CS231n loader (cifar_loader.load_CIFAR10):
    # 50,000 training and 10,000 test images, 32x32 colour.
    Xtr, Ytr, Xte, Yte = cifar_loader.load_or_exit(args.data_dir, args.limit)

    # Preprocess: grayscale, centred on zero, one channel of 32x32 each.
    Xtr, Xte = preprocess(Xtr), preprocess(Xte)

    # Build the network and train it (nolearn prints a row per epoch; Ctrl-C stops it).
    net = build_cnn(args.epochs, args.learning_rate)
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
