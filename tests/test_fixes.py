"""theano_today's fixes of the 2015 stack: for each break, a test that shows
it (test_break_...) beside the test of its mend (test_fix_...).

A break that depends on import order is shown in a fresh interpreter, by a
program of tests/programs/ run plain (the bare stack) and with --fixed
(theano_today imported first). Where Theano must import to show a break, the
program imports theano_today and then undoes that single fix.
"""
import importlib.util
import logging
import os
import pathlib
import subprocess
import sys
import types

import numpy as np
import pytest

from helpers import PROGRAMS, REPO, bright_top_half, run_program, run_python


def assert_fails_with(result, error):
    assert result.returncode != 0, result.stdout
    assert error in result.stderr, result.stderr


def assert_works(result, output=None):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    if output is not None:
        assert result.stdout.strip().splitlines()[-1] == output, result.stdout


slow = pytest.mark.slow
NUMPY_2 = int(np.__version__.split(".")[0]) >= 2


# --- numpy < 2 -----------------------------------------------------------------------

def test_fix_numpy_2_is_refused_with_the_fix_before_python_3_13(stack, monkeypatch):
    monkeypatch.setattr(stack.fixes.np, "__version__", "1.26.4")
    stack.fixes.check_numpy_version((3, 11))
    monkeypatch.setattr(stack.fixes.np, "__version__", "2.0.0")
    with pytest.raises(ImportError, match=r"numpy 2\.0\.0 .*Python 3\.12.*requirements\.txt"):
        stack.fixes.check_numpy_version((3, 12))
    stack.fixes.check_numpy_version((3, 13))  # no numpy 1 wheel there: mended instead


# --- numpy 2 (Python >= 3.13): removed names, C macros, three Ops' C code -------------

only_numpy_2 = pytest.mark.skipif(not NUMPY_2, reason="numpy 1 here: the numpy 2 mends are not applied")


def test_fix_numpy2_names_behave_as_numpy_1s(stack):
    import theano.scalar
    cast = stack.fixes._Cast()
    assert cast["float32"](3).dtype == np.float32 and cast["float32"](3) == 3
    assert cast[theano.scalar.float64](1).dtype == np.float64  # a Theano type, as Theano passes
    assert stack.fixes._sctype2char("float32") == "f"
    assert stack.fixes._sctype2char(np.int64) == "l"
    if NUMPY_2:
        assert np.product([2, 3]) == 6 and np.MAXDIMS == 32
        assert np.ComplexWarning is np.exceptions.ComplexWarning


def test_fix_numpy2_header_comes_after_the_users_flags(stack, theanorc, monkeypatch):
    compiling, flags = stack.compiling, stack.settings.theano_flags
    theanorc("[gcc]\ncxxflags = -O2\n")
    monkeypatch.setattr(stack.fixes, "numpy_2", lambda: True)
    value = compiling.choose_numpy2_cxxflags()
    assert value == "-O2 -include " + compiling.NUMPY2_HEADER
    assert flags() == {"gcc.cxxflags": value}
    assert compiling.choose_numpy2_cxxflags() == value  # added once
    assert flags() == {"gcc.cxxflags": value}
    monkeypatch.setattr(stack.fixes, "numpy_2", lambda: False)
    monkeypatch.setenv("THEANO_FLAGS", "")
    assert compiling.choose_numpy2_cxxflags() is None and flags() == {}


def test_numpy2_header_is_macros_only(stack):
    # it also goes into Theano's compiler probes, which are not Python extensions
    with open(stack.compiling.NUMPY2_HEADER) as f:
        lines = [line.split()[0] for line in f if line.startswith("#")]
    assert set(lines) == {"#ifndef", "#define", "#endif"}, lines


NUMPY_C_USE = """
#include <Python.h>
#include <numpy/arrayobject.h>
#if !NPY_PY3K
#error NPY_PY3K is not set
#endif
long f(PyObject *o, PyArrayObject *a) { return PyInt_AsLong(o) + PyArray_DESCR(a)->elsize; }
"""


def compile_numpy_c_use(tmp_path, *flags):
    import sysconfig
    source = tmp_path / "use.cpp"
    source.write_text(NUMPY_C_USE)
    return subprocess.run(["g++", "-fsyntax-only", *flags, "-I" + sysconfig.get_paths()["include"],
                           "-I" + np.get_include(), str(source)],
                          capture_output=True, text=True, timeout=120)


@slow
@only_numpy_2
def test_break_numpy_2_lacks_names_theanos_c_code_uses(tmp_path):
    assert_fails_with(compile_numpy_c_use(tmp_path), "PyInt_AsLong")


@slow
@only_numpy_2
def test_fix_numpy2_header_gives_them_back(stack, tmp_path):
    assert_works(compile_numpy_c_use(tmp_path, "-include", stack.compiling.NUMPY2_HEADER))


@slow
@only_numpy_2
def test_break_three_ops_c_code_and_numpy_2():
    assert_fails_with(run_program("numpy2_ops.py"), "PyArrayMapIterObject")


