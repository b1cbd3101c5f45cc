"""Settings and paths that cannot work stop a script at once, before any
data is loaded or any epoch trained, in one line naming the setting and
the fix: thread counts, Theano's compiler and its flags, a BLAS that is not
installed, compiledir_format, force_device without a GPU, a floatX the nets
cannot train in, and a --save path that cannot be written (too long a name,
a read-only folder). Each break is shown beside its mend where Theano's own
behaviour is the break (a traceback, or training on the CPU, exit 0).
"""
import os
import subprocess

import pytest

import cifar_loader
from helpers import SCRIPT_ENV, SPECIAL_FILES, assert_one_line, run_program, run_script

slow = pytest.mark.slow


@pytest.fixture
def flags(stack, monkeypatch):
    """flags(**env): the repository's .theanorc, with THEANO_FLAGS and the
    given variables set for this test (put back afterwards)."""
    monkeypatch.setenv("THEANORC", SCRIPT_ENV["THEANORC"])
    monkeypatch.setenv("THEANO_FLAGS", "")
    for name in stack.settings.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def set_env(**env):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
    return set_env


def refused(stack, check, *words):
    """check() raises ConfigurationError: one line, starting theano_today:,
    with the fix and each of words."""
    with pytest.raises(stack.settings.ConfigurationError) as error:
        check()
    message = str(error.value)
    assert "\n" not in message and message.startswith("theano_today: "), message
    assert "Fix: " in message, message
    for word in words:
        assert word in message, (word, message)
    return message


# --- thread counts ---------------------------------------------------------------------

@pytest.mark.parametrize("name, value", [
    ("OMP_NUM_THREADS", "abc"),         # Theano: a TypeError traceback
    ("OMP_NUM_THREADS", "4,2"),         # OpenMP's nested list; Theano: the same
    ("OMP_NUM_THREADS", "0"),           # OpenMP: ignored
    ("OMP_NUM_THREADS", "99999999999"), # OpenMP: aborts, out of memory, at the first loop
    ("OPENBLAS_NUM_THREADS", "all"),    # OpenBLAS: read as 0, its default
    ("MKL_NUM_THREADS", "-1"),
])
def test_a_thread_count_that_is_no_number_of_threads_is_refused(stack, flags, name, value):
    flags(**{name: value})
    refused(stack, stack.settings.check_settings, "%s=%s" % (name, value), "whole number")


def test_thread_counts_that_are_numbers_pass(stack, flags):
    flags(OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="")  # "": unset
    stack.settings.check_settings()


@slow
def test_a_script_with_a_bad_thread_count_stops_in_one_line(shared_cifar_dir):
    # Theano would refuse it as it is imported, in a TypeError's traceback
    result = run_script("mlp.py", "--data-dir", shared_cifar_dir, "--epochs", "1",
                        env={"OMP_NUM_THREADS": "abc"})
    line = assert_one_line(result, "OMP_NUM_THREADS=abc")
    assert line.startswith("theano_today: ") and "Fix: " in line and result.stdout == ""


# --- Theano's compiler, its flags, the BLAS it links ----------------------------------------

def test_a_compiler_that_is_not_there_is_refused(stack, flags):
    flags(THEANO_FLAGS="cxx=/no/such/g++")
    refused(stack, stack.settings.check_settings, "THEANO_FLAGS sets cxx=/no/such/g++",
            "not there")


def test_compiler_flags_the_compiler_refuses_are_refused(stack, flags):
    flags(THEANO_FLAGS="gcc.cxxflags=-O2 -no-such-flag")
    refused(stack, stack.settings.check_settings, "gcc.cxxflags=-O2 -no-such-flag",
            "-no-such-flag")
    flags(THEANO_FLAGS="gcc.cxxflags=-O2 -fno-math-errno")  # flags it takes
    stack.settings.check_settings()


def test_a_blas_that_is_not_installed_is_refused(stack, flags, tmp_path):
    flags(THEANO_FLAGS="blas.ldflags=-lno_such_blas")
    refused(stack, stack.blas.choose_blas_flags, "blas.ldflags=-lno_such_blas",
            "cannot find -lno_such_blas", "scipy-openblas32")
    flags(THEANO_FLAGS="blas.ldflags=-L%s -lm" % (tmp_path / "gone"))
    refused(stack, stack.blas.choose_blas_flags, "%s (-L%s) does not exist"
            % (tmp_path / "gone", tmp_path / "gone"))
    flags(THEANO_FLAGS="blas.ldflags=-lm")  # a library that is there links
    assert stack.blas.choose_blas_flags() == "-lm"


