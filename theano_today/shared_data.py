"""SharedDataNeuralNet: nolearn's NeuralNet with the data handed to Theano
once per fit() instead of once per minibatch.

A drop-in replacement for nolearn.lasagne.NeuralNet in single-input
classifiers like the tutorial's: same arguments, same batches, same results.
"""
import copy
import os

import numpy as np
import theano
from lasagne.layers import InputLayer, get_output
from nolearn.lasagne import NeuralNet
from theano import tensor

from theano_today import params


class SharedDataNeuralNet(NeuralNet):
    """nolearn's NeuralNet, with the data copied to Theano once per fit().

    Stock nolearn hands Theano every minibatch as a numpy array, so on the
    GPU each training step starts with a copy from host to device (0.5 MB
    for 128 images), on top of the step's own work. Here the images travel
    once: Theano keeps them in shared variables, in GPU memory when it runs
    there. The copy weighs most where steps are short, like the MLP's on a GPU.

    fit(X, y) stores X and y in two shared variables, in the order nolearn
    will visit them: first the images that train_split keeps for training,
    then the validation images. nolearn's own training loop then gets, in
    place of the images, their positions in that store (0..n-1, arranged so
    that its split hands back 0..n_train-1 and n_train..n-1), and splits and
    batches them exactly as it would the images. So each minibatch is a run
    of consecutive positions, and the compiled step reads it as the slice
    images_[start:stop]: a view, so nothing is copied or sent to the device
    per step. A minibatch that is not such a run (a shuffling
    batch iterator, a random train_split; or slice_batches = False) is
    gathered from the store by its positions instead, on the device too.
    predict() is unchanged: it streams new images in minibatches.

    Same batches, same order, same arithmetic: on the CPU the training
    history equals NeuralNet's, bit for bit (tests/test_shared_data.py). For
    single-input classifiers like the tutorial's, without custom scores.
    """

    slice_batches = True  # False: gather every minibatch by its positions

    def _create_iter_funcs(self, layers, objective, update, output_type):
        inputs = [layer for layer in layers.values() if isinstance(layer, InputLayer)]
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

        objective_kw = self._get_params_for("objective")
        loss_train = objective(layers, target=y, **objective_kw)
        loss_eval = objective(layers, target=y, deterministic=True, **objective_kw)
        proba = get_output(self._output_layers, None, deterministic=True)
        accuracy = tensor.mean(tensor.eq(proba[0].argmax(axis=1), y))
        params = self.get_all_params(trainable=True)
        updates = update(theano.grad(loss_train, params), params,
                         **self._get_params_for("update"))

        def compile_step(outputs, updates=None):
            """The step on stored rows: the slice [start:stop] or any positions."""
            def compile_for(rows):
                if rows == "slice":
                    start, stop = tensor.lscalar("start"), tensor.lscalar("stop")
                    step_inputs, index = [start, stop], slice(start, stop)
                else:
                    positions = tensor.lvector("positions")
                    step_inputs, index = [positions], positions
                return theano.function(
                    step_inputs, outputs, updates=updates,
                    givens={x: self.images_[index], y: self.labels_[index]})
            return StoredDataStep(compile_for, self.slice_batches)

        train_iter = compile_step([loss_train], updates)
        eval_iter = compile_step([loss_eval, accuracy])
        predict_iter = theano.function([theano.In(x, name=inputs[0].name)], proba,
                                       allow_input_downcast=True)
        return train_iter, eval_iter, predict_iter

    def store(self, X, y):
        """Copy X and y into the shared variables, training images first,
        as train_split divides them; returns the positions (int64) of X's
        images in the store, which fit() hands nolearn's loop."""
        self.initialize()
        X = np.asarray(X, dtype=self.images_.dtype)
        y = np.asarray(y, dtype=self.labels_.dtype)
        if X.ndim != self.images_.ndim or len(X) != len(y):
            raise ValueError("expected %d-d images, one label each; got X of shape "
                             "%s and %d labels" % (self.images_.ndim, X.shape, len(y)))
        order = self.visiting_order(y)
        self.images_.set_value(X[order], borrow=True)
        self.labels_.set_value(y[order], borrow=True)
        positions = np.empty(len(X), dtype=np.int64)
        positions[order] = np.arange(len(X))
        return positions

    def visiting_order(self, y):
        """The images' indices as nolearn's loop will visit them: the training
        part of train_split, then the validation part. A split run on a copy,
        so that a shuffling train_split's own random state is left as it was."""
        indices = np.arange(len(y))
        split = copy.deepcopy(self.train_split)
        train, valid = split(indices.copy(), y.copy(), self)[:2]
        order = np.concatenate([train, valid]).astype(np.int64)
        if not np.array_equal(np.sort(order), indices):
            return indices  # not a partition: keep X's order, every batch gathered
        return order

    def load_params_from(self, source):
        """NeuralNet.load_params_from; a file is read by theano_today.params.load,
        which admits arrays, never code, and its values (or a dict's) must be
        this net's (params.fit_to: every layer, every shape; converted to its
        floatX): raises params.ParamsError."""
        self.initialize()
        if isinstance(source, (str, os.PathLike)):
            source = params.fit_to(self, params.load(source), os.fspath(source))
        elif isinstance(source, dict):
            source = params.fit_to(self, source, "the parameters given")
        return super(SharedDataNeuralNet, self).load_params_from(source)

    def save_params_to(self, fname):
        """NeuralNet.save_params_to, written whole (theano_today.params.save)."""
        params.save(self, fname)

    def fit(self, X, y, epochs=None):
        """NeuralNet.fit, on positions into the stored data."""
        return super(SharedDataNeuralNet, self).fit(self.store(X, y), y, epochs)


class StoredDataStep(object):
    """A compiled training or validation step of SharedDataNeuralNet, called
    by nolearn's loop as step(positions, labels); the labels are ignored,
    as the store has them. A run of consecutive positions is read as a slice
    of the store, anything else is gathered: that function is compiled at
    its first use, unless slice_batches is False and it is the only one."""

    def __init__(self, compile_for, slice_batches=True):
        self.compile_for = compile_for
        self.sliced = compile_for("slice") if slice_batches else None
        self.gathered = None if slice_batches else compile_for("positions")

    def __call__(self, positions, labels=None):
        positions = np.asarray(positions, dtype=np.int64)
        start = int(positions[0]) if len(positions) else 0
        stop = start + len(positions)
        if self.sliced is not None and (positions == np.arange(start, stop)).all():
            # numpy integers, not Python ints: Theano checks those faster
            return self.sliced(np.asarray(start, np.int64), np.asarray(stop, np.int64))
        if self.gathered is None:
            self.gathered = self.compile_for("positions")
        return self.gathered(positions)