@slow
@only_numpy_2
def test_fix_three_ops_run_with_numpy_2():
    assert_works(run_program("numpy2_ops.py", "--fixed"), "True True True")


# --- numpy aliases ----------------------------------------------------------------------

numpy_1_only = pytest.mark.skipif(NUMPY_2, reason="numpy 2 has np.bool again (its own bool type)")


@slow
@numpy_1_only
def test_break_numpy_aliases_theano_does_not_import():
    assert_fails_with(run_program("numpy_aliases.py"),
                      "AttributeError: module 'numpy' has no attribute 'bool'")


@slow
@numpy_1_only
def test_fix_numpy_aliases_theano_imports():
    assert_works(run_program("numpy_aliases.py", "--fixed"), "True")


# --- collections aliases --------------------------------------------------------------

@slow
def test_break_collections_iterable_is_gone():
    assert_fails_with(run_program("collections_iterable.py"), "cannot import name 'Iterable'")


@slow
def test_fix_collections_iterable_is_collections_abc():
    assert_works(run_program("collections_iterable.py", "--fixed"), "collections.abc")


# --- theano.tensor.signal.downsample --------------------------------------------------

@slow
def test_break_theano_has_no_downsample_module():
    assert_fails_with(run_program("downsample.py"), "cannot import name 'downsample'")


@slow
def test_fix_downsample_module_is_back():
    assert_works(run_program("downsample.py", "--fixed"), "_max_pool_2d")


@pytest.mark.parametrize("ds, st, padding", [
    ((2, 2), None, (0, 0)),
    ((3, 2), (1, 2), (0, 0)),
    ((2, 2), (2, 2), (1, 1)),
])
def test_fix_max_pool_2d_equals_pool_2d(stack, ds, st, padding):
    import theano
    import theano.tensor as T
    from theano.tensor.signal import downsample
    from theano.tensor.signal.pool import pool_2d

    x = T.tensor4()
    old = downsample.max_pool_2d(x, ds=ds, ignore_border=True, st=st, padding=padding)
    new = pool_2d(x, ws=ds, ignore_border=True, stride=st, pad=padding)
    f = theano.function([x], [old, new])
    data = np.random.RandomState(0).randn(2, 3, 9, 8).astype(theano.config.floatX)
    got_old, got_new = f(data)
    np.testing.assert_array_equal(got_old, got_new)
    if ds == (2, 2) and st is None:  # plain 2x2 max pooling, by hand
        by_hand = data[:, :, :8].reshape(2, 3, 4, 2, 4, 2).max(axis=(3, 5))
        np.testing.assert_array_equal(got_old, by_hand)


# --- sklearn.cross_validation ------------------------------------------------------------

@slow
def test_break_sklearn_cross_validation_is_gone():
    assert_fails_with(run_program("cross_validation.py"),
                      "No module named 'sklearn.cross_validation'")


@slow
def test_fix_sklearn_cross_validation_stand_in():
    assert_works(run_program("cross_validation.py", "--fixed"), "theano_today.fixes")


def assert_partitions(folds, n):
    tests = []
    for train, test in folds:
        assert sorted(np.concatenate([train, test])) == list(range(n))
        tests.extend(test)
    assert sorted(tests) == list(range(n))  # every index tested exactly once


def test_fix_kfold_keeps_the_old_signature(stack):
    from sklearn.cross_validation import KFold
    folds = list(KFold(10, 5))
    assert len(KFold(10, 5)) == 5 and len(folds) == 5
    assert list(folds[0][1]) == [0, 1]
    assert list(folds[0][0]) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert_partitions(folds, 10)


def test_fix_stratified_kfold_keeps_class_proportions(stack):
    from sklearn.cross_validation import StratifiedKFold
    y = np.array([0] * 20 + [1] * 10 + [2] * 5)
    folds = list(StratifiedKFold(y, 5))
    assert len(folds) == 5
    for train, test in folds:
        assert np.bincount(y[test]).tolist() == [4, 2, 1]
    assert_partitions(folds, len(y))


def test_fix_nolearn_split_uses_the_stand_ins(stack):
    from nolearn.lasagne import TrainSplit
    X = np.arange(50, dtype=np.float32).reshape(50, 1)
    y = np.repeat(np.arange(10), 5).astype(np.int32)
    split = TrainSplit(eval_size=0.2)
    classifier = types.SimpleNamespace(regression=False)  # StratifiedKFold
    Xtr, Xva, ytr, yva = split(X, y, classifier)
    assert len(Xtr) == 40 and sorted(yva) == list(range(10))  # one of each class
    regressor = types.SimpleNamespace(regression=True)  # KFold
    Xtr, Xva, ytr, yva = split(X, y, regressor)
    assert Xva.ravel().tolist() == list(range(10))  # the first fifth


def test_fix_old_cross_validation_and_grid_search_names(stack):
    from sklearn.cross_validation import cross_val_score, train_test_split
    from sklearn.grid_search import GridSearchCV
    from sklearn.linear_model import LogisticRegression
    X = np.arange(40, dtype=float).reshape(20, 2)
    y = np.repeat([0, 1], 10)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    assert len(X_train) == 15 and len(y_test) == 5
    assert len(cross_val_score(LogisticRegression(), X, y, cv=2)) == 2
    search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
    assert search.best_params_["C"] in (0.1, 1.0)


