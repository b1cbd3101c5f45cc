"""A program as people wrote them in 2016, against Lasagne 0.2.dev1's
documented API, in the style of Lasagne's examples/mnist.py: build a net,
compile Theano functions for training and validation, loop over
minibatches. Two nets: a batch-normalised CNN, and one of
lasagne.layers.dnn's layers (cuDNN's, in 2016; the CPU here). Each trains
on 12x12 images of noise, those of class 1 brighter in their top half, and
prints one line: its name, first and last epoch's training loss, and
validation accuracy. Exits 1 if a net did not learn."""
import theano_today  # noqa: F401  (first)
import numpy as np  # noqa: E402
import theano  # noqa: E402
import theano.tensor as T  # noqa: E402

import lasagne  # noqa: E402
from lasagne.layers import (Conv2DLayer, DenseLayer, DropoutLayer, ExpressionLayer,  # noqa: E402
                            GlobalPoolLayer, InputLayer, MaxPool2DLayer, batch_norm,
                            dropout_channels)
from lasagne.layers.dnn import Conv2DDNNLayer, MaxPool2DDNNLayer, batch_norm_dnn  # noqa: E402
from lasagne.nonlinearities import elu, softmax  # noqa: E402


def load_dataset(n=400, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, n).astype("int32")
    X = rng.rand(n, 1, 12, 12).astype("float32")
    X[y == 1, :, :6] += 0.5
    return X[:300], y[:300], X[300:], y[300:]


def build_bn_cnn(input_var):
    network = InputLayer((None, 1, 12, 12), input_var)
    network = ExpressionLayer(network, lambda x: x - 0.5)  # centred, as 2016 code did
    network = batch_norm(Conv2DLayer(network, 8, 3, pad="same", flip_filters=False))
    network = MaxPool2DLayer(network, 2)
    network = dropout_channels(network, p=0.1)
    network = batch_norm(DenseLayer(network, 16, nonlinearity=elu))
    return DenseLayer(DropoutLayer(network, 0.2), 2, nonlinearity=softmax)


def build_dnn_net(input_var):
    network = InputLayer((None, 1, 12, 12), input_var)
    network = batch_norm_dnn(Conv2DDNNLayer(network, 8, 3, pad=1))
    network = MaxPool2DDNNLayer(network, 2)
    network = Conv2DDNNLayer(network, 8, 3, pad=1)
    network = GlobalPoolLayer(network)
    return DenseLayer(network, 2, nonlinearity=softmax)


def iterate_minibatches(inputs, targets, batchsize, rng):
    order = rng.permutation(len(inputs))
    for start in range(0, len(inputs), batchsize):
        excerpt = order[start:start + batchsize]
        yield inputs[excerpt], targets[excerpt]


def train(build, num_epochs=15, seed=0):
    lasagne.random.set_rng(np.random.RandomState(seed))
    X_train, y_train, X_val, y_val = load_dataset(seed=seed)
    input_var, target_var = T.tensor4("inputs"), T.ivector("targets")
    network = build(input_var)
    prediction = lasagne.layers.get_output(network)
    loss = lasagne.objectives.categorical_crossentropy(prediction, target_var).mean()
    params = lasagne.layers.get_all_params(network, trainable=True)
    updates = lasagne.updates.adamax(loss, params, learning_rate=0.01)
    train_fn = theano.function([input_var, target_var], loss, updates=updates)
    test_prediction = lasagne.layers.get_output(network, deterministic=True)
    test_acc = T.mean(lasagne.objectives.categorical_accuracy(test_prediction, target_var),
                      dtype=theano.config.floatX)
    val_fn = theano.function([input_var, target_var], test_acc)
    rng, losses = np.random.RandomState(seed), []
    for epoch in range(num_epochs):
        losses.append(np.mean([train_fn(inputs, targets) for inputs, targets
                               in iterate_minibatches(X_train, y_train, 50, rng)]))
    return losses[0], losses[-1], float(val_fn(X_val, y_val))


failed = False
for name, build in (("bn-cnn", build_bn_cnn), ("dnn-net", build_dnn_net)):
    first, last, accuracy = train(build)
    print("%s: training loss %.3f -> %.3f, validation accuracy %.2f" % (name, first, last, accuracy))
    failed |= not (last < 0.8 * first and accuracy > 0.75)
raise SystemExit(1 if failed else 0)
