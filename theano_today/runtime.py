"""Where and how Theano runs: BLAS, threads, device, and the output around it.

Theano reads its configuration once, when it is imported, so choose_blas_flags,
choose_threads and choose_device must run before that (importing theano_today
runs them). Each reads the setting Theano will see (THEANO_FLAGS first, then
$THEANORC or ~/.theanorc) and overrides it through THEANO_FLAGS only where the
machine cannot honour it.

A configuration Theano cannot start with (a config file that is not one, a
value it refuses, a compile directory it cannot write) is reported in one
line naming the file or flag and the fix: check_settings reads the settings
before Theano does, configuration_problem explains what Theano raised.
So is a compile directory whose disk fills up (watch_compile_disk, compile_problem).
"""
import configparser
import contextlib
import errno
import importlib.util
import io
import logging
import os
import re
import shlex
import subprocess
import sys
import traceback

#: Messages about the set-up (the BLAS fallback) go through this logger.
log = logging.getLogger("theano_today")

GPU_HELP = "to use a GPU, see docs/gpu.md"

#: Set by choose_device when the device asked for could not be had: what was asked.
fallback_from = None


# --- the settings Theano will read ------------------------------------------------

def _theano_flags():
    """THEANO_FLAGS as a dict, split as Theano splits it (shlex, so quotes
    must pair: ValueError if not); 'a__b' means 'a.b', and the last of a
    name wins, as in Theano."""
    splitter = shlex.shlex(os.environ.get("THEANO_FLAGS", ""), posix=True)
    splitter.whitespace = ","
    splitter.whitespace_split = True
    flags = {}
    for item in splitter:
        if "=" in item:
            key, value = item.split("=", 1)
            flags[key.strip().replace("__", ".")] = value.strip()
    return flags


class ConfigurationError(Exception):
    """A setting Theano cannot start with; the message is one line that
    names the file or flag, the bad value, and the fix."""


def _theanorc_files():
    """The config files Theano reads, in its order (later ones win):
    $THEANORC (os.pathsep-separated) or ~/.theanorc."""
    files = [os.path.expanduser(p)
             for p in os.environ.get("THEANORC", "~/.theanorc").split(os.pathsep)]
    if os.environ.get("THEANORC") is None and sys.platform == "win32":
        files.append(os.path.expanduser("~/.theanorc.txt"))
    return files


def _theanorc_defaults():
    """The names Theano lets its config files interpolate, as %(USER)s."""
    return {"USER": os.getenv("USER", os.path.split(os.path.expanduser("~"))[-1]),
            "LSCRATCH": os.getenv("LSCRATCH", ""), "TMPDIR": os.getenv("TMPDIR", ""),
            "TEMP": os.getenv("TEMP", ""), "TMP": os.getenv("TMP", ""),
            "PID": str(os.getpid())}


def _one_line(text):
    return " ".join(str(text).split())


def _file_fix(path):
    """What to do about a config file that Theano cannot use."""
    if os.environ.get("THEANORC") is not None:
        return "correct %s, or unset THEANORC to use ~/.theanorc" % path
    return ("correct or delete it; `python setup_theanorc.py` installs the tutorial's "
            "one (keeping yours as a backup)")


def _broken_file_message(path, error):
    """One line: why Theano cannot read the config file path, and the fix."""
    fix = _file_fix(path)
    if os.environ.get("THEANORC") is None:
        where = "the Theano config file %s" % path
    else:
        where = "the Theano config file %s (named by THEANORC)" % path
    if isinstance(error, UnicodeDecodeError):
        return ("theano_today: %s is not a text file (byte 0x%02x at offset %d is not %s). "
                "Fix: %s." % (where, error.object[error.start], error.start,
                              error.encoding, fix))
    if isinstance(error, configparser.MissingSectionHeaderError):
        return ("theano_today: %s has no section header before line %d (%s). "
                "Fix: start it with a section such as [global], or %s."
                % (where, error.lineno, _one_line(repr(error.line.strip())), fix))
    if isinstance(error, configparser.ParsingError) and error.errors:
        lineno, line = error.errors[0]
        if sys.version_info >= (3, 13):  # the line itself; before 3.13, its repr
            line = repr(line)
        line = _one_line(line).replace("\\n'", "'")
        return ("theano_today: %s, line %d, is not 'option = value': %s. "
                "Fix: correct or delete that line, or %s." % (where, lineno, line, fix))
    reason = _one_line(error.message if isinstance(error, configparser.Error) else error)
    return "theano_today: %s cannot be read: %s. Fix: %s." % (where, reason.rstrip("."), fix)


