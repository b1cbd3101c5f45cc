"""Import Theano's GPU back end (theano.gpuarray, whose optimizer imports
theano.tests.breakpoint, which imports imp) on Python >= 3.12, where imp is
gone. theano_today is always imported (Theano needs it); without --fixed
its imp stand-in is undone first."""
import sys

import theano_today  # noqa: F401

if "--fixed" not in sys.argv:
    del sys.modules["imp"]
    for name in [n for n in sys.modules if n.startswith(("theano.gpuarray", "theano.tests"))]:
        del sys.modules[name]
import theano.gpuarray.opt  # noqa: E402,F401  (imports imp, as Theano does)
import imp  # noqa: E402

print(imp.find_module("theano")[1])