# --- nolearn's NeuralNet as a scikit-learn estimator ----------------------------------------

@slow
def test_break_scikit_learn_cannot_clone_a_nolearn_net():
    assert_fails_with(run_program("sklearn_clone.py"),
                      "object has no attribute 'X_tensor_type'")


@slow
def test_fix_scikit_learn_clones_a_nolearn_net():
    assert_works(run_program("sklearn_clone.py", "--fixed"), "SharedDataNeuralNet 100")


def test_fix_get_params_and_repr_of_a_nolearn_net(stack):
    from nolearn.lasagne import NeuralNet
    from sklearn.base import clone
    import mlp
    for net_class in (NeuralNet, mlp.SharedDataNeuralNet):
        net = mlp.build_mlp(verbose=0, net_class=net_class)
        params = net.get_params()
        assert params["hidden_num_units"] == 100 and params["update_learning_rate"] == 0.01
        assert params["layers"] is net.get_params()["layers"]
        assert repr(net).startswith(net_class.__name__ + "(")
        twin = clone(net)
        assert type(twin) is net_class and twin is not net
        assert twin.get_params(deep=False).keys() == net.get_params(deep=False).keys()
        twin.set_params(update_learning_rate=0.02)
        assert twin.update_learning_rate == 0.02 and net.update_learning_rate == 0.01


@slow
def test_fix_grid_search_and_cross_val_score_over_a_nolearn_net(stack, shared_cifar_dir):
    import cifar_loader
    import mlp
    from sklearn.model_selection import GridSearchCV, cross_val_score
    X, y, _, _ = cifar_loader.load_CIFAR10(shared_cifar_dir)
    X = mlp.preprocess(X)
    net = mlp.build_mlp(epochs=1, verbose=0)
    scores = cross_val_score(net, X, y, cv=2)
    assert len(scores) == 2 and all(0 <= s <= 1 for s in scores)
    search = GridSearchCV(net, {"update_learning_rate": [0.01, 0.02]}, cv=2).fit(X, y)
    assert search.best_params_["update_learning_rate"] in (0.01, 0.02)
    assert len(search.best_estimator_.train_history_) == 1


# --- theano.scan --------------------------------------------------------------------------

@slow
@pytest.mark.skipif(sys.version_info < (3, 11), reason="Cython 0.28's C builds before 3.11")
def test_break_theano_scan_does_not_compile():
    assert_fails_with(run_program("scan.py"), "longintrepr.h")


@slow
def test_fix_theano_scan_runs_its_compiled_loop():
    result = run_program("scan.py", "--fixed")
    assert_works(result, "compiled")
    assert result.stdout.splitlines()[0] == "[0.0, 1.0, 3.0, 6.0, 10.0]"


@slow
@pytest.mark.skipif(sys.version_info < (3, 11), reason="Theano's own loop builds before 3.11")
def test_scan_without_a_compiler_runs_the_python_loop_and_says_so():
    result = run_program("scan.py", "--fixed", "--no-compiler")
    assert_works(result, "python")
    assert result.stdout.splitlines()[0] == "[0.0, 1.0, 3.0, 6.0, 10.0]"
    notes = [line for line in result.stderr.splitlines() if "Python loop" in line]
    assert len(notes) == 1 and "g++: not found" in notes[0], result.stderr


@slow
def test_scan_loops_compiled_and_python_agree():
    assert_works(run_program("scan_loops_agree.py"), "scan loops agree")


def test_scan_mends_refuse_another_c_file(stack):
    from theano_today import scan_c
    with pytest.raises(scan_c.MendError, match="not Theano 1.0.5's"):
        scan_c.mended_source("int main() {}", numpy2=False)



# --- Pool.perform ------------------------------------------------------------------------

def python_pooling(theano, **pool_args):
    """pool_2d compiled for Theano's Python linker (each op's perform) and
    for its C code, without theano_today's own pooling ops."""
    from theano.tensor.signal.pool import pool_2d
    x = theano.tensor.tensor4("x")
    pooled = pool_2d(x, **pool_args)
    return [theano.function([x], pooled, mode=theano.compile.Mode(linker=linker).excluding(
        "fast_max_pool")) for linker in ("py", "cvm")]


def test_break_theanos_python_pooling_fails(stack, monkeypatch):
    import theano
    from theano.tensor.signal.pool import Pool
    from theano_today import fixes
    monkeypatch.setattr(Pool, "perform", fixes._pool_perform.theanos)
    python, _ = python_pooling(theano, ws=(2, 2), ignore_border=True)
    with pytest.raises(IndexError, match="only integers, slices"):
        python(np.ones((1, 1, 4, 4), theano.config.floatX))


