"""A nolearn net's parameters on disk, written whole and read without running code.

nolearn saves parameters with pickle and loads them with pickle.load, which
calls whatever function a file names: a crafted file runs code. load()
reads only what a parameter file holds (dicts, lists, numbers, strings and
numpy arrays); save() writes to a temporary file and renames it, so a
failed or interrupted write leaves an older file whole.

    theano_today.params.save(net, "mlp.pkl")
    net.load_params_from(theano_today.params.load("mlp.pkl"))
"""
import collections
import errno
import os
import pickle

import numpy as np

#: The globals a parameter file names: OrderedDict and numpy's array
#: reconstruction (numpy 1 and numpy 2 spellings, pickle protocols 2 to 5).
ALLOWED = {("collections", "OrderedDict"), ("numpy", "ndarray"), ("numpy", "dtype")} | {
    (package + suffix, name)
    for package in ("numpy.core", "numpy._core")
    for suffix, name in ((".multiarray", "_reconstruct"), (".multiarray", "scalar"),
                         (".numeric", "_frombuffer"))}


class ParamsError(Exception):
    """A parameter file that cannot be used; the message names it."""


class _ParamsUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in ALLOWED:
            raise ParamsError("names %s.%s, which no parameter file does and which "
                              "could run code on loading" % (module, name))
        return super().find_class(module, name)


def load(path):
    """The dict a parameter file holds (layer name -> list of arrays, and
    whatever else was saved beside them); raises ParamsError."""
    try:
        with open(path, "rb") as f:
            saved = _ParamsUnpickler(f).load()
    except ParamsError as e:
        raise ParamsError("%s: refused, not loaded: it %s" % (path, e))
    except OSError as e:
        raise ParamsError("%s: cannot be read (%s)" % (path, e.strerror or e))
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError,
            ImportError, IndexError, KeyError, MemoryError) as e:
        raise ParamsError("%s: truncated or corrupt (%s: %s)" % (path, type(e).__name__, e))
    if not isinstance(saved, dict):
        raise ParamsError("%s: not a parameter file (it holds a %s)"
                          % (path, type(saved).__name__))
    return saved


def check_fits(net, saved, path):
    """Raise ParamsError unless saved has a value of the right shape for
    every parameter of net (nolearn would skip a mismatch with a message,
    or silently when not verbose, and train from where it was)."""
    for layer, values in net.get_all_params_values().items():
        expected = [np.shape(v) for v in values]
        got = [np.shape(v) for v in saved[layer]] if layer in saved else "missing"
        if got != expected:
            raise ParamsError("%s: not this net's parameters (layer %r: %s, expected %s)"
                              % (path, layer, got, expected))


def save(net, path, **extra):
    """net's parameters, as nolearn's save_params_to writes them, plus the
    extra entries, to path (through path.part). A symbolic link is followed
    (the file it names is replaced, the link kept); a path that is not a
    file (/dev/null, a pipe) is refused: renaming over it would replace it."""
    path = os.path.realpath(path)
    if os.path.exists(path) and not os.path.isfile(path):
        raise OSError(errno.EEXIST, "exists and is not a file", path)
    values = collections.OrderedDict(net.get_all_params_values())
    values.update(extra)
    part = path + ".part"
    try:
        with open(part, "wb") as f:
            pickle.dump(values, f, -1)
        os.replace(part, path)
    except BaseException:
        if os.path.exists(part):
            os.remove(part)
        raise
