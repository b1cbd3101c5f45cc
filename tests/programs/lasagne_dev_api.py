"""Code of 2016 using Lasagne's development API (0.2.dev1): every name and
argument that theano_today adds to Lasagne 0.1, used once, one line each:
'<use>: ok' or '<use>: <the error>'.

Theano needs theano_today's other fixes to import at all, so theano_today
is always imported; without --fixed this one fix is undone first (the names
it added removed, what it replaced put back): Lasagne 0.1 as it is.
"""
import sys

import theano_today  # noqa: F401
import numpy as np  # noqa: E402
import theano.tensor as T  # noqa: E402
import lasagne  # noqa: E402
from theano_today import (lasagne_dev, lasagne_dev_args, lasagne_dev_conv,  # noqa: E402
                          lasagne_dev_functions)

DEV_MODULES = (lasagne_dev, lasagne_dev_conv, lasagne_dev_functions)


def undo():
    for dev in DEV_MODULES:
        for module_name, names in dev.PLACES.items():
            module = sys.modules[module_name]
            for name in names:
                if getattr(module, name, None) is getattr(dev, name):
                    delattr(module, name)
                    if name in getattr(module, "__all__", []):
                        module.__all__.remove(name)
    for (owner, name), original in lasagne_dev_args.ORIGINALS.items():
        if original is lasagne_dev_args.ABSENT:
            delattr(owner, name)
        else:
            setattr(owner, name, original)


def squared_error_aligns():
    column, vector = T.matrix(), T.vector()
    column = T.addbroadcast(column, 1)  # a net's single output unit
    shape = tuple(int(n) for n in lasagne.objectives.squared_error(column, vector).shape.eval(
        {column: np.zeros((3, 1), "float32"), vector: np.zeros(3, "float32")}))
    assert shape == (3, 1), "a column and a vector broadcast into %s" % (shape,)


def binary_crossentropy_aligns():
    column, vector = T.matrix(), T.vector()
    column = T.addbroadcast(column, 1)
    ndim = lasagne.objectives.binary_crossentropy(column, vector).ndim
    shape = tuple(int(n) for n in lasagne.objectives.binary_crossentropy(column, vector).shape
                  .eval({column: np.full((3, 1), 0.5, "float32"), vector: np.ones(3, "float32")}))
    assert ndim == 2 and shape == (3, 1), "broadcast into %s" % (shape,)


def uses():
    """(use, function): the development API's names, then its arguments."""
    L = lasagne.layers
    image, sequence = L.InputLayer((None, 2, 6, 6)), L.InputLayer((None, 5, 3))
    for dev in DEV_MODULES:
        for module_name, names in dev.PLACES.items():
            for name in names:
                yield ("from %s import %s" % (module_name, name),
                       lambda m=module_name, n=name: exec("from %s import %s" % (m, n), {}))
    yield "Conv2DLayer(flip_filters=False)", lambda: L.Conv2DLayer(image, 3, 3, flip_filters=False)
    yield "Conv1DLayer(flip_filters=False)", lambda: L.Conv1DLayer(sequence, 3, 2,
                                                                   flip_filters=False)
    yield "DenseLayer(num_leading_axes=2)", lambda: L.DenseLayer(sequence, 4, num_leading_axes=2)
    yield "DropoutLayer(shared_axes=(2, 3))", lambda: L.DropoutLayer(image, shared_axes=(2, 3))
    for cls in (L.RecurrentLayer, L.LSTMLayer, L.GRULayer):
        yield ("%s(only_return_final=True)" % cls.__name__,
               lambda cls=cls: cls(sequence, 4, only_return_final=True))
        yield "%s.mask_incoming_index" % cls.__name__, lambda cls=cls: cls(sequence, 4) \
            .mask_incoming_index
    yield "squared_error(column, vector) is a column", squared_error_aligns
    yield "binary_crossentropy(column, vector) is a column", binary_crossentropy_aligns


if "--fixed" not in sys.argv:
    undo()
for use, function in uses():
    try:
        function()
        print("%s: ok" % use)
    except Exception as error:
        print("%s: %s: %s" % (use, type(error).__name__, str(error).splitlines()[0]))
