"""Lasagne 0.1's import of theano.tensor.signal.downsample (gone in Theano 1.0).
Theano needs the other fixes to import at all, so theano_today is always
imported, and without --fixed this one fix is undone."""
import sys

import theano_today  # noqa: F401

if "--fixed" not in sys.argv:
    del sys.modules["theano.tensor.signal.downsample"]
from theano.tensor.signal import downsample

print(downsample.max_pool_2d.__name__)
