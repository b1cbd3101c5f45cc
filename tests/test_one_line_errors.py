"""One line, or it simply works: Python run with -W error or -OO, numpy 2
where Theano needs numpy 1, Theano imported before theano_today, data files
that are not files (a FIFO, a link in a loop, a device, a folder, one that
cannot be read), a file where the data set's folder goes, a full disk at
--out, and standard streams that are closed or cannot encode a path.
(A BLAS that is not installed and a ~/.theanorc that is a FIFO or /dev/zero:
tests/test_settings_checked_early.py.)
"""
import os
import subprocess
import sys

import pytest

import cifar_loader
from cifar_loader import CifarError
from helpers import (REPO, SCRIPT_ENV, assert_one_line, make_batch, run_python, run_script,
                     write_pickle)

slow = pytest.mark.slow

SCRIPTS_HELP = [["mlp.py"], ["ConvolutionNN.py"], ["reproduce.py"], ["gpu_check.py"],
                ["cifar_loader.py"], ["setup_theanorc.py"], ["-m", "bench.feeding"],
                ["-m", "bench.vs_pytorch"], ["-m", "bench.scan_cost"], ["-m", "bench.ops"],
                ["-m", "bench.fusion_check"]]


def assert_works(result):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr


# --- python -W error, python -OO ------------------------------------------------------------

@slow
def test_break_w_error_turns_a_deprecation_theano_meets_into_an_error():
    # Theano 1.0.5 looks for its compiler with distutils' find_executable
    result = run_python("-W", "error", "-c", "from setuptools._distutils import spawn; "
                        "spawn.find_executable('g++')")
    assert result.returncode != 0 and "DeprecationWarning" in result.stderr


@slow
def test_import_under_w_error_works():
    result = run_python("-W", "error", "-c", "import theano_today, lasagne, nolearn.lasagne")
    assert_works(result)
    assert result.stderr == ""


@slow
def test_a_training_under_w_error_works_or_says_one_line(shared_cifar_dir, cifar_dir):
    result = run_python("-W", "error", REPO / "mlp.py", "--data-dir", shared_cifar_dir,
                        "--epochs", "1")
    assert_works(result)
    # a class of 2 images among the first 100: scikit-learn warns (nolearn's 5 folds)
    batch = make_batch(0)
    batch["labels"] = [label if label != 9 or i < 20 else 8
                       for i, label in enumerate(batch["labels"])]
    write_pickle(batch, os.path.join(cifar_dir, "data_batch_1"))
    result = run_python("-W", "error", REPO / "mlp.py", "--data-dir", cifar_dir,
                        "--epochs", "1", "--limit", "100")
    line = assert_one_line(result, "UserWarning", "python -W error")
    assert line.startswith("error: ")


@slow
@pytest.mark.parametrize("command", SCRIPTS_HELP, ids=lambda c: c[-1])
def test_every_script_answers_help_under_OO(command):
    # -OO strips the docstrings that the descriptions are taken from
    result = run_python("-OO", *command, "--help")
    assert_works(result)
    assert result.stdout.startswith("usage: ")


@slow
def test_a_training_and_the_gpu_check_under_OO_work(shared_cifar_dir):
    # Theano's PatternSub adds to its class's docstring as Theano imports
    assert_works(run_python("-OO", REPO / "ConvolutionNN.py", "--data-dir", shared_cifar_dir,
                            "--epochs", "1"))
    assert_works(run_python("-OO", REPO / "gpu_check.py"))


# --- the stack in the wrong order, the wrong numpy ---------------------------------------

IMPORT_FIRST = "import theano_today first, before theano, lasagne and nolearn"


@slow
@pytest.mark.parametrize("first", ["theano", "lasagne", "nolearn.lasagne"])
def test_theano_imported_before_theano_today_says_so_in_one_line(first):
    # as in a notebook: the import fails (on np.bool), half of Theano stays
    # behind, and importing theano_today then failed in Theano's words
    result = run_python("-c", "try:\n    import %s\nexcept Exception:\n    pass\n"
                        "import theano_today" % first)
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    line = result.stderr.strip().splitlines()[-1]  # after numpy's warning about np.bool
    assert line.startswith("theano_today: theano was imported before theano_today"), line
    assert IMPORT_FIRST in line


@slow
def test_numpy_2_where_theano_needs_numpy_1_is_one_line():
    if sys.version_info >= (3, 13):
        pytest.skip("numpy 2 is the one mended on Python 3.13")
    result = run_python("-c", "import numpy; numpy.__version__ = '2.0.0'; import theano_today")
    line = assert_one_line(result, "numpy 2.0.0 is installed", "requirements.txt")
    assert line.startswith("theano_today: ")


# --- data that is not where, or not what, it should be ------------------------------------

@pytest.mark.parametrize("make, says", [
    (os.mkfifo, "is a FIFO (named pipe), not a file"),      # open() would wait for ever
    (lambda path: os.symlink(path, path), "is a symbolic link that leads in a loop"),
    (lambda path: os.symlink("/dev/zero", path), "is a character device, not a file"),
    (os.mkdir, "is a folder, not a file"),
], ids=["fifo", "loop", "device", "folder"])
def test_a_batch_that_is_no_file_is_named_for_what_it_is(cifar_dir, make, says):
    batch = os.path.join(cifar_dir, "data_batch_2")
    os.remove(batch)
    make(batch)
    with pytest.raises(CifarError) as error:
        cifar_loader.check_CIFAR10(cifar_dir)
    message = str(error.value)
    assert "data_batch_2 " + says in message, message
    assert "missing" not in message, message
    assert os.path.lexists(batch)  # left as it was


