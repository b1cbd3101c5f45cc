"""Every write goes through theano_today.files: a new file created exclusively
beside its target, renamed over it; whatever sits at the target or at a
temporary name (a link, a FIFO, a device, a crash's leftovers, another
user's) is handled as files.py says, in one line, and nothing of the
user's is lost or changed."""
import errno
import json
import os
import socket
import stat
import subprocess
import sys

import pytest

import report
import setup_theanorc
from helpers import REPO, SCRIPT_ENV, SPECIAL_FILES, assert_clean_failure, run_python, run_script

files = setup_theanorc.theano_today_files()
ROOT = os.geteuid() == 0


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def one_line(error):
    text = str(error)
    assert text and "\n" not in text and "Errno" not in text, text
    return text


# --- the file itself --------------------------------------------------------------

def test_a_new_file_has_the_mode_open_gives_it(tmp_path):
    mask = os.umask(0o027)
    try:
        files.write(tmp_path / "new.txt", "text")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(os.stat(tmp_path / "new.txt").st_mode) == 0o640
    assert (tmp_path / "new.txt").read_text() == "text" and names(tmp_path) == ["new.txt"]


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_a_replaced_file_keeps_its_mode(tmp_path, mode):
    path = tmp_path / "kept.txt"
    path.write_text("old")
    os.chmod(path, mode)
    files.write(path, b"new")
    assert stat.S_IMODE(os.stat(path).st_mode) == mode and path.read_text() == "new"


@pytest.mark.parametrize("interruption", [ValueError("a bug"), KeyboardInterrupt()])
def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path, interruption):
    path = tmp_path / "results.json"
    path.write_text("old")

    def fill(f):
        f.write(b"half of it")
        raise interruption

    with pytest.raises(type(interruption)):
        files.write(path, fill)
    assert path.read_text() == "old" and names(tmp_path) == ["results.json"]


def test_a_full_disk_is_one_line_naming_the_file(tmp_path, monkeypatch):
    path = tmp_path / "net.pkl"
    path.write_text("old")

    def fsync(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(files.FileError) as error:
        files.write(path, b"new")
    said = one_line(error.value)
    assert str(path) in said and "No space left on device" in said and "left as it was" in said
    assert error.value.strerror == "No space left on device"
    assert path.read_text() == "old" and names(tmp_path) == ["net.pkl"]


# --- what sits at a temporary name is never written ----------------------------------

def test_a_link_at_a_temporary_name_is_not_followed(tmp_path, monkeypatch):
    victim = tmp_path / "victim"
    victim.write_text("someone's")
    out = tmp_path / "out"
    out.mkdir()
    # the fixed names of earlier versions, and the next unique name this one draws
    for fixed in ["results.json.part", "results.json.tmp", ".results.json.00000000.tmp"]:
        (out / fixed).symlink_to(victim)
    draws = iter([b"\0\0\0\0"])
    real_urandom = os.urandom
    monkeypatch.setattr(os, "urandom", lambda n: next(draws, None) or real_urandom(n))
    files.write(out / "results.json", "{}")
    assert victim.read_text() == "someone's"
    assert all(os.readlink(out / fixed) == str(victim) for fixed in
               ["results.json.part", "results.json.tmp", ".results.json.00000000.tmp"])
    assert (out / "results.json").read_text() == "{}" and not (out / "results.json").is_symlink()


def test_a_long_name_fits_its_temporary_name(tmp_path):
    longest = tmp_path / ("r" * 250 + ".json")  # 255 bytes: the most a name may have
    files.write(longest, "{}")
    assert longest.read_text() == "{}" and names(tmp_path) == [longest.name]
    too_long = tmp_path / ("r" * 251 + ".json")
    with pytest.raises(files.FileError) as error:
        files.write(too_long, "{}")
    assert "longer than the 255 bytes" in one_line(error.value)
    assert names(tmp_path) == [longest.name]


# --- what sits at the target ------------------------------------------------------------

def test_a_link_is_followed_and_kept(tmp_path):
    # results.json a link into a shared folder: that file is updated, the link stays
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "results.json").write_text(json.dumps({"rows": []}))
    out = tmp_path / "results"
    out.mkdir()
    (out / "results.json").symlink_to("../shared/results.json")
    row = json.loads((REPO / "results" / "results.json").read_text())["rows"][0]
    report.add_rows(str(out), [row])
    assert os.readlink(out / "results.json") == "../shared/results.json"
    assert json.loads((shared / "results.json").read_text())["rows"] == [row]
    assert names(shared) == ["results.json"]


def test_a_link_to_a_missing_file_creates_it(tmp_path):
    (tmp_path / "runs").mkdir()
    link = tmp_path / "latest.pkl"
    link.symlink_to("runs/mlp.pkl")
    assert files.write(link, b"params") == str(tmp_path / "runs" / "mlp.pkl")
    assert (tmp_path / "runs" / "mlp.pkl").read_bytes() == b"params" and link.is_symlink()


