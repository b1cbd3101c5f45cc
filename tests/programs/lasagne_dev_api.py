"""Code of 2016 importing Lasagne's development API (BatchNormLayer, as
nolearn 0.6.1's own tests do). Theano needs the other fixes to import at
all, so theano_today is always imported, and without --fixed this one fix
is undone. Prints the layer's module."""
import sys

import theano_today  # noqa: F401

if "--fixed" not in sys.argv:
    import lasagne.layers
    for module in (lasagne.layers, lasagne.layers.normalization):
        for name in ("BatchNormLayer", "batch_norm"):
            vars(module).pop(name, None)
from lasagne.layers import BatchNormLayer  # noqa: E402

print(BatchNormLayer.__module__)
