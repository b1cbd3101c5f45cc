"""compat.py: each fix, first the break it mends, then that compat mends it.

A break that depends on import order is shown in a fresh interpreter
(run_python). To show one break alone where Theano must import first, the
script imports compat and then undoes that single fix, so every other fix
stays in place.
"""
import importlib.util
import logging
import subprocess
import sys
import types

import numpy as np
import pytest

from conftest import REPO, SCRIPT_ENV, run_python


def python(code, **kwargs):
    return run_python("-c", code, **kwargs)


def assert_fails_with(result, error):
    assert result.returncode != 0, result.stdout
    assert error in result.stderr, result.stderr


def assert_works(result, output=None):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    if output is not None:
        assert result.stdout.strip().splitlines()[-1] == output, result.stdout


# --- 1. numpy < 2 --------------------------------------------------------------

def test_numpy_2_is_refused_with_the_fix(compat_module, monkeypatch):
    compat_module.check_numpy_version()  # numpy 1.26 here: accepted
    monkeypatch.setattr(compat_module.np, "__version__", "2.0.0")
    with pytest.raises(ImportError, match=r"numpy 2\.0\.0 .*requirements\.txt"):
        compat_module.check_numpy_version()


# --- 2. numpy aliases ------------------------------------------------------------

def test_theano_import_needs_numpy_aliases():
    assert_fails_with(python("import theano"),
                      "AttributeError: module 'numpy' has no attribute 'bool'")
    assert_works(python("import compat, theano, numpy; print(numpy.bool is bool)"), "True")


# --- 3. blas.ldflags -------------------------------------------------------------

DOT = ("import compat, numpy, theano, theano.tensor as T\n"
       "x = T.matrix()\n"
       "f = theano.function([x], T.dot(x, x))\n"
       "print(f(numpy.ones((3, 3), 'float32')).sum())\n")


NUMPY_ALIASES_BY_HAND = ("import numpy\n"
                         "for n, t in dict(bool=bool, int=int, float=float, complex=complex,"
                         " object=object, str=str).items(): setattr(numpy, n, t)\n")


#: Recent setuptools (what `pip install -U setuptools` brings) no longer ships
#: distutils.msvccompiler, which numpy.distutils imports; the venv's bundled
#: setuptools 65 still does. Blocking it shows the break whatever is installed.
MODERN_SETUPTOOLS = "import sys\nsys.modules['distutils.msvccompiler'] = None\n"


def test_theano_without_blas_ldflags_crashes(tmp_path):
    # No blas.ldflags in any config: Theano asks numpy.distutils for its
    # BLAS, which does not import beside a recent setuptools.
    empty = tmp_path / "theanorc"
    empty.write_text("")
    code = (MODERN_SETUPTOOLS + NUMPY_ALIASES_BY_HAND +
            "import theano\nprint(theano.config.blas.ldflags)")
    assert_fails_with(python(code, env={"THEANORC": str(empty)}), "distutils")
    code = MODERN_SETUPTOOLS + ("import compat, theano\n"
                                "print(theano.config.blas.ldflags in ('', '-lopenblas'))")
    assert_works(python(code, env={"THEANORC": str(empty)}), "True")


def test_asking_for_a_blas_the_system_lacks_breaks_compilation():
    # What -lopenblas does on a machine without OpenBLAS, shown with a
    # library no machine has (compat passes a non-OpenBLAS choice through).
    result = python(DOT, env={"THEANO_FLAGS": "blas.ldflags=-lnosuchblas"})
    assert_fails_with(result, "cannot find -lnosuchblas")


def test_blas_fallback_compiles_and_computes():
    # '' is what compat chooses when OpenBLAS is missing.
    assert_works(python(DOT, env={"THEANO_FLAGS": "blas.ldflags="}), "27.0")


@pytest.fixture
def theanorc(tmp_path, monkeypatch):
    """Write a THEANORC for this test, with THEANO_FLAGS empty (monkeypatch
    puts both back, whatever compat writes into THEANO_FLAGS)."""
    def write(text):
        path = tmp_path / "theanorc"
        path.write_text(text)
        monkeypatch.setenv("THEANORC", str(path))
        monkeypatch.setenv("THEANO_FLAGS", "")
        return str(path)
    return write


