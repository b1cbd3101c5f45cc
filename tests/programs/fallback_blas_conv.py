"""One training step of the article's CNN with Theano's built-in (fallback)
BLAS: run it with THEANO_FLAGS=blas.ldflags=,openmp=True. With --break,
openmp is turned back on after theano_today turned it off, as stock Theano
would run. Prints openmp, the BLAS flags, then the loss."""
import sys

import theano_today  # noqa: F401

import numpy as np
import theano

from helpers import cnn_training_step

if "--break" in sys.argv:
    theano.config.openmp = True
print("openmp", theano.config.openmp, "ldflags %r" % theano.config.blas.ldflags)
inputs, outputs = cnn_training_step(theano.tensor)
step = theano.function(inputs, outputs[0])
rng = np.random.RandomState(0)
X = (rng.rand(128, 1, 32, 32) - 0.5).astype(theano.config.floatX)
print("loss %.4f" % step(X, rng.randint(0, 10, 128).astype("int32")))
