"""Import Theano with no blas.ldflags in any configuration (run it with an
empty THEANORC), beside a recent setuptools, which no longer ships the
distutils.msvccompiler that numpy.distutils imports (blocked here, so the
break shows whatever setuptools is installed). Without --fixed, only the
numpy aliases are set by hand; with it, theano_today is imported first."""
import sys

sys.modules["distutils.msvccompiler"] = None
if "--fixed" in sys.argv:
    import theano_today  # noqa: F401
else:
    import numpy
    for name, builtin in dict(bool=bool, int=int, float=float, complex=complex,
                              object=object, str=str).items():
        setattr(numpy, name, builtin)
import theano  # noqa: E402

print(repr(theano.config.blas.ldflags))