def test_openblas_asked_but_missing_falls_back_to_builtin_blas(
        compat_module, theanorc, monkeypatch, caplog):
    monkeypatch.setattr(compat_module.log, "propagate", True)  # to caplog
    theanorc("[blas]\nldflags = -lopenblas\n")
    monkeypatch.setattr(compat_module, "openblas_linkable", lambda: False)
    assert compat_module.choose_blas_flags() == ""
    assert compat_module._theano_flags() == {"blas.ldflags": ""}
    assert "OpenBLAS is not installed" in caplog.text


def test_openblas_used_when_linkable(compat_module, theanorc, monkeypatch):
    theanorc("[global]\nfloatX = float32\n")
    monkeypatch.setattr(compat_module, "openblas_linkable", lambda: True)
    assert compat_module.choose_blas_flags() == "-lopenblas"
    assert compat_module._theano_flags() == {"blas.ldflags": "-lopenblas"}


def test_other_blas_choices_are_respected(compat_module, theanorc, monkeypatch):
    theanorc("[blas]\nldflags = -lmkl_rt\n")
    monkeypatch.setattr(compat_module, "openblas_linkable", lambda: False)
    assert compat_module.choose_blas_flags() == "-lmkl_rt"
    assert compat_module._theano_flags() == {}


# --- threads: one OpenBLAS thread under Theano's OpenMP ----------------------

def test_openmp_gives_openblas_one_thread(compat_module, theanorc, monkeypatch):
    theanorc("[global]\nopenmp = True\n")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert compat_module.choose_threads() == "1"


def test_threads_left_alone_without_openmp_or_when_chosen(compat_module, theanorc,
                                                          monkeypatch):
    theanorc("[global]\nopenmp = False\n")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert compat_module.choose_threads() is None
    theanorc("[global]\nopenmp = True\n")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")  # the user's choice wins
    assert compat_module.choose_threads() == "4"


def test_scripts_run_with_the_repository_settings():
    code = ("import compat, os, theano\n"
            "print(theano.config.openmp, os.environ['OPENBLAS_NUM_THREADS'])")
    env = dict(SCRIPT_ENV)
    env.pop("OPENBLAS_NUM_THREADS", None)
    result = subprocess.run([sys.executable, "-c", code], cwd=str(REPO), env=env,
                            capture_output=True, text=True, timeout=300)
    assert_works(result, "True 1")


# --- 4. collections aliases --------------------------------------------------------

def test_collections_iterable():
    code = "from collections import Iterable; print(Iterable.__module__)"
    assert_fails_with(python(code), "cannot import name 'Iterable'")
    assert_works(python("import compat\n" + code), "collections.abc")


# --- 5. theano.tensor.signal.downsample --------------------------------------------

def test_theano_has_no_downsample_module():
    undo = "import sys, compat\ndel sys.modules['theano.tensor.signal.downsample']\n"
    code = "from theano.tensor.signal import downsample\nprint(downsample.max_pool_2d.__name__)"
    assert_fails_with(python(undo + code), "cannot import name 'downsample'")
    assert_works(python("import compat\n" + code), "_max_pool_2d")


@pytest.mark.parametrize("ds, st, padding", [
    ((2, 2), None, (0, 0)),
    ((3, 2), (1, 2), (0, 0)),
    ((2, 2), (2, 2), (1, 1)),
])
def test_max_pool_2d_equals_pool_2d(compat_module, ds, st, padding):
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


# --- 6. sklearn.cross_validation -----------------------------------------------

def test_sklearn_cross_validation_is_gone():
    code = "import sklearn.cross_validation as cv; print(cv.KFold.__module__)"
    assert_fails_with(python(code), "No module named 'sklearn.cross_validation'")
    assert_works(python("import compat\n" + code), "compat")


def assert_partitions(folds, n):
    tests = []
    for train, test in folds:
        assert sorted(np.concatenate([train, test])) == list(range(n))
        tests.extend(test)
    assert sorted(tests) == list(range(n))  # every index tested exactly once


def test_kfold_keeps_the_old_signature(compat_module):
    from sklearn.cross_validation import KFold
    folds = list(KFold(10, 5))
    assert len(KFold(10, 5)) == 5 and len(folds) == 5
    assert list(folds[0][1]) == [0, 1]
    assert list(folds[0][0]) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert_partitions(folds, 10)


