"""The settings a script runs with: Theano's device, openmp and OpenBLAS's
thread count, and why the CPU (theano_today.runtime.gpu_note), if so."""
import os

import theano_today  # noqa: F401

import theano

print(theano.config.device, theano.config.openmp, os.environ.get("OPENBLAS_NUM_THREADS"))
print(theano_today.runtime.gpu_note())
