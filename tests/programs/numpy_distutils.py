"""Import Theano and compile a function, on Python >= 3.12, where numpy
ships no numpy.distutils. Without --fixed, only the numpy aliases are set
by hand; with --fixed, theano_today is imported first."""
import sys

if "--fixed" in sys.argv:
    import theano_today  # noqa: F401
else:
    import numpy
    for name, builtin in dict(bool=bool, int=int, float=float, complex=complex,
                              object=object, str=str).items():
        setattr(numpy, name, builtin)
import numpy as np  # noqa: E402
import theano  # noqa: E402
import theano.tensor as T  # noqa: E402

include = theano.gof.cmodule.numpy.distutils.misc_util.get_numpy_include_dirs()
print(include == [np.get_include()])
x = T.vector()
print(theano.function([x], x * 2 + 1)(np.arange(3, dtype=x.dtype)).tolist())
