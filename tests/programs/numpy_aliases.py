"""Import Theano 1.0.5, which uses np.bool (removed in numpy 1.24).
With --fixed, theano_today is imported first."""
import sys

if "--fixed" in sys.argv:
    import theano_today  # noqa: F401
import numpy
import theano  # noqa: F401

print(numpy.bool is bool)