@pytest.mark.parametrize("pool_args", [
    dict(ws=(2, 2), ignore_border=True), dict(ws=(3, 2), ignore_border=False),
    dict(ws=(2, 3), stride=(1, 2), pad=(1, 1), ignore_border=True),
    dict(ws=(3, 3), pad=(1, 2), ignore_border=True, mode="average_exc_pad"),
    dict(ws=(2, 2), ignore_border=False, mode="sum")])
def test_fix_theanos_python_pooling_equals_its_c_code(stack, pool_args):
    import theano
    python, c_code = python_pooling(theano, **pool_args)
    assert "Pool" in [type(n.op).__name__ for n in python.maker.fgraph.toposort()]
    x = np.random.RandomState(0).randn(2, 3, 7, 8).astype(theano.config.floatX)
    np.testing.assert_allclose(python(x), c_code(x), rtol=1e-6)


# --- numpy.distutils (Python >= 3.12) ----------------------------------------------------

@slow
@pytest.mark.skipif(sys.version_info < (3, 12), reason="numpy ships numpy.distutils before 3.12")
def test_break_numpy_distutils_is_gone():
    assert_fails_with(run_program("numpy_distutils.py"), "No module named 'numpy.distutils'")


@slow
def test_fix_numpy_distutils_gives_the_headers_and_theano_compiles():
    result = run_program("numpy_distutils.py", "--fixed")
    assert_works(result, "[1.0, 3.0, 5.0]")
    assert result.stdout.splitlines()[0] == "True", result.stdout


def test_fix_numpy_include_dirs_hold_numpys_headers(stack):
    include, = stack.fixes._get_numpy_include_dirs()
    assert include == np.get_include()
    assert (pathlib.Path(include) / "numpy" / "arrayobject.h").is_file()


# --- imp (Python >= 3.12) -------------------------------------------------------------------

@slow
@pytest.mark.skipif(sys.version_info < (3, 12), reason="imp exists before Python 3.12")
def test_break_imp_is_gone_for_theanos_gpu_back_end():
    assert_fails_with(run_program("imp_gone.py"), "No module named 'imp'")


@slow
def test_fix_imp_stand_in_lets_the_gpu_back_end_import():
    result = run_program("imp_gone.py", "--fixed")
    assert_works(result)
    assert result.stdout.strip().endswith(os.sep + "theano"), result.stdout  # a package: its folder


def test_fix_find_module_finds_a_module_or_raises(stack):
    _, path, _ = stack.fixes._find_module("json")  # a package
    assert path == os.path.dirname(importlib.util.find_spec("json").origin)
    _, path, _ = stack.fixes._find_module("shlex")  # a module
    assert path == importlib.util.find_spec("shlex").origin
    with pytest.raises(ImportError, match="no_such_module"):
        stack.fixes._find_module("no_such_module")


# --- pkg_resources ---------------------------------------------------------------------

# theano.gpuarray names pkg_resources.DistributionNotFound in the except
# clauses around its optional scikit-cuda imports, which fail here
PKG_RESOURCES_USERS = [("lasagne", "0.1"), ("theano.gpuarray", "imported")]


@slow
@pytest.mark.parametrize("module, output", PKG_RESOURCES_USERS)
def test_break_pkg_resources_is_gone(module, output):
    assert_fails_with(run_program("pkg_resources_gone.py", module),
                      "import of pkg_resources halted")


@slow
@pytest.mark.parametrize("module, output", PKG_RESOURCES_USERS)
def test_fix_pkg_resources_stand_in(module, output):
    assert_works(run_program("pkg_resources_gone.py", module, "--fixed"), output)


# --- scikit-learn's removed loaders (fixes.add_removed_loaders) --------------------------

@slow
def test_break_removed_sklearn_loaders_fail_at_import():
    assert_fails_with(run_program("removed_loaders.py"), "`load_boston` has been removed")


@slow
def test_fix_removed_sklearn_loaders_import_and_say_what_to_use():
    result = run_program("removed_loaders.py", "--fixed")
    assert_works(result)
    boston, mldata = result.stdout.strip().splitlines()
    assert boston.startswith("RemovedError: load_boston was removed in scikit-learn 1.2")
    assert "fetch_california_housing" in boston
    assert mldata.startswith("RemovedError: fetch_mldata was removed") and "fetch_openml" in mldata


def test_removed_loaders_leave_the_others_alone(stack):
    import sklearn.datasets
    assert sklearn.datasets.load_iris().data.shape == (150, 4)
    assert set(stack.fixes.REMOVED_LOADERS) <= set(vars(sklearn.datasets))


# --- numpy's stacking functions and generators (fixes.stack_iterables) -------------------

@pytest.mark.parametrize("name", ["vstack", "hstack", "stack", "dstack", "column_stack"])
def test_break_and_fix_stacking_a_generator(stack, name):
    stacking = getattr(np, name)
    rows = [np.arange(3.0) + i for i in range(4)]
    with pytest.raises(TypeError, match="sequence"):  # numpy >= 1.24 itself
        stacking.__wrapped__(row for row in rows)
    got = stacking(row for row in rows)
    want = stacking.__wrapped__(rows)
    assert got.shape == want.shape and np.array_equal(got, want)


