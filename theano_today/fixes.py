"""The breaks between the 2015 stack (Theano 1.0.5, Lasagne 0.1, nolearn 0.6.1)
and today's Python, numpy and scikit-learn: one function per break.

apply() runs them all; importing theano_today calls it. Nothing inside
site-packages is edited: the fixes add aliases and stand-in modules at run
time. Each has a test in tests/test_fixes.py that first shows the break, then
the mend.

  theano imported first        -> check_import_order()    (a clear error)
  numpy must be < 2            -> check_numpy_version()   (a clear error otherwise;
                                  numpy 2 on Python >= 3.13, mended by:)
  numpy 2 removed np.product... -> add_numpy2_names()
  np.bool, np.int, ... gone    -> add_numpy_aliases()
  collections.Iterable gone    -> add_collections_aliases()
  pkg_resources may be gone    -> add_pkg_resources_stub()
  theano...signal.downsample   -> add_downsample_module()
  sklearn.cross_validation     -> add_cross_validation_module()
  sklearn.grid_search          -> add_grid_search_module()
  sklearn's removed loaders    -> add_removed_loaders()   (import; a call says what to use)
  Lasagne 0.2.dev1's API       -> add_lasagne_dev_api()   (BatchNormLayer, ...: docs/own_code.md)
  np.vstack(generator) refused  -> stack_iterables()
  theano.scan's C fails to build -> compile_scan()   (mended; the Python loop if not)
  lasagne.layers.dnn, theano.sandbox.cuda cannot import -> add_dnn_module()
  numpy.distutils gone (3.12)   -> add_numpy_distutils_module()
  imp gone (3.12)               -> add_imp_module()
  python -W error: the stack's DeprecationWarnings -> quiet_stack_deprecations()
  python -OO: Theano needs a docstring -> run_without_docstrings()

and, once Theano has started, apply_to_theano():

  three Ops' C code and numpy 2  -> use_numpy2_c_code()
  Theano's Python pooling fails  -> mend_pool_perform()

and apply_to_nolearn():

  scikit-learn's get_params, clone, repr, GridSearchCV and cross_val_score
  fail on a nolearn NeuralNet -> add_neuralnet_params()

Three more breaks need Theano's flags, so they live where those are chosen:
the missing blas.ldflags (blas.choose_blas_flags), the 2015 device name
(device.choose_device) and numpy 2's C names (compiling.choose_numpy2_cxxflags).
"""
import collections
import collections.abc
import functools
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
import warnings

import numpy as np


# --- theano_today first ------------------------------------------------------------------

#: The 2015 stack, which must start after the mends (each imports Theano).
STACK = ("theano", "lasagne", "nolearn")


def check_import_order():
    """Theano must start after the mends: one imported before them (by
    lasagne or nolearn too, or an import of it that failed half-way, as
    it does on np.bool, leaving its submodules behind) runs without them,
    or fails in words that never say why. ImportError, saying so, if one was."""
    early = {name.partition(".")[0] for name in sys.modules} & set(STACK)
    if early:
        by = sorted(early - {"theano"})
        raise ImportError(
            "theano was imported before theano_today%s, so Theano started without its mends "
            "(and fails, or already failed, on names such as np.bool). Fix: import "
            "theano_today first, before theano, lasagne and nolearn, in a new Python process "
            "(or a restarted notebook kernel)" % (" (by %s)" % " and ".join(by) if by else ""))


# --- numpy < 2, but numpy 2 on Python >= 3.13 ---------------------------------------

#: The first Python without a numpy 1 wheel: there, numpy 2 is mended instead.
NUMPY2_PYTHON = (3, 13)


def numpy_2():
    """True when the numpy imported is numpy 2 or later."""
    return int(np.__version__.split(".")[0]) >= 2


