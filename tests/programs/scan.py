"""theano.scan (what Lasagne's recurrent layers use): a running sum of
0..4, and which loop ran it. theano_today is always imported (Theano needs
it); without --fixed its scan mend is undone, so Theano builds its own
compiled loop from the C it ships. With --no-compiler, building the mended
loop fails, as it would without a working compiler."""
import sys

import theano_today  # noqa: F401
from theano_today import fixes, scan_c

EXT = "theano.scan_module.scan_perform_ext"
if "--fixed" not in sys.argv:
    fixes._STAND_INS.fills.pop(EXT, None)
if "--no-compiler" in sys.argv:
    def refuse():
        raise OSError("g++: not found")
    scan_c.load = refuse

import numpy as np  # noqa: E402
import theano  # noqa: E402
import theano.tensor as T  # noqa: E402

x = T.vector()
sums, _ = theano.scan(lambda a, total: total + a, sequences=x,
                      outputs_info=T.constant(np.float32(0)))
print(theano.function([x], sums)(np.arange(5, dtype="float32")).tolist())
print("compiled" if getattr(sys.modules.get(EXT), "perform", None) else "python")
