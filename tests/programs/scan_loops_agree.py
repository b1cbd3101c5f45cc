"""An LSTM's loss and gradients (Lasagne's LSTMLayer, on theano.scan)
through scan's compiled loop, then through its Python loop: the same
values, bit for bit. Prints 'scan loops agree'."""
import sys

import theano_today  # noqa: F401

import lasagne
import numpy as np
import theano
import theano.tensor as T

x, y = T.tensor3("x"), T.ivector("y")
layer = lasagne.layers.InputLayer((4, 7, 3), x)
layer = lasagne.layers.LSTMLayer(layer, 5)
layer = lasagne.layers.SliceLayer(layer, -1, axis=1)
layer = lasagne.layers.DenseLayer(layer, 2, nonlinearity=lasagne.nonlinearities.softmax)
loss = lasagne.objectives.categorical_crossentropy(lasagne.layers.get_output(layer), y).mean()
outputs = [loss] + T.grad(loss, lasagne.layers.get_all_params(layer, trainable=True))

compiled = theano.function([x, y], outputs)
ext = sys.modules.get("theano.scan_module.scan_perform_ext")
assert getattr(ext, "perform", None), "the compiled loop did not load"
sys.modules["theano.scan_module.scan_perform_ext"] = None  # Theano's Python loop from here
python = theano.function([x, y], outputs)

rng = np.random.RandomState(0)
X, Y = rng.rand(4, 7, 3).astype(theano.config.floatX), rng.randint(0, 2, 4).astype("int32")
got, want = compiled(X, Y), python(X, Y)
assert len(got) == len(want) > 10  # the loss, then the gates', peepholes' and dense weights
for a, b in zip(got, want):
    np.testing.assert_array_equal(a, b)
print("scan loops agree")