def test_stratified_kfold_keeps_class_proportions(compat_module):
    from sklearn.cross_validation import StratifiedKFold
    y = np.array([0] * 20 + [1] * 10 + [2] * 5)
    folds = list(StratifiedKFold(y, 5))
    assert len(folds) == 5
    for train, test in folds:
        assert np.bincount(y[test]).tolist() == [4, 2, 1]
    assert_partitions(folds, len(y))


def test_nolearn_split_uses_the_stand_ins(compat_module):
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


# --- 7. pkg_resources -------------------------------------------------------------

BLOCK = "import sys\nsys.modules['pkg_resources'] = None\n"


@pytest.mark.parametrize("module, shows, output", [
    ("lasagne", "lasagne.__version__", "0.1"),
    # theano.gpuarray names pkg_resources.DistributionNotFound in the except
    # clauses around its optional scikit-cuda imports, which fail here
    ("theano.gpuarray", "'imported'", "imported"),
])
def test_imports_without_pkg_resources(module, shows, output):
    undo = "import compat\nsys.modules['pkg_resources'] = None\n"
    assert_fails_with(python(BLOCK + undo + "import %s" % module),
                      "import of pkg_resources halted")
    assert_works(python(BLOCK + "import compat, %s\nprint(%s)" % (module, shows)), output)


# --- 8. device ---------------------------------------------------------------------

no_pygpu = pytest.mark.skipif(importlib.util.find_spec("pygpu") is not None,
                              reason="pygpu is installed here")


def test_theano_1_refuses_the_2015_device_name(compat_module):
    from theano.configdefaults import DeviceParam
    device = DeviceParam("cpu")
    assert device.filter("cuda0") == "cuda0"
    with pytest.raises(ValueError, match="old GPU back-end"):
        device.filter("gpu")


@no_pygpu
def test_device_gpu_runs_on_the_cpu_with_one_line(tmp_path):
    rc = tmp_path / "theanorc"
    rc.write_text("[global]\ndevice = gpu\nfloatX = float32\n")
    result = python("import compat, theano\nprint(theano.config.device)",
                    env={"THEANORC": str(rc)})
    assert_works(result, "cpu")
    lines = [line for line in result.stderr.splitlines()
             if "BLAS" not in line]  # a machine without OpenBLAS says so too
    assert len(lines) == 1, result.stderr
    assert "device=cuda asked for" in lines[0] and "pygpu" in lines[0]
    assert "running on the CPU" in lines[0]


def test_device_gpu_is_renamed_cuda(compat_module, theanorc, monkeypatch):
    theanorc("[global]\ndevice = gpu0\n")
    found = types.SimpleNamespace(util=types.SimpleNamespace(find_spec=lambda name: object()))
    monkeypatch.setattr(compat_module, "importlib", found)  # pretend pygpu is there
    gpu_log = logging.getLogger("theano.gpuarray")
    try:
        assert compat_module.choose_device() == "cuda0"
        assert compat_module._theano_flags() == {"device": "cuda0"}
        assert compat_module._one_line_gpu_errors in gpu_log.filters
    finally:
        gpu_log.removeFilter(compat_module._one_line_gpu_errors)


def test_cpu_device_is_left_alone(compat_module, theanorc):
    theanorc("[global]\ndevice = cpu\n")
    assert compat_module.choose_device() == "cpu"
    assert compat_module._theano_flags() == {}


def test_gpu_start_failure_is_logged_in_one_line(compat_module):
    try:
        raise RuntimeError("cuInit failed: no CUDA-capable device is detected")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("theano.gpuarray", logging.ERROR, __file__, 1,
                               "Could not initialize pygpu, support disabled",
                               None, exc_info)
    assert "Traceback" in logging.Formatter().format(logging.makeLogRecord(record.__dict__))
    assert compat_module._one_line_gpu_errors(record) is True
    text = logging.Formatter().format(record)
    assert text == ("Could not initialize pygpu, support disabled: cuInit failed: "
                    "no CUDA-capable device is detected (%s)" % compat_module.GPU_HELP)
