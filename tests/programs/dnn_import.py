"""2015 model code's import of Lasagne's cuDNN layers, and of the old CUDA
back end. Theano needs the other fixes to import at all, so theano_today is
always imported, and without --fixed this one fix is undone. Prints the
layer's class and what importing theano.sandbox.cuda says."""
import sys

import theano_today  # noqa: F401
from theano_today import fixes

if "--fixed" not in sys.argv:
    fixes._STAND_INS.fills.pop("lasagne.layers.dnn")
    sys.modules.pop("lasagne.layers.dnn", None)  # imported already, by nolearn
    sys.meta_path.remove(fixes._STAND_INS)  # theano.sandbox.cuda as Theano has it
from lasagne.layers.dnn import Conv2DDNNLayer  # noqa: E402

print(Conv2DDNNLayer.__module__)
try:
    import theano.sandbox.cuda  # noqa: F401
except ImportError as e:
    print("theano.sandbox.cuda:", e)