def _read_theanorc():
    """The config files Theano reads, parsed as Theano parses them; a file
    it could not parse raises ConfigurationError."""
    parser = configparser.ConfigParser(_theanorc_defaults())
    for path in _theanorc_files():
        try:
            parser.read([path])  # one at a time, to name the broken one
        except (configparser.Error, UnicodeDecodeError) as e:
            raise ConfigurationError(_broken_file_message(path, e)) from None
    return parser


def _user_setting(name):
    """(where, value) of the setting Theano will use for 'section.option':
    where is 'THEANO_FLAGS' or the config file's path; (None, None) when
    unset. A config file that cannot be read is passed over here
    (check_settings names it)."""
    flags = _theano_flags()
    if name in flags:
        return "THEANO_FLAGS", flags[name]
    section, option = name.rsplit(".", 1) if "." in name else ("global", name)
    for path in reversed(_theanorc_files()):  # the last file read wins
        parser = configparser.ConfigParser(_theanorc_defaults())
        try:
            parser.read([path])
        except (configparser.Error, UnicodeDecodeError):
            continue
        if parser.has_option(section, option):
            try:
                return path, parser.get(section, option)
            except configparser.InterpolationError:  # Theano then takes the raw text too
                return path, parser.get(section, option, raw=True)
    return None, None


def _theano_setting(name):
    """The value Theano will use for 'section.option', None when unset."""
    return _user_setting(name)[1]


def _add_theano_flag(name, value):
    """Override a Theano setting: THEANO_FLAGS wins over the config files."""
    flags = os.environ.get("THEANO_FLAGS", "")
    os.environ["THEANO_FLAGS"] = (flags + "," if flags else "") + "%s=%s" % (name, value)


# --- settings Theano cannot start with -------------------------------------------------

def _check_theano_flags():
    """THEANO_FLAGS must split as Theano splits it."""
    flags = os.environ.get("THEANO_FLAGS", "")
    try:
        _theano_flags()
    except ValueError as e:
        raise ConfigurationError(
            "theano_today: THEANO_FLAGS=%s cannot be read (%s). Fix: pair the quotes "
            "(or escape them with a backslash) in THEANO_FLAGS, or unset it"
            "." % (flags, str(e).lower())) from None


def check_settings():
    """Before Theano starts: THEANO_FLAGS and the config files must be
    readable; raises ConfigurationError (one line, with the fix) if not.
    The values in them are checked by Theano itself (configuration_problem)."""
    _check_theano_flags()
    _read_theanorc()


def _refused_setting(error):
    """(config parameter, value) whose check raised error while Theano
    read its settings: the innermost ConfigParam.__set__ it went through."""
    found = None
    for frame, _ in traceback.walk_tb(error.__traceback__):
        code = frame.f_code
        if (code.co_name == "__set__"
                and code.co_filename.endswith(os.path.join("theano", "configparser.py"))):
            param = frame.f_locals.get("self")
            if hasattr(param, "fullname"):
                found = param, frame.f_locals.get("val")
    return found


def _compiledir_message(error):
    """One line: Theano cannot write its compile directory, which setting
    (compiledir, base_compiledir or the default) put it there, and the fix."""
    for name in ("compiledir", "base_compiledir"):
        where, value = _user_setting(name)
        if where:
            setting = "%s=%s, set in %s" % (name, value, where)
            fix = ("point %s in %s at a folder you can write, or remove it to use "
                   "Theano's default, ~/.theano" % (name, where))
            break
    else:
        setting = "Theano's default, ~/.theano"
        fix = ("make ~/.theano writable, or set base_compiledir to a folder you can write, "
               "e.g. THEANO_FLAGS=base_compiledir=/tmp/theano")
    return ("theano_today: Theano cannot write its compile directory (%s): %s. Fix: %s."
            % (setting, _one_line(error).rstrip("."), fix))


def configuration_problem(error):
    """One line saying what is wrong with the configuration, where, and the
    fix, when error is Theano refusing a setting as it starts (a value of
    THEANO_FLAGS or a config file, or its compile directory); None for any
    other error, which is not the configuration's to explain."""
    if isinstance(error, ConfigurationError):
        return str(error)
    if compile_problem(error):  # Theano compiles its own helpers as it starts
        return disk_full
    found = _refused_setting(error)
    if found is None:
        return None
    param, value = found
    name = param.fullname
    if name == "compiledir":
        return _compiledir_message(error)
    if getattr(param, "is_default", True):
        return None  # Theano's own default failed: not a setting of the user's
    source, _ = _user_setting(name)
    reason = error.args[0] if error.args and isinstance(error.args[0], str) else error
    if source == "THEANO_FLAGS":
        where = "THEANO_FLAGS sets %s=%s" % (name, value)
        fix = "correct or remove it in THEANO_FLAGS"
    elif source:
        where = "%s sets %s = %s" % (source, name, value)
        fix = "correct or delete that line in %s" % source
    else:
        where, fix = "%s=%s" % (name, value), "correct %s in THEANO_FLAGS or ~/.theanorc" % name
    return ("theano_today: %s, which Theano refuses: %s. Fix: %s."
            % (where, _one_line(reason).rstrip("."), fix))


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
    own = _theano_setting("gcc.cxxflags") or ""
    if NUMPY2_HEADER in own:
        return own
    value = " ".join(own.split() + ["-include", NUMPY2_HEADER])
    _add_theano_flag("gcc.cxxflags", value)
    return value


