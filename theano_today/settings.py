"""The settings Theano will read, and one line for a setting it cannot start with.

Theano reads its configuration once, when it is imported: THEANO_FLAGS first,
then $THEANORC or ~/.theanorc. theano_today reads the same settings before
Theano does (setting, user_setting), overrides one through THEANO_FLAGS where
the machine cannot honour it (add_flag), and says so through `log`.

A configuration Theano cannot start with (a config file that is not one, a
value it refuses, a compile directory it cannot write) is reported in one
line naming the file or flag and the fix: check_settings reads the settings
before Theano does, configuration_problem explains what Theano raised.
"""
import configparser
import logging
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import traceback

#: Messages about the set-up (a BLAS or a setting replaced) go through this logger.
log = logging.getLogger("theano_today")


def log_to_stderr():
    """theano_today's notices as plain lines on stderr, unless the program
    has set up logging itself."""
    if not logging.getLogger().handlers and not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.propagate = False


# --- the settings Theano will read ------------------------------------------------

def theano_flags():
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


def one_line(text):
    return " ".join(str(text).split())


def _file_fix(path):
    """What to do about a config file that Theano cannot use."""
    if os.environ.get("THEANORC") is not None:
        return "correct %s, or unset THEANORC to use ~/.theanorc" % path
    return ("correct or delete it; `python setup_theanorc.py` installs the tutorial's "
            "one (keeping yours as a backup)")


def _file_name(path):
    """The config file path, in words."""
    if os.environ.get("THEANORC") is None:
        return "the Theano config file %s" % path
    return "the Theano config file %s (named by THEANORC)" % path


def _broken_file_message(path, error):
    """One line: why Theano cannot read the config file path, and the fix."""
    fix, where = _file_fix(path), _file_name(path)
    if isinstance(error, UnicodeDecodeError):
        return ("theano_today: %s is not a text file (byte 0x%02x at offset %d is not %s). "
                "Fix: %s." % (where, error.object[error.start], error.start,
                              error.encoding, fix))
    if isinstance(error, configparser.MissingSectionHeaderError):
        return ("theano_today: %s has no section header before line %d (%s). "
                "Fix: start it with a section such as [global], or %s."
                % (where, error.lineno, one_line(repr(error.line.strip())), fix))
    if isinstance(error, configparser.ParsingError) and error.errors:
        lineno, line = error.errors[0]
        if sys.version_info >= (3, 13):  # the line itself; before 3.13, its repr
            line = repr(line)
        line = one_line(line).replace("\\n'", "'")
        return ("theano_today: %s, line %d, is not 'option = value': %s. "
                "Fix: correct or delete that line, or %s." % (where, lineno, line, fix))
    reason = one_line(error.message if isinstance(error, configparser.Error) else error)
    return "theano_today: %s cannot be read: %s. Fix: %s." % (where, reason.rstrip("."), fix)


def _not_a_config_file(path):
    """Why Theano cannot use path as a config file (a FIFO would stall it for
    ever, /dev/zero fill the memory; one it cannot open, or a missing one
    that THEANORC names, would be passed over in silence), or None: a
    regular file it can read, or no ~/.theanorc at all (THEANORC='' names none)."""
    if not path:
        return None
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.islink(path):
            return "is a symbolic link to %s, which does not exist" % os.readlink(path)
        return "does not exist" if os.environ.get("THEANORC") is not None else None
    except OSError as e:
        return "cannot be read (%s)" % (e.strerror or e)
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a FIFO, device or socket), which Theano would read for ever"
    if not os.access(path, os.R_OK):
        return "cannot be read (permission denied)"
    return None


def _read_theanorc():
    """The config files Theano reads, parsed as Theano parses them; a file
    it could not use raises ConfigurationError."""
    parser = configparser.ConfigParser(_theanorc_defaults())
    for path in _theanorc_files():
        problem = _not_a_config_file(path)
        if problem:
            raise ConfigurationError("theano_today: %s %s. Fix: %s."
                                     % (_file_name(path), problem, _file_fix(path)))
        try:
            parser.read([path])  # one at a time, to name the broken one
        except (configparser.Error, UnicodeDecodeError) as e:
            raise ConfigurationError(_broken_file_message(path, e)) from None
    return parser


