"""Is Theano using the GPU? The test program from Theano's documentation.

It computes exp() of 230,400 floats 1000 times and then looks at the compiled
graph: if any plain (CPU) Elemwise op is left in it, the work ran on the CPU.

    python gpu_check.py               # prints "Used the gpu" or "Used the cpu"

Source: Theano 1.0 docs, "Using the GPU" -> "Testing Theano with GPU".
It exits 0 either way: running on the CPU is a valid result, not an error.
Where the configuration asks for a GPU that Theano cannot use, a last line
says why and where to read on (not part of Theano's program).
"""
import argparse

# Not in Theano's program: --help, answered before Theano starts.
argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0]).parse_args()

import theano_today  # noqa: E402,F401  (before theano: makes Theano 1.0.5 run today)

import time  # noqa: E402

import numpy  # noqa: E402
from theano import config, function, shared, tensor  # noqa: E402

vlen = 10 * 30 * 768  # 10 x #cores x # threads per core
iters = 1000

rng = numpy.random.RandomState(22)
x = shared(numpy.asarray(rng.rand(vlen), config.floatX))
f = function([], tensor.exp(x))
print(f.maker.fgraph.toposort())
t0 = time.time()
for i in range(iters):
    r = f()
t1 = time.time()
print("Looping %d times took %f seconds" % (iters, t1 - t0))
print("Result is %s" % (r,))
if numpy.any([isinstance(x.op, tensor.Elemwise) and
              ('Gpu' not in type(x.op).__name__)
              for x in f.maker.fgraph.toposort()]):
    print('Used the cpu')
else:
    print('Used the gpu')

# Not in Theano's program: why the CPU, where a GPU was asked for.
note = theano_today.device.gpu_note()
if note:
    print(note)