@pytest.mark.parametrize("case, says", [
    ("link into a missing folder", "whose folder does not exist"),
    ("link loop", "leads in a loop"),
    ("folder", "is a folder"),
    ("FIFO", "is a FIFO (named pipe), not a file"),
    ("socket", "is a socket, not a file"),
    ("link to a device", "is a character device, not a file"),
    ("missing folder", "does not exist: create it first"),
])
def test_what_cannot_be_written_is_refused_in_one_line_and_kept(tmp_path, case, says):
    path = tmp_path / "results.json"
    if case == "link into a missing folder":
        path.symlink_to(tmp_path / "gone" / "results.json")
    elif case == "link loop":
        path.symlink_to(tmp_path / "other")
        (tmp_path / "other").symlink_to(path)
    elif case == "folder":
        path.mkdir()
    elif case == "FIFO":
        os.mkfifo(path)
    elif case == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
    elif case == "link to a device":
        path.symlink_to(os.devnull)
    elif case == "missing folder":
        path = tmp_path / "gone" / "results.json"
    before = {p.name: os.lstat(p) for p in tmp_path.iterdir()}
    devnull = os.stat(os.devnull)
    for attempt in (files.check, lambda p: files.write(p, "{}")):
        with pytest.raises(files.FileError) as error:
            attempt(path)
        assert says in one_line(error.value)
    after = {p.name: os.lstat(p) for p in tmp_path.iterdir()}
    assert {k: (v.st_ino, v.st_mode) for k, v in after.items()} == {
        k: (v.st_ino, v.st_mode) for k, v in before.items()}  # nothing added or replaced
    assert os.stat(os.devnull).st_mode == devnull.st_mode  # still the device


@pytest.mark.skipif(not ROOT, reason="making a link of another user needs root")
def test_another_users_link_in_a_shared_folder_is_not_followed(tmp_path):
    shared = tmp_path / "tmp"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # as /tmp: anyone may add names, only their own
    victim = tmp_path / "victim"
    victim.write_text("root's")
    planted = shared / "results.json"
    planted.symlink_to(victim)
    os.lchown(planted, 65534, 65534)  # made by nobody
    with pytest.raises(files.FileError) as error:
        files.write(planted, "{}")
    assert "another user made" in one_line(error.value)
    assert victim.read_text() == "root's" and planted.is_symlink()
    os.lchown(planted, 0, 0)  # one's own link there is followed
    files.write(planted, "{}")
    assert victim.read_text() == "{}"


def test_create_never_writes_where_a_name_is_taken(tmp_path):
    taken = tmp_path / "backup"
    taken.write_text("kept")
    nowhere = tmp_path / "dangling"
    nowhere.symlink_to(tmp_path / "would-be-created")
    for path in (taken, nowhere):
        with pytest.raises(FileExistsError):
            files.create(path, b"x")
    assert taken.read_text() == "kept" and names(tmp_path) == ["backup", "dangling"]


# --- reading: a special file is refused, never waited on --------------------------------

def test_reading_a_fifo_or_a_device_is_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "zero").symlink_to("/dev/zero")
    code = ("import setup_theanorc; files = setup_theanorc.theano_today_files()\n"
            "for name in ('fifo', 'zero'):\n"
            "    try: files.read(%r + '/' + name)\n"
            "    except files.FileError as e: print(e)\n" % str(tmp_path))
    result = run_python("-c", code, timeout=60)  # a read that waits never returns
    assert result.returncode == 0, result.stderr
    said = result.stdout.splitlines()
    assert "fifo is a FIFO (named pipe), not a file" in said[0]
    assert "zero is a character device, not a file" in said[1]


# --- setup_theanorc.py: ~/.theanorc and its backups ---------------------------------------

MINE = "[global]\ndevice = cpu\n"
TUTORIAL = (REPO / ".theanorc").read_text()


def test_a_theanorc_that_is_a_link_stays_one(tmp_path):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    (dotfiles / "theanorc").write_text(MINE)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".theanorc").symlink_to(dotfiles / "theanorc")
    said = setup_theanorc.install(str(REPO / ".theanorc"), str(home))
    assert os.readlink(home / ".theanorc") == str(dotfiles / "theanorc")
    assert (dotfiles / "theanorc").read_text() == TUTORIAL
    backup = [p for p in home.iterdir() if p.name != ".theanorc"]
    assert len(backup) == 1 and backup[0].read_text() == MINE and str(backup[0]) in said