def test_stacking_is_numpys_for_everything_else(stack):
    rows = (np.ones((2, 3)), np.zeros((2, 3)))
    for args, kwargs in [((rows,), {}), ((list(rows),), {"axis": 2}), ((np.ones((2, 3)),), {})]:
        assert np.array_equal(np.stack(*args, **kwargs), np.stack.__wrapped__(*args, **kwargs))
    with pytest.raises(ValueError):  # shapes that do not stack: numpy's own error
        np.vstack(iter([np.ones(2), np.ones(3)]))
    assert np.vstack.__name__ == "vstack" and np.vstack.__doc__ == np.vstack.__wrapped__.__doc__


# --- lasagne.layers.dnn and theano.sandbox.cuda (fixes.add_dnn_module) ------------------

@slow
def test_break_lasagne_dnn_layers_cannot_be_imported():
    # Lasagne's dnn module imports the removed back end, which asks for nose
    assert_fails_with(run_program("dnn_import.py"), "No module named 'nose'")


@slow
def test_fix_lasagne_dnn_layers_import_and_the_old_back_end_says_why():
    result = run_program("dnn_import.py", "--fixed")
    assert_works(result)
    layer_module, sandbox = result.stdout.strip().splitlines()
    assert layer_module == "theano_today.dnn_layers"
    assert sandbox == "theano.sandbox.cuda: " + NO_SANDBOX_CUDA


NO_SANDBOX_CUDA = ("Theano 1.0 removed the old CUDA back end (theano.sandbox.cuda); "
                   "use device=cuda, its successor (docs/gpu.md)")


def dnn_and_standard(stack, dnn_layer, standard_layer, shape=(2, 3, 9, 8), seed=0):
    """Outputs of a dnn layer and a standard one on the same random input."""
    import theano
    from lasagne.layers import InputLayer, get_output
    rng = np.random.RandomState(seed)
    x = rng.randn(*shape).astype(theano.config.floatX)
    outs = []
    for make in (dnn_layer, standard_layer):
        inputs = InputLayer((None,) + shape[1:])
        layer = make(inputs)
        outs.append((layer, theano.function([inputs.input_var], get_output(layer))(x)))
    return outs


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("pad", ["valid", "full", "same", 1, (2, 0)])
@pytest.mark.parametrize("stride", [1, (2, 1)])
def test_conv2d_dnn_layer_correlates_unless_flipped(stack, flip, pad, stride):
    """Lasagne's Conv2DDNNLayer: a correlation by default (the filters not
    turned), a convolution with flip_filters=True; 'same' pads (k-1)//2."""
    from lasagne.layers import Conv2DLayer
    from lasagne.layers.dnn import Conv2DDNNLayer
    rng = np.random.RandomState(1)
    W = rng.randn(4, 3, 3, 3).astype("float32")
    b = rng.randn(4).astype("float32")
    # the standard layer convolves: it reproduces a correlation with turned filters
    W_std = W if flip else W[:, :, ::-1, ::-1].copy()
    pad_std = 1 if pad == "same" else pad  # its 'same' crops a full one: only stride 1
    (dnn, got), (std, want) = dnn_and_standard(
        stack, lambda inp: Conv2DDNNLayer(inp, 4, 3, stride=stride, pad=pad, W=W, b=b,
                                        flip_filters=flip, nonlinearity=None),
        lambda inp: Conv2DLayer(inp, 4, 3, stride=stride, pad=pad_std, W=W_std, b=b,
                              nonlinearity=None))
    assert dnn.output_shape == std.output_shape
    assert got.shape == want.shape == (2,) + dnn.output_shape[1:]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_conv2d_dnn_layer_by_hand(stack):
    """One output value, computed by hand: the filter is not turned."""
    import theano
    from lasagne.layers import InputLayer, get_output
    from lasagne.layers.dnn import Conv2DDNNLayer
    x = np.arange(9, dtype="float32").reshape(1, 1, 3, 3)
    W = np.arange(4, dtype="float32").reshape(1, 1, 2, 2)  # [[0, 1], [2, 3]]
    inputs = InputLayer((None, 1, 3, 3))
    layer = Conv2DDNNLayer(inputs, 1, 2, W=W, b=None, nonlinearity=None)
    out = theano.function([inputs.input_var], get_output(layer))(x)
    # top left: 0*0 + 1*1 + 2*3 + 3*4 = 19 (a convolution would give 0*4 + 1*3 + 2*1 + 3*0 = 5)
    assert out[0, 0, 0, 0] == 19 and out.shape == (1, 1, 2, 2)


