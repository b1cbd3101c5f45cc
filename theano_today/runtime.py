"""Where and how Theano runs: BLAS, threads, device, and the output around it.

Theano reads its configuration once, when it is imported, so choose_blas_flags,
choose_threads and choose_device must run before that (importing theano_today
runs them). Each reads the setting Theano will see (THEANO_FLAGS first, then
$THEANORC or ~/.theanorc) and overrides it through THEANO_FLAGS only where the
machine cannot honour it.
"""
import configparser
import importlib.util
import logging
import os
import subprocess
import sys

#: Messages about the set-up (the BLAS fallback) go through this logger.
log = logging.getLogger("theano_today")

GPU_HELP = "to use a GPU, see docs/gpu.md"

#: Set by choose_device when the device asked for could not be had: what was asked.
fallback_from = None


# --- the settings Theano will read ------------------------------------------------

def _theano_flags():
    """THEANO_FLAGS as a dict (Theano accepts both 'a.b' and 'a__b')."""
    flags = {}
    for item in os.environ.get("THEANO_FLAGS", "").split(","):
        if "=" in item:
            key, value = item.split("=", 1)
            flags[key.strip().replace("__", ".")] = value.strip()
    return flags


def _theanorc_value(section, option):
    """A value from the config files Theano reads (THEANORC or ~/.theanorc)."""
    default = os.pathsep.join(
        os.path.expanduser(p) for p in ("~/.theanorc", "~/.theanorc.txt"))
    parser = configparser.ConfigParser()
    try:
        parser.read(os.environ.get("THEANORC", default).split(os.pathsep))
    except configparser.Error:
        return None  # Theano will report the broken file itself
    return parser.get(section, option, fallback=None)


def _theano_setting(name):
    """The value Theano will use for 'section.option', None when unset."""
    flags = _theano_flags()
    if name in flags:
        return flags[name]
    section, option = name.split(".") if "." in name else ("global", name)
    return _theanorc_value(section, option)


def _add_theano_flag(name, value):
    """Override a Theano setting: THEANO_FLAGS wins over the config files."""
    flags = os.environ.get("THEANO_FLAGS", "")
    os.environ["THEANO_FLAGS"] = (flags + "," if flags else "") + "%s=%s" % (name, value)


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
