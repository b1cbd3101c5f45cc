"""The article's convolutional network on CIFAR-10 (Theano + Lasagne + nolearn).

Three convolution + max-pooling stages find local patterns in the 32x32
grayscale images; a dense layer of 200 units and a 10-way softmax classify
them. Same NeuralNet interface as mlp.py; only the layers differ.

    python ConvolutionNN.py           # 5 epochs, learning rate 0.015, as printed
    python ConvolutionNN.py --epochs 50 --learning-rate 0.005
"""
import compat  # noqa: F401  (must come before theano, lasagne and nolearn)

from lasagne import layers
from lasagne.nonlinearities import softmax
from lasagne.updates import nesterov_momentum

import common
# nolearn's NeuralNet, except that fit() copies the images to Theano (to the
# GPU, on a GPU) once, instead of once per minibatch: see common.py
from common import SharedDataNeuralNet as NeuralNet


def build_cnn(epochs=5, learning_rate=0.015, verbose=1):
    """conv 16x3x3, pool 2x2, conv 32x2x2, pool 2x2, conv 64x2x2, pool 2x2,
    dense 200, dense 10 softmax (rectify everywhere else)."""
    return NeuralNet(
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
        # optimization: minibatches of 128, Nesterov momentum
        update=nesterov_momentum,
        update_learning_rate=learning_rate,
        update_momentum=0.9,
        max_epochs=epochs,
        verbose=verbose,
    )


def main(argv=None):
    args = common.make_parser(__doc__.split("\n\n")[0], epochs=5,
                              learning_rate=0.015).parse_args(argv)
    print(common.describe_device())
    common.seed_everything(args.seed)

    # Load CIFAR-10 as single-channel 32x32 grayscale images.
    Xtr, Ytr, Xte, Yte = common.load_data(args.data_dir, "image", args.limit)

    # Build the network and train it.
    net = build_cnn(args.epochs, args.learning_rate)
    net.fit(Xtr, Ytr)

    # Evaluate on the 10,000 test images it never saw.
    return common.finish(net, Xte, Yte, args.save)


if __name__ == "__main__":
    main()
