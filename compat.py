"""Make the 2015 stack (Theano 1.0.5, Lasagne 0.1, nolearn 0.6.1) run on Python 3.11.

Import this module *before* theano, lasagne or nolearn::

    import compat  # noqa: F401  (must come first)
    import theano

Importing it applies every fix below, once. Each fix mends one thing that
broke between 2015-2019 and today; each is small, documented, and has a test
in tests/test_compat.py that shows the break it mends. Nothing inside
site-packages is edited: the fixes add aliases, stand-in modules and Theano
flags at run time.

  1. numpy must be < 2           -> check_numpy_version()      (clear error otherwise)
  2. np.bool, np.int, ... gone   -> add_numpy_aliases()
  3. blas.ldflags must be set    -> choose_blas_flags()
  4. collections.Iterable gone   -> add_collections_aliases()
  5. theano...signal.downsample  -> add_downsample_module()
  6. sklearn.cross_validation    -> add_cross_validation_module()
  7. pkg_resources may be gone   -> add_pkg_resources_stub()

and, so that every script runs on a machine without a usable GPU:

  8. device=cuda without pygpu   -> choose_device()            (one line, CPU)

and, for speed, one OpenBLAS thread under Theano's OpenMP: choose_threads().

Last, it imports Theano and registers the CPU speed-ups of speedups.py.
"""
import collections
import collections.abc
import configparser
import importlib.util
import logging
import os
import subprocess
import sys
import types
import warnings

import numpy as np

#: Messages about the set-up (CPU fallback, BLAS choice) go through this logger.
log = logging.getLogger("compat")

GPU_HELP = "see README.md, 'Using a GPU'"


# --- 1. numpy < 2 ----------------------------------------------------------

def check_numpy_version():
    """Theano's generated C code uses numpy 1.x macros that numpy 2 removed."""
    major = int(np.__version__.split(".")[0])
    if major >= 2:
        raise ImportError(
            "numpy %s is installed, but Theano 1.0.5 needs numpy < 2. "
            "Fix: pip install -r requirements.txt  (it pins numpy 1.26.4)"
            % np.__version__)


# --- 2. numpy aliases -------------------------------------------------------

#: Aliases of Python builtins that numpy deprecated in 1.20 and removed in
#: 1.24; Theano 1.0.5 uses np.bool and np.complex while it imports.
NUMPY_ALIASES = {
    "bool": bool,
    "int": int,
    "float": float,
    "complex": complex,
    "object": object,
    "str": str,
}


def add_numpy_aliases():
    for name, builtin in NUMPY_ALIASES.items():
        # Look in the module dict: hasattr() would trigger numpy's
        # FutureWarning for names it plans to reuse.
        if name not in vars(np):
            setattr(np, name, builtin)


# --- 3 and 8. Theano flags: BLAS and device ---------------------------------

def _theano_flags():
    """THEANO_FLAGS as a dict (Theano accepts both 'a.b' and 'a__b')."""
    flags = {}
    for item in os.environ.get("THEANO_FLAGS", "").split(","):
        if "=" in item:
            key, value = item.split("=", 1)
            flags[key.strip().replace("__", ".")] = value.strip()
    return flags


def _theanorc_value(section, option):
    """A value from the config files Theano reads (THEANORC or ~/.theanorc)."""
    default = os.pathsep.join(
        os.path.expanduser(p) for p in ("~/.theanorc", "~/.theanorc.txt"))
    parser = configparser.ConfigParser()
    try:
        parser.read(os.environ.get("THEANORC", default).split(os.pathsep))
    except configparser.Error:
        return None  # Theano will report the broken file itself
    return parser.get(section, option, fallback=None)


def _theano_setting(name):
    """The value Theano will use for 'section.option', None when unset."""
    flags = _theano_flags()
    if name in flags:
        return flags[name]
    section, option = name.split(".") if "." in name else ("global", name)
    return _theanorc_value(section, option)


