"""Files written whole, whatever sits at their name; files read only where they are files.

    from theano_today import files
    files.write("results.json", json.dumps(results))          # str (UTF-8) or bytes,
    files.write("net.pkl", lambda f: pickle.dump(values, f))   # or a function filling f
    files.create("x.backup", data)    # a name that must be new: FileExistsError if not
    with files.open_file("net.pkl") as f: ...                  # or files.read(path)

write(path, data) fills a new file in path's folder, created exclusively under a
name of its own (.NAME.XXXXXXXX.tmp, never one already there, be it another run's,
a crash's or another user's), flushes it to the disk and renames it over path:
a reader sees the old file or the new one, never part of one, and a failure or
Ctrl-C leaves the old one as it was. What already sits at path decides:

  nothing         the file is created, as open() would (0666 less the umask)
  a file          replaced; the new one keeps its permission bits (and, where
                  allowed, its owner and group). Other names of the same file
                  (hard links) keep the old contents, as with any editor.
  a symbolic link followed: the file it leads to is written (and created where
                  only that file is missing), the link kept. Refused: a link
                  in a loop, one into a folder that does not exist, and one
                  another user made in a shared sticky folder such as /tmp
                  (the rule of Linux's fs.protected_symlinks).
  anything else   a folder, FIFO, device or socket: refused, left as it is.

check(path) applies those rules alone, to refuse a path before a long run.
user_path(text) expands ~ and $VARIABLES in a path option; printable_output()
lets stdout print any path; keep_standard_streams() points closed ones at /dev/null.
open_file and read refuse whatever is not a regular file (a FIFO would wait
for a writer forever, /dev/zero never ends) without reading it.

Refusals and failures raise FileError, an OSError whose message is one line
naming the path and the fix. This module imports the standard library only:
the scripts that run without Theano (report.py, setup_theanorc.py,
cifar_loader.py) load it by its path (setup_theanorc.theano_today_files), as
theano_today/__init__.py would import Theano first.
"""
import errno
import os
import stat
import sys

#: A temporary name holds at most this many bytes of its target's name, so that
#: it fits wherever the target's fits (NAME_MAX, 255 on Linux file systems).
STEM_BYTES = 200
#: How many symbolic links in a row are followed before calling it a loop (Linux's).
MAX_LINKS = 40


class FileError(OSError):
    """A file that cannot be written or read as asked; str() is one line
    that names it and the fix; errno and strerror, where set, the cause."""

    def __init__(self, message, code=None, reason=None):
        super().__init__(message)
        self.errno, self.strerror = code, reason

    def __str__(self):
        return self.args[0]