def user_setting(name):
    """(where, value) of the setting Theano will use for 'section.option':
    where is 'THEANO_FLAGS' or the config file's path; (None, None) when
    unset. A config file that cannot be read is passed over here
    (check_settings names it)."""
    flags = theano_flags()
    if name in flags:
        return "THEANO_FLAGS", flags[name]
    section, option = name.rsplit(".", 1) if "." in name else ("global", name)
    for path in reversed(_theanorc_files()):  # the last file read wins
        parser = configparser.ConfigParser(_theanorc_defaults())
        if _not_a_config_file(path):
            continue
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


def setting(name):
    """The value Theano will use for 'section.option', None when unset."""
    return user_setting(name)[1]


def setting_is_true(name):
    """True when Theano will read the boolean setting name as true."""
    return (setting(name) or "").strip().lower() in ("true", "1")


def add_flag(name, value):
    """Override a Theano setting: THEANO_FLAGS wins over the config files."""
    flags = os.environ.get("THEANO_FLAGS", "")
    os.environ["THEANO_FLAGS"] = (flags + "," if flags else "") + "%s=%s" % (name, value)


def include_in_c_code(header):
    """Force header into every C file Theano compiles: `-include header`
    added to gcc.cxxflags, after the user's own flags, once. Returns the
    flags. (Theano splits gcc.cxxflags at spaces: a header whose path has
    one cannot be included; callers check with has_space.)"""
    own = setting("gcc.cxxflags") or ""
    if header in own.split():
        return own
    value = " ".join(own.split() + ["-include", header])
    add_flag("gcc.cxxflags", value)
    return value


def has_space(path):
    """True when path cannot stand in a flag that Theano splits at spaces."""
    return any(c.isspace() for c in path)


# --- settings Theano cannot start with -------------------------------------------------

def _check_theano_flags():
    """THEANO_FLAGS must split as Theano splits it."""
    flags = os.environ.get("THEANO_FLAGS", "")
    try:
        theano_flags()
    except ValueError as e:
        raise ConfigurationError(
            "theano_today: THEANO_FLAGS=%s cannot be read (%s). Fix: pair the quotes "
            "(or escape them with a backslash) in THEANO_FLAGS, or unset it"
            "." % (flags, str(e).lower())) from None


def set_by(name, value, source):
    """(where, fix): the words for the setting name=value read from source
    (THEANO_FLAGS, a config file's path, or None for where it would be)."""
    if source == "THEANO_FLAGS":
        return ("THEANO_FLAGS sets %s=%s" % (name, value),
                "correct or remove it in THEANO_FLAGS")
    if source:
        return ("%s sets %s = %s" % (source, name, value),
                "correct or delete that line in %s" % source)
    return "%s=%s" % (name, value), "correct %s in THEANO_FLAGS or ~/.theanorc" % name


#: The most threads a thread-count variable may ask for: far more than the
#: cores of any machine this runs on; OpenMP would try to start 10**11 (and abort).
MAX_THREADS = 1024
#: The variables that set how many threads OpenMP and the BLAS run.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _check_thread_counts():
    """Each of THREAD_VARIABLES, where set, must be a whole number from 1 to
    MAX_THREADS: Theano refuses any other OMP_NUM_THREADS with a traceback,
    and OpenMP and OpenBLAS misread the rest (0 or 'all' as their default)."""
    for name in THREAD_VARIABLES:
        value = os.environ.get(name, "")
        if value == "":  # as unset, for Theano and OpenMP alike
            continue
        try:
            fits = 1 <= int(value) <= MAX_THREADS
        except ValueError:
            fits = False
        if not fits:
            raise ConfigurationError(
                "theano_today: %s=%s is not a number of threads (a whole number from 1 to %d). "
                "Fix: set it to one, e.g. %s=%d (this machine's cores), or unset it."
                % (name, shlex.quote(value), MAX_THREADS, name, os.cpu_count() or 1))


#: The names Theano lets compiledir_format use, as %(name)s.
COMPILEDIR_NAMES = ("platform", "processor", "python_version", "python_bitwidth",
                    "python_int_bitwidth", "theano_version", "numpy_version", "gxx_version",
                    "hostname")