def test_a_link_at_the_old_temporary_name_is_left_alone(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("not yours")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".theanorc.tmp").symlink_to(victim)
    result = run_script("setup_theanorc.py", env={"HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "not yours"
    assert (home / ".theanorc").read_text() == TUTORIAL


@pytest.mark.parametrize("thing", sorted(SPECIAL_FILES))
def test_a_theanorc_that_is_not_a_file_is_one_line_and_kept(tmp_path, thing):
    rc = tmp_path / ".theanorc"
    SPECIAL_FILES[thing](rc)
    result = run_script("setup_theanorc.py", env={"HOME": str(tmp_path)}, timeout=60)
    assert_clean_failure(result, "error: could not install .theanorc", str(rc))
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert names(tmp_path) == [".theanorc"]
    assert stat.S_ISFIFO(os.lstat(rc).st_mode) if thing == "FIFO" else rc.is_symlink()


def test_set_ups_at_once_keep_only_the_users_file_as_backups(tmp_path):
    (tmp_path / ".theanorc").write_text(MINE)
    env = dict(SCRIPT_ENV, HOME=str(tmp_path))
    runs = [subprocess.Popen([sys.executable, str(REPO / "setup_theanorc.py")], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(12)]
    said = [run.communicate(timeout=120) for run in runs]
    assert all(run.returncode == 0 for run in runs), said
    backups = [p for p in tmp_path.iterdir() if p.name != ".theanorc"]
    named = [out.split("kept as ")[1].rstrip(").\n") for out, _ in said if "kept as" in out]
    assert named and sorted(named) == sorted(str(p) for p in backups)  # no temporary left
    assert all(open(backup).read() == MINE for backup in named)
    assert (tmp_path / ".theanorc").read_text() == TUTORIAL


# --- the scripts: what they will write is checked first ------------------------------------

def test_save_that_cannot_be_written_is_refused_before_training(stack, tmp_path, capsys):
    import cifar_loader
    import mlp
    from theano_today import cli
    parser = cli.training_parser(mlp.__doc__, mlp.EPOCHS, mlp.LEARNING_RATE,
                                 cifar_loader.add_data_dir_option)
    os.mkfifo(tmp_path / "fifo.pkl")
    (tmp_path / "loop.pkl").symlink_to("loop.pkl")
    (tmp_path / "away.pkl").symlink_to(tmp_path / "gone" / "mlp.pkl")
    for name, says in [("fifo.pkl", "is a FIFO"), ("loop.pkl", "leads in a loop"),
                       ("away.pkl", "whose folder does not exist"),
                       ("x" * 256 + ".pkl", "name is longer than")]:
        with pytest.raises(SystemExit):
            parser.parse_args(["--save", str(tmp_path / name)])
        assert says in capsys.readouterr().err
    assert parser.parse_args(["--save", str(tmp_path / ("x" * 251 + ".pkl"))]).save


def test_save_params_to_writes_whole(stack, tmp_path):
    import mlp
    net = mlp.build_mlp(verbose=0)
    net.initialize()
    link = tmp_path / "latest.pkl"
    link.symlink_to("mlp.pkl")
    net.save_params_to(str(link))  # nolearn's own name, written as params.save writes
    assert link.is_symlink() and names(tmp_path) == ["latest.pkl", "mlp.pkl"]


def test_a_download_onto_a_fifo_is_refused_before_it_starts(tmp_path, monkeypatch):
    import cifar_loader
    os.mkfifo(tmp_path / "cifar-10-python.tar.gz")
    monkeypatch.setattr(cifar_loader.urllib.request, "urlopen", pytest.fail)
    with pytest.raises(cifar_loader.CifarError, match="is a FIFO"):
        cifar_loader.download_CIFAR10(str(tmp_path))
    assert names(tmp_path) == ["cifar-10-python.tar.gz"]


@pytest.mark.slow
def test_out_that_is_a_link_to_nowhere_is_one_line(tmp_path):
    out = tmp_path / "results"
    out.symlink_to(tmp_path / "gone")
    result = run_script("reproduce.py", "--render-only", "--out", out)
    assert_clean_failure(result, "--out %s is a symbolic link to" % out, "leads nowhere")
    assert "Errno" not in result.stderr and out.is_symlink() and names(tmp_path) == ["results"]


@pytest.mark.slow
def test_a_checkpoint_name_taken_by_a_fifo_stops_before_training(stack, tmp_path,
                                                                 shared_cifar_dir):
    import reproduce
    out = tmp_path / "results"
    out.mkdir()
    checkpoint = "mlp-cpu%d%s-quick-last.pkl" % (os.cpu_count(), reproduce.python_tag())
    os.mkfifo(out / checkpoint)
    result = run_script("reproduce.py", "--quick", "--runs", "mlp", "--data-dir",
                        shared_cifar_dir, "--out", out, timeout=120)
    assert_clean_failure(result, "%s is a FIFO" % checkpoint)
    assert "expected total" not in result.stdout and names(out) == [checkpoint]