@pytest.mark.parametrize("value, says", [("%(nope)s", "no name 'nope'"),
                                         ("%(platform)s-%(x", "incomplete format")])
def test_a_compiledir_format_theano_cannot_format_is_refused(stack, flags, value, says):
    flags(THEANO_FLAGS="compiledir_format=%s" % value)
    refused(stack, stack.settings.check_settings, "compiledir_format=%s" % value, says)


@slow
@pytest.mark.parametrize("theano_flags", [
    "blas.ldflags=-lno_such_blas",        # Theano: a traceback as the training step compiles
    "gcc.cxxflags=-no-such-flag",         # the same
    "compiledir_format=%(nope)s",         # Theano: a KeyError's traceback as it starts
])
def test_a_script_stops_at_once_in_one_line(theano_flags, shared_cifar_dir):
    result = run_script("mlp.py", "--data-dir", shared_cifar_dir, "--epochs", "1",
                        env={"THEANO_FLAGS": theano_flags})
    line = assert_one_line(result, theano_flags.split("=", 1)[0])
    assert line.startswith("theano_today: ") and "Fix: " in line
    assert result.stdout == ""  # nothing loaded, nothing trained


# --- the device and the precision ---------------------------------------------------------

def _has_pygpu():
    import importlib.util
    return importlib.util.find_spec("pygpu") is not None


@slow
def test_force_device_without_a_gpu_back_end_stops_in_one_line():
    if _has_pygpu():
        pytest.skip("pygpu is installed: device=cuda may start here")
    # the break: Theano 1.0.5 ignores force_device and trains on the CPU, exit 0
    result = run_program("settings.py", env={"THEANO_FLAGS": "device=cuda,force_device=True"})
    line = assert_one_line(result, "force_device", "device=cuda", "pygpu")
    assert line.startswith("theano_today: ") and "Fix: " in line
    # without force_device, the CPU, as before
    result = run_program("settings.py", env={"THEANO_FLAGS": "device=cuda"})
    assert result.returncode == 0 and result.stdout.startswith("cpu "), result.stderr


@slow
@pytest.mark.parametrize("theano_flags, says", [
    # Theano refuses nolearn's float32 images at the first batch, in a traceback
    ("floatX=float16", "float32 or float64"),
    # Theano refuses nolearn's accuracy (a float64 mean) as the net is built, the same
    ("warn_float64=raise", "nolearn computes its accuracy in float64"),
])
def test_a_precision_the_nets_cannot_train_in_stops_before_loading(shared_cifar_dir,
                                                                   theano_flags, says):
    result = run_script("mlp.py", "--data-dir", shared_cifar_dir, "--epochs", "1",
                        env={"THEANO_FLAGS": theano_flags})
    line = assert_one_line(result, "THEANO_FLAGS sets %s" % theano_flags, says)
    assert line.startswith("theano_today: ") and result.stdout == ""


# --- --save: checked when the command line is read --------------------------------------

def parse(*args):
    import mlp
    from theano_today import cli
    return cli.training_parser(mlp.__doc__, mlp.EPOCHS, mlp.LEARNING_RATE,
                               cifar_loader.add_data_dir_option).parse_args(list(args))


class Net(object):
    def get_all_params_values(self):
        import numpy as np
        return {"hidden": [np.arange(3.0)]}


def test_a_save_name_too_long_for_the_file_system_is_refused_at_once(stack, tmp_path, capsys):
    longest = os.pathconf(tmp_path, "PC_NAME_MAX")
    with pytest.raises(SystemExit):
        parse("--save", str(tmp_path / ("m" * (longest + 1))))
    assert "longer than the %d bytes a file name may have here" % longest in \
        capsys.readouterr().err
    # the longest name that fits is taken, and written: its temporary name fits too
    path = parse("--save", str(tmp_path / ("m" * longest))).save
    stack.params.save(Net(), path)
    assert os.listdir(tmp_path) == ["m" * longest]


def _read_only_folder(tmp_path):
    """A folder this process cannot write to: chmod 555, or for root (who
    writes there anyway) a read-only tmpfs; None where neither can be had."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return folder
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    return folder if done.returncode == 0 else None


def test_save_into_a_read_only_folder_is_refused_at_once(stack, tmp_path, capsys):
    folder = _read_only_folder(tmp_path)
    if folder is None:
        pytest.skip("no read-only folder can be made here (root, and no mount)")
    try:
        with pytest.raises(SystemExit):
            parse("--save", str(folder / "mlp.pkl"))
        assert "folder %s is not writable" % folder in capsys.readouterr().err
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(folder)], check=True)
        else:
            folder.chmod(0o755)


# --- the config files Theano reads as it starts ------------------------------------------

@pytest.fixture
def home_rc(flags, tmp_path, monkeypatch):
    """~/.theanorc of a HOME of this test (THEANORC unset); returns its path."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("THEANORC")
    return tmp_path / ".theanorc"