@pytest.mark.parametrize("mode", ["max", "average_inc_pad", "average_exc_pad"])
@pytest.mark.parametrize("pool, stride, pad", [(2, None, (0, 0)), (3, 2, (1, 1)), ((2, 3), (1, 2), (0, 1))])
def test_pool2d_dnn_layer_is_lasagnes_pooling_with_borders_ignored(stack, mode, pool, stride, pad):
    from lasagne.layers import Pool2DLayer
    from lasagne.layers.dnn import MaxPool2DDNNLayer, Pool2DDNNLayer
    (dnn, got), (std, want) = dnn_and_standard(
        stack, lambda inp: Pool2DDNNLayer(inp, pool, stride, pad, mode=mode),
        lambda inp: Pool2DLayer(inp, pool, stride, pad, ignore_border=True, mode=mode))
    assert dnn.output_shape == std.output_shape and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6)
    if mode == "max":
        (_, got_max), _ = dnn_and_standard(stack, lambda inp: MaxPool2DDNNLayer(inp, pool, stride, pad),
                                           lambda inp: inp)
        np.testing.assert_array_equal(got_max, got)


def test_dnn_layers_refuse_what_cudnn_did_not_do(stack):
    from lasagne.layers import InputLayer
    from lasagne.layers.dnn import Pool2DDNNLayer
    with pytest.raises(NotImplementedError, match="ignore_border=False"):
        Pool2DDNNLayer(InputLayer((None, 1, 4, 4)), 2, ignore_border=False)
    with pytest.raises(ValueError, match="mode must be one of max"):
        Pool2DDNNLayer(InputLayer((None, 1, 4, 4)), 2, mode="sum")


@slow
def test_a_net_of_dnn_layers_trains_on_the_cpu(stack):
    """A 2015 model of cuDNN layers, with nolearn: its loss falls."""
    from lasagne.layers import DenseLayer, InputLayer
    from lasagne.layers.dnn import Conv2DDNNLayer, MaxPool2DDNNLayer
    from lasagne.nonlinearities import softmax
    from nolearn.lasagne import NeuralNet
    X, y = bright_top_half(seed=0)
    net = NeuralNet(layers=[(InputLayer, dict(shape=(None, 1, 12, 12))),
                            (Conv2DDNNLayer, dict(num_filters=8, filter_size=3, pad="same")),
                            (MaxPool2DDNNLayer, dict(pool_size=2)),
                            (DenseLayer, dict(num_units=2, nonlinearity=softmax))],
                    update_learning_rate=0.1, max_epochs=20, verbose=0)
    net.fit(X, y)
    losses = [row["train_loss"] for row in net.train_history_]
    assert len(losses) == 20 and losses[-1] < 0.8 * losses[0], losses


# --- blas.ldflags (blas.choose_blas_flags) ---------------------------------------------

@slow
def test_break_theano_without_blas_ldflags_crashes(tmp_path):
    # No blas.ldflags in any config: Theano asks numpy.distutils for its
    # BLAS, which does not import beside a recent setuptools.
    empty = tmp_path / "theanorc"
    empty.write_text("")
    assert_fails_with(run_program("blas_unset.py", env={"THEANORC": str(empty)}), "distutils")


@slow
def test_fix_blas_ldflags_links_the_pip_openblas(tmp_path):
    empty = tmp_path / "theanorc"
    empty.write_text("")
    result = run_program("blas_unset.py", "--fixed", env={"THEANORC": str(empty)})
    assert_works(result)
    assert "scipy_openblas32" in result.stdout and "-lscipy_openblas" in result.stdout, result.stdout


@slow
def test_break_asking_for_a_blas_the_system_lacks_breaks_compilation():
    # What -lopenblas does on a machine without OpenBLAS, shown with a
    # library no machine has (theano_today passes a non-OpenBLAS choice through).
    result = run_program("dot.py", env={"THEANO_FLAGS": "blas.ldflags=-lnosuchblas"})
    assert_fails_with(result, "cannot find -lnosuchblas")


@slow
@pytest.mark.parametrize("ldflags", ["", None])  # Theano's fallback; the pip OpenBLAS
def test_fix_blas_compiles_and_computes(ldflags):
    flags = {"THEANO_FLAGS": "blas.ldflags=%s" % ldflags} if ldflags is not None else {}
    assert_works(run_program("dot.py", env=flags), "27.0")


@slow
def test_break_fallback_blas_in_openmp_threads_aborts():
    # Theano's fallback BLAS calls numpy without the GIL from the OpenMP
    # threads of its convolution: stock Theano's openmp, turned back on
    # (and its products, which conv_blocks keeps from the fallback where it can).
    result = run_program("fallback_blas_conv.py", "--break", env={
        "THEANO_FLAGS": "blas.ldflags=,openmp=True,optimizer_excluding=conv_blocks"})
    assert result.returncode != 0 and "loss" not in result.stdout, result.stdout
    assert "Fatal Python error" in result.stderr, result.stderr[-2000:]


@slow
def test_fix_fallback_blas_turns_openmp_off_and_trains():
    result = run_program("fallback_blas_conv.py", env={"THEANO_FLAGS": "blas.ldflags=,openmp=True"})
    assert_works(result)
    assert result.stdout.splitlines()[0] == "openmp False ldflags ''", result.stdout
    assert result.stdout.splitlines()[1].startswith("loss "), result.stdout
    notices = [line for line in result.stderr.splitlines() if line.startswith("Theano: openmp")]
    assert len(notices) == 1 and "fix:" in notices[0], result.stderr


