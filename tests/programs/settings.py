"""The settings a script runs with: Theano's device, openmp, OpenBLAS's
thread count and thread timeout, and why the CPU (theano_today.device.gpu_note), if so."""
import os

import theano_today  # noqa: F401

import theano

print(theano.config.device, theano.config.openmp, os.environ.get("OPENBLAS_NUM_THREADS"),
      os.environ.get("OPENBLAS_THREAD_TIMEOUT"))
print(theano_today.device.gpu_note())
