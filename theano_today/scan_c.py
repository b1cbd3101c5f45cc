"""theano.scan's compiled loop on Python 3.11 and later.

Theano 1.0.5 runs scan's inner loop in C that Cython 0.28 generated
(theano/scan_module/c_code/scan_perform.c, shipped without its .pyx). From
Python 3.11 on that C no longer compiles (longintrepr.h moved, PyCode_New
takes other arguments, frames and thread states are opaque; with numpy 2 a
dtype's fields too), and Theano falls back to its Python loop, tens of
times slower per step. mended_source mends the C as it is compiled, without
touching the installed file: Cython's own switches turn off the internals it
can do without, and the few lines that use a changed API are rewritten.
load() builds it once per Python into Theano's compile directory, under
Theano's lock, as Theano builds its own modules; fixes.compile_scan gives it
to Theano in place of theano.scan_module.scan_perform_ext.
"""
import os
import re
import sys
import warnings

from theano_today import files

#: Bumped when the mends change: a module built by other mends is rebuilt.
MEND_VERSION = 2

#: Before the generated C: Cython 0.28's fast paths through CPython's
#: internals off (their headers or fields changed), and two helpers.
_HEAD = """/* theano_today: Cython 0.28's scan_perform.c, mended for Python 3.11+ */
#define CYTHON_USE_PYLONG_INTERNALS 0
#define CYTHON_FAST_THREAD_STATE 0
#define CYTHON_FAST_PYCALL 0
#define CYTHON_USE_UNICODE_WRITER 0
#include "Python.h"
/* code objects for tracebacks: PyCode_New's arguments changed in 3.11 */
static PyCodeObject *theano_today_code_new(PyObject *file, PyObject *name, int line) {
  const char *f = PyUnicode_Check(file) ? PyUnicode_AsUTF8(file) : PyBytes_AsString(file);
  const char *n = PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : PyBytes_AsString(name);
  return (f && n) ? PyCode_NewEmpty(f, n, line) : NULL;
}
/* 3.12 removed PyUnicode_GET_SIZE; the generated code compares two names' sizes */
#if PY_VERSION_HEX >= 0x030c0000
#define PyUnicode_GET_SIZE(o) PyUnicode_GET_LENGTH(o)
#endif
/* 3.13 added with_exceptions */
#if PY_VERSION_HEX >= 0x030d0000
#define theano_today_long_as_bytes(v, b, n, little, sign) _PyLong_AsByteArray(v, b, n, little, sign, 1)
#else
#define theano_today_long_as_bytes(v, b, n, little, sign) _PyLong_AsByteArray(v, b, n, little, sign)
#endif
"""

#: (what the generated C says, what it says mended, how many times it says it).
_MENDS = [
    # a traceback's code object, and its line: through the public API
    ("          PyCode_New(a, k, l, s, f, code, c, n, v, fv, cell, fn, name, fline, lnos)",
     "          theano_today_code_new(fn, name, fline)", 1),
    ("#define __Pyx_PyFrame_SetLineNumber(frame, lineno)  (frame)->f_lineno = (lineno)",
     "#define __Pyx_PyFrame_SetLineNumber(frame, lineno)  ((void)(frame), (void)(lineno))", 1),
    # a raised exception's traceback set with PyErr_Fetch/Restore (PyPy's
    # branch), not in the thread state's fields (gone in 3.12)
    ("#if CYTHON_COMPILING_IN_PYPY\n        PyObject *tmp_type, *tmp_value, *tmp_tb;\n"
     "        PyErr_Fetch(&tmp_type, &tmp_value, &tmp_tb);",
     "#if 1\n        PyObject *tmp_type, *tmp_value, *tmp_tb;\n"
     "        PyErr_Fetch(&tmp_type, &tmp_value, &tmp_tb);", 1),
    # a negative int told by comparing it with 0 (the portable branch), not
    # by Py_SIZE, which means something else for an int from 3.12 on
    ("#if CYTHON_COMPILING_IN_CPYTHON\n            if (unlikely(Py_SIZE(x) < 0)) {",
     "#if 0\n            if (unlikely(Py_SIZE(x) < 0)) {", 3),
]


class MendError(Exception):
    """The C is not the one these mends were written for."""


def mended_source(source, numpy2):
    """The generated C, mended to compile on this Python (and numpy 2)."""
    for old, new, times in _MENDS:
        if source.count(old) != times:
            raise MendError("scan_perform.c is not Theano 1.0.5's (%r found %d times, not %d)"
                            % (old[:40], source.count(old), times))
        source = source.replace(old, new)
    source = source.replace("_PyLong_AsByteArray((PyLongObject *)v,",
                            "theano_today_long_as_bytes((PyLongObject *)v,")
    if numpy2:  # a dtype's subarray, names and fields through numpy 2's accessors
        for field, accessor in (("subarray", "PyDataType_SUBARRAY"),
                                ("names", "PyDataType_NAMES"), ("fields", "PyDataType_FIELDS")):
            source = re.sub(r"__pyx_v_(d|descr)->%s\b" % field, r"%s(__pyx_v_\1)" % accessor,
                            source)
    return _HEAD + source


def _version():
    """Theano's version of the C (its get_version()), and the mends'."""
    return "0.296-%d" % MEND_VERSION


def load():
    """The compiled loop as a module (perform, get_version), built into
    Theano's compile directory the first time, under Theano's lock; raises
    what the build raises."""
    import theano
    from theano.gof import cmodule
    from theano.gof.compilelock import get_lock, release_lock

    location = os.path.join(theano.config.compiledir, "scan_perform_today")
    marker = os.path.join(location, "mends")
    library = os.path.join(location, "scan_perform" + cmodule.get_lib_extension())
    get_lock()
    try:
        with warnings.catch_warnings():
            # Cython checks the sizes of numpy's types as it imports the module;
            # numpy 2's broadcast object grew, and scan's loop never uses it
            warnings.filterwarnings("ignore", message="numpy.* size changed",
                                    category=RuntimeWarning)
            if os.path.exists(library) and os.path.isfile(marker):
                if files.read(marker) == _version().encode():
                    return cmodule.dlimport(library)
            return _build(location, marker)
    finally:
        release_lock()


def _build(location, marker):
    """Compile the mended C into location, with the flags Theano's own build
    of this file uses (scan_perform_ext.py); record the mends' version."""
    import numpy as np
    import theano
    from theano.gof import cmodule
    os.makedirs(location, exist_ok=True)
    cfile = os.path.join(os.path.dirname(theano.__file__), "scan_module", "c_code",
                         "scan_perform.c")
    with open(cfile) as f:
        source = mended_source(f.read(), numpy2=int(np.__version__.split(".")[0]) >= 2)
    preargs = ["-fwrapv", "-O2", "-fno-strict-aliasing"] + cmodule.GCC_compiler.compile_args()
    preargs += ["-DNPY_%s=NPY_ARRAY_%s" % (flag, flag) for flag in (
        "ENSUREARRAY", "ENSURECOPY", "ALIGNED", "WRITEABLE", "UPDATE_ALL",
        "C_CONTIGUOUS", "F_CONTIGUOUS")]
    module = cmodule.GCC_compiler.compile_str("scan_perform", source, location=location,
                                              preargs=preargs, hide_symbols=False)
    files.write(marker, _version())
    return module


def python_loop_note(error):
    """One line: the compiled loop could not be had, and what runs instead."""
    return ("theano_today: theano.scan runs its Python loop (slower): its compiled loop "
            "did not build on Python %d.%d (%s)"
            % (sys.version_info[:2] + (" ".join(str(error).split())[:200],)))