@pytest.fixture
def theanorc(tmp_path, monkeypatch):
    """Write a THEANORC for this test, with THEANO_FLAGS empty (monkeypatch
    puts both back, whatever theano_today writes into THEANO_FLAGS)."""
    def write(text):
        path = tmp_path / "theanorc"
        path.write_text(text)
        monkeypatch.setenv("THEANORC", str(path))
        monkeypatch.setenv("THEANO_FLAGS", "")
        return str(path)
    return write


@pytest.fixture
def machine(stack, monkeypatch):
    """Which OpenBLAS this test's machine has: machine(pip=..., system=...);
    any other BLAS named links (tests/test_settings_checked_early.py: one that does not)."""
    def have(pip, system):
        monkeypatch.setattr(stack.blas, "pip_openblas", lambda: pip)
        monkeypatch.setattr(stack.blas, "system_openblas", lambda: system)
        monkeypatch.setattr(stack.blas, "unlinkable", lambda ldflags: None)
    monkeypatch.setattr(stack.settings.log, "propagate", True)  # to caplog
    return have


PIP_LIB = "/venv/site-packages/scipy_openblas32/lib/libscipy_openblas.so"
PIP_FLAGS = "-L/venv/site-packages/scipy_openblas32/lib -lscipy_openblas"


def test_fix_pip_openblas_is_linked_with_its_names(stack, theanorc, machine, caplog):
    theanorc("[global]\nfloatX = float32\n")
    machine(pip=PIP_LIB, system="/usr/lib/libopenblas.so")
    assert stack.blas.choose_blas_flags() == PIP_FLAGS
    flags = stack.settings.theano_flags()
    assert flags["blas.ldflags"] == PIP_FLAGS
    assert flags["gcc.cxxflags"].split()[-2:] == ["-include", stack.blas.HEADER]
    assert caplog.text == ""


def test_fix_openblas_asked_but_missing_links_the_pip_one(stack, theanorc, machine, caplog):
    theanorc("[blas]\nldflags = -lopenblas\n")
    machine(pip=PIP_LIB, system=None)
    assert stack.blas.choose_blas_flags() == PIP_FLAGS
    assert "system has no OpenBLAS; using the OpenBLAS pip installed" in caplog.text


def test_system_openblas_named_and_installed_is_kept(stack, theanorc, machine):
    theanorc("[blas]\nldflags = -lopenblas\n")
    machine(pip=PIP_LIB, system="/usr/lib/libopenblas.so")
    assert stack.blas.choose_blas_flags() == "-lopenblas"
    assert stack.settings.theano_flags() == {}


def test_without_the_pip_openblas_the_system_one_then_the_fallback(stack, theanorc, machine, caplog):
    theanorc("[global]\nfloatX = float32\n")
    machine(pip=None, system="/usr/lib/libopenblas.so")
    assert stack.blas.choose_blas_flags() == "-lopenblas"
    assert caplog.text == ""
    machine(pip=None, system=None)
    assert stack.blas.choose_blas_flags() == ""
    assert stack.settings.theano_flags()["blas.ldflags"] == ""
    assert "scipy-openblas32 is not installed" in caplog.text and "fix:" in caplog.text


def test_pip_openblas_in_a_path_with_a_space_is_not_linked(stack, theanorc, machine, caplog):
    theanorc("[global]\nfloatX = float32\n")
    machine(pip="/home/me/my venv/scipy_openblas32/lib/libscipy_openblas.so", system=None)
    assert stack.blas.choose_blas_flags() == ""
    assert "has a space" in caplog.text


def test_fix_other_blas_choices_are_respected(stack, theanorc, machine):
    for ldflags in ("-lmkl_rt", ""):
        theanorc("[blas]\nldflags = %s\n" % ldflags)
        machine(pip=PIP_LIB, system=None)
        assert stack.blas.choose_blas_flags() == ldflags
        assert stack.settings.theano_flags() == {}


def test_fallback_blas_turns_openmp_off_only_under_openmp(stack, theanorc, machine, caplog):
    theanorc("[global]\nopenmp = True\n")
    assert stack.blas.keep_openmp_safe(PIP_FLAGS) is False
    assert stack.blas.keep_openmp_safe("") is True
    assert stack.settings.theano_flags() == {"openmp": "False"}
    assert "openmp turned off" in caplog.text
    theanorc("[global]\nopenmp = False\n")
    assert stack.blas.keep_openmp_safe("") is False


# --- threads: one BLAS thread inside Theano's OpenMP loops (blas.choose_threads) ---------

