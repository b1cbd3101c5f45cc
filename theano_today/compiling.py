"""Compiling Theano's C code today: numpy 2's removed macros, and a disk that fills up.

With numpy 2 (Python 3.13), every C file Theano compiles needs numpy2.h
first (choose_numpy2_cxxflags, set before Theano starts). A full disk under
Theano's compile directory, which g++ reports inside a generic "Compilation
failed", is made one line (watch_compile_disk, compile_problem).
"""
import contextlib
import errno
import io
import logging
import os
import re
import sys
import traceback

from theano_today import settings

# --- numpy 2: the C names Theano 1.0.5 uses ------------------------------------------

#: Macros that numpy 2 removed, for every C file Theano compiles.
NUMPY2_HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "numpy2.h")


def choose_numpy2_cxxflags():
    """With numpy 2 (Python >= 3.13, fixes.check_numpy_version), Theano's C
    code needs numpy2.h before anything else: add `-include` it to
    gcc.cxxflags, after the user's own flags. Returns the flags set, or None
    with numpy 1. (Theano splits gcc.cxxflags at spaces: a checkout whose
    path has one cannot be used with numpy 2.)"""
    from theano_today import fixes
    if not fixes.numpy_2():
        return None
    return settings.include_in_c_code(NUMPY2_HEADER)


# --- a disk that fills up -------------------------------------------------

NO_SPACE = os.strerror(errno.ENOSPC)  # "No space left on device", as g++ and ld say it

#: The one line that says the compile directory's disk is full, once it has.
disk_full = None


def _free_space(path):
    """'123 KB free' on the file system that holds path (or its nearest parent)."""
    while path and not os.path.exists(path):
        path = os.path.dirname(path)
    try:
        stat = os.statvfs(path or "/")
    except OSError:
        return "free space unknown"
    return "%d KB free" % (stat.f_bavail * stat.f_frsize // 1024)


def _chain(error):
    """error and the exceptions it was raised from or while handling."""
    while error is not None:
        yield error
        error = error.__cause__ or error.__context__


def _no_space(error):
    """True when error, or one it came from, is the disk being full."""
    return any(getattr(e, "errno", None) == errno.ENOSPC or NO_SPACE in str(e)
               for e in _chain(error))


def _note_disk_full():
    global disk_full
    # theano.configparser, not theano: this may run while theano's import fails
    config = getattr(sys.modules.get("theano.configparser"), "config", None)
    where = getattr(config, "compiledir", None) or "~/.theano"
    disk_full = ("theano_today: the disk of Theano's compile directory is full (%s, %s), "
                 "so Theano cannot compile its C code. Fix: free some space there, or "
                 "compile elsewhere: THEANO_FLAGS=base_compiledir=/a/folder/with/space"
                 % (where, _free_space(os.path.expanduser(where))))


def _quiet_after_disk_full(record):
    """Logging filter: once the disk is full, Theano's optimizer would log a
    traceback for every rewrite that compiles C code (constant folding, each
    in turn); compile_problem says it once instead."""
    return disk_full is None


def watch_compile_disk():
    """Make a full disk under Theano's compile directory one line.

    g++ and ld report the full disk in the compiler's output, which Theano
    wraps in a generic "Compilation failed"; its optimizer then logs each
    failure and carries on, and the program ends in an unrelated error (an
    AssertionError in Theano's module cache). Every compilation goes
    through GCC_compiler.compile_str: its failures are checked for the full
    disk there, the optimizer's log silenced from then on, and
    compile_problem turns whatever error ends the program into the line."""
    from theano.gof import cmodule
    compile_str = cmodule.GCC_compiler.compile_str
    if getattr(compile_str, "watches_disk", False):
        return

    def watched(*args, **kwargs):
        # Theano prints where it kept the failed C code; for a full disk
        # that is noise (and one more file): held back, then let through
        # for every other outcome.
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                return compile_str(*args, **kwargs)
        except Exception as error:
            if _no_space(error):
                _note_disk_full()
                for kept in re.findall(r"temporary file: (\S+)", printed.getvalue()):
                    with contextlib.suppress(OSError):
                        os.remove(kept)
                printed = None
            raise
        finally:
            if printed is not None:
                sys.stdout.write(printed.getvalue())

    watched.watches_disk = True
    cmodule.GCC_compiler.compile_str = staticmethod(watched)
    logging.getLogger("theano.gof.opt").addFilter(_quiet_after_disk_full)


def compile_problem(error):
    """The full-disk line when error ended a program after Theano found its
    compile directory's disk full (or is itself the full disk there, met
    while Theano compiled); None for any other error."""
    if disk_full is None and _compiling_out_of_space(error):
        _note_disk_full()
    return disk_full


def _compiling_out_of_space(error):
    """True when error came from a full disk met inside Theano's C
    compilation (cmodule: writing the C file, g++ or ld)."""
    cmodule = os.path.join("theano", "gof", "cmodule.py")
    return any(frame.f_code.co_filename.endswith(cmodule)
               for e in _chain(error) if _no_space(e)
               for frame, _ in traceback.walk_tb(e.__traceback__))