def test_an_unreadable_batch_is_named_as_unreadable(cifar_dir, monkeypatch):
    batch = os.path.join(cifar_dir, "test_batch")
    os.chmod(batch, 0)
    if os.geteuid() == 0:  # root reads every file: open() refuses as it would refuse others
        real_open = os.open

        def refusing_open(path, *args, **kwargs):
            if os.fspath(path) == batch:
                raise PermissionError(13, "Permission denied", batch)
            return real_open(path, *args, **kwargs)
        monkeypatch.setattr(os, "open", refusing_open)
    with pytest.raises(CifarError) as error:
        cifar_loader.check_CIFAR10(cifar_dir)
    assert "test_batch cannot be read (Permission denied)" in str(error.value)


@slow
def test_a_fifo_batch_ends_the_script_at_once(cifar_dir):
    os.remove(os.path.join(cifar_dir, "test_batch"))
    os.mkfifo(os.path.join(cifar_dir, "test_batch"))
    result = run_script("cifar_loader.py", "--data-dir", cifar_dir, timeout=60)  # no hang
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "test_batch is a FIFO" in result.stderr


@pytest.mark.parametrize("make, says", [
    (os.mkfifo, "is not a folder (a FIFO, device or socket)"),
    (lambda path: os.symlink(path + "-gone", path), "is a symbolic link that leads nowhere"),
], ids=["fifo", "dangling-link"])
def test_a_data_dir_that_is_no_folder_is_named_for_what_it_is(tmp_path, make, says):
    path = str(tmp_path / "cifar")
    make(path)
    with pytest.raises(CifarError) as error:
        cifar_loader.resolve_data_dir(path, download=False)
    assert "%s %s" % (path, says) in str(error.value)
    assert "does not exist" not in str(error.value)


def test_a_file_where_the_data_sets_folder_goes_is_named(tmp_path, monkeypatch):
    # a file named data where the loader makes data/cifar-10-batches-py
    (tmp_path / "data").write_text("my notes")
    monkeypatch.setattr(cifar_loader, "DEFAULT_DIR",
                        str(tmp_path / "data" / "cifar-10-batches-py"))
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.setattr(cifar_loader, "_fetch", lambda *args: pytest.fail("downloaded"))
    with pytest.raises(CifarError) as error:
        cifar_loader.resolve_data_dir()
    assert "%s is in the way of the data set's folder" % (tmp_path / "data") in str(error.value)
    assert (tmp_path / "data").read_text() == "my notes"


# --- a full disk at --out -------------------------------------------------------------------

@slow
def test_a_full_disk_at_out_names_the_file(shared_cifar_dir, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40k", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: " + mounted.stderr.strip())
    try:
        result = run_script("reproduce.py", "--quick", "--runs", "mlp", "--data-dir",
                            shared_cifar_dir, "--out", disk / "results")
    finally:
        subprocess.run(["umount", str(disk)], check=True)
    line = assert_one_line(result, str(disk / "results"), "No space left on device")
    assert "Errno" not in line


# --- standard streams -----------------------------------------------------------------------

@slow
@pytest.mark.parametrize("closed", [">&-", "2>&-", "<&-"])
def test_a_closed_standard_stream_is_no_failure(shared_cifar_dir, tmp_path, closed):
    # python mlp.py >&- : Python's sys.stdout is None, and descriptor 1 is
    # lent to the next file opened
    params = tmp_path / "mlp.pkl"
    command = [sys.executable, str(REPO / "mlp.py"), "--data-dir", shared_cifar_dir,
               "--epochs", "1", "--save", str(params)]
    done = subprocess.run(["bash", "-c", '"$@" ' + closed, "bash"] + command, cwd=str(REPO),
                          env=SCRIPT_ENV, capture_output=closed == "<&-", timeout=300)
    assert done.returncode == 0
    assert params.read_bytes().startswith(b"\x80")  # a pickle, nothing else written into it


@pytest.mark.parametrize("closed", [">&-", "2>&-"])
def test_the_scripts_without_theano_run_with_a_closed_stream(tmp_path, closed):
    # a download's progress bar writes to sys.stderr, which Python leaves None
    progress = ("import cifar_loader; cifar_loader.files.keep_standard_streams(); "
                "cifar_loader._progress(1, 2)")
    for command in ([sys.executable, "-c", progress],
                    [sys.executable, str(REPO / "setup_theanorc.py"), "--home", str(tmp_path)]):
        done = subprocess.run(["bash", "-c", '"$@" ' + closed, "bash"] + command,
                              cwd=str(REPO), env=SCRIPT_ENV, timeout=60)
        assert done.returncode == 0, command
    assert (tmp_path / ".theanorc").exists()


@slow
def test_a_path_ascii_cannot_encode_is_printed_escaped(shared_cifar_dir, tmp_path):
    params = tmp_path / "réseau.pkl"
    result = run_script("mlp.py", "--data-dir", shared_cifar_dir, "--epochs", "1",
                        "--save", params, env={"PYTHONIOENCODING": "ascii"})
    assert_works(result)
    assert "parameters saved to %s" % str(params).replace("é", "\\xe9") in result.stdout
    assert params.exists()


def test_the_loader_and_the_set_up_print_any_path(cifar_dir, tmp_path):
    home = tmp_path / "hôme"
    home.mkdir()
    for result in (run_script("cifar_loader.py", "--data-dir", cifar_dir,
                              env={"PYTHONIOENCODING": "ascii"}),
                   run_script("setup_theanorc.py", "--home", home,
                              env={"PYTHONIOENCODING": "ascii", "LANG": "C", "LC_ALL": "C"})):
        assert_works(result)
    assert (home / ".theanorc").exists() and "h\\xf4me" in result.stdout

