"""With numpy 2: the Ops whose C code theano_today changes for numpy 2
(max and argmax over all axes, cumsum of the flattened array, x[idx] += y),
compiled by Theano; prints True when each equals numpy's answer.
Without --fixed, theano_today's use_numpy2_c_code is undone first."""
import sys

import theano_today  # noqa: F401

import numpy as np
import theano
import theano.tensor as T
from theano.tensor import basic, extra_ops, subtensor

if "--fixed" not in sys.argv:
    for op in (basic.MaxAndArgmax, basic.Argmax, extra_ops.CumOp, subtensor.AdvancedIncSubtensor1):
        op.c_code = op.c_code.__wrapped__
        op.c_code_cache_version = op.c_code_cache_version.__wrapped__
x, idx = T.matrix(), T.ivector()
f = theano.function([x, idx], [T.max_and_argmax(x, axis=None)[1], T.extra_ops.cumsum(x),
                               T.inc_subtensor(x[idx], 1.0)])
data = np.random.RandomState(0).rand(3, 4).astype(x.dtype)
expected = data.copy()
np.add.at(expected, [0, 2, 2], 1.0)
got = f(data, np.array([0, 2, 2], dtype="int32"))
print(int(got[0]) == data.argmax(), np.allclose(got[1], data.cumsum()),
      np.allclose(got[2], expected))