def check_numpy_version(python=None):
    """Theano's generated C code uses numpy 1.x macros that numpy 2 removed.
    numpy 1.26 has no wheel for Python >= 3.13: there theano_today mends
    Theano for numpy 2 (add_numpy2_names, use_numpy2_c_code and
    compiling.choose_numpy2_cxxflags); on older Pythons numpy 2 is refused."""
    python = tuple(python or sys.version_info[:2])
    if numpy_2() and python < NUMPY2_PYTHON:
        raise ImportError(
            "numpy %s is installed, but Theano 1.0.5 needs numpy < 2 on Python %d.%d. "
            "Fix: pip install -r requirements.txt  (it pins numpy 1.26.4)"
            % ((np.__version__,) + python))


# --- numpy 2: names it removed ------------------------------------------------------------

class _Cast(object):
    """numpy 1's np.cast: np.cast[dtype](x) is x as an array of dtype."""

    def __getitem__(self, dtype):
        dtype = np.dtype(getattr(dtype, "dtype", dtype))  # Theano passes its scalar types
        return lambda x: np.asarray(x).astype(dtype)


def _sctype2char(sctype):
    """numpy 1's np.sctype2char: the one-letter code of a dtype."""
    return np.dtype(sctype).char


def add_numpy2_names():
    """Theano 1.0.5 uses numpy names that numpy 2 removed: np.product
    (Mul's Python code), np.cast (gradients of scalar ops, batch
    normalisation), np.ComplexWarning, np.sctype2char (Elemwise's C code)
    and np.MAXDIMS (CumOp; numpy 1's value, 32). With numpy 1, nothing."""
    if not numpy_2():
        return
    names = {"product": np.prod, "cast": _Cast(), "sctype2char": _sctype2char,
             "ComplexWarning": np.exceptions.ComplexWarning, "MAXDIMS": 32}
    for name, value in names.items():
        if name not in vars(np):
            setattr(np, name, value)
    # numpy 2 warns at every use of the old module names Theano imports by
    # (numpy.core, numpy.linalg.linalg); they still work.
    warnings.filterwarnings("ignore", message=r"numpy\.core is deprecated",
                            category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=r"The numpy\.linalg\.linalg has been made private",
                            category=DeprecationWarning)


# --- numpy 2: C code of three Ops ---------------------------------------------------------

def _no_c_code(op, reason):
    from theano.gof.utils import MethodNotDefined
    raise MethodNotDefined("c_code", type(op), "%s (theano_today, numpy 2)" % reason)


def _new_cache_version(op):
    """Give op's compiled C code a cache version of its own: Theano finds a
    module compiled from the original code by its version, without asking
    for the code again."""
    version = op.c_code_cache_version

    @functools.wraps(version)  # __wrapped__: the original
    def numpy2_version(self):
        return tuple(version(self)) + ("theano_today-numpy2",)
    op.c_code_cache_version = numpy2_version


def use_numpy2_c_code():
    """Three of Theano's Ops meet numpy 2 in their C code, once Theano has
    started. AdvancedIncSubtensor1 (x[idx] += y, the gradient of indexing)
    and CumOp with axis=None (cumsum of the flattened array) do not compile
    against numpy 2: they lose their C code, and Theano runs their Python
    implementation (the same numpy calls). MaxAndArgmax and Argmax over
    all axes pass NPY_MAXDIMS to mean 'flattened', which numpy 2 spells
    NPY_RAVEL_AXIS: their C code says so. All four get a new cache version."""
    if not numpy_2():
        return
    from theano.tensor import basic, extra_ops, subtensor
    if getattr(subtensor.AdvancedIncSubtensor1, "_theano_today", False):
        return

    @functools.wraps(subtensor.AdvancedIncSubtensor1.c_code)  # __wrapped__: the original
    def inc_subtensor1_c_code(self, *args, **kwargs):
        _no_c_code(self, "its C code uses numpy 1's private indexing")
    subtensor.AdvancedIncSubtensor1.c_code = inc_subtensor1_c_code
    subtensor.AdvancedIncSubtensor1._theano_today = True

    cumop_c_code = extra_ops.CumOp.c_code

    @functools.wraps(cumop_c_code)
    def cumop_c_code_numpy2(self, *args, **kwargs):
        if self.axis is None:
            _no_c_code(self, "axis=None")
        return cumop_c_code(self, *args, **kwargs)
    extra_ops.CumOp.c_code = cumop_c_code_numpy2

    for op in (basic.MaxAndArgmax, basic.Argmax):
        @functools.wraps(op.c_code)
        def ravel_axis_c_code(self, *args, _c_code=op.c_code, **kwargs):
            return _c_code(self, *args, **kwargs).replace(
                "axis = NPY_MAXDIMS;", "axis = NPY_RAVEL_AXIS;")
        op.c_code = ravel_axis_c_code

    for op in (subtensor.AdvancedIncSubtensor1, extra_ops.CumOp, basic.MaxAndArgmax, basic.Argmax):
        _new_cache_version(op)


