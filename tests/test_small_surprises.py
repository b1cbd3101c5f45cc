"""Small surprises: a path quoted in a script or a config file ('~/cifar',
'$DATA/cifar') reaches a script unexpanded; a script run from another
folder looked for data/ (and results/) there, not in its checkout; a path
stdout cannot encode failed as it was printed, after the work was done.
"""
import os
import subprocess
import sys

import pytest

import cifar_loader
import setup_theanorc
from helpers import REPO, SCRIPT_ENV, run_script, write_cifar_dir

slow = pytest.mark.slow


# --- ~ and $VARIABLES in every path ------------------------------------------------------

def test_break_a_quoted_tilde_is_no_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    write_cifar_dir(tmp_path / "cifar")
    assert not os.path.isdir("~/cifar")  # what the loader was given, as it was given


@pytest.mark.parametrize("named", ["~/cifar", "$CIFAR_HOME/cifar", "${CIFAR_HOME}/cifar"])
def test_data_dir_expands_tilde_and_variables(tmp_path, monkeypatch, named):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CIFAR_HOME", str(tmp_path))
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    folder = write_cifar_dir(tmp_path / "cifar")
    assert cifar_loader.resolve_data_dir(named, download=False) == folder
    monkeypatch.setenv("CIFAR10_DIR", named)  # as set in a Makefile or a .env file
    assert cifar_loader.resolve_data_dir(download=False) == folder


def test_setup_theanorc_expands_its_paths(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "home").mkdir()
    (tmp_path / "rc").write_bytes((REPO / ".theanorc").read_bytes())
    setup_theanorc.main(["--home", "~/home", "--source", "$HOME/rc"])
    assert (tmp_path / "home" / ".theanorc").read_bytes() == (REPO / ".theanorc").read_bytes()
    assert not os.path.lexists("~")


def test_save_and_out_expand_tilde_and_variables(stack, tmp_path, monkeypatch):
    import mlp
    import reproduce  # noqa: F401  (its --out and --merge: cli.path)
    from theano_today import cli
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("RUNS", str(tmp_path / "runs"))
    (tmp_path / "runs").mkdir()
    parser = cli.training_parser(mlp.__doc__, mlp.EPOCHS, mlp.LEARNING_RATE,
                                 cifar_loader.add_data_dir_option)
    assert parser.parse_args(["--save", "~/mlp.pkl"]).save == str(tmp_path / "mlp.pkl")
    assert parser.parse_args(["--save", "$RUNS/mlp.pkl"]).save == str(tmp_path / "runs" /
                                                                      "mlp.pkl")
    assert cli.path("$RUNS/out") == str(tmp_path / "runs" / "out")


@slow
def test_a_script_given_quoted_paths_trains_and_saves_there(shared_cifar_dir, tmp_path):
    # $VARIABLES here: a HOME of the test's own would compile Theano afresh
    result = run_script("mlp.py", "--data-dir", "$DATA", "--epochs", "1",
                        "--save", "$RUNS/mlp.pkl", cwd=tmp_path,
                        env={"DATA": shared_cifar_dir, "RUNS": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "mlp.pkl").is_file()
    assert os.listdir(tmp_path) == ["mlp.pkl"]  # no folder named $RUNS


@slow
def test_reproduce_out_expands_variables(tmp_path):
    result = run_script("reproduce.py", "--render-only", "--out", "$RESULTS/results",
                        cwd=tmp_path, env={"RESULTS": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "results" / "RESULTS.md").is_file()
    assert sorted(os.listdir(tmp_path)) == ["results"]


# --- options that would do nothing ---------------------------------------------------------

@pytest.mark.parametrize("args, says", [
    (["--render-only", "--quick"], "--render-only trains nothing: --quick would do nothing"),
    (["--merge", "other.json", "--epochs", "3", "--resume"],
     "--merge trains nothing: --resume and --epochs would do nothing; leave them out"),
])
def test_training_options_with_render_only_or_merge_are_refused(stack, tmp_path, capsys,
                                                                args, says):
    import reproduce
    with pytest.raises(SystemExit) as stop:
        reproduce.main(args + ["--out", str(tmp_path / "results")])
    assert stop.value.code == 2 and says in capsys.readouterr().err
    assert os.listdir(tmp_path) == []  # nothing drawn, nothing made


# --- run from another folder --------------------------------------------------------------

def test_the_default_data_folder_is_the_checkouts(tmp_path, monkeypatch):
    # run from elsewhere, ./data/cifar-10-batches-py was looked for (and
    # downloaded to) in the folder it was run from
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    assert cifar_loader.DEFAULT_DIR == str(REPO / "data" / "cifar-10-batches-py")
    fetched = []
    monkeypatch.setattr(cifar_loader, "download_CIFAR10", fetched.append)
    try:
        cifar_loader.resolve_data_dir()
    except cifar_loader.CifarError:
        pass  # the fake download fetched nothing
    assert fetched in ([], [str(REPO / "data")])  # [] where the checkout has it already
    assert not (tmp_path / "data").exists()


@slow
def test_reproduce_writes_to_the_checkouts_results_by_default(tmp_path):
    result = run_script("reproduce.py", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "(default: %s)" % (REPO / "results") in " ".join(result.stdout.split())


# --- a path stdout cannot encode ------------------------------------------------------------

@slow
def test_a_non_utf8_save_path_with_a_strict_utf8_stdout_saves_and_says_so(shared_cifar_dir,
                                                                          tmp_path):
    name = os.fsencode(tmp_path) + b"/caf\xe9.pkl"  # Latin-1, not UTF-8
    env = dict(SCRIPT_ENV, PYTHONIOENCODING="utf-8")  # strict: surrogates fail
    done = subprocess.run([sys.executable.encode(), os.fsencode(REPO / "mlp.py"), b"--data-dir",
                           os.fsencode(shared_cifar_dir), b"--epochs", b"1", b"--save", name],
                          cwd=str(REPO), env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in done.stderr
    assert os.path.isfile(name)
    assert b"parameters saved to " + os.fsencode(tmp_path) + b"/caf\\udce9.pkl" in done.stdout
