"""theano.scan (what Lasagne's recurrent layers use): a running sum of
0..4. theano_today is always imported (Theano needs it); without --fixed its
scan mend is undone, so Theano builds its compiled scan loop."""
import sys

import theano_today  # noqa: F401

import numpy as np
import theano
import theano.tensor as T

if "--fixed" not in sys.argv:
    del sys.modules["theano.scan_module.scan_perform_ext"]
x = T.vector()
sums, _ = theano.scan(lambda a, total: total + a, sequences=x,
                      outputs_info=T.constant(np.float32(0)))
print(theano.function([x], sums)(np.arange(5, dtype="float32")).tolist())