# --- numpy aliases --------------------------------------------------------------

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


# --- collections aliases ----------------------------------------------------------

def add_collections_aliases():
    """collections.Iterable & co. moved to collections.abc (removed in 3.10)."""
    for name in ("Iterable", "Mapping", "MutableMapping", "Sequence",
                 "MutableSet", "Callable"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))


# --- theano.tensor.signal.downsample ---------------------------------------------

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
                              "Stand-in for Theano 0.7's downsample (theano_today).")
    module.max_pool_2d = _max_pool_2d
    sys.modules[module.__name__] = module


# --- sklearn.cross_validation -------------------------------------------------------

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


def train_test_split(*arrays, **options):
    """sklearn 0.17's train_test_split: today's, which takes the same arguments."""
    from sklearn.model_selection import train_test_split as split
    return split(*arrays, **options)


def cross_val_score(estimator, X, y=None, fit_params=None, **options):
    """sklearn 0.17's cross_val_score: today's, where fit_params is called params."""
    from sklearn.model_selection import cross_val_score as score
    if fit_params is not None:
        options["params"] = fit_params
    return score(estimator, X, y, **options)


def add_cross_validation_module():
    """nolearn 0.6.1 and 2015 scripts import sklearn.cross_validation
    (removed in sklearn 0.20)."""
    module = types.ModuleType("sklearn.cross_validation",
                              "Stand-in for sklearn 0.17's cross_validation (theano_today).")
    module.KFold = KFold
    module.StratifiedKFold = StratifiedKFold
    module.train_test_split = train_test_split
    module.cross_val_score = cross_val_score
    sys.modules[module.__name__] = module


def _grid_search_cv(*args, **kwargs):
    """sklearn.model_selection.GridSearchCV, made when first asked for."""
    from sklearn.model_selection import GridSearchCV
    return GridSearchCV(*args, **kwargs)


def add_grid_search_module():
    """2015 scripts import GridSearchCV from sklearn.grid_search (removed in
    sklearn 0.20); today's takes the same estimator, param_grid and cv."""
    module = types.ModuleType("sklearn.grid_search",
                              "Stand-in for sklearn 0.17's grid_search (theano_today).")
    module.GridSearchCV = _grid_search_cv
    sys.modules[module.__name__] = module


#: scikit-learn's data set loaders that 2015 scripts import and that are gone:
#: name -> what the call says (when it went, and what to use).
REMOVED_LOADERS = {
    "load_boston": "load_boston was removed in scikit-learn 1.2 (the data set has an "
                   "ethical problem); use fetch_california_housing, or "
                   "fetch_openml(name='boston', version=1) for the same data",
    "fetch_mldata": "fetch_mldata was removed in scikit-learn 0.22 (mldata.org is gone); "
                    "use fetch_openml, e.g. fetch_openml('mnist_784', version=1) for MNIST",
    "load_mlcomp": "load_mlcomp was removed in scikit-learn 0.19 (mlcomp.org is gone); "
                   "use fetch_20newsgroups for its 20 newsgroups",
}


class RemovedError(RuntimeError):
    """A removed function of the 2015 stack was called; the message says what to use."""


