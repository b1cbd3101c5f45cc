"""A configuration Theano cannot start with ends a script in one line that
names the file or flag (and the bad value) and the fix, with a non-zero exit
and no traceback: a config file that is not one, a value Theano refuses in
it or in THEANO_FLAGS, a compile directory Theano cannot write, and one
whose disk is full (a small tmpfs mounted for the test: root only).

Each slow test starts a fresh interpreter (tests/programs/settings.py, or
gpu_check.py itself) with a crafted THEANORC or THEANO_FLAGS.
"""
import os
import random
import subprocess

import pytest

from helpers import REPO, assert_clean_failure, run_program, run_script

slow = pytest.mark.slow


def assert_one_line_with_fix(result, *words):
    """A clean failure whose last stderr line is theano_today's message,
    naming each of words and the fix."""
    assert_clean_failure(result, *words)
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("theano_today: ") and "Fix: " in line, result.stderr
    for word in words:
        assert word in line, (word, line)


def write_rc(tmp_path, content):
    path = tmp_path / "theanorc"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return str(path)


BINARY = b"\x89PNG\r\n\x1a\n" + random.Random(0).randbytes(300)


# --- 1. a config file Theano cannot parse ---------------------------------------------

@slow
def test_binary_theanorc_is_named_with_the_fix(tmp_path):
    rc = write_rc(tmp_path, BINARY)
    result = run_program("settings.py", env={"THEANORC": rc})
    assert_one_line_with_fix(result, rc, "THEANORC", "not a text file")


@slow
def test_binary_home_theanorc_points_to_setup_theanorc(tmp_path):
    # ~/.theanorc itself (THEANORC unset), with the script the issue names
    (tmp_path / ".theanorc").write_bytes(BINARY)
    result = run_script("gpu_check.py", env={"THEANORC": None, "HOME": str(tmp_path)})
    assert_one_line_with_fix(result, str(tmp_path / ".theanorc"), "setup_theanorc.py")


@slow
def test_theanorc_without_section_header_is_named_with_the_fix(tmp_path):
    rc = write_rc(tmp_path, "floatX = float32\ndevice = cpu\n")
    result = run_program("settings.py", env={"THEANORC": rc})
    assert_one_line_with_fix(result, rc, "no section header", "[global]")


# --- 2. a value Theano refuses, in a config file ----------------------------------------

@slow
@pytest.mark.parametrize("option, value", [("floatX", "float33"), ("device", "banana")])
def test_bad_value_in_theanorc_is_named_with_the_fix(tmp_path, option, value):
    rc = write_rc(tmp_path, "[global]\n%s = %s\n" % (option, value))
    result = run_program("settings.py", env={"THEANORC": rc})
    assert_one_line_with_fix(result, rc, "%s = %s" % (option, value))


# --- 3. THEANO_FLAGS ----------------------------------------------------------------------

@slow
def test_bad_value_in_theano_flags_is_named_with_the_fix():
    result = run_program("settings.py", env={"THEANO_FLAGS": "floatX=float33"})
    assert_one_line_with_fix(result, "THEANO_FLAGS", "floatX=float33", "float32")


@slow
def test_unreadable_theano_flags_is_named_with_the_fix():
    result = run_program("settings.py", env={"THEANO_FLAGS": 'floatX="float32'})
    assert_one_line_with_fix(result, "THEANO_FLAGS", "quot")


@slow
def test_unknown_flag_only_warns_as_theano_does():
    # Theano 1.0.5 warns about a flag it does not know and runs on: left alone
    result = run_program("settings.py", env={"THEANO_FLAGS": "nosuchflag=1"})
    assert result.returncode == 0, result.stderr
    assert "Theano does not recognise this flag: nosuchflag" in result.stderr


# --- 4. a compile directory Theano cannot write -----------------------------------------

@slow
def test_compiledir_under_proc_is_named_with_the_fix():
    # root writes anywhere but in /proc
    result = run_program("settings.py", env={"THEANO_FLAGS": "base_compiledir=/proc/nope"})
    assert_one_line_with_fix(result, "base_compiledir=/proc/nope", "THEANO_FLAGS",
                             "compile directory")