def _kind(mode):
    """What a file that is not a regular file is, in words; None for a regular file."""
    for is_kind, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                          (stat.S_ISSOCK, "a socket")):
        if is_kind(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def _follows(link):
    """Whether a link may be followed: not one another user made in a sticky,
    world-writable folder (/tmp), where it may lead anywhere they like."""
    folder = os.stat(os.path.dirname(link) or os.curdir)
    shared = folder.st_mode & stat.S_ISVTX and folder.st_mode & stat.S_IWOTH
    owner = os.lstat(link).st_uid
    return not shared or owner in (os.geteuid(), folder.st_uid)


def check(path):
    """The file that writing to path replaces or creates: path, or where its
    symbolic links lead. Raises FileError where the rules above refuse it."""
    path = os.fspath(path)
    if not os.path.basename(path):
        raise FileError("%s names a folder: name a file in it" % path, errno.EISDIR)
    final = path
    for _ in range(MAX_LINKS):
        if not os.path.islink(final):
            break
        if not _follows(final):
            raise FileError("%s is a symbolic link another user made in the shared folder %s: "
                            "not followed; remove it or name another file"
                            % (final, os.path.dirname(final) or os.curdir), errno.EACCES)
        final = os.path.join(os.path.dirname(final), os.readlink(final))
    else:
        raise FileError("%s is a symbolic link that leads in a loop: remove it or name "
                        "another file" % path, errno.ELOOP)
    folder = os.path.dirname(final) or os.curdir
    if not os.path.isdir(folder):
        if final != path:
            raise FileError("%s is a symbolic link to %s, whose folder does not exist: create "
                            "%s or remove the link" % (path, final, folder), errno.ENOENT)
        raise FileError("folder %s does not exist: create it first" % folder, errno.ENOENT)
    try:
        mode = os.stat(final).st_mode
    except OSError:
        mode = None  # nothing there yet
    if mode is not None and _kind(mode):
        raise FileError("%s is %s, not a file: it is left as it is; move it away or name another file"
                        % (final if final == path else "%s (where %s leads)" % (final, path),
                           _kind(mode)), errno.EISDIR if stat.S_ISDIR(mode) else errno.EEXIST)
    try:
        longest = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        longest = 255
    if len(os.fsencode(os.path.basename(final))) > longest:
        raise FileError("%s: the name is longer than the %d bytes a file name may have "
                        "here: name a shorter file" % (final, longest), errno.ENAMETOOLONG)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise FileError("folder %s is not writable: name a file in a folder you can write to"
                        % folder, errno.EACCES)
    return final


def _open_new(path, mode=0o666):
    """A file descriptor of a file created at path, which must be new: never
    one that exists, nor where a link there leads. FileExistsError if taken."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                   mode)


def _fill(fd, data):
    """Write data (bytes, str as UTF-8, or a function of a binary file) to the
    open fd, to the disk; closes fd."""
    with os.fdopen(fd, "wb") as f:
        if callable(data):
            data(f)
        else:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        f.flush()
        os.fsync(f.fileno())


def _temporary(final):
    """(fd, name) of a new file beside final, under a name no one else has."""
    folder, name = os.path.split(final)
    stem = name
    while len(os.fsencode(stem)) > STEM_BYTES:
        stem = stem[:-1]
    for _ in range(100):
        temp = os.path.join(folder, ".%s.%s.tmp" % (stem, os.urandom(4).hex()))
        try:
            return _open_new(temp), temp
        except FileExistsError:
            continue
    raise FileError("could not find a free temporary name beside %s" % final, errno.EEXIST)


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _failed(path, error, kept):
    """The one line for an OSError while writing path."""
    if isinstance(error, FileError):
        return error
    reason = error.strerror or str(error)
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "name a file in a folder you can write to"
    elif error.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free some space there and run again"
    else:
        fix = "check the disk and run again"
    return FileError("could not write %s (%s): %s; %s" % (path, reason, kept, fix), error.errno,
                     reason)


def write(path, data):
    """Put data in path, whole (see the module's notes); returns the file
    written (where path's links lead). Raises FileError."""
    final = check(path)
    try:
        before = os.stat(final)
    except OSError:
        before = None
    kept = "it is left as it was" if before else "nothing was written"
    try:
        fd, temp = _temporary(final)
    except OSError as e:
        raise _failed(path, e, kept) from None
    try:
        if before is not None:
            os.fchmod(fd, stat.S_IMODE(before.st_mode))
            try:
                os.fchown(fd, before.st_uid, before.st_gid)
            except OSError:
                pass  # only root may give a file away: it stays ours
        _fill(fd, data)
        os.replace(temp, final)
    except OSError as e:
        _remove(temp)
        raise _failed(path, e, kept) from None
    except BaseException:
        _remove(temp)
        raise
    _sync_folder(os.path.dirname(final))
    return final


def create(path, data, like=None):
    """Write data to path, which must not exist yet (not even as a link);
    the permission bits of the stat result like, if given. Raises
    FileExistsError where path is taken, else FileError."""
    path = os.fspath(path)
    fd = _open_new(path)  # FileExistsError: the caller picks another name
    try:
        if like is not None:
            os.fchmod(fd, stat.S_IMODE(like.st_mode))
        _fill(fd, data)
    except OSError as e:
        _remove(path)
        raise _failed(path, e, "nothing was written") from None
    except BaseException:
        _remove(path)
        raise
    _sync_folder(os.path.dirname(path))
    return path


def _sync_folder(folder):
    """The rename itself to the disk, where the file system allows."""
    try:
        fd = os.open(folder or os.curdir, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def open_file(path):
    """path opened for reading (binary), if it is a regular file (links
    followed); else FileError, without opening it. A missing file raises
    FileNotFoundError, for the caller to say what that means."""
    path = os.fspath(path)
    try:
        mode = os.stat(path).st_mode
        if not _kind(mode):
            # O_NONBLOCK: should a FIFO take the file's place meanwhile, open
            # returns instead of waiting for a writer, and fstat refuses it
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            mode = os.fstat(fd).st_mode
            if _kind(mode):
                os.close(fd)
            else:
                os.set_blocking(fd, True)
                return os.fdopen(fd, "rb")
    except FileNotFoundError:
        if os.path.islink(path):
            raise FileError("%s is a symbolic link to %s, which does not exist: remove the "
                            "link or create that file" % (path, os.readlink(path)), errno.ENOENT)
        raise
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise FileError("%s is a symbolic link that leads in a loop: remove it" % path,
                            e.errno) from None
        raise FileError("%s cannot be read (%s): check its permissions"
                        % (path, e.strerror or e), e.errno) from None
    raise FileError("%s is %s, not a file: move it away or name a file" % (path, _kind(mode)),
                    errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL)


def read(path):
    """The bytes of the regular file path (open_file's checks)."""
    with open_file(path) as f:
        try:
            return f.read()
        except OSError as e:
            raise FileError("%s cannot be read (%s)" % (path, e.strerror or e), e.errno) from None


# --- paths as people write them, and print them ----------------------------------------

def user_path(text):
    """A path as its user wrote it, ~ and $VARIABLES expanded as a shell
    would: one quoted in a config file or a script ('~/data') arrives as it
    is. Every path option and variable of the tutorial goes through here."""
    return os.path.expanduser(os.path.expandvars(os.fspath(text)))


def keep_standard_streams():
    """Standard streams the caller closed (python mlp.py >&-) lead to
    /dev/null instead: a closed descriptor 0, 1 or 2 is lent to the next file
    opened (a parameter file), into which OpenMP's or OpenBLAS's messages to
    stderr would then go; and Python's None for sys.stdout fails where code
    writes to it (a download's progress)."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    for name in ("stdin", "stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "r" if name == "stdin" else "w"))


def printable_output():
    """Paths are printed as they are named: one that stdout's encoding cannot
    hold (a name that is not UTF-8, PYTHONIOENCODING=ascii) is printed with
    backslash escapes, as stderr prints it, not a failure after the work."""
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