def _removed_loader(name):
    def removed(*args, **kwargs):
        raise RemovedError(REMOVED_LOADERS[name])
    removed.__name__ = name
    removed.__doc__ = "Stand-in (theano_today): " + REMOVED_LOADERS[name] + "."
    return removed


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs a mend on a module right after it is imported (the mend then
    costs nothing to programs that never import it): {name: mend(module)}."""

    def __init__(self, mends):
        self.mends = mends

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.mends:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        load, mend = spec.loader.exec_module, self.mends[fullname]

        def exec_and_mend(module):
            load(module)
            mend(module)
        spec.loader.exec_module = exec_and_mend
        return spec


_AFTER_IMPORT = _AfterImport({})


def _after_import(name, mend):
    """mend(module) once module name is imported: now if it is already."""
    if name in sys.modules:
        mend(sys.modules[name])
        return
    _AFTER_IMPORT.mends[name] = mend
    if _AFTER_IMPORT not in sys.meta_path:
        sys.meta_path.insert(0, _AFTER_IMPORT)


def _add_removed_loaders(datasets):
    for name in REMOVED_LOADERS:
        if name not in vars(datasets):
            setattr(datasets, name, _removed_loader(name))


def add_removed_loaders():
    """2015 scripts import scikit-learn's loaders of data sets since removed
    (load_boston, fetch_mldata) at the top, whether a run calls them or not;
    today's sklearn.datasets refuses the import with a page of text. They
    import again, and a call raises RemovedError: one line saying what to use."""
    _after_import("sklearn.datasets", _add_removed_loaders)


# --- Lasagne's development API -------------------------------------------------------

def _add_lasagne_dev_api(lasagne):
    from theano_today import lasagne_dev, lasagne_dev_args, lasagne_dev_conv, lasagne_dev_functions
    lasagne_dev_args.extend()  # first: the new layers build on 0.1's, extended
    for dev in (lasagne_dev, lasagne_dev_conv, lasagne_dev_functions):
        for module_name, names in dev.PLACES.items():
            module = sys.modules[module_name]
            for name in names:
                if not hasattr(module, name):
                    setattr(module, name, getattr(dev, name))
                    if name not in getattr(module, "__all__", [name]):
                        module.__all__.append(name)  # `from lasagne.layers import *` too


def add_lasagne_dev_api():
    """Code of late 2015 and 2016, nolearn 0.6.1's own tests among it, uses
    Lasagne's development version (0.2.dev1), which PyPI's Lasagne 0.1
    lacks: its layers (lasagne_dev, lasagne_dev_conv), functions
    (lasagne_dev_functions) and the arguments of 0.1's own classes
    (lasagne_dev_args). They are put in place right after lasagne is
    imported; docs/own_code.md lists them."""
    _after_import("lasagne", _add_lasagne_dev_api)


# --- numpy's stacking functions and iterables ----------------------------------------

#: numpy's functions that took any iterable of arrays until numpy 1.24.
STACKING = ("vstack", "hstack", "stack", "dstack", "column_stack", "row_stack")


def _accepting_iterables(stack):
    @functools.wraps(stack)
    def stacked(arrays, *args, **kwargs):
        if not isinstance(arrays, (list, tuple, np.ndarray)) and hasattr(arrays, "__iter__"):
            arrays = list(arrays)  # a generator, map, ...: what numpy < 1.24 took
        return stack(arrays, *args, **kwargs)
    stacked.accepts_iterables = True
    return stacked


def stack_iterables():
    """numpy >= 1.24 refuses a generator in np.vstack, np.hstack, np.stack
    ("arrays to stack must be passed as a sequence type"), which 2015 code
    (nolearn's tests among it) passes: they take one again, as a list; every
    other argument goes to numpy as it was."""
    for name in STACKING:
        stack = getattr(np, name, None)
        if stack is not None and not getattr(stack, "accepts_iterables", False):
            setattr(np, name, _accepting_iterables(stack))


# --- nolearn's NeuralNet as a scikit-learn estimator ----------------------------------

def add_neuralnet_params():
    """scikit-learn (since 0.24) reads every argument of an estimator's
    __init__ back as an attribute (get_params, clone, repr, GridSearchCV,
    cross_val_score), and clone checks with 'is' that the constructor keeps
    each one as given (sklearn 0.17 compared them with ==). nolearn's
    NeuralNet never stores 'loss' and 'X_tensor_type' (arguments it accepts
    only to refuse); it stores a new list or dict for a given one (the
    layers in a list subclass, so that clone does not take Lasagne's
    layer.get_params for an estimator's; `x or []` for an empty one), and
    wraps the layers anew in get_params."""
    from nolearn.lasagne import base
    if getattr(base.NeuralNet, "_theano_today", False):
        return
    base.NeuralNet.loss = None
    base.NeuralNet.X_tensor_type = None
    nolearn_init = base.NeuralNet.__init__

    @functools.wraps(nolearn_init)  # scikit-learn reads the parameters from its signature
    def __init__(self, layers, **kwargs):
        nolearn_init(self, layers, **kwargs)
        for name, given in dict(kwargs, layers=layers).items():
            kept = getattr(self, name, None)
            if isinstance(given, (list, dict)) and type(kept) is type(given) and kept == given:
                setattr(self, name, given)  # the very object given, as clone expects

    @functools.wraps(base.NeuralNet.get_params)
    def get_params(self, deep=True):
        params = super(base.NeuralNet, self).get_params(deep=deep)
        params["layers"] = self.layers  # wrapped once, by __init__
        return base._dict(params)

    base.NeuralNet.__init__ = __init__
    base.NeuralNet.get_params = get_params
    base.NeuralNet._theano_today = True


# --- pkg_resources --------------------------------------------------------------------

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

    module = types.ModuleType("pkg_resources", "Minimal stand-in (theano_today).")
    module.get_distribution = lambda name: types.SimpleNamespace(
        project_name=name, version=metadata.version(name))
    module.DistributionNotFound = DistributionNotFound
    sys.modules["pkg_resources"] = module


# --- cuDNN layers and the old CUDA back end ----------------------------------------------

#: What `import theano.sandbox.cuda` says: Theano 1.0 has no such back end.
NO_SANDBOX_CUDA = ("Theano 1.0 removed the old CUDA back end (theano.sandbox.cuda); "
                   "use device=cuda, its successor (docs/gpu.md)")


class _StandIns(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Modules of the 2015 stack that cannot be imported today, made by
    theano_today instead: {name: fill(module)}, where fill may raise
    ImportError (the program then goes on as without the module); and
    theano.sandbox.cuda, refused with NO_SANDBOX_CUDA."""

    def __init__(self):
        self.fills = {}

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "theano.sandbox.cuda" or fullname.startswith("theano.sandbox.cuda."):
            raise ImportError(NO_SANDBOX_CUDA, name=fullname)
        if fullname in self.fills:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return None  # a plain module

    def exec_module(self, module):
        self.fills[module.__name__](module)


_STAND_INS = _StandIns()


def _stand_in(name, fill):
    """fill(module) makes module name when it is imported."""
    _STAND_INS.fills[name] = fill
    if _STAND_INS not in sys.meta_path:
        sys.meta_path.insert(0, _STAND_INS)


def _fill_dnn(module):
    from theano_today import dnn_layers
    module.__doc__ = dnn_layers.__doc__
    module.__all__ = list(dnn_layers.__all__)
    for name in dnn_layers.__all__ + ["POOL_MODES"]:
        setattr(module, name, getattr(dnn_layers, name))


def add_dnn_module():
    """Lasagne's dnn layers wrap the old CUDA back end's cuDNN ops, which
    Theano 1.0 removed: `import lasagne.layers.dnn` fails (importing
    theano.sandbox.cuda, which asks for nose), on every machine. Importing it
    gives theano_today.dnn_layers' classes instead (same names, arguments and
    semantics, on Theano's own convolution and pooling); theano.sandbox.cuda
    fails with one line saying what replaced it."""
    _stand_in("lasagne.layers.dnn", _fill_dnn)


# --- theano.scan --------------------------------------------------------------------

def _fill_scan(module):
    from theano_today import scan_c, settings
    try:
        compiled = scan_c.load()
    except Exception as error:  # a compiler's refusal, a full disk, ...: the Python loop
        settings.log.warning(scan_c.python_loop_note(error))
        raise ImportError(str(error)) from None
    module.perform, module.get_version = compiled.perform, compiled.get_version
    module.version = compiled.get_version()


def compile_scan():
    """Theano 1.0.5 runs scan's loop in C generated by Cython 0.28, which no
    longer compiles from Python 3.11 on; Theano then falls back to its Python
    loop, tens of times slower (Lasagne's recurrent layers run on scan).
    theano_today.scan_c builds that C mended, the first time a scan runs; if
    it cannot, one line says so and the Python loop runs."""
    if sys.version_info >= (3, 11):
        _stand_in("theano.scan_module.scan_perform_ext", _fill_scan)


# --- numpy.distutils ------------------------------------------------------------------

def _get_numpy_include_dirs():
    """numpy.distutils.misc_util.get_numpy_include_dirs(): numpy's C headers."""
    return [np.get_include()]


def add_numpy_distutils_module():
    """Theano imports numpy.distutils (gof/cmodule.py, tensor/blas.py) and
    asks it for numpy's C headers before compiling; numpy ships no
    numpy.distutils for Python >= 3.12, so Theano does not import.
    numpy.get_include() names the same folder. (Its other use, finding a
    BLAS, is not reached: blas.choose_blas_flags sets blas.ldflags.)"""
    if sys.version_info < (3, 12):
        return
    module = types.ModuleType("numpy.distutils",
                              "Stand-in for numpy.distutils (theano_today).")
    module.misc_util = types.ModuleType("numpy.distutils.misc_util")
    module.misc_util.get_numpy_include_dirs = _get_numpy_include_dirs
    sys.modules[module.__name__] = module
    sys.modules[module.misc_util.__name__] = module.misc_util
    np.distutils = module


# --- imp ------------------------------------------------------------------------------

def _find_module(name, path=None):
    """imp.find_module: (file, pathname, description) of a module on the
    path (a package's pathname is its folder), ImportError where there is
    none. Theano only asks whether one exists: file and description are
    left empty."""
    spec = importlib.machinery.PathFinder.find_spec(name, path)
    if spec is None:
        raise ImportError("No module named %r" % name, name=name)
    if spec.submodule_search_locations:
        return None, spec.submodule_search_locations[0], ("", "", 0)
    return None, spec.origin, ("", "", 0)


def add_imp_module():
    """Theano's GPU back end (gpuarray/opt.py) imports theano.tests.breakpoint,
    which imports imp, removed in Python 3.12; it calls imp.find_module
    only, to choose a debugger."""
    if sys.version_info < (3, 12) or "imp" in sys.modules:
        return
    module = types.ModuleType("imp", "Stand-in for the imp module (theano_today).")
    module.find_module = _find_module
    sys.modules[module.__name__] = module

# --- theano.tensor.signal.pool.Pool.perform ---------------------------------------------

def _pool_perform(self, node, inp, out, params):
    """Theano 1.0.5's Pool.perform, line for line, but for the index of each
    pooling region: a tuple of slices, where Theano wrote a list."""
    x, ws, stride, pad = inp
    z, = out
    nd = self.ndim
    assert ws.shape == stride.shape == pad.shape == (nd,)
    if len(x.shape) < nd:
        raise NotImplementedError(
            'Pool requires input with {} or more dimensions'.format(nd))
    z_shape = self.out_shape(x.shape, ws, params.ignore_border, stride, pad, nd)
    if not params.ignore_border:
        assert all(z > 0 for z in z_shape[-nd:])
    if (z[0] is None) or (z[0].shape != z_shape):
        z[0] = np.empty(z_shape, dtype=x.dtype)
    zz = z[0]
    pool_out_shp = zz.shape[-nd:]
    img_shp = tuple(x.shape[-nd + i] + 2 * pad[i] for i in range(nd))
    inc_pad = self.mode == 'average_inc_pad'
    if max(pad) != 0:
        y = np.zeros(x.shape[:-nd] + img_shp, dtype=x.dtype)
        y[(slice(None),) * (len(x.shape) - nd)
          + tuple(slice(pad[i], img_shp[i] - pad[i]) for i in range(nd))] = x
    else:
        y = x
    func = np.max
    if self.mode == 'sum':
        func = np.sum
    elif self.mode != 'max':
        func = np.average
    region_slices = [[] for i in range(nd)]
    for i in range(nd):
        for j in range(pool_out_shp[i]):
            start = j * stride[i]
            end = min(start + ws[i], img_shp[i])
            if not inc_pad:
                start = max(start, pad[i])
                end = min(end, img_shp[i] - pad[i])
            region_slices[i].append(slice(start, end))
    for k in np.ndindex(*x.shape[:-nd]):
        zzk = zz[k]
        yk = y[k]
        for r in np.ndindex(*pool_out_shp):
            zzk[r] = func(yk[tuple(region_slices[i][r[i]] for i in range(nd))])


def mend_pool_perform():
    """Theano's Python max/average pooling (Pool.perform: linker=py,
    DebugMode, no compiler) indexes with a list of slices, which numpy
    refuses since 1.23 (IndexError): every pooling there fails. Needs
    Theano imported."""
    from theano.tensor.signal.pool import Pool
    if Pool.perform is not _pool_perform:
        _pool_perform.theanos = Pool.perform  # for tests/test_fixes.py to show the break
        Pool.perform = _pool_perform


# --- python -W error, python -OO ------------------------------------------------------

def quiet_stack_deprecations():
    """Python shows no DeprecationWarning of a library by default; `python
    -W error` turns those of the 2015 stack (distutils' find_executable,
    numpy.distutils, ...) into errors as it imports. They are for its
    authors, who are gone: ignored, so that -W error applies to one's own code."""
    for category in (DeprecationWarning, PendingDeprecationWarning):
        warnings.filterwarnings("ignore", category=category,
                                module=r"(%s)(\.|$)" % "|".join(STACK))


def _empty_docstring(opt):
    opt.PatternSub.__doc__ = opt.PatternSub.__doc__ or ""


def run_without_docstrings():
    """`python -OO` strips docstrings; Theano's PatternSub adds to its class's
    own as each is made, at import (None + str: TypeError). It gets an empty one."""
    if sys.flags.optimize >= 2:
        _after_import("theano.gof.opt", _empty_docstring)


# --- all of them ------------------------------------------------------------------------

def apply():
    """Apply every fix; safe to call more than once."""
    check_numpy_version()
    quiet_stack_deprecations()
    run_without_docstrings()
    add_numpy_aliases()
    add_numpy2_names()
    add_collections_aliases()
    add_pkg_resources_stub()
    add_downsample_module()
    add_cross_validation_module()
    add_grid_search_module()
    add_removed_loaders()
    add_lasagne_dev_api()
    stack_iterables()
    compile_scan()
    add_dnn_module()
    add_numpy_distutils_module()
    add_imp_module()
    # Lasagne 0.1 still passes conv2d's old argument name, and Theano says so
    # at every CNN build; the name still works, so keep the output readable.
    warnings.filterwarnings("ignore", message="The `image_shape` keyword argument",
                            category=UserWarning)


def apply_to_theano():
    """The fixes that change Theano's own classes: once Theano has started."""
    use_numpy2_c_code()
    mend_pool_perform()


def apply_to_nolearn():
    """The fixes that need nolearn, which imports Theano: once Theano has started."""
    add_neuralnet_params()