def _add_theano_flag(name, value):
    """Override a Theano setting: THEANO_FLAGS wins over the config files."""
    flags = os.environ.get("THEANO_FLAGS", "")
    os.environ["THEANO_FLAGS"] = (flags + "," if flags else "") + "%s=%s" % (name, value)


def openblas_linkable():
    """True when the C compiler can link -lopenblas (libopenblas-dev or similar)."""
    try:
        found = subprocess.run(["g++", "-print-file-name=libopenblas.so"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return False
    return os.path.isabs(found) and os.path.exists(found)


def choose_blas_flags():
    """Set blas.ldflags so Theano does not probe numpy's build config.

    Theano 1.0.5 guesses the BLAS through numpy.distutils, which no longer
    imports beside a recent setuptools, and crashes. Any explicit value avoids
    that: '-lopenblas' when the system has OpenBLAS (fast), else '' (Theano's
    own NumPy-based fallback, slower but always works). A value asking for
    OpenBLAS that the system lacks is replaced by '' with a one-line notice.
    """
    wanted = _theano_setting("blas.ldflags")
    if wanted is not None and wanted.strip() != "-lopenblas":
        return wanted  # the user chose something else (a path, MKL, ''): respect it
    if openblas_linkable():
        chosen = wanted if wanted is not None else "-lopenblas"
    else:
        chosen = ""
        if wanted:
            log.warning("Theano: blas.ldflags=%s but OpenBLAS is not installed; "
                        "using Theano's slower built-in BLAS "
                        "(fix: apt-get install libopenblas-dev)", wanted)
    if chosen != wanted:
        _add_theano_flag("blas.ldflags", chosen)
    return chosen


def choose_threads():
    """One OpenBLAS thread when Theano's own loops run in parallel.

    With openmp = True (.theanorc) Theano spreads its loops over the images
    of a minibatch (convolution, pooling, element-wise ops) across the
    cores. A multi-threaded OpenBLAS inside each of those loops would
    compete with them for the same cores, on matrices too small to share, so
    OpenBLAS gets one thread, unless OPENBLAS_NUM_THREADS is set already.
    It must be set before Theano's compiled code loads OpenBLAS.
    """
    openmp = (_theano_setting("openmp") or "").strip().lower() in ("true", "1")
    if openmp and "OPENBLAS_NUM_THREADS" not in os.environ:
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
    return os.environ.get("OPENBLAS_NUM_THREADS")


def _one_line_gpu_errors(record):
    """Logging filter: Theano logs a failed GPU start with a full traceback."""
    if record.exc_info:
        record.msg = "%s: %s (%s)" % (record.getMessage(), record.exc_info[1], GPU_HELP)
        record.args = ()
        record.exc_info = None
    return True


def choose_device():
    """Run on the CPU, with one clear line, where the GPU backend is missing.

    The article's .theanorc said device=gpu, the old CUDA backend that
    Theano 1.0 removed; its successor is device=cuda, which needs pygpu
    (libgpuarray). Without pygpu Theano would log a traceback; here the
    script says so in one line and carries on with device=cpu.
    """
    device = _theano_setting("device") or "cpu"
    if device.startswith("gpu"):  # 2015 name -> Theano 1.0 name
        device = "cuda" + device[3:]
        _add_theano_flag("device", device)
    if not device.startswith(("cuda", "opencl")):
        return device
    if importlib.util.find_spec("pygpu") is None:
        log.warning("Theano: device=%s asked for, but pygpu (Theano's GPU backend) "
                    "is not installed: running on the CPU (%s)", device, GPU_HELP)
        _add_theano_flag("device", "cpu")
        return "cpu"
    # pygpu is there; if the GPU still fails to start, keep that to one line.
    logging.getLogger("theano.gpuarray").addFilter(_one_line_gpu_errors)
    return device


# --- 4. collections aliases -------------------------------------------------

def add_collections_aliases():
    """collections.Iterable & co. moved to collections.abc (removed in 3.10)."""
    for name in ("Iterable", "Mapping", "MutableMapping", "Sequence",
                 "MutableSet", "Callable"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))


# --- 5. theano.tensor.signal.downsample -------------------------------------

def _max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0),
                 mode="max"):
    """Theano 0.7's downsample.max_pool_2d, with its argument names."""
    from theano.tensor.signal.pool import pool_2d
    return pool_2d(input, ws=ds, ignore_border=ignore_border, stride=st,
                   pad=padding, mode=mode)


