"""The BLAS Theano's C code links, and how many threads it runs.

Theano's matrix products and convolutions call a BLAS, named by
blas.ldflags. Left unset, Theano 1.0.5 asks numpy.distutils for one, which no
longer imports (a break of the stack); and the OpenBLAS a system or numpy's
wheel ships may be too old to know today's CPUs (it then runs its SSE3
kernels). So theano_today links the current OpenBLAS that pip installs with
the tutorial (scipy-openblas32): its names carry a scipy_ prefix, which
scipy_openblas.h, forced into Theano's C code, adds to Theano's calls.

The order: a BLAS the user names in blas.ldflags (a system `-lopenblas` only
where the system has it); else the pip OpenBLAS; else the system's OpenBLAS;
else Theano's own fallback through numpy, with one line saying so. That
fallback needs the GIL, which the OpenMP threads of Theano's convolution do
not hold (the process would abort): with it, openmp is turned off, said in
one line. All of this runs before Theano starts (importing theano_today).
"""
import ctypes
import glob
import importlib.util
import os
import subprocess

from theano_today import settings
from theano_today.settings import log

PIP_PACKAGE = "scipy-openblas32"
#: Renames Theano's BLAS calls to the pip OpenBLAS's names.
HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scipy_openblas.h")
#: The prefix of that library's names (scipy_sgemm_, scipy_openblas_get_config).
PIP_PREFIX = "scipy_"
FALLBACK = "Theano's built-in BLAS (slow)"
#: How to have a real BLAS instead.
FIX = ("install %s (`pip install -r requirements.txt`) and leave blas.ldflags unset, "
       "or name a BLAS in blas.ldflags" % PIP_PACKAGE)


def pip_openblas():
    """The library file of the OpenBLAS pip installed (scipy-openblas32), found
    without loading it; None where the package is not installed."""
    spec = importlib.util.find_spec("scipy_openblas32")
    if spec is None or not spec.submodule_search_locations:
        return None
    lib_dir = os.path.join(list(spec.submodule_search_locations)[0], "lib")
    found = sorted(glob.glob(os.path.join(lib_dir, "libscipy_openblas*.so")))
    return found[0] if found else None