def _check_compiledir_format():
    """compiledir_format must name only COMPILEDIR_NAMES: Theano formats it
    as it starts, and a KeyError would be its traceback."""
    source, value = user_setting("compiledir_format")
    if source is None:
        return
    try:
        value % {name: "x" for name in COMPILEDIR_NAMES}
    except (KeyError, ValueError, TypeError) as e:
        where, fix = set_by("compiledir_format", value, source)
        raise ConfigurationError(
            "theano_today: %s, which Theano cannot use: %s (it may name %s). Fix: %s."
            % (where, "no name %s" % e if isinstance(e, KeyError) else one_line(e),
               ", ".join("%%(%s)s" % n for n in COMPILEDIR_NAMES), fix)) from None


def build_error(flags):
    """The first error line of the C++ compiler (cxx, else g++) building a
    shared library, as Theano builds its modules, with flags (a list); None
    where it builds."""
    with tempfile.TemporaryDirectory() as folder:
        command = [compiler()] + flags + ["-x", "c++", "-", "-x", "none", "-shared", "-fPIC",
                                          "-o", os.path.join(folder, "check.so")]
        try:
            done = subprocess.run(command, input="int theano_today_check() { return 0; }\n",
                                  capture_output=True, text=True, errors="replace", timeout=120)
        except (OSError, subprocess.SubprocessError) as e:
            return one_line(e)
    if done.returncode == 0:
        return None
    # g++'s own words, or the linker's, before collect2's summary of them
    lines = [line for line in done.stderr.splitlines() if not line.startswith("collect2")
             and ("error" in line.lower() or "cannot find" in line)]
    return one_line((lines or done.stderr.splitlines() or ["exit status %d" % done.returncode])[0])


def compiler():
    """The C++ compiler Theano will run: cxx, else g++."""
    cxx = setting("cxx")
    return cxx.strip() if cxx is not None and cxx.strip() else "g++"


def _check_compiler():
    """cxx must name a compiler that is there, and gcc.cxxflags be flags it
    takes: Theano would fail only at its first compilation, that of the
    training step, in a traceback."""
    source, cxx = user_setting("cxx")
    if source and cxx.strip() and shutil.which(cxx.strip()) is None:
        where, fix = set_by("cxx", cxx, source)
        raise ConfigurationError(
            "theano_today: %s, a C++ compiler that is not there. Fix: %s (Theano then uses "
            "g++), or install it." % (where, fix))
    source, flags = user_setting("gcc.cxxflags")
    if not (source and flags.strip()):
        return
    problem = build_error(flags.split())
    if problem:
        where, fix = set_by("gcc.cxxflags", flags, source)
        raise ConfigurationError("theano_today: %s, which the C++ compiler refuses: %s. Fix: %s."
                                 % (where, problem.rstrip("."), fix))


def check_settings():
    """Before Theano starts: THEANO_FLAGS and the config files must be
    readable, the thread counts numbers, the compiler and its flags usable;
    raises ConfigurationError (one line, with the fix) if not. Most values
    are checked by Theano itself (configuration_problem)."""
    _check_theano_flags()
    _read_theanorc()
    _check_thread_counts()
    _check_compiledir_format()
    _check_compiler()


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
        where, value = user_setting(name)
        if where:
            chosen = "%s=%s, set in %s" % (name, value, where)
            fix = ("point %s in %s at a folder you can write, or remove it to use "
                   "Theano's default, ~/.theano" % (name, where))
            break
    else:
        chosen = "Theano's default, ~/.theano"
        fix = ("make ~/.theano writable, or set base_compiledir to a folder you can write, "
               "e.g. THEANO_FLAGS=base_compiledir=/tmp/theano")
    return ("theano_today: Theano cannot write its compile directory (%s): %s. Fix: %s."
            % (chosen, one_line(error).rstrip("."), fix))


def configuration_problem(error):
    """One line saying what is wrong with the configuration, where, and the
    fix, when error is Theano refusing a setting as it starts (a value of
    THEANO_FLAGS or a config file, or its compile directory); None for any
    other error, which is not the configuration's to explain."""
    if isinstance(error, ConfigurationError):
        return str(error)
    found = _refused_setting(error)
    if found is None:
        return None
    param, value = found
    name = param.fullname
    if name == "compiledir":
        return _compiledir_message(error)
    if getattr(param, "is_default", True):
        return None  # Theano's own default failed: not a setting of the user's
    source, _ = user_setting(name)
    reason = error.args[0] if error.args and isinstance(error.args[0], str) else error
    where, fix = set_by(name, value, source)
    return ("theano_today: %s, which Theano refuses: %s. Fix: %s."
            % (where, one_line(reason).rstrip("."), fix))

