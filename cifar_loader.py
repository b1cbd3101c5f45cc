"""Load CIFAR-10 from its python-pickle batches, as the article does.

The article uses the CS231n loader: ``load_CIFAR10(ROOT)`` returns

    Xtr (50000, 32, 32, 3) float32   Ytr (50000,) int32
    Xte (10000, 32, 32, 3) float32   Yte (10000,) int32

then turns the colour images into grayscale and centres them around zero.
This module keeps those two functions and the grayscale conversion, checks
every file before it is used, and downloads the official archive (verified
by its md5) when no copy is found.

    python cifar_loader.py [--data-dir DIR]   # check (and fetch) the data set
"""
import argparse
import hashlib
import http.client
import os
import pickle
import shlex
import shutil
import sys
import tarfile
import tempfile
import urllib.request

import numpy as np

from setup_theanorc import theano_today_files

files = theano_today_files()  # writing a file whole, without importing Theano

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
#: The checkout's data folder, wherever the script is run from.
DEFAULT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                           "cifar-10-batches-py")
TRAIN_FILES = ["data_batch_%d" % i for i in range(1, 6)]
TEST_FILE = "test_batch"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck"]
#: ITU-R 601 luma weights, the article's grayscale conversion.
GRAY_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)


class CifarError(Exception):
    """The data set is missing or damaged; the message says which file and the fix."""


#: The only globals a CIFAR-10 batch names: numpy's array reconstruction
#: (numpy 1 and numpy 2 spellings). A pickle may name any other function,
#: to be called while it loads: that is how a crafted file runs code.
BATCH_GLOBALS = {(module, name)
                 for module in ("numpy.core.multiarray", "numpy._core.multiarray")
                 for name in ("_reconstruct", "scalar")} | {("numpy", "ndarray"),
                                                            ("numpy", "dtype")}


class _BatchUnpickler(pickle.Unpickler):
    """pickle's Unpickler that refuses every global but BATCH_GLOBALS."""

    def find_class(self, module, name):
        if (module, name) not in BATCH_GLOBALS:
            raise _Refused("%s.%s" % (module, name))
        return super().find_class(module, name)


class _Refused(pickle.UnpicklingError):
    """A global that no CIFAR-10 batch names."""


# --- reading the batches ----------------------------------------------------

def _read_batch(filename):
    """The dict stored in one batch file, with str keys; raises CifarError."""
    name = os.path.basename(filename)
    try:
        with files.open_file(filename) as f:  # a regular file, else FileError
            # The batches were pickled by Python 2: latin1 maps its byte
            # strings to str, keeping the pixel bytes intact.
            batch = _BatchUnpickler(f, encoding="latin1").load()
    except FileNotFoundError:
        raise CifarError("%s: missing" % name)
    except OSError as e:  # a FIFO, a device, a link in a loop, a file it may not read
        raise CifarError(str(e).replace(filename, name, 1) if isinstance(e, files.FileError)
                         else "%s: cannot be read (%s)" % (name, e.strerror or e))
    except _Refused as e:
        raise CifarError("%s: refused, not loaded: it names %s, which no CIFAR-10 "
                         "batch does and which could run code on loading"
                         % (name, e))
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError,
            AttributeError, ImportError, IndexError, KeyError, MemoryError) as e:
        raise CifarError("%s: truncated or corrupt (%s: %s)"
                         % (name, type(e).__name__, e))
    if not isinstance(batch, dict):
        raise CifarError("%s: not a CIFAR-10 batch (holds a %s, not a dict)"
                         % (name, type(batch).__name__))
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v
             for k, v in batch.items()}
    missing = [k for k in ("data", "labels") if k not in batch]
    if missing:
        raise CifarError("%s: not a CIFAR-10 batch (no %s)"
                         % (name, " or ".join(repr(k) for k in missing)))
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"])
    if data.ndim != 2 or data.shape[1] != 3072 or data.dtype != np.uint8:
        raise CifarError("%s: not a CIFAR-10 batch (data is %s %s, expected "
                         "N x 3072 uint8)" % (name, data.dtype, data.shape))
    if not len(data):
        raise CifarError("%s: not a CIFAR-10 batch (it holds no images)" % name)
    if (labels.shape != (len(data),) or labels.dtype.kind not in "iu"
            or labels.min() < 0 or labels.max() > 9):
        raise CifarError("%s: not a CIFAR-10 batch (%d labels of type %s for %d "
                         "images, expected one whole number 0-9 each)"
                         % (name, labels.size, labels.dtype, len(data)))
    return batch


