"""One training step of a small convolutional net, with Theano's built-in
(fallback) BLAS: run it with THEANO_FLAGS=blas.ldflags=,openmp=True. With
--break, openmp is turned back on after theano_today turned it off, as stock
Theano would run; prints the loss."""
import sys

import theano_today  # noqa: F401

import numpy as np
import theano
import theano.tensor as T
from theano.tensor.nnet import conv2d

if "--break" in sys.argv:
    theano.config.openmp = True
print("openmp", theano.config.openmp, "ldflags %r" % theano.config.blas.ldflags)
x = T.tensor4("x")
w = theano.shared(np.random.RandomState(0).randn(16, 1, 3, 3).astype(theano.config.floatX))
loss = T.sqr(conv2d(x, w)).mean()
step = theano.function([x], loss, updates=[(w, w - 0.01 * T.grad(loss, w))])
print("loss %.4f" % step(np.ones((64, 1, 32, 32), theano.config.floatX)))
