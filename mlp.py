"""The article's multilayer perceptron on CIFAR-10 (Theano + Lasagne + nolearn).

Each 32x32 image becomes 1024 gray values; one hidden layer of 100 units
and a 10-way softmax learn to classify them. nolearn's NeuralNet wraps the
Lasagne layers in a scikit-learn style fit / predict, holds out 20% of the
training set for validation and prints one row per epoch.

    python mlp.py                     # 50 epochs, as in the article
    python mlp.py --epochs 5 --save mlp.pkl
"""
import compat  # noqa: F401  (must come before theano, lasagne and nolearn)

from lasagne import layers
from lasagne.nonlinearities import softmax
from lasagne.updates import nesterov_momentum

import common
# nolearn's NeuralNet, except that fit() copies the images to Theano (to the
# GPU, on a GPU) once, instead of once per minibatch: see common.py
from common import SharedDataNeuralNet as NeuralNet


def build_mlp(epochs=50, learning_rate=0.01, verbose=1):
    """Input 1024 -> dense 100 (rectify) -> dense 10 (softmax)."""
    return NeuralNet(
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
        # optimization: minibatches of 128, Nesterov momentum
        update=nesterov_momentum,
        update_learning_rate=learning_rate,
        update_momentum=0.9,
        max_epochs=epochs,
        verbose=verbose,
    )


def main(argv=None):
    args = common.make_parser(__doc__.split("\n\n")[0], epochs=50,
                              learning_rate=0.01).parse_args(argv)
    print(common.describe_device())
    common.seed_everything(args.seed)

    # Load CIFAR-10 and flatten each grayscale image into 1024 values.
    Xtr, Ytr, Xte, Yte = common.load_data(args.data_dir, "flat", args.limit)

    # Build the network and train it.
    net = build_mlp(args.epochs, args.learning_rate)
    net.fit(Xtr, Ytr)

    # Evaluate on the 10,000 test images it never saw.
    return common.finish(net, Xte, Yte, args.save)


if __name__ == "__main__":
    main()
