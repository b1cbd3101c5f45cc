"""cifar_loader: reading the official batches, grayscale, finding and
fetching the data set, and the messages when something is wrong."""
import hashlib
import http.client
import io
import os
import pickle
import re
import shlex
import shutil
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pytest

import cifar_loader
from cifar_loader import CifarError
from helpers import (ALL_BATCHES, N_PER_BATCH, assert_clean_failure,
                      fixture_pixel, make_batch, run_script, write_cifar_dir,
                      write_pickle)


@pytest.fixture(autouse=True)
def default_dir(tmp_path, monkeypatch):
    """DEFAULT_DIR (the checkout's data/cifar-10-batches-py) is this test's
    tmp_path/data/cifar-10-batches-py: no test writes into the checkout."""
    folder = str(tmp_path / "data" / "cifar-10-batches-py")
    monkeypatch.setattr(cifar_loader, "DEFAULT_DIR", folder)
    return folder


# --- the fixture itself is in the official format ----------------------------

@pytest.mark.parametrize("encoding, data_key, labels_key", [
    ("bytes", b"data", b"labels"),      # the CS231n loader's way
    ("latin1", "data", "labels"),       # cifar_loader's way
])
def test_fixture_reads_like_the_official_files(cifar_dir, encoding, data_key, labels_key):
    with open(os.path.join(cifar_dir, "data_batch_1"), "rb") as f:
        assert f.read(2) == b"\x80\x02"  # pickle protocol 2
        f.seek(0)
        batch = pickle.load(f, encoding=encoding)
    data = batch[data_key]
    assert data.dtype == np.uint8 and data.shape == (N_PER_BATCH, 3072)
    assert sorted(set(batch[labels_key])) == list(range(10))
    assert all(type(label) is int for label in batch[labels_key])


# --- loading ------------------------------------------------------------------

def test_load_batch_shapes_and_types(cifar_dir):
    X, Y = cifar_loader.load_CIFAR_batch(os.path.join(cifar_dir, "data_batch_1"))
    assert X.shape == (N_PER_BATCH, 32, 32, 3) and X.dtype == np.float32
    assert Y.shape == (N_PER_BATCH,) and Y.dtype == np.int32
    assert list(Y[:12]) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]


def test_load_batch_puts_red_green_blue_last_and_keeps_orientation(cifar_dir):
    X, Y = cifar_loader.load_CIFAR_batch(os.path.join(cifar_dir, "data_batch_2"))
    for i, y, x in [(0, 0, 0), (3, 5, 17), (42, 31, 2), (99, 20, 31)]:
        assert tuple(X[i, y, x]) == fixture_pixel(1, Y[i], y, x)
    assert X[7, 10, 3, 0] == 24 and X[7, 10, 3, 1] == 80  # red = 8x, green = 8y


