"""Helpers for the tests: CIFAR-10 batches in the official format, and
running the repository's scripts and test programs in a fresh interpreter.

    from helpers import run_script, write_cifar_dir, ...
"""
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
PROGRAMS = REPO / "tests" / "programs"

# --- CIFAR-10 batches as the official files hold them ------------------------

TRAIN_BATCHES = ["data_batch_%d" % i for i in range(1, 6)]
TEST_BATCH = "test_batch"
ALL_BATCHES = TRAIN_BATCHES + [TEST_BATCH]
N_PER_BATCH = 100  # 10 images of each class

#: Things that are not a regular file, where a user may have one: name -> maker(path).
SPECIAL_FILES = {"FIFO": os.mkfifo, "link to /dev/zero": lambda path: path.symlink_to("/dev/zero")}


class Py2Pickler(pickle._Pickler):
    """Pickles like Python 2 did: every string is a Python-2 str.

    Python 2's str is a byte string, written with the SHORT_BINSTRING or
    BINSTRING opcode; pickle.load(f, encoding='bytes') turns it into bytes,
    encoding='latin1' into str. The official CIFAR-10 batches were written so
    (protocol 2), including the pixel buffer inside numpy's _reconstruct.
    """
    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj):
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str
    dispatch[str] = save_py2_str


def write_pickle(obj, path):
    """Write obj to path the way Python 2's cPickle.dump(obj, f, 2) did."""
    with open(path, "wb") as f:
        Py2Pickler(f, protocol=2).dump(obj)


def fixture_pixel(batch_index, label, y, x):
    """The (red, green, blue) the fixture puts at row y, column x of an image.

    Red grows along a row, green down a column, and blue is 10 * batch_index
    + label (batch_index 0-4 for data_batch_1-5, 5 for test_batch), so a
    loaded image shows its channel order, orientation, label and batch.
    """
    return 8 * x, 8 * y, 10 * batch_index + label


def make_batch(batch_index, n=N_PER_BATCH):
    """One batch dict; labels cycle 0..9 so all 10 classes are present."""
    labels = [i % 10 for i in range(n)]
    y, x = np.mgrid[0:32, 0:32]
    rows = []
    for label in labels:
        red, green, blue = fixture_pixel(batch_index, label, y, x)
        planes = [red, green, np.broadcast_to(blue, (32, 32))]
        # One row: 1024 red values, then 1024 green, then 1024 blue (row-major).
        rows.append(np.concatenate([p.ravel() for p in planes]))
    name = ALL_BATCHES[batch_index]
    return {
        "batch_label": ("testing batch 1 of 1" if name == TEST_BATCH
                        else "training batch %d of 5" % (batch_index + 1)),
        "labels": labels,
        "data": np.array(rows, dtype=np.uint8),
        "filenames": ["%s_%04d.png" % (name, i) for i in range(n)],
    }


def write_cifar_dir(folder, n=N_PER_BATCH):
    """data_batch_1..5 and test_batch in folder (created); returns it as str."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(ALL_BATCHES):
        write_pickle(make_batch(index, n), folder / name)
    return str(folder)


# --- running the repository's scripts and the test programs ------------------

#: The environment for scripts, taken before any test imports theano_today
#: (which adds THEANO_FLAGS to os.environ): the repository's .theanorc, no
#: THEANO_FLAGS, and no CIFAR10_DIR (every run names its data). conftest
#: imports this module first.
SCRIPT_ENV = {k: v for k, v in os.environ.items()
              if k not in ("THEANO_FLAGS", "CIFAR10_DIR")}
SCRIPT_ENV.update(THEANORC=str(REPO / ".theanorc"), PYTHONUNBUFFERED="1",
                  # tests/programs import theano_today and helpers, as the tests do
                  PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests")]))


def run_python(*args, env=None, cwd=REPO, timeout=300):
    """sys.executable (the .venv's python) with args, in the repository root,
    with SCRIPT_ENV plus env (a None value removes the variable); returns the
    CompletedProcess (text output)."""
    env = {k: v for k, v in dict(SCRIPT_ENV, **(env or {})).items() if v is not None}
    return subprocess.run([sys.executable] + [str(a) for a in args], cwd=str(cwd), env=env,
                          capture_output=True, text=True, timeout=timeout)


def run_script(script, *args, **kwargs):
    """Run a script of the repository, e.g. run_script('mlp.py', '--help')."""
    return run_python(REPO / script, *args, **kwargs)


def run_module(module, *args, **kwargs):
    """python -m module in the repository root, e.g. run_module('bench.feeding')."""
    return run_python("-m", module, *args, **kwargs)


def run_program(name, *args, **kwargs):
    """Run a test program of tests/programs/, e.g. run_program('device.py')."""
    return run_python(PROGRAMS / name, *args, **kwargs)


def assert_clean_failure(result, *words):
    """A non-zero exit whose stderr names each of words and shows no traceback."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)


def assert_one_line(result, *words):
    """A clean failure (assert_clean_failure) whose stderr is exactly one
    line, naming each of words; returns that line."""
    assert_clean_failure(result, *words)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def cnn_training_step(T):
    """The article's CNN as nolearn builds it: (inputs, [loss] + gradients),
    for comparing compiled training steps with and without a speed-up. Its
    weights are seeded: two ways of computing that round differently can
    resolve a near tie in a pooling window differently, which sends a
    gradient elsewhere; a fixed net makes such a comparison pass or fail
    every time, not now and then."""
    import lasagne
    from lasagne.layers import get_all_params, get_output
    from ConvolutionNN import build_cnn
    lasagne.random.set_rng(np.random.RandomState(0))
    net = build_cnn(verbose=0)
    net.initialize_layers()
    x, y = net.layers_["input"].input_var, T.ivector()
    loss = lasagne.objectives.categorical_crossentropy(
        get_output(net.layers_["output"]), y).mean()
    params = get_all_params(net.layers_["output"], trainable=True)
    return [x, y], [loss] + T.grad(loss, params)


def bright_top_half(seed, n=200):
    """(X, y): n 12x12 one-channel images of noise, those of class 1 brighter
    in their top half; a task a small conv net learns in a few epochs. Seeds
    Lasagne's weights too, so that a test's training does not depend on
    what ran before it."""
    import lasagne
    rng = np.random.RandomState(seed)
    lasagne.random.set_rng(np.random.RandomState(seed))
    y = rng.randint(0, 2, n).astype("int32")
    X = rng.rand(n, 1, 12, 12).astype("float32")
    X[y == 1, :, :6] += 0.5
    return X, y
