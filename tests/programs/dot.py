"""A matrix product compiled by Theano, with whatever blas.ldflags
THEANO_FLAGS names: prints the sum of the 3x3 ones matrix squared (27.0)."""
import theano_today  # noqa: F401

import numpy
import theano
import theano.tensor as T

x = T.matrix()
f = theano.function([x], T.dot(x, x))
print(f(numpy.ones((3, 3), "float32")).sum())