def system_openblas():
    """The system OpenBLAS that `-lopenblas` links (libopenblas-dev or
    similar), None where the C compiler finds none."""
    try:
        found = subprocess.run(["g++", "-print-file-name=libopenblas.so"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return found if os.path.isabs(found) and os.path.exists(found) else None


def _pip_flags(library):
    """blas.ldflags for the pip OpenBLAS (Theano adds the -rpath itself);
    None where its path, or that of HEADER (which renames Theano's calls
    through gcc.cxxflags), has a space, which Theano's flags cannot hold."""
    lib_dir, name = os.path.split(library)
    if settings.has_space(lib_dir) or settings.has_space(HEADER):
        return None
    return "-L%s -l%s" % (lib_dir, name[len("lib"):-len(".so")])


def unlinkable(ldflags):
    """Why the C++ compiler cannot link with ldflags (a folder of -L that is
    not there, a library of -l it cannot find), or None where it can."""
    for flag in ldflags.split():
        if flag.startswith("-L") and not os.path.isdir(flag[2:]):
            return "its folder %s (%s) does not exist" % (flag[2:], flag)
    problem = settings.build_error(ldflags.split())
    return problem and "the linker says: %s" % problem.rstrip(".")


def _check_named_blas(wanted):
    """The BLAS the user names must link: else Theano fails at its first
    compilation, the training step's, in a traceback."""
    problem = unlinkable(wanted)
    if problem:
        source, _ = settings.user_setting("blas.ldflags")
        where, fix = settings.set_by("blas.ldflags", wanted, source)
        raise settings.ConfigurationError(
            "theano_today: %s, which cannot be linked: %s. Fix: install that BLAS, or %s "
            "to use the OpenBLAS pip installs (%s)." % (where, problem, fix, PIP_PACKAGE))


def choose_blas_flags():
    """Set blas.ldflags (and, for the pip OpenBLAS, its names) before Theano
    starts, as the module's docstring orders; returns the value. A BLAS the
    user names that cannot be linked raises settings.ConfigurationError."""
    wanted = settings.setting("blas.ldflags")
    if wanted is not None and wanted.strip() != "-lopenblas":
        if wanted.strip():
            _check_named_blas(wanted)
        return wanted  # the user's choice (a path, MKL, '' for Theano's own): it wins
    # the compiler is asked (a process) only where it decides, and once
    if wanted and system_openblas():
        return wanted  # -lopenblas, named and installed
    library = pip_openblas()
    chosen = _pip_flags(library) if library else None
    if chosen:
        settings.include_in_c_code(HEADER)
    elif not wanted and system_openblas():  # named: already known to be missing
        chosen = "-lopenblas"
    else:
        chosen = ""
        why = ("%s is not installed" % PIP_PACKAGE if library is None else
               "its path has a space, which Theano's blas.ldflags cannot hold (%s)" % library)
        log.warning("Theano: no OpenBLAS to link: %s; using %s (fix: %s)", why, FALLBACK, FIX)
    if wanted and chosen != "":
        log.warning("Theano: blas.ldflags=%s but the system has no OpenBLAS; using the "
                    "OpenBLAS pip installed (%s)", wanted, PIP_PACKAGE)
    if chosen != wanted:
        settings.add_flag("blas.ldflags", chosen)
    return chosen


def sets_its_own_threads(ldflags):
    """True when Theano's convolution sets this BLAS's threads to one around
    its OpenMP loop itself (theano/tensor/nnet/corr.py: OpenBLAS and MKL,
    recognised by name in blas.ldflags)."""
    return "openblas" in ldflags or "mkl" in ldflags


def choose_threads(ldflags):
    """One BLAS thread inside Theano's OpenMP loops, all of them for a
    product that stands alone (the MLP's); returns OPENBLAS_NUM_THREADS.

    With openmp = True Theano spreads its loops (convolution, pooling,
    element-wise) over the cores. Its convolution sets OpenBLAS's and MKL's
    threads to one around its loop, so their other products keep all cores.
    OpenBLAS's idle threads then must not spin on the cores that OpenMP's
    loops need next (for about a tenth of a second by default): they sleep
    at once (OPENBLAS_THREAD_TIMEOUT=4, its least). A BLAS Theano cannot set
    gets one thread (OPENBLAS_NUM_THREADS=1). The user's own values win.
    Set before Theano's compiled code loads the BLAS.
    """
    if settings.setting_is_true("openmp") and ldflags.strip():
        if sets_its_own_threads(ldflags):
            os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
        else:
            os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    return os.environ.get("OPENBLAS_NUM_THREADS")


def keep_openmp_safe(ldflags):
    """Turn openmp off where Theano's fallback BLAS would run in its
    threads; returns whether it did.

    Theano's fallback calls numpy, which needs the GIL; the OpenMP threads
    of Theano's convolution (CorrMM) do not hold it, and the process aborts
    ("Fatal Python error: PyEval_SaveThread"). Theano's loops then run on
    one core, and the line says how to have them all."""
    if ldflags.strip() or not settings.setting_is_true("openmp"):
        return False
    settings.add_flag("openmp", "False")
    log.warning("Theano: openmp turned off, as %s cannot run in Theano's OpenMP "
                "threads (fix: %s)", FALLBACK, FIX)
    return True


# --- which BLAS, in words ---------------------------------------------------------------

def _library(ldflags):
    """(file, name prefix) of the OpenBLAS that ldflags links, else (None, None)."""
    library = pip_openblas()
    if library and _pip_flags(library) == ldflags.strip():
        return library, PIP_PREFIX
    if ldflags.strip() == "-lopenblas":
        return system_openblas(), ""
    return None, None


def openblas_info(ldflags=None):
    """{'file', 'version', 'core'} of the OpenBLAS Theano links (loading it
    if Theano has not yet: the same library, as dlopen loads a file once),
    None for any other BLAS. ldflags: Theano's blas.ldflags by default."""
    if ldflags is None:
        import theano
        ldflags = theano.config.blas.ldflags
    path, prefix = _library(ldflags)
    if not path:
        return None
    try:
        lib = ctypes.CDLL(path)
        config, core = (getattr(lib, prefix + f) for f in
                        ("openblas_get_config", "openblas_get_corename"))
    except (OSError, AttributeError):
        return None
    config.restype = core.restype = ctypes.c_char_p
    words = config().decode().split()
    return {"file": path, "version": words[1] if len(words) > 1 else "?",
            "core": core().decode(), "prefix": prefix}


def name():
    """The BLAS Theano links, in words, e.g. 'OpenBLAS 0.3.34.481.3 from pip
    (scipy-openblas32), core type SkylakeX'."""
    import theano
    ldflags = theano.config.blas.ldflags
    if not ldflags.strip():
        return FALLBACK
    info = openblas_info(ldflags)
    if info is None:
        return ldflags
    where = "from pip (%s)" % PIP_PACKAGE if info["prefix"] else "of the system (%s)" % info["file"]
    return "OpenBLAS %s %s, core type %s" % (info["version"], where, info["core"])

