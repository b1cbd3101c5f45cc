"""A nolearn net's parameters on disk, written whole and read without running code.

nolearn saves parameters with pickle and loads them with pickle.load, which
calls whatever function a file names: a crafted file runs code. load()
reads only what a parameter file holds (dicts, lists, numbers, strings and
numpy arrays), from any supported Python and numpy (and Python 2's, 2015's);
fit_to() checks that they are the net's, layer by layer, shape by shape, and
converts them to its precision (floatX), saying so. save() writes through
theano_today.files: a failed or interrupted write leaves an older file whole.

    params.save(net, "mlp.pkl")
    net.load_params_from(params.fit_to(net, params.load("mlp.pkl"), "mlp.pkl"))

(SharedDataNeuralNet's save_params_to and load_params_from do both.)
"""
import collections
import pickle
import sys

import numpy as np

from theano_today import files

#: The globals a parameter file names: OrderedDict and numpy's array
#: reconstruction (numpy 1 and numpy 2 spellings, pickle protocols 2 to 5;
#: protocol 2 from Python 3 writes bytes as _codecs.encode(text, 'latin1')).
ALLOWED = {("collections", "OrderedDict"), ("numpy", "ndarray"), ("numpy", "dtype"),
           ("_codecs", "encode")} | {
    (package + suffix, name)
    for package in ("numpy.core", "numpy._core")
    for suffix, name in ((".multiarray", "_reconstruct"), (".multiarray", "scalar"),
                         (".numeric", "_frombuffer"))}
#: numpy's own name for its core here: numpy 2 renamed numpy.core to numpy._core
#: (numpy 1.26 has both; numpy 2 warns on the old one).
CORE = "numpy._core" if int(np.__version__.split(".")[0]) >= 2 else "numpy.core"


class ParamsError(Exception):
    """A parameter file that cannot be used; the message names it."""


class _ParamsUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in ALLOWED:
            raise ParamsError("names %s.%s, which no parameter file does and which "
                              "could run code on loading" % (module, name))
        if module.startswith(("numpy.core.", "numpy._core.")):  # written by the other numpy
            module = CORE + module[module.index("core") + 4:]
        return super().find_class(module, name)


def load(path):
    """The dict a parameter file holds (layer name -> list of arrays, and
    whatever else was saved beside them); raises ParamsError."""
    try:
        with files.open_file(path) as f:
            # latin1: a file pickled by Python 2 holds its arrays as byte strings
            saved = _ParamsUnpickler(f, encoding="latin1").load()
    except ParamsError as e:
        raise ParamsError("%s: refused, not loaded: it %s" % (path, e))
    except files.FileError as e:
        raise ParamsError(str(e))
    except OSError as e:
        raise ParamsError("%s: cannot be read (%s)" % (path, e.strerror or e))
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError,
            ImportError, IndexError, KeyError, MemoryError, RecursionError) as e:
        raise ParamsError("%s: truncated or corrupt (%s: %s)" % (path, type(e).__name__, e))
    if not isinstance(saved, dict):
        raise ParamsError("%s: not a parameter file (it holds a %s)"
                          % (path, type(saved).__name__))
    return saved


def fit_to(net, saved, path):
    """saved's values for every parameter of net, converted to the net's
    precision (one line on stderr says so); ParamsError unless each layer of
    the net has arrays of the right shapes there, of finite numbers. (nolearn
    would skip a mismatch with a message, or silently when not verbose, and
    train from where it was; Theano refuses float64 for a float32 net.)"""
    fitted, converted = {}, set()
    for layer, values in net.get_all_params_values().items():
        got = saved.get(layer)
        if not values and not got:  # a layer without parameters (the input) may be left out
            fitted[layer] = []
            continue
        if not isinstance(got, (list, tuple)) or not all(
                isinstance(v, np.ndarray) and v.dtype.kind in "fiu" for v in got):
            raise ParamsError("%s: not this net's parameters (layer %r: %s, expected %d "
                              "arrays of numbers)" % (path, layer, "missing" if got is None
                                                      else type(got).__name__, len(values)))
        shapes, expected = [v.shape for v in got], [np.shape(v) for v in values]
        if shapes != expected:
            raise ParamsError("%s: not this net's parameters (layer %r: %s, expected %s)"
                              % (path, layer, shapes, expected))
        if not all(np.isfinite(v).all() for v in got):
            raise ParamsError("%s: layer %r holds values that are not numbers (nan or inf): "
                              "the parameters of a diverged net; use a file saved before "
                              "it diverged" % (path, layer))
        fitted[layer] = [v.astype(mine.dtype) for v, mine in zip(got, values)]
        converted |= {str(v.dtype) for v, mine in zip(got, values) if v.dtype != mine.dtype}
    if converted:
        mine = sorted({str(v.dtype) for vs in net.get_all_params_values().values() for v in vs})
        print("note: %s holds %s parameters (saved with another floatX): loaded as %s, "
              "this net's" % (path, "/".join(sorted(converted)), "/".join(mine)),
              file=sys.stderr)
    return fitted


def save(net, path, **extra):
    """net's parameters, as nolearn's save_params_to writes them, plus the
    extra entries, to path, whole (theano_today.files.write: a symbolic link
    is followed, a folder, pipe or device refused); raises OSError."""
    values = collections.OrderedDict(net.get_all_params_values())
    values.update(extra)
    files.write(path, lambda f: pickle.dump(values, f, -1))
