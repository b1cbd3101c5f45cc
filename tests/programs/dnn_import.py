"""2015 model code's import of Lasagne's cuDNN layers, and of the old CUDA
back end. Theano needs the other fixes to import at all, so theano_today is
always imported, and without --fixed this one fix is undone. Prints the
layer's class and what importing theano.sandbox.cuda says."""
import sys

import theano_today  # noqa: F401
from theano_today import fixes

if "--fixed" not in sys.argv:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, fixes._DnnFinder)]
    sys.modules.pop("lasagne.layers.dnn", None)  # imported already, by nolearn
from lasagne.layers.dnn import Conv2DDNNLayer  # noqa: E402

print(Conv2DDNNLayer.__module__)
try:
    import theano.sandbox.cuda  # noqa: F401
except ImportError as e:
    print("theano.sandbox.cuda:", e)
