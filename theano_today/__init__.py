"""theano_today: 2015 Theano + Lasagne + nolearn code, running on today's Python.

Import it first, before theano, lasagne or nolearn::

    import theano_today  # noqa: F401
    import theano

Importing it applies, once:
  fixes         the breaks of the 2015 stack, one function each; what some
                of them put in place is its own module: dnn_layers
                (lasagne.layers.dnn), lasagne_dev* (Lasagne 0.2.dev1's
                layers, functions, arguments: docs/own_code.md), scan_c
                (theano.scan's compiled loop)
  settings      the settings Theano will read; one line for one it refuses
  blas          the BLAS Theano links (the OpenBLAS pip installs) and its threads
  device        the CPU where the GPU back end is missing
  compiling     numpy 2's C names; a full compile disk in one line
and then registers the speed-ups (speedups.SPEEDUPS, one table): Theano
graph rewrites, each tagged with its module's name and all with
"theano_today", which optimizer_excluding turns off.

Not applied, but there to use:
  shared_data   SharedDataNeuralNet: nolearn's NeuralNet, data stored on the device once per fit
  cli           the command line of a training script (the tutorial's share it)
  params        parameter files that run no code; divergence: a nan loss stops training
  interrupt     stop_between_batches: Ctrl-C stops training between minibatches
  files         files written whole (whatever sits at their name) and read only
                where they are files; standard library only, so that the
                tutorial's scripts that run without Theano load it by its path
"""
# files is named to bind theano_today.files where a script loaded it by its path first
from theano_today import blas, compiling, device, files, fixes, settings  # noqa: F401

files.keep_standard_streams()
# Theano started too early, or numpy 2 where Theano needs numpy 1: one line.
try:
    fixes.check_import_order()
    fixes.check_numpy_version()
except ImportError as error:
    raise SystemExit("theano_today: %s." % error) from None
fixes.apply()
settings.log_to_stderr()
# A configuration Theano cannot start with (a broken ~/.theanorc, a value it
# refuses, a compile directory it cannot write) ends the program with one
# line naming the file or flag and the fix, not a traceback. Other errors
# pass through as they are.
try:
    settings.check_settings()
    ldflags = blas.choose_blas_flags()
    blas.keep_openmp_safe(ldflags)
    blas.choose_threads(ldflags)
    device.choose_device()
    compiling.choose_numpy2_cxxflags()
    import theano  # noqa: E402,F401  (reads THEANO_FLAGS and the config files)
    device.check_forced()
except Exception as error:
    # Theano compiles its own helpers as it starts: the disk may fill up
    problem = compiling.compile_problem(error) or settings.configuration_problem(error)
    if problem is None:
        raise
    raise SystemExit(problem) from None

fixes.apply_to_theano()

# Registered here, after Theano has started with the flags above: only then is
# it known whether the GPU back end runs, which decides the GPU rewrites.
from theano_today import speedups  # noqa: E402

compiling.watch_compile_disk()
speedups.register(gpu=device.gpu_active())
speedups.check_excluding()
fixes.apply_to_nolearn()
