"""setup_theanorc.py installs the repository's .theanorc as ~/.theanorc,
run against a temporary HOME."""
import errno
import os
import re

import pytest

import setup_theanorc
from helpers import REPO, assert_clean_failure, run_python, run_script

REPO_THEANORC = (REPO / ".theanorc").read_bytes()
BACKUP = re.compile(r"^\.theanorc\.backup-\d{8}-\d{6}$")


def install(home, *args):
    """Run the script with HOME=home (its default --home)."""
    return run_script("setup_theanorc.py", *args, env={"HOME": str(home)})


def test_fresh_install_copies_the_file(tmp_path):
    result = install(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".theanorc").read_bytes() == REPO_THEANORC
    assert [p.name for p in tmp_path.iterdir()] == [".theanorc"]
    assert result.stdout.strip() == "Installed %s." % (tmp_path / ".theanorc")


def test_second_run_changes_nothing(tmp_path):
    assert install(tmp_path).returncode == 0
    before = (tmp_path / ".theanorc").stat()
    result = install(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "nothing changed" in result.stdout
    assert [p.name for p in tmp_path.iterdir()] == [".theanorc"]  # no backup
    after = (tmp_path / ".theanorc").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_different_file_is_kept_as_a_backup(tmp_path):
    mine = "[global]\ndevice = cpu\nfloatX = float64\n"
    (tmp_path / ".theanorc").write_text(mine)
    result = install(tmp_path)
    assert result.returncode == 0, result.stderr
    backups = [p for p in tmp_path.iterdir() if p.name != ".theanorc"]
    assert len(backups) == 1 and BACKUP.match(backups[0].name), backups
    assert backups[0].read_text() == mine
    assert (tmp_path / ".theanorc").read_bytes() == REPO_THEANORC
    assert str(backups[0]) in result.stdout


def test_backups_within_one_second_do_not_overwrite_each_other(tmp_path, monkeypatch):
    monkeypatch.setattr(setup_theanorc.time, "strftime", lambda fmt: "20150101-120000")
    source = tmp_path / "theanorc"
    home = tmp_path / "home"
    home.mkdir()
    for n in (1, 2, 3):
        (home / ".theanorc").write_text("version %d\n" % n)
        source.write_text("new %d\n" % n)
        setup_theanorc.install(str(source), str(home))
    base = home / ".theanorc.backup-20150101-120000"
    assert base.read_text() == "version 1\n"
    assert (home / (base.name + "-2")).read_text() == "version 2\n"
    assert (home / (base.name + "-3")).read_text() == "version 3\n"
    assert (home / ".theanorc").read_text() == "new 3\n"


@pytest.mark.parametrize("where", ["--source", "--home"])
def test_missing_source_or_home_is_a_clear_error(tmp_path, where):
    missing = tmp_path / "absent"
    result = install(tmp_path, where, missing)
    assert_clean_failure(result, "error: could not install .theanorc", str(missing))
    assert not (tmp_path / ".theanorc").exists()


# --- a failure leaves the user's ~/.theanorc where it was -----------------------

MINE = "[global]\ndevice = cpu\n"


def fail_writing(monkeypatch, name, code=errno.ENOSPC):
    """Writes whose file name starts with name fail as on a full disk (the
    error comes when the file is flushed to the disk, as it may)."""
    real_fsync = os.fsync

    def fsync(fd):
        if os.path.basename(os.readlink("/proc/self/fd/%d" % fd)).startswith(name):
            raise OSError(code, os.strerror(code))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def test_a_full_disk_leaves_the_users_file_untouched(tmp_path, monkeypatch):
    (tmp_path / ".theanorc").write_text(MINE)
    fail_writing(monkeypatch, ".theanorc")  # the backup and the new file alike
    with pytest.raises(SystemExit) as exit:
        setup_theanorc.main(["--home", str(tmp_path)])
    message = exit.value.code  # sys.exit(message): printed on stderr, status 1
    assert isinstance(message, str) and "\n" not in message, message
    assert message.startswith("error: could not install .theanorc")
    assert "No space left on device" in message and "nothing was written" in message
    assert [p.name for p in tmp_path.iterdir()] == [".theanorc"]  # no temp, no backup
    assert (tmp_path / ".theanorc").read_text() == MINE


def test_a_failure_after_the_backup_removes_the_backup(tmp_path, monkeypatch):
    (tmp_path / ".theanorc").write_text(MINE)
    fail_writing(monkeypatch, "..theanorc.", errno.EIO)  # the temporary file, not the backup
    with pytest.raises(OSError, match="it is left as it was"):
        setup_theanorc.install(str(REPO / ".theanorc"), str(tmp_path))
    assert [p.name for p in tmp_path.iterdir()] == [".theanorc"]
    assert (tmp_path / ".theanorc").read_text() == MINE


def test_command_line_on_a_full_disk(tmp_path):
    # Files may grow to 100 bytes only: the tutorial's .theanorc is larger,
    # and writing it fails with EFBIG, as writing to a full disk does.
    (tmp_path / ".theanorc").write_text(MINE)
    code = ("import resource, runpy, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            "resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100)); "
            "sys.argv = ['setup_theanorc.py']; runpy.run_path('setup_theanorc.py', run_name='__main__')")
    result = run_python("-c", code, env={"HOME": str(tmp_path)})
    assert_clean_failure(result, "error: could not install .theanorc", "File too large",
                         "left as it was")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == [".theanorc"]
    assert (tmp_path / ".theanorc").read_text() == MINE