@pytest.fixture
def no_thread_settings(monkeypatch):
    for name in ("OPENBLAS_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)


def test_openmp_keeps_all_threads_for_an_openblas_theano_sets(stack, theanorc, no_thread_settings):
    theanorc("[global]\nopenmp = True\n")
    for ldflags in (PIP_FLAGS, "-lopenblas", "-lmkl_rt"):
        assert stack.blas.choose_threads(ldflags) is None  # all cores for a lone product
        assert os.environ.get("OPENBLAS_THREAD_TIMEOUT") == "4"  # idle threads sleep


def test_openmp_gives_a_blas_theano_cannot_set_one_thread(stack, theanorc, no_thread_settings):
    theanorc("[global]\nopenmp = True\n")
    assert stack.blas.choose_threads("-lblas") == "1"
    assert "OPENBLAS_THREAD_TIMEOUT" not in os.environ


def test_threads_left_alone_without_openmp_or_when_chosen(stack, theanorc, no_thread_settings,
                                                          monkeypatch):
    theanorc("[global]\nopenmp = False\n")
    assert stack.blas.choose_threads("-lblas") is None
    assert "OPENBLAS_THREAD_TIMEOUT" not in os.environ
    theanorc("[global]\nopenmp = True\n")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")  # the user's choice wins
    monkeypatch.setenv("OPENBLAS_THREAD_TIMEOUT", "20")
    assert stack.blas.choose_threads("-lblas") == "4"
    assert stack.blas.choose_threads(PIP_FLAGS) == "4"
    assert os.environ["OPENBLAS_THREAD_TIMEOUT"] == "20"


no_pygpu = pytest.mark.skipif(importlib.util.find_spec("pygpu") is not None,
                              reason="pygpu is installed here")


@slow
@no_pygpu
def test_scripts_run_with_the_repository_settings():
    result = run_program("settings.py", env={"OPENBLAS_NUM_THREADS": None,
                                             "OPENBLAS_THREAD_TIMEOUT": None})
    assert_works(result)
    assert result.stdout.splitlines()[0] == "cpu True None 4"


# --- device (device.choose_device) -------------------------------------------------------

def test_break_theano_1_refuses_the_2015_device_name(stack):
    from theano.configdefaults import DeviceParam
    device = DeviceParam("cpu")
    assert device.filter("cuda0") == "cuda0"
    with pytest.raises(ValueError, match="old GPU back-end"):
        device.filter("gpu")


@slow
@no_pygpu
def test_fix_device_gpu_runs_on_the_cpu_and_says_why(tmp_path):
    rc = tmp_path / "theanorc"
    rc.write_text("[global]\ndevice = gpu\nfloatX = float32\n")
    result = run_program("settings.py", env={"THEANORC": str(rc)})
    assert_works(result)
    assert result.stdout.split()[0] == "cpu"
    note = result.stdout.splitlines()[1]
    assert "device=cuda" in note and "pygpu" in note and "docs/gpu.md" in note
    # information where it is asked for (gpu_note), nothing on stderr
    assert [line for line in result.stderr.splitlines() if "BLAS" not in line] == []


def test_fix_device_gpu_is_renamed_cuda(stack, theanorc, monkeypatch):
    device = stack.device
    theanorc("[global]\ndevice = gpu0\n")
    found = types.SimpleNamespace(util=types.SimpleNamespace(find_spec=lambda name: object()))
    monkeypatch.setattr(device, "importlib", found)  # pretend pygpu is there
    monkeypatch.setattr(device, "fallback_from", None)
    gpu_log = logging.getLogger("theano.gpuarray")
    try:
        assert device.choose_device() == "cuda0"
        assert stack.settings.theano_flags() == {"device": "cuda0"}
        assert device._one_line_gpu_errors in gpu_log.filters
        assert device.fallback_from is None
    finally:
        gpu_log.removeFilter(device._one_line_gpu_errors)


def test_cpu_device_is_left_alone(stack, theanorc, monkeypatch):
    monkeypatch.setattr(stack.device, "fallback_from", None)
    theanorc("[global]\ndevice = cpu\n")
    assert stack.device.choose_device() == "cpu"
    assert stack.settings.theano_flags() == {}
    assert stack.device.fallback_from is None


def test_gpu_start_failure_is_logged_in_one_line(stack):
    device = stack.device
    try:
        raise RuntimeError("cuInit failed: no CUDA-capable device is detected")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("theano.gpuarray", logging.ERROR, __file__, 1,
                               "Could not initialize pygpu, support disabled",
                               None, exc_info)
    assert "Traceback" in logging.Formatter().format(logging.makeLogRecord(record.__dict__))
    assert device._one_line_gpu_errors(record) is True
    text = logging.Formatter().format(record)
    assert text == ("Could not initialize pygpu, support disabled: cuInit failed: "
                    "no CUDA-capable device is detected (%s)" % device.GPU_HELP)


# --- theano_today for one's own code ---------------------------------------------------------

@slow
def test_theano_today_installs_for_code_outside_the_repository(tmp_path):
    site = tmp_path / "site"
    installed = run_python("-m", "pip", "install", "--quiet", "--no-deps",
                           "--no-build-isolation", "--target", site, REPO, timeout=600)
    assert installed.returncode == 0, installed.stderr
    assert "theano_today" in {p.name for p in site.iterdir()}
    elsewhere = tmp_path / "my-2015-project"
    elsewhere.mkdir()
    result = run_python(PROGRAMS / "own_code.py", cwd=elsewhere, env={"PYTHONPATH": str(site)})
    assert_works(result, "(50,)")
    assert result.stdout.splitlines()[0].startswith(str(site / "theano_today"))