@slow
def test_compiledir_under_a_file_in_theanorc_is_named_with_the_fix(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    rc = write_rc(tmp_path, "[global]\nbase_compiledir = %s\n" % (a_file / "theano"))
    result = run_program("settings.py", env={"THEANORC": rc})
    assert_one_line_with_fix(result, "base_compiledir=%s" % (a_file / "theano"), rc)


# --- 5. a compile directory whose disk is full ------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """mount_small_disk(size): a tmpfs of that size (e.g. "300k") under
    tmp_path, unmounted afterwards; skips where mounting is not allowed."""
    mounted = []

    def mount_small_disk(size):
        where = tmp_path / ("disk-" + size)
        where.mkdir()
        if os.geteuid() != 0:
            pytest.skip("mounting a small tmpfs needs root")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs",
                               str(where)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip("cannot mount a tmpfs here: " + done.stderr.strip())
        mounted.append(where)
        return where

    yield mount_small_disk
    for where in mounted:
        subprocess.run(["umount", str(where)], check=True)


def assert_full_disk_line(result, disk, tmp):
    """One line naming the compile directory and the fix; nothing else on
    stderr, and none of Theano's "C code in this temporary file" notices
    (nor their files) for the full disk."""
    assert_one_line_with_fix(result, "compile directory is full", str(disk),
                             "THEANO_FLAGS=base_compiledir=")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "temporary file" not in result.stdout, result.stdout
    assert not [p for p in os.listdir(tmp) if p.startswith("theano_compilation_error")]


@slow
def test_disk_full_as_theano_starts(small_disk, tmp_path):
    # 20 KB: not even the C module Theano compiles as it is imported fits
    disk, tmp = small_disk("20k"), tmp_path / "tmp"
    tmp.mkdir()
    result = run_program("settings.py", env={"THEANO_FLAGS": "base_compiledir=%s" % disk,
                                             "TMPDIR": str(tmp)})
    assert_full_disk_line(result, disk, tmp)


@slow
@pytest.mark.parametrize("size", [
    "300k",  # full while the optimizer folds constants: it would log a traceback for each
    "2m",    # full while the training step itself compiles
])
def test_disk_filling_up_while_the_mlp_compiles(small_disk, tmp_path, shared_cifar_dir, size):
    disk, tmp = small_disk(size), tmp_path / "tmp"
    tmp.mkdir()
    result = run_script("mlp.py", "--data-dir", shared_cifar_dir, "--epochs", "1",
                        env={"THEANO_FLAGS": "base_compiledir=%s" % disk, "TMPDIR": str(tmp)})
    assert_full_disk_line(result, disk, tmp)


def test_a_full_disk_elsewhere_is_not_called_the_compile_directory(stack):
    import errno
    try:
        raise OSError(errno.ENOSPC, "No space left on device", "/data/params.pkl")
    except OSError as error:
        assert stack.compiling.compile_problem(error) is None


# --- in-process: the messages, and errors that are not the configuration's -------------

def test_check_settings_names_the_broken_file(stack, tmp_path, monkeypatch):
    settings = stack.settings
    monkeypatch.setenv("THEANO_FLAGS", "")
    monkeypatch.setenv("THEANORC", write_rc(tmp_path, "[global]\nfloatX float32\n"))
    with pytest.raises(settings.ConfigurationError, match=r"line 2, .*'floatX float32'.*Fix"):
        settings.check_settings()
    monkeypatch.setenv("THEANORC", str(REPO / ".theanorc"))
    settings.check_settings()  # the repository's file: fine


def test_refused_value_is_explained_with_its_source(stack, tmp_path, monkeypatch):
    from theano.configparser import EnumStr
    settings = stack.settings
    monkeypatch.setenv("THEANO_FLAGS", "")
    rc = write_rc(tmp_path, "[global]\nfloatX = float33\n")
    monkeypatch.setenv("THEANORC", rc)
    param = EnumStr("float64", "float32", "float16")
    param.fullname, param.is_default = "floatX", False  # as Theano sets them
    with pytest.raises(ValueError) as refused:
        param.__set__(object(), "float33")
    message = settings.configuration_problem(refused.value)
    assert message.startswith("theano_today: %s sets floatX = float33" % rc), message
    assert "Fix: correct or delete that line in %s" % rc in message
    param.is_default = True  # Theano's own default failing is not the user's problem
    assert settings.configuration_problem(refused.value) is None


def test_unrelated_errors_are_not_explained(stack):
    try:
        raise ValueError("not about the configuration")
    except ValueError as error:
        assert stack.settings.configuration_problem(error) is None