# --- BLAS -----------------------------------------------------------------------------

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

    A break of the stack: with no blas.ldflags, Theano 1.0.5 guesses the BLAS
    through numpy.distutils, which no longer imports beside a recent
    setuptools, and crashes. Any explicit value avoids that: '-lopenblas' when
    the system has OpenBLAS (fast), else '' (Theano's own NumPy-based
    fallback, slower but always works). A value asking for OpenBLAS that the
    system lacks is replaced by '' with a one-line notice.
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


# --- threads ---------------------------------------------------------------------------

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


# --- device ----------------------------------------------------------------------------

def _one_line_gpu_errors(record):
    """Logging filter: Theano logs a failed GPU start with a full traceback."""
    if record.exc_info:
        record.msg = "%s: %s (%s)" % (record.getMessage(), record.exc_info[1], GPU_HELP)
        record.args = ()
        record.exc_info = None
    return True


def choose_device():
    """The CPU, quietly, where the GPU back end is not installed.

    A break of the stack: the article's .theanorc said device=gpu, the old
    CUDA back end that Theano 1.0 removed (it refuses the name); its successor
    is device=cuda, which needs pygpu (libgpuarray). Without pygpu Theano
    would log a traceback; here Theano runs on the CPU, fallback_from
    records what was asked, and describe() and gpu_check.py say so.
    """
    global fallback_from
    device = _theano_setting("device") or "cpu"
    if device.startswith("gpu"):  # 2015 name -> Theano 1.0 name
        device = "cuda" + device[3:]
        _add_theano_flag("device", device)
    if not device.startswith(("cuda", "opencl")):
        return device
    if importlib.util.find_spec("pygpu") is None:
        fallback_from = device
        _add_theano_flag("device", "cpu")
        return "cpu"
    # pygpu is there; if the GPU still fails to start, keep that to one line.
    logging.getLogger("theano.gpuarray").addFilter(_one_line_gpu_errors)
    return device


def gpu_active():
    """True when Theano computes on its GPU back end: device=cuda (or an
    OpenCL device, such as pocl in bench/opencl_env.sh) and pygpu started."""
    import theano
    if not theano.config.device.startswith(("cuda", "opencl")):
        return False
    from theano import gpuarray
    return bool(gpuarray.pygpu_activated)


def gpu_note():
    """Why Theano runs on the CPU although a GPU was asked for, and what to
    do; None when it runs where it was asked to."""
    import theano
    if fallback_from:
        return ("Theano runs on the CPU: the configuration asks for device=%s, "
                "and Theano's GPU back end (pygpu) is not installed here; %s."
                % (fallback_from, GPU_HELP))
    if theano.config.device.startswith(("cuda", "opencl")) and not gpu_active():
        return ("Theano runs on the CPU: device=%s did not start (see the message "
                "above); %s." % (theano.config.device, GPU_HELP))
    return None


def describe():
    """One line: where Theano runs, in which precision, with which BLAS."""
    import theano
    device = theano.config.device
    if fallback_from:
        device = "cpu (no GPU back end for device=%s: gpu_check.py says more)" % fallback_from
    elif device.startswith(("cuda", "opencl")) and not gpu_active():
        device = "cpu (GPU %s did not start)" % device
    blas = theano.config.blas.ldflags or "Theano's built-in BLAS"
    return "Theano %s on %s, floatX=%s, BLAS: %s" % (
        theano.__version__, device, theano.config.floatX, blas)


# --- compiling: a disk that fills up -------------------------------------------------

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


# --- output -----------------------------------------------------------------------------

def plain_epoch_table():
    """nolearn colours its epoch table with ANSI codes, which land as
    '[36m2.01014[0m' in files and pipes: plain text unless stdout is a terminal."""
    if sys.stdout.isatty():
        return
    from nolearn.lasagne.util import ansi
    for name in [n for n in vars(ansi) if n.isupper()]:
        setattr(ansi, name, "")


def log_to_stderr():
    """theano_today's notices as plain lines on stderr, unless the program
    has set up logging itself."""
    if not logging.getLogger().handlers and not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.propagate = False