@pytest.mark.parametrize("make, says", [
    (SPECIAL_FILES["FIFO"], "FIFO"),                     # Theano: waits for a writer for ever
    (SPECIAL_FILES["link to /dev/zero"], "FIFO, device"),  # Theano: MemoryError
    (lambda rc: rc.mkdir(), "is a folder"),              # Theano: passed over in silence
    (lambda rc: rc.symlink_to(rc.parent / "gone"), "symbolic link to"),  # the same
], ids=["fifo", "dev-zero", "folder", "dangling-link"])
def test_a_home_theanorc_that_is_no_file_is_refused(stack, home_rc, make, says):
    make(home_rc)
    refused(stack, stack.settings.check_settings, str(home_rc), says, "setup_theanorc.py")
    assert stack.settings.user_setting("floatX") == (None, None)  # read by nothing else


def test_no_home_theanorc_is_theanos_defaults(stack, home_rc, monkeypatch):
    stack.settings.check_settings()
    monkeypatch.setenv("THEANORC", "")  # no config file at all, for Theano too
    stack.settings.check_settings()


def test_a_theanorc_named_but_missing_is_refused(stack, flags, tmp_path, monkeypatch):
    monkeypatch.setenv("THEANORC", str(tmp_path / "theanorc"))  # Theano: passed over
    refused(stack, stack.settings.check_settings, str(tmp_path / "theanorc"),
            "named by THEANORC", "does not exist", "unset THEANORC")


def test_an_unreadable_theanorc_is_refused(stack, flags, tmp_path, monkeypatch):
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    rc = tmp_path / "theanorc"
    rc.write_text("[global]\nfloatX = float64\n")
    rc.chmod(0)
    monkeypatch.setenv("THEANORC", str(rc))  # Theano: passed over in silence
    refused(stack, stack.settings.check_settings, str(rc), "cannot be read")


@slow
@pytest.mark.parametrize("special", sorted(SPECIAL_FILES))
def test_a_script_with_a_special_theanorc_stops_in_one_line(tmp_path, special):
    rc = tmp_path / ".theanorc"
    SPECIAL_FILES[special](rc)
    result = run_script("gpu_check.py", env={"THEANORC": None, "HOME": str(tmp_path)},
                        timeout=120)  # a hang fails the test
    line = assert_one_line(result, str(rc), "not a regular file")
    assert line.startswith("theano_today: ") and "Fix: " in line


# --- reproduce.py's --out: checked when the command line is read ----------------------------

def test_an_out_folder_that_cannot_be_written_or_made_is_refused(stack, tmp_path):
    from theano_today import cli
    (tmp_path / "a-file").write_text("")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    assert cli.folder_problem(str(tmp_path / "a-file")).startswith("is not a folder")
    assert cli.folder_problem(str(tmp_path / "a-file" / "results")) == (
        "cannot be made: %s is not a folder" % (tmp_path / "a-file"))
    assert "leads nowhere" in cli.folder_problem(str(tmp_path / "dangling"))
    assert cli.folder_problem(str(tmp_path / "new" / "results")) is None  # made when written
    assert cli.folder_problem(str(tmp_path)) is None
    folder = _read_only_folder(tmp_path)
    if folder is None:
        pytest.skip("no read-only folder can be made here (root, and no mount)")
    try:
        assert cli.folder_problem(str(folder)).startswith("cannot be written")
        assert cli.folder_problem(str(folder / "results")) == (
            "cannot be written (in %s): name a folder you can write to" % folder)
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(folder)], check=True)
        else:
            folder.chmod(0o755)


@slow
def test_reproduce_with_an_out_it_cannot_make_stops_before_training(shared_cifar_dir, tmp_path):
    (tmp_path / "a-file").write_text("mine")
    result = run_script("reproduce.py", "--quick", "--data-dir", shared_cifar_dir,
                        "--out", tmp_path / "a-file" / "results")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-1].endswith(
        "error: --out %s cannot be made: %s is not a folder"
        % (tmp_path / "a-file" / "results", tmp_path / "a-file"))
    assert (tmp_path / "a-file").read_text() == "mine"