def add_downsample_module():
    """Lasagne 0.1 pools with theano.tensor.signal.downsample.max_pool_2d;
    Theano 1.0 renamed it pool.pool_2d(ws, stride, pad)."""
    module = types.ModuleType("theano.tensor.signal.downsample",
                              "Stand-in for Theano 0.7's downsample (compat.py).")
    module.max_pool_2d = _max_pool_2d
    sys.modules[module.__name__] = module


# --- 6. sklearn.cross_validation --------------------------------------------

class KFold(object):
    """sklearn 0.17's KFold(n, n_folds): iterate to get (train, test) indices."""

    def __init__(self, n, n_folds=3):
        self.n, self.n_folds = int(n), int(n_folds)

    def __iter__(self):
        from sklearn.model_selection import KFold as NewKFold
        return NewKFold(self.n_folds).split(np.zeros(self.n))

    def __len__(self):
        return self.n_folds


class StratifiedKFold(object):
    """sklearn 0.17's StratifiedKFold(y, n_folds): folds keep class proportions."""

    def __init__(self, y, n_folds=3):
        self.y, self.n_folds = np.asarray(y), int(n_folds)

    def __iter__(self):
        from sklearn.model_selection import StratifiedKFold as NewStratifiedKFold
        return NewStratifiedKFold(self.n_folds).split(np.zeros(len(self.y)), self.y)

    def __len__(self):
        return self.n_folds


def add_cross_validation_module():
    """nolearn 0.6.1 imports sklearn.cross_validation (removed in sklearn 0.20)."""
    module = types.ModuleType("sklearn.cross_validation",
                              "Stand-in for sklearn 0.17's cross_validation (compat.py).")
    module.KFold = KFold
    module.StratifiedKFold = StratifiedKFold
    sys.modules[module.__name__] = module


# --- 7. pkg_resources -------------------------------------------------------

class DistributionNotFound(Exception):
    """pkg_resources' exception for a package that is not installed."""


def add_pkg_resources_stub():
    """Lasagne reads its version with pkg_resources, which setuptools >= 81
    no longer ships; importlib.metadata gives the same answer. Theano's GPU
    back end names pkg_resources.DistributionNotFound in the except clauses
    around its optional scikit-cuda imports."""
    try:
        import pkg_resources  # noqa: F401
        return
    except ImportError:
        pass
    from importlib import metadata

    module = types.ModuleType("pkg_resources", "Minimal stand-in (compat.py).")
    module.get_distribution = lambda name: types.SimpleNamespace(
        project_name=name, version=metadata.version(name))
    module.DistributionNotFound = DistributionNotFound
    sys.modules["pkg_resources"] = module


# --- apply them all ---------------------------------------------------------

def apply():
    """Apply every fix; safe to call more than once."""
    if "theano" in sys.modules and not getattr(apply, "done", False):
        raise ImportError("import compat before theano: Theano needs the numpy "
                          "aliases and flags while it imports")
    check_numpy_version()
    add_numpy_aliases()
    add_collections_aliases()
    add_pkg_resources_stub()
    add_downsample_module()
    add_cross_validation_module()
    # Lasagne 0.1 still passes conv2d's old argument name, and Theano says so
    # at every CNN build; the name still works, so keep the output readable.
    warnings.filterwarnings("ignore", message="The `image_shape` keyword argument",
                            category=UserWarning)
    if not getattr(apply, "done", False):
        choose_blas_flags()
        choose_threads()
        choose_device()
        # Flags are set: now Theano may import. Register the CPU speed-ups.
        import speedups
        speedups.register()
    apply.done = True


if not logging.getLogger().handlers and not log.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(_handler)
    log.propagate = False

apply()
