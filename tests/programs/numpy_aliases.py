"""Import Theano 1.0.5, which uses np.bool (removed in numpy 1.24).
With --fixed, theano_today is imported first. Without it, on Python >= 3.12
numpy.distutils is stood in by hand (Theano would stop there first)."""
import sys
import types

if "--fixed" in sys.argv:
    import theano_today  # noqa: F401
elif sys.version_info >= (3, 12):
    sys.modules["numpy.distutils"] = types.ModuleType("numpy.distutils")
import numpy
import theano  # noqa: F401

print(numpy.bool is bool)