def load_CIFAR_batch(filename):
    """One batch file -> X (N, 32, 32, 3) float32 in 0..255, Y (N,) int32.

    Each row of 'data' holds 1024 red, then 1024 green, then 1024 blue
    values; reshape to (N, 3, 32, 32) and move the channels last.
    """
    batch = _read_batch(filename)
    X = batch["data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype("float32")
    Y = np.asarray(batch["labels"], dtype="int32")
    return X, Y


def check_CIFAR10(ROOT):
    """Check every batch file under ROOT; raise one CifarError naming each bad file."""
    _read_all(ROOT, _read_batch)


def load_CIFAR10(ROOT):
    """The whole data set: Xtr, Ytr (50,000 images), Xte, Yte (10,000)."""
    loaded = _read_all(ROOT, load_CIFAR_batch)
    xs, ys = [X for X, _ in loaded], [Y for _, Y in loaded]
    Xtr, Ytr = np.concatenate(xs[:-1]), np.concatenate(ys[:-1])
    return Xtr, Ytr, xs[-1], ys[-1]


def _read_all(root, read):
    """read(path) of every batch file, in order; one CifarError for all bad ones."""
    results, bad, problems = [], [], []
    for name in TRAIN_FILES + [TEST_FILE]:
        try:
            results.append(read(os.path.join(root, name)))
        except CifarError as e:
            bad.append(name)
            problems.append(str(e))
    if problems:
        raise CifarError(_problem_report(root, bad, problems))
    return results


def _is_default(root):
    """root is DEFAULT_DIR, the one folder resolve_data_dir fills by downloading."""
    return os.path.abspath(root) == os.path.abspath(DEFAULT_DIR)


def _problem_report(root, bad, problems):
    if _is_default(root):
        fix = ("delete %s and run again, naming no folder, to download the "
               "official copy afresh" % root)
    else:
        # A named folder is never downloaded into: deleting it would only
        # lose the user's files.
        fix = ("replace %s in %s with the file%s of the official archive (%s)"
               % (", ".join(bad), root, "s" if len(bad) > 1 else "", URL))
    return ("CIFAR-10 in %s is not usable:\n  %s\n"
            "Fix: %s, or name another complete cifar-10-batches-py folder: "
            "--data-dir DIR, or CIFAR10_DIR=DIR make mlp."
            % (root, "\n  ".join(problems), fix))


# --- the article's grayscale ------------------------------------------------

def to_grayscale(X):
    """(N, 32, 32, 3) colour -> (N, 32, 32) gray, 0.299 R + 0.587 G + 0.114 B."""
    return np.dot(X[..., :3], GRAY_WEIGHTS).astype("float32")


# --- finding (or fetching) the data set -------------------------------------

def resolve_data_dir(data_dir=None, download=True):
    """Where the batches are: data_dir, else $CIFAR10_DIR, else DEFAULT_DIR
    (data/... of this checkout); ~ and $VARIABLES in a named one expanded.

    A folder that holds cifar-10-batches-py is accepted too. Only the
    default folder is filled by downloading; a folder the user named must
    already hold the data. Raises CifarError with the fix.
    """
    chosen, source = data_dir, None
    if not chosen and os.environ.get("CIFAR10_DIR"):
        chosen, source = os.environ["CIFAR10_DIR"], "CIFAR10_DIR"
    if chosen:
        chosen = files.user_path(chosen)  # '~/cifar' quoted in a script or a config
    else:
        if download and not os.path.isdir(DEFAULT_DIR):
            download_CIFAR10(os.path.dirname(DEFAULT_DIR))
        chosen = DEFAULT_DIR
    nested = os.path.join(chosen, "cifar-10-batches-py")
    if not os.path.exists(os.path.join(chosen, TRAIN_FILES[0])) and os.path.isdir(nested):
        chosen = nested
    _check_folder(chosen, source)
    return chosen


def _check_folder(folder, source):
    """Raise CifarError if folder is no folder, or lacks the batches beside
    their archive; a folder with some batches is left to load_CIFAR10."""
    where = folder + (" (from %s)" % source if source else "")
    problem = _not_a_folder(folder)
    if problem is None and not os.access(folder, os.R_OK | os.X_OK):
        problem = "cannot be read (permission denied)"
    elif problem is None and not any(os.path.lexists(os.path.join(folder, name))
                                     for name in TRAIN_FILES + [TEST_FILE]):
        problem = "holds none of the batch files"
    elif problem is None:
        return
    archive = _archive_near(folder)
    if archive:
        dest = os.path.dirname(archive) or os.curdir
        raise CifarError(
            "CIFAR-10 folder %s %s, but the archive %s is there, not unpacked.\n"
            "Fix: unpack it: tar xzf %s -C %s (this makes %s), then run again "
            "with that folder."
            % (where, problem, archive, shlex.quote(archive), shlex.quote(dest),
               os.path.join(dest, "cifar-10-batches-py")))
    if problem == "holds none of the batch files":
        return  # load_CIFAR10 names each missing file and the fix
    if source:
        fix = ("set %s to the cifar-10-batches-py folder of the python version "
               "of CIFAR-10 (%s), or unset it (and pass no --data-dir) to "
               "download it to %s." % (source, URL, DEFAULT_DIR))
    else:
        fix = ("name the cifar-10-batches-py folder of the python version of "
               "CIFAR-10 (%s) with --data-dir DIR or CIFAR10_DIR=DIR "
               "(CIFAR10_DIR=DIR make mlp), or set neither to download it to %s."
               % (URL, DEFAULT_DIR))
    raise CifarError("CIFAR-10 folder %s %s.\nFix: %s" % (where, problem, fix))


def _not_a_folder(path):
    """Why path is no folder, in words ('does not exist', 'is a file, not a
    folder', ...); None for a folder."""
    if os.path.isdir(path):
        return None
    if os.path.isfile(path):
        return "is a file, not a folder"
    if os.path.islink(path):
        return "is a symbolic link that leads nowhere (to %s)" % os.readlink(path)
    if os.path.lexists(path):
        return "is not a folder (a FIFO, device or socket)"
    return "does not exist"


def _in_the_way(path):
    """The first of path's folders (path included) that exists but is no
    folder: a file named data where data/cifar-10-batches-py goes; None if none."""
    while path and path != os.path.dirname(path):
        if os.path.lexists(path) and not os.path.isdir(path):
            return path
        path = os.path.dirname(path)
    return None


def _archive_near(folder):
    """The official archive that would unpack to folder, if it lies there:
    folder itself, inside folder, or beside a folder named cifar-10-batches-py."""
    name = os.path.basename(URL)
    candidates = [os.path.join(folder, name)]
    if os.path.basename(os.path.normpath(folder)) == name:
        candidates.insert(0, folder)
    if os.path.basename(os.path.normpath(folder)) == "cifar-10-batches-py":
        candidates.append(os.path.join(os.path.dirname(os.path.normpath(folder)), name))
    return next((path for path in candidates if os.path.isfile(path)), None)


def _progress(done, total):
    width = 30
    filled = width * done // total if total else 0
    sys.stderr.write("\r  [%s%s] %5.1f / %.1f MB" % (
        "#" * filled, "." * (width - filled), done / 1e6, total / 1e6))
    sys.stderr.flush()


def md5sum(path, chunk=1 << 20):
    digest = hashlib.md5()
    with files.open_file(path) as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _remove_new_folders(path, stop):
    """Remove path and its parents up to (not including) stop, where empty."""
    while path and os.path.abspath(path) != os.path.abspath(stop):
        try:
            os.rmdir(path)
        except OSError:
            return
        path = os.path.dirname(path)


def download_CIFAR10(parent, url=URL, md5=MD5):
    """Download the official archive into parent/, check its md5, unpack it.

    The archive is written through a temporary file (theano_today.files)
    and takes its name only once its md5 matches; it is unpacked into a
    temporary folder that is then renamed: an interrupted or corrupted
    download or unpacking never looks complete. A download that cannot
    start, breaks off or is interrupted (Ctrl-C) leaves nothing behind.
    """
    unpacked = os.path.join(parent, "cifar-10-batches-py")
    blocked = _in_the_way(unpacked)
    if blocked:
        raise CifarError("%s is in the way of the data set's folder %s (it is not a folder).\n"
                         "Fix: move it away, or name a cifar-10-batches-py folder: "
                         "--data-dir DIR, or CIFAR10_DIR=DIR make mlp." % (blocked, unpacked))
    existing = parent
    while existing and not os.path.isdir(existing):
        existing = os.path.dirname(existing)
    archive = os.path.join(parent, os.path.basename(url))
    try:
        os.makedirs(parent, exist_ok=True)
        if not (os.path.isfile(archive) and md5sum(archive) == md5):
            files.check(archive)  # a FIFO or a link to nowhere there: said before, not after
            print("Downloading CIFAR-10 (163 MB, once) from %s" % url, file=sys.stderr)
            files.write(archive, lambda out: _fetch(url, out, md5))
        if not os.path.isdir(unpacked):  # one there is the user's: never written over
            _unpack(archive, parent)
    except OSError as e:  # the disk or the folder; the network's are CifarError (_body)
        _remove_new_folders(parent, existing or os.curdir)
        if not isinstance(e, files.FileError):  # whose message names the file and the fix
            e = "could not write CIFAR-10 into %s: %s" % (parent, e.strerror or e)
        raise CifarError("%s. Or name a folder that holds the data set: --data-dir DIR, "
                         "or CIFAR10_DIR=DIR make mlp." % e)
    except (CifarError, KeyboardInterrupt):
        _remove_new_folders(parent, existing or os.curdir)
        raise
    print("CIFAR-10 unpacked to %s" % unpacked, file=sys.stderr)


def _unpack(archive, parent):
    """Unpack archive's cifar-10-batches-py into parent, whole: into a new
    folder of its own first, renamed into place once complete."""
    temp = tempfile.mkdtemp(prefix=".cifar-10-unpacking-", dir=parent)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(temp, filter="data")
        os.rename(os.path.join(temp, "cifar-10-batches-py"),
                  os.path.join(parent, "cifar-10-batches-py"))
    finally:
        shutil.rmtree(temp, ignore_errors=True)


#: What to do where the download fails.
DOWNLOAD_FIX = ("check the network, or download it by hand, unpack it and name its "
                "cifar-10-batches-py folder: --data-dir DIR, or CIFAR10_DIR=DIR make mlp.")


def _body(url):
    """Its length (0 where unknown), then url's body block by block;
    CifarError where the network fails (the disk's errors are the caller's)."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            yield int(response.headers.get("Content-Length") or 0)
            yield from iter(lambda: response.read(1 << 16), b"")
    except (OSError, http.client.HTTPException) as e:
        raise CifarError("Could not download %s: %s\nFix: %s" % (url, e, DOWNLOAD_FIX))


def _fetch(url, out, md5):
    """Write url to the open file out; CifarError if it fails, breaks off
    or has not the md5 md5 (theano_today.files then keeps nothing)."""
    digest, done = hashlib.md5(), 0
    body = _body(url)
    total = next(body)
    try:
        for block in body:
            out.write(block)
            digest.update(block)
            done += len(block)
            _progress(done, total)
    finally:
        if done:
            sys.stderr.write("\n")  # end the progress line
    # A connection closed early can end the response without an error.
    if done < total:
        raise CifarError("Download of %s incomplete: %.1f of %.1f MB received.\n"
                         "Fix: run again to download it afresh; if it breaks off "
                         "again, %s" % (url, done / 1e6, total / 1e6, DOWNLOAD_FIX))
    if digest.hexdigest() != md5:
        raise CifarError("Downloaded %s has md5 %s, expected %s (a damaged download, not "
                         "kept).\nFix: run again to download it afresh."
                         % (url, digest.hexdigest(), md5))


def load_dataset(data_dir=None):
    """resolve_data_dir + load_CIFAR10."""
    return load_CIFAR10(resolve_data_dir(data_dir))


def load_or_exit(data_dir=None, limit=None):
    """load_dataset for a script: the first limit images of each set (if
    limit); one line with the fix, and exit, where the data is bad."""
    try:
        Xtr, Ytr, Xte, Yte = load_dataset(data_dir)
    except CifarError as e:
        sys.exit("error: %s" % e)
    if limit:
        Xtr, Ytr, Xte, Yte = Xtr[:limit], Ytr[:limit], Xte[:limit], Yte[:limit]
    return Xtr, Ytr, Xte, Yte


def _named_folder(text):
    # an empty --data-dir (a variable that was not set) would mean the default
    if not text.strip():
        raise argparse.ArgumentTypeError("empty: name the cifar-10-batches-py folder, "
                                         "or leave --data-dir out")
    return text


def add_data_dir_option(parser):
    """--data-dir, as every script of the tutorial takes it (resolve_data_dir)."""
    parser.add_argument("--data-dir", metavar="DIR", type=_named_folder,
                        help="the cifar-10-batches-py folder (default: $CIFAR10_DIR, "
                        "else %s, downloaded there once)" % DEFAULT_DIR)


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add_data_dir_option(parser)
    args = parser.parse_args(argv)
    files.keep_standard_streams()  # python cifar_loader.py 2>&-: a download's progress
    files.printable_output()  # a folder whose name stdout cannot encode
    try:
        root = resolve_data_dir(args.data_dir)
        check_CIFAR10(root)
    except CifarError as e:
        sys.exit("error: %s" % e)
    print("CIFAR-10 in %s is complete: 5 training batches and the test batch." % root)


if __name__ == "__main__":
    main()