def test_load_CIFAR10_concatenates_the_five_training_batches_in_order(cifar_dir):
    Xtr, Ytr, Xte, Yte = cifar_loader.load_CIFAR10(cifar_dir)
    assert Xtr.shape == (5 * N_PER_BATCH, 32, 32, 3) and Xtr.dtype == np.float32
    assert Xte.shape == (N_PER_BATCH, 32, 32, 3) and Xte.dtype == np.float32
    assert Ytr.dtype == np.int32 and Yte.dtype == np.int32
    blue_tr, blue_te = Xtr[:, 0, 0, 2].astype(int), Xte[:, 0, 0, 2].astype(int)
    assert list(blue_tr // 10) == [b for b in range(5) for _ in range(N_PER_BATCH)]
    assert set(blue_te // 10) == {5}  # test_batch, not a training batch
    np.testing.assert_array_equal(blue_tr % 10, Ytr)
    np.testing.assert_array_equal(blue_te % 10, Yte)
    assert np.bincount(Ytr).tolist() == [5 * N_PER_BATCH // 10] * 10


# --- grayscale ----------------------------------------------------------------

def test_to_grayscale_uses_the_luma_weights():
    X = np.zeros((4, 32, 32, 3), np.float32)
    X[0, ..., 0] = 100  # pure red
    X[1, ..., 1] = 100  # pure green
    X[2, ..., 2] = 100  # pure blue
    X[3] = [10, 20, 30]
    gray = cifar_loader.to_grayscale(X)
    assert gray.shape == (4, 32, 32) and gray.dtype == np.float32
    np.testing.assert_allclose(gray[:, 5, 7], [29.9, 58.7, 11.4, 2.99 + 11.74 + 3.42],
                               rtol=1e-6)


# --- damaged or missing data: CifarError names the file and the fix -----------

def assert_report(error, *problems):
    """The message holds each of problems ('file: what'), names no other
    batch file, and says how to fix it."""
    message = str(error.value)
    assert "Fix:" in message
    for problem in problems:
        assert problem in message, (problem, message)
    named = {problem.split(":")[0] for problem in problems}
    for other in set(ALL_BATCHES) - named:
        assert other + ":" not in message, (other, message)


def test_missing_directory(tmp_path):
    missing = str(tmp_path / "nowhere")
    with pytest.raises(CifarError) as error:
        cifar_loader.resolve_data_dir(missing, download=False)
    assert missing in str(error.value) and "Fix:" in str(error.value)
    with pytest.raises(CifarError) as error:
        cifar_loader.load_CIFAR10(missing)
    assert_report(error, *(name + ": missing" for name in ALL_BATCHES))


def test_missing_batch(cifar_dir):
    os.remove(os.path.join(cifar_dir, "data_batch_3"))
    with pytest.raises(CifarError) as error:
        cifar_loader.load_CIFAR10(cifar_dir)
    assert_report(error, "data_batch_3: missing")


@pytest.mark.parametrize("keep", [0, 10, 400, 150000, -1])
def test_truncated_batch(cifar_dir, keep):
    path = Path(cifar_dir, "data_batch_2")
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.raises(CifarError) as error:
        cifar_loader.load_CIFAR10(cifar_dir)
    assert_report(error, "data_batch_2: truncated or corrupt")


def test_pickle_that_is_not_a_dict(cifar_dir):
    write_pickle([1, 2, 3], os.path.join(cifar_dir, "test_batch"))
    with pytest.raises(CifarError) as error:
        cifar_loader.load_CIFAR10(cifar_dir)
    assert_report(error, "test_batch: not a CIFAR-10 batch", "list")


def test_dict_without_data(cifar_dir):
    write_pickle({"labels": [1, 2], "batch_label": "x"},
                 os.path.join(cifar_dir, "data_batch_5"))
    with pytest.raises(CifarError) as error:
        cifar_loader.load_CIFAR10(cifar_dir)
    assert_report(error, "data_batch_5: not a CIFAR-10 batch (no 'data')")


class RunsCode(object):
    """Unpickling this runs a shell command: what a crafted batch can do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, ("touch %s" % self.marker,)


def test_a_batch_that_would_run_code_is_refused(cifar_dir, tmp_path):
    marker = tmp_path / "ran"
    batch = dict(make_batch(0), labels=RunsCode(marker))
    with open(os.path.join(cifar_dir, "data_batch_1"), "wb") as f:
        pickle.dump(batch, f, protocol=2)
    for check in (cifar_loader.load_CIFAR10, cifar_loader.check_CIFAR10):
        with pytest.raises(CifarError) as error:
            check(cifar_dir)
        assert_report(error, "data_batch_1: refused, not loaded")
        assert "system" in str(error.value) and "could run code" in str(error.value)
    assert not marker.exists()


@pytest.mark.parametrize("labels, problem", [
    ([0.5] * N_PER_BATCH, "float64"),     # 0.5 would have become class 0
    ([10] * N_PER_BATCH, "int64"),        # no such class
    ([1] * (N_PER_BATCH - 1), "99 labels"),
])
def test_labels_must_be_one_whole_number_0_9_per_image(cifar_dir, labels, problem):
    write_pickle(dict(make_batch(2), labels=labels), os.path.join(cifar_dir, "data_batch_3"))
    with pytest.raises(CifarError) as error:
        cifar_loader.load_CIFAR10(cifar_dir)
    assert_report(error, "data_batch_3: not a CIFAR-10 batch", problem)


def test_an_empty_batch_is_not_a_batch(cifar_dir):
    write_pickle(dict(make_batch(5, n=0), data=np.zeros((0, 3072), np.uint8)),
                 os.path.join(cifar_dir, "test_batch"))
    with pytest.raises(CifarError) as error:
        cifar_loader.check_CIFAR10(cifar_dir)
    assert_report(error, "test_batch: not a CIFAR-10 batch (it holds no images)")


def test_several_bad_files_in_one_message(cifar_dir):
    os.remove(os.path.join(cifar_dir, "data_batch_1"))
    Path(cifar_dir, "data_batch_4").write_bytes(b"\x80\x02}q")
    write_pickle("hello", os.path.join(cifar_dir, "test_batch"))
    for check in (cifar_loader.load_CIFAR10, cifar_loader.check_CIFAR10):
        with pytest.raises(CifarError) as error:
            check(cifar_dir)
        assert_report(error, "data_batch_1: missing", "data_batch_4: truncated",
                      "test_batch: not a CIFAR-10 batch")


def test_check_CIFAR10_accepts_the_fixture(cifar_dir):
    assert cifar_loader.check_CIFAR10(cifar_dir) is None


# --- the fix fits the folder: only the default one is downloaded afresh -------

@pytest.mark.parametrize("spelling", [os.path.relpath, os.path.abspath])
def test_fix_for_the_default_folder_is_to_download_it_afresh(tmp_path, monkeypatch, spelling):
    monkeypatch.chdir(tmp_path)
    write_cifar_dir(cifar_loader.DEFAULT_DIR)
    os.remove(os.path.join(cifar_loader.DEFAULT_DIR, "data_batch_3"))
    root = spelling(cifar_loader.DEFAULT_DIR)
    for check in (cifar_loader.load_CIFAR10, cifar_loader.check_CIFAR10):
        with pytest.raises(CifarError) as error:
            check(root)
        assert_report(error, "data_batch_3: missing")
        assert "Fix: delete %s and run again" % root in str(error.value)


def test_fix_for_a_named_folder_never_says_delete_it(cifar_dir):
    os.remove(os.path.join(cifar_dir, "data_batch_3"))
    write_pickle("hello", os.path.join(cifar_dir, "test_batch"))
    for check in (cifar_loader.load_CIFAR10, cifar_loader.check_CIFAR10):
        with pytest.raises(CifarError) as error:
            check(cifar_dir)
        assert_report(error, "data_batch_3: missing", "test_batch: not a CIFAR-10 batch")
        message = str(error.value)
        assert "delete" not in message, message
        assert "replace data_batch_3, test_batch in %s" % cifar_dir in message
        assert cifar_loader.URL in message and "--data-dir DIR" in message


# --- where the data set is -----------------------------------------------------

@pytest.fixture
def no_download(monkeypatch):
    """resolve_data_dir must not reach the network in these tests."""
    def refuse(parent, *args, **kwargs):
        raise AssertionError("download_CIFAR10(%r) called" % parent)
    monkeypatch.setattr(cifar_loader, "download_CIFAR10", refuse)


def test_argument_beats_environment(cifar_dir, tmp_path, monkeypatch, no_download):
    monkeypatch.setenv("CIFAR10_DIR", str(tmp_path / "from-env"))
    assert cifar_loader.resolve_data_dir(cifar_dir) == cifar_dir


def test_environment_beats_default(cifar_dir, tmp_path, monkeypatch, no_download):
    monkeypatch.chdir(tmp_path)
    Path(cifar_loader.DEFAULT_DIR).mkdir(parents=True)
    monkeypatch.setenv("CIFAR10_DIR", cifar_dir)
    assert cifar_loader.resolve_data_dir() == cifar_dir


def test_default_folder_without_argument_or_environment(tmp_path, monkeypatch, no_download):
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    Path(cifar_loader.DEFAULT_DIR).mkdir(parents=True)
    assert cifar_loader.resolve_data_dir() == cifar_loader.DEFAULT_DIR


def test_only_the_default_folder_is_downloaded(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(cifar_loader, "download_CIFAR10", calls.append)
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CifarError, match="does not exist"):
        cifar_loader.resolve_data_dir(str(tmp_path / "named-but-empty"))
    assert calls == []
    with pytest.raises(CifarError):  # the fake download fetched nothing
        cifar_loader.resolve_data_dir()
    assert calls == [os.path.dirname(cifar_loader.DEFAULT_DIR)]


def test_parent_of_cifar_10_batches_py_is_accepted(cifar_dir, no_download):
    parent = os.path.dirname(cifar_dir)
    assert cifar_loader.resolve_data_dir(parent) == cifar_dir


def test_a_file_named_as_the_folder_is_not_a_folder(tmp_path, no_download):
    path = tmp_path / "cifar"
    path.write_text("not a folder")
    with pytest.raises(CifarError) as error:
        cifar_loader.resolve_data_dir(str(path))
    message = str(error.value)
    assert "%s is a file, not a folder" % path in message and "Fix:" in message
    assert "does not exist" not in message


@pytest.mark.parametrize("make, problem", [
    (lambda path: None, "does not exist"),
    (lambda path: path.write_text("x"), "is a file, not a folder"),
], ids=["missing", "a file"])
def test_a_bad_folder_from_CIFAR10_DIR_says_so(tmp_path, monkeypatch, no_download,
                                               make, problem):
    path = tmp_path / "cifar"
    make(path)
    monkeypatch.setenv("CIFAR10_DIR", str(path))
    with pytest.raises(CifarError) as error:
        cifar_loader.resolve_data_dir()
    message = str(error.value)
    assert "%s (from CIFAR10_DIR) %s" % (path, problem) in message
    assert "Fix: set CIFAR10_DIR to" in message and "or unset it" in message
    # The same path given as an argument does not blame the environment.
    with pytest.raises(CifarError) as error:
        cifar_loader.resolve_data_dir(str(path))
    assert "CIFAR10_DIR)" not in str(error.value)


def where_the_archive_lies(tmp_path, archive_path):
    """(what the user names, where the archive is) for each way it can lie."""
    inside = tmp_path / "inside"
    inside.mkdir()
    beside = tmp_path / "beside"
    beside.mkdir()
    empty = tmp_path / "empty"
    (empty / "cifar-10-batches-py").mkdir(parents=True)
    itself = tmp_path / "itself"
    itself.mkdir()
    cases = {"inside": (inside, inside),
             "beside": (beside / "cifar-10-batches-py", beside),
             "beside an empty folder": (empty / "cifar-10-batches-py", empty),
             "the archive itself": (itself / archive_path.name, itself),
             "inside, through its parent": (empty, empty)}
    for _, folder in cases.values():
        shutil.copy(archive_path, folder / archive_path.name)
    return cases


@pytest.mark.parametrize("case", ["inside", "beside", "beside an empty folder",
                                  "the archive itself", "inside, through its parent"])
def test_an_archive_not_unpacked_is_noticed(archive, tmp_path, no_download, case):
    named, folder = where_the_archive_lies(tmp_path, archive[0])[case]
    packed = folder / archive[0].name
    with pytest.raises(CifarError) as error:
        cifar_loader.resolve_data_dir(str(named))
    message = str(error.value)
    assert "the archive %s is there" % packed in message, message
    command = "tar xzf %s -C %s" % (packed, folder)
    assert command in message, message
    # The advice works: unpacked so, the data set is found.
    subprocess.run(shlex.split(command), check=True)
    found = cifar_loader.resolve_data_dir(str(folder / "cifar-10-batches-py"))
    assert cifar_loader.check_CIFAR10(found) is None


def test_a_named_folder_with_some_batches_is_left_to_the_report(cifar_dir, archive,
                                                               no_download):
    shutil.copy(archive[0], os.path.dirname(cifar_dir))
    os.remove(os.path.join(cifar_dir, "data_batch_2"))
    assert cifar_loader.resolve_data_dir(cifar_dir) == cifar_dir


# --- downloading (from a local file:// URL) ------------------------------------

@pytest.fixture
def archive(cifar_dir, tmp_path):
    """A cifar-10-python.tar.gz of the fixture, and its md5."""
    path = tmp_path / "source" / "cifar-10-python.tar.gz"
    path.parent.mkdir()
    with tarfile.open(path, "w:gz") as tar:
        tar.add(cifar_dir, arcname="cifar-10-batches-py")
    return path, hashlib.md5(path.read_bytes()).hexdigest()


def test_download_with_the_right_md5_unpacks(archive, tmp_path):
    path, md5 = archive
    parent = tmp_path / "data"
    cifar_loader.download_CIFAR10(str(parent), url=path.as_uri(), md5=md5)
    unpacked = parent / "cifar-10-batches-py"
    assert sorted(p.name for p in unpacked.iterdir()) == sorted(ALL_BATCHES)
    Xtr, Ytr, Xte, Yte = cifar_loader.load_CIFAR10(str(unpacked))
    assert len(Xtr) == 5 * N_PER_BATCH and len(Xte) == N_PER_BATCH
    assert cifar_loader.md5sum(str(parent / path.name)) == md5  # archive kept
    # A verified archive already there is not fetched again.
    path.unlink()
    cifar_loader.download_CIFAR10(str(parent), url=path.as_uri(), md5=md5)


def test_download_with_a_wrong_md5_unpacks_nothing(archive, tmp_path):
    path, md5 = archive
    parent = tmp_path / "data"
    with pytest.raises(CifarError) as error:
        cifar_loader.download_CIFAR10(str(parent), url=path.as_uri(), md5="0" * 32)
    assert md5 in str(error.value) and "Fix:" in str(error.value)
    assert not parent.exists()  # nothing kept that could look like the archive


def test_download_error_names_the_url_and_leaves_nothing_behind(tmp_path):
    url = (tmp_path / "absent.tar.gz").as_uri()
    with pytest.raises(CifarError, match=re.escape("Could not download %s" % url)) as error:
        cifar_loader.download_CIFAR10(str(tmp_path / "data" / "cifar"), url=url)
    assert "--data-dir DIR" in str(error.value)
    assert "CIFAR10_DIR=DIR make mlp" in str(error.value)  # what make users can pass
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no empty data/ left


def test_download_error_keeps_a_folder_that_was_there(tmp_path):
    url = (tmp_path / "absent.tar.gz").as_uri()
    mine = tmp_path / "mine"
    mine.mkdir()
    with pytest.raises(CifarError):
        cifar_loader.download_CIFAR10(str(mine), url=url)
    assert mine.is_dir()


class FakeResponse(object):
    """What urlopen returns: Content-Length says length, body is what comes;
    after it, read() returns b"" (a connection closed early) or raises fail."""

    def __init__(self, length, body, fail=None):
        self.headers = {"Content-Length": str(length)}
        self.body = io.BytesIO(body)
        self.fail = fail

    def read(self, n):
        block = self.body.read(n)
        if not block and self.fail:
            raise self.fail
        return block

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def serve(monkeypatch, response):
    monkeypatch.setattr(cifar_loader.urllib.request, "urlopen",
                        lambda url, timeout: response)


def test_a_download_cut_off_is_incomplete_and_leaves_nothing(tmp_path, monkeypatch):
    serve(monkeypatch, FakeResponse(2000000, b"x" * 500000))
    with pytest.raises(CifarError) as error:
        cifar_loader.download_CIFAR10(str(tmp_path / "data"), url="http://example.invalid/a.tar.gz")
    assert "incomplete: 0.5 of 2.0 MB" in str(error.value) and "Fix:" in str(error.value)
    assert list(tmp_path.iterdir()) == []  # no .part, no data/


def test_a_download_broken_off_by_the_server_leaves_nothing(tmp_path, monkeypatch):
    serve(monkeypatch, FakeResponse(2000, b"x" * 1000,
                                    http.client.IncompleteRead(b"", 1000)))
    with pytest.raises(CifarError, match="Could not download"):
        cifar_loader.download_CIFAR10(str(tmp_path / "data"), url="http://example.invalid/a.tar.gz")
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_during_a_download_leaves_nothing(tmp_path, monkeypatch):
    mine = tmp_path / "mine"
    mine.mkdir()
    serve(monkeypatch, FakeResponse(200000, b"x" * 100000, KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        cifar_loader.download_CIFAR10(str(mine / "data" / "cifar"),
                                      url="http://example.invalid/a.tar.gz")
    assert list(mine.iterdir()) == []  # .part and the new folders removed, mine kept


# --- the command line -----------------------------------------------------------

def test_command_line_with_a_missing_folder(tmp_path):
    result = run_script("cifar_loader.py", "--data-dir", tmp_path / "nowhere")
    assert_clean_failure(result, "nowhere", "does not exist", "Fix:")


def test_command_line_with_a_file_for_a_folder(tmp_path):
    path = tmp_path / "cifar"
    path.write_text("x")
    result = run_script("cifar_loader.py", "--data-dir", path)
    assert_clean_failure(result, "is a file, not a folder", "Fix:")


def test_command_line_with_a_damaged_folder(cifar_dir):
    os.remove(os.path.join(cifar_dir, "data_batch_4"))
    result = run_script("cifar_loader.py", "--data-dir", cifar_dir)
    assert_clean_failure(result, "data_batch_4: missing", "Fix:")


def test_command_line_with_a_complete_folder(cifar_dir):
    result = run_script("cifar_loader.py", "--data-dir", cifar_dir)
    assert result.returncode == 0, result.stderr
    assert "is complete" in result.stdout
