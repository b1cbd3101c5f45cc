"""mlp.py and ConvolutionNN.py: their preprocessing, and end to end on the
small fixture data set."""
import os
import re
import signal
import stat
import subprocess
import sys
import threading

import numpy as np
import pytest

import cifar_loader
from helpers import (N_PER_BATCH, REPO, SCRIPT_ENV, assert_clean_failure, run_python,
                     run_script)

ACCURACY = re.compile(r"^test accuracy: \d\.\d{4} \(the article: 0\.[46]1\)$")
SCRIPTS = ["mlp.py", "ConvolutionNN.py"]


# --- the article's preprocessing -------------------------------------------------

def test_preprocess_range_and_shapes(stack, cifar_dir):
    import ConvolutionNN
    import mlp
    X, _ = cifar_loader.load_CIFAR_batch(os.path.join(cifar_dir, "data_batch_1"))
    X[0], X[1] = 0, 255  # one black, one white image
    flat, image = mlp.preprocess(X), ConvolutionNN.preprocess(X)
    assert flat.shape == (N_PER_BATCH, 1024) and flat.dtype == np.float32
    assert image.shape == (N_PER_BATCH, 1, 32, 32) and image.dtype == np.float32
    assert flat.min() == pytest.approx(-0.5) and flat.max() == pytest.approx(0.5)
    np.testing.assert_allclose(flat[0], -0.5)
    np.testing.assert_allclose(flat[1], 0.5, rtol=1e-6)
    np.testing.assert_array_equal(flat, image.reshape(N_PER_BATCH, 1024))  # same input
    expected = cifar_loader.to_grayscale(X[2:3])[0, 4, 9] / 255 - 0.5
    assert image[2, 0, 4, 9] == pytest.approx(expected)


# --- end to end ---------------------------------------------------------------------



def train(script, data_dir, *args):
    result = run_script(script, "--data-dir", data_dir, "--epochs", "1", *args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result


def epoch_rows(stdout):
    """nolearn's per-epoch rows (epoch, losses, ratio, accuracy), no duration."""
    return re.findall(r"^ +(\d+ +\d+\.\d+ +\d+\.\d+ +\d+\.\d+ +\d+\.\d+) ",
                      stdout, re.MULTILINE)


@pytest.fixture(scope="module")
def mlp_runs(shared_cifar_dir):
    """run(seed) -> stdout of mlp.py --epochs 1 --seed seed, each seed run once."""
    runs = {}

    def run(seed):
        if seed not in runs:
            runs[seed] = train("mlp.py", shared_cifar_dir, "--seed", seed).stdout
        return runs[seed]
    return run


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_one_epoch_ends_with_the_test_accuracy(script, shared_cifar_dir, mlp_runs):
    if script == "mlp.py":
        stdout = mlp_runs("7")
    else:
        stdout = train(script, shared_cifar_dir, "--seed", "7").stdout
    lines = stdout.splitlines()
    assert lines[0].startswith("Theano 1.0.5 on cpu") and "floatX=float32" in lines[0]
    assert len(epoch_rows(stdout)) == 1
    assert ACCURACY.match(lines[-1]), lines[-1]
    # a pipe gets nolearn's epoch table as plain text, without colour codes
    assert "\x1b[" not in stdout


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_help_lists_the_options(script):
    result = run_script(script, "--help")
    assert result.returncode == 0, result.stderr
    for option in ["--data-dir", "--epochs", "--learning-rate", "--seed", "--save"]:
        assert option in result.stdout, option
    # real defaults shown; "None" (the data folder, --save) is explained in words
    assert "(default: 1)" in result.stdout  # --seed
    assert "default: None" not in result.stdout, result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_bad_data_dir_is_a_clear_error(script, cifar_dir):
    result = run_script(script, "--data-dir", cifar_dir + "-missing", "--epochs", "1")
    assert_clean_failure(result, "does not exist", "Fix:")


@pytest.mark.slow
def test_damaged_data_names_each_file(cifar_dir):
    os.remove(os.path.join(cifar_dir, "data_batch_2"))
    with open(os.path.join(cifar_dir, "test_batch"), "r+b") as f:
        f.truncate(1000)
    result = run_script("mlp.py", "--data-dir", cifar_dir, "--epochs", "1")
    assert_clean_failure(result, "data_batch_2: missing", "test_batch: truncated", "Fix:")


@pytest.mark.slow
def test_same_seed_same_result_other_seed_other_result(shared_cifar_dir, mlp_runs):
    first, other = mlp_runs("7"), mlp_runs("8")
    again = train("mlp.py", shared_cifar_dir, "--seed", "7").stdout
    assert first.splitlines()[-1] == again.splitlines()[-1]
    assert epoch_rows(first) == epoch_rows(again)
    assert epoch_rows(first) != epoch_rows(other)


@pytest.mark.slow
def test_saved_parameters_reload_into_a_fresh_net(stack, shared_cifar_dir, tmp_path, capsys):
    import mlp
    params = tmp_path / "mlp.pkl"
    trained = mlp.main(["--data-dir", shared_cifar_dir, "--epochs", "1",
                        "--save", str(params)])
    assert "parameters saved to %s" % params in capsys.readouterr().out

    X = mlp.preprocess(cifar_loader.load_CIFAR10(shared_cifar_dir)[2])
    fresh = mlp.build_mlp(verbose=0)
    fresh.initialize()
    assert not np.allclose(fresh.predict_proba(X), trained.predict_proba(X))
    fresh.load_params_from(str(params))
    np.testing.assert_allclose(fresh.predict_proba(X), trained.predict_proba(X), rtol=1e-6)
    np.testing.assert_array_equal(fresh.predict(X), trained.predict(X))


# --- mistakes on the command line, Ctrl-C, a failing --save ----------------------------

@pytest.mark.parametrize("args, says", [
    (["--epochs", "0"], "--epochs: must be a whole number of at least 1, not '0'"),
    (["--epochs", "-3"], "--epochs: must be a whole number"),
    (["--epochs", "many"], "--epochs: must be a whole number"),
    (["--learning-rate", "0"], "--learning-rate: must be a number above 0"),
    (["--learning-rate", "-0.1"], "--learning-rate: must be a number above 0"),
    (["--learning-rate", "nan"], "--learning-rate: must be a number above 0"),
    (["--learning-rate", "inf"], "--learning-rate: must be a number above 0"),
    (["--limit", "0"], "--limit: must be at least 50"),
    (["--limit", "49"], "--limit: must be at least 50 (nolearn's 80/20 split"),
    (["--limit", "x"], "--limit: must be at least 50"),
    (["--seed", "-1"], "--seed: must be a whole number from 0 to 4294967295"),
    (["--seed", str(2 ** 32)], "--seed: must be a whole number from 0"),
])
def test_nonsense_settings_are_refused_before_anything_runs(stack, capsys, args, says):
    import mlp
    from theano_today import cli
    with pytest.raises(SystemExit) as stop:
        cli.training_parser(mlp.__doc__, mlp.EPOCHS, mlp.LEARNING_RATE,
                               cifar_loader.add_data_dir_option).parse_args(args)
    assert stop.value.code == 2
    assert says in capsys.readouterr().err


def test_save_into_a_missing_folder_or_onto_a_folder_is_refused_at_once(stack, tmp_path,
                                                                        capsys):
    import mlp
    from theano_today import cli
    parser = cli.training_parser(mlp.__doc__, mlp.EPOCHS, mlp.LEARNING_RATE,
                               cifar_loader.add_data_dir_option)
    for path, says in [(tmp_path / "no" / "mlp.pkl", "does not exist: create it first"),
                       (tmp_path, "is a folder: name a file in it")]:
        with pytest.raises(SystemExit):
            parser.parse_args(["--save", str(path)])
        assert says in capsys.readouterr().err
    assert parser.parse_args(["--save", str(tmp_path / "mlp.pkl")]).save


def test_save_onto_something_not_a_file_is_refused_and_it_is_kept(stack, tmp_path, capsys):
    # a pipe stands for /dev/null: written beside it and renamed over it, it
    # would be replaced by a file (as root, /dev/null itself)
    import mlp
    from theano_today import cli, params
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    parser = cli.training_parser(mlp.__doc__, mlp.EPOCHS, mlp.LEARNING_RATE,
                               cifar_loader.add_data_dir_option)
    with pytest.raises(SystemExit):
        parser.parse_args(["--save", str(pipe)])
    assert "%s is a FIFO (named pipe), not a file" % pipe in capsys.readouterr().err
    with pytest.raises(OSError, match="not a file"):
        params.save(NetOnAFullDisk(), str(pipe))
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_save_through_a_link_replaces_the_file_it_names(stack, tmp_path):
    from theano_today import params

    class Net(object):
        def get_all_params_values(self):
            return {"hidden": [np.arange(3.0)]}

    (tmp_path / "runs").mkdir()
    target, link = tmp_path / "runs" / "mlp.pkl", tmp_path / "latest.pkl"
    target.write_bytes(b"old")
    link.symlink_to(target)
    params.save(Net(), str(link))
    assert link.is_symlink() and os.readlink(link) == str(target)
    np.testing.assert_array_equal(params.load(str(target))["hidden"][0], np.arange(3.0))


def test_an_empty_data_dir_is_refused_not_taken_for_the_default(stack, capsys):
    import mlp
    from theano_today import cli
    with pytest.raises(SystemExit):
        cli.training_parser(mlp.__doc__, mlp.EPOCHS, mlp.LEARNING_RATE,
                               cifar_loader.add_data_dir_option).parse_args(
            ["--data-dir", ""])
    assert "--data-dir: empty: name the cifar-10-batches-py folder" in capsys.readouterr().err


class FullDisk(object):
    """Pickling it fails as writing to a full disk does."""

    def __reduce__(self):
        import errno
        raise OSError(errno.ENOSPC, "No space left on device")


class NetOnAFullDisk(object):
    def get_all_params_values(self):
        return {"hidden": [np.zeros(10000, np.float32), FullDisk()]}


def test_a_failed_save_keeps_the_old_file_whole(stack, tmp_path, capsys):
    from theano_today import cli
    net = NetOnAFullDisk()
    old = tmp_path / "mlp.pkl"
    old.write_bytes(b"the parameters of an earlier run")
    assert cli.save_params(net, str(old)) is False
    assert old.read_bytes() == b"the parameters of an earlier run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp.pkl"]  # no temporary file left
    assert "could not save the parameters to %s: No space left" % old in capsys.readouterr().err


@pytest.mark.slow
def test_a_bad_option_is_one_line_from_the_script(cifar_dir):
    result = run_script("mlp.py", "--data-dir", cifar_dir, "--epochs", "0")
    assert result.returncode == 2 and result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].endswith(
        "error: argument --epochs: must be a whole number of at least 1, not '0'")


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT,    # what Ctrl-C sends
                                  signal.SIGTERM],  # kill, timeout, a batch system
                         ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_still_saves_and_evaluates_and_says_interrupted(shared_cifar_dir, tmp_path,
                                                               stop):
    params = tmp_path / "mlp.pkl"
    command = [sys.executable, str(REPO / "mlp.py"), "--data-dir", shared_cifar_dir,
               "--epochs", "1000", "--save", str(params)]
    with open(tmp_path / "stderr", "w+") as errors:
        process = subprocess.Popen(command, cwd=str(REPO), env=SCRIPT_ENV, text=True,
                                   stdout=subprocess.PIPE, stderr=errors)
        hung = threading.Timer(120, process.kill)
        hung.start()
        stdout = ""
        for line in process.stdout:  # nolearn's epoch rows, as they come
            stdout += line
            if epoch_rows(stdout):
                process.send_signal(stop)
                break
        # the same reader to the end: lines it has read ahead are in its buffer
        stdout += process.stdout.read()
        process.wait()
        hung.cancel()
        errors.seek(0)
        stderr = errors.read()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr, stderr
    done = len(epoch_rows(stdout))
    assert 1 <= done < 1000
    assert ACCURACY.match(stdout.splitlines()[-1]), stdout
    assert "parameters saved to %s" % params in stdout and params.exists()
    assert stderr.splitlines()[-1] == (
        "interrupted after epoch %d of 1000: the accuracy above is that of the net as it "
        "was then" % done)


@pytest.mark.slow
def test_a_diverging_run_stops_and_says_so(shared_cifar_dir):
    result = run_script("mlp.py", "--data-dir", shared_cifar_dir, "--epochs", "20",
                        "--learning-rate", "1e20")  # the fixture's images need that
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert ACCURACY.match(result.stdout.splitlines()[-1])  # still evaluated
    said = result.stderr.splitlines()[-1]
    assert said.startswith("training diverged: the loss of epoch ")
    assert said.endswith("Fix: a smaller --learning-rate (this run: 1e+20)")
    epoch = int(said.split("epoch ")[1].split()[0])
    assert epoch < 20 and result.stdout.count("nan") >= 1  # the epoch that diverged is shown


def test_stop_on_divergence_puts_back_the_last_finite_parameters(stack):
    import mlp
    from theano_today.divergence import StopOnDivergence
    net = mlp.build_mlp(verbose=0)
    net.initialize()
    guard = StopOnDivergence()
    guard(net, [])  # training starts
    assert guard.epoch_finished in net.on_epoch_finished
    W = net.layers_["hidden"].W
    good = W.get_value()
    guard.epoch_finished(net, [dict(epoch=1, train_loss=2.0, valid_loss=2.1)])
    W.set_value(np.full_like(good, np.nan))
    with pytest.raises(StopIteration):
        guard.epoch_finished(net, [dict(epoch=2, train_loss=np.nan, valid_loss=np.inf)])
    np.testing.assert_array_equal(W.get_value(), good)



def plain(out):
    """nolearn's epoch table without its colours (ANSI codes)."""
    return re.sub(r"\x1b\[\d*m", "", out)


def small_mlp(epochs=5, on_epoch_finished=(), on_batch_finished=()):
    """The article's MLP on 320 random images (nolearn: 256 to train, 64 to
    validate; two minibatches an epoch); handlers of the test's run first."""
    import mlp
    net = mlp.build_mlp(epochs)
    net.on_epoch_finished[:0] = on_epoch_finished  # before nolearn's PrintLog
    net.on_batch_finished[:0] = on_batch_finished
    rng = np.random.RandomState(0)
    return net, rng.uniform(-0.5, 0.5, (320, 1024)).astype(np.float32), \
        rng.randint(0, 10, 320).astype(np.int32)


def fit_stopping_between_batches(net, X, y):
    from theano_today.interrupt import SIGNALS, stop_between_batches
    outside = {stop: signal.getsignal(stop) for stop in SIGNALS}
    try:
        with stop_between_batches(net) as stop:
            net.fit(X, y)
        return stop
    finally:  # as they were, whatever ended the fit
        assert {stop: signal.getsignal(stop) for stop in outside} == outside
        handlers = (net.on_training_started + net.on_batch_finished + net.on_epoch_finished
                    + net.on_training_finished)
        assert not [h for h in handlers if type(getattr(h, "__self__", None)).__module__
                    == "theano_today.interrupt"]


def test_ctrl_c_after_an_epoch_still_prints_and_checks_it(stack, capsys):
    """The race that nolearn's fit leaves: Ctrl-C after an epoch is in the
    history, before its row is printed and its loss checked."""
    def loss_gone_then_ctrl_c(net, history):
        history[-1]["train_loss"] = np.nan
        os.kill(os.getpid(), signal.SIGINT)

    net, X, y = small_mlp(on_epoch_finished=[loss_gone_then_ctrl_c])
    net.initialize()
    first = [p.get_value() for p in net.get_all_params()]
    fit_stopping_between_batches(net, X, y)
    assert len(net.train_history_) == 1
    assert re.findall(r"^ +(\d+) +nan ", plain(capsys.readouterr().out),
                      re.MULTILINE) == ["1"]  # epoch 1's row, printed
    for param, value in zip(net.get_all_params(), first):  # StopOnDivergence ran
        np.testing.assert_array_equal(param.get_value(), value)


def test_ctrl_c_after_an_epoch_stops_before_the_next(stack, capsys):
    batches = []
    net, X, y = small_mlp(on_epoch_finished=[lambda net, history: os.kill(os.getpid(),
                                                                          signal.SIGINT)],
                          on_batch_finished=[lambda net, history: batches.append(len(history))])
    fit_stopping_between_batches(net, X, y)
    assert batches == [0, 0] and len(net.train_history_) == 1  # epoch 1's minibatches only
    assert len(epoch_rows(plain(capsys.readouterr().out))) == 1


def test_ctrl_c_too_late_to_stop_training_is_told(stack, capsys):
    net, X, y = small_mlp(1, on_epoch_finished=[lambda net, history: os.kill(os.getpid(),
                                                                             signal.SIGINT)])
    assert fit_stopping_between_batches(net, X, y).asked  # not lost for having come late
    assert len(net.train_history_) == 1
    assert len(epoch_rows(plain(capsys.readouterr().out))) == 1


@pytest.fixture
def sigterm_as_the_scripts_have_it():
    from theano_today import cli
    outside = signal.signal(signal.SIGTERM, cli._interrupt)  # as cli.run sets it
    yield
    signal.signal(signal.SIGTERM, outside)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_in_a_minibatch_stops_after_it(stack, capsys, sigterm_as_the_scripts_have_it,
                                              stop):
    batches = []

    def stop_in_epoch_2(net, history):
        batches.append(len(history))
        if len(batches) == 3:  # epoch 2's first minibatch
            os.kill(os.getpid(), stop)

    net, X, y = small_mlp(on_batch_finished=[stop_in_epoch_2])
    assert fit_stopping_between_batches(net, X, y).asked
    assert batches == [0, 0, 1]  # no second minibatch in epoch 2
    assert len(net.train_history_) == 1
    assert len(epoch_rows(plain(capsys.readouterr().out))) == 1


def test_ctrl_c_twice_stops_at_once(stack):
    after = []

    def twice(net, history):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        after.append(len(history))  # not reached: the second one stops here

    net, X, y = small_mlp(on_batch_finished=[twice])
    fit_stopping_between_batches(net, X, y)  # and no third stop as the block ends
    assert after == [] and net.train_history_ == []


def test_ctrl_c_outside_training_is_ctrl_c(stack):
    from theano_today.interrupt import stop_between_batches
    net, X, y = small_mlp()
    started = list(net.on_training_started)
    with pytest.raises(KeyboardInterrupt):
        with stop_between_batches(net):
            os.kill(os.getpid(), signal.SIGINT)  # say, while it compiles
            for _ in range(1000):  # Python runs the handler between two bytecodes
                pass
    assert net.on_training_started == started
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_error_in_training_leaves_the_handlers_as_they_were(stack):
    def fails(net, history):
        raise ValueError("a minibatch handler's error")

    net, X, y = small_mlp(on_batch_finished=[fails])
    with pytest.raises(ValueError):
        fit_stopping_between_batches(net, X, y)


@pytest.mark.parametrize("outside", [signal.SIG_IGN, signal.SIG_DFL], ids=["ignored", "default"])
def test_a_sigterm_python_does_not_handle_is_left_alone(stack, outside):
    seen = []
    net, X, y = small_mlp(1, on_batch_finished=[
        lambda net, history: seen.append(signal.getsignal(signal.SIGTERM))])
    before = signal.signal(signal.SIGTERM, outside)  # SIG_IGN: as nohup leaves it
    try:
        assert not fit_stopping_between_batches(net, X, y).asked
    finally:
        signal.signal(signal.SIGTERM, before)
    assert seen == [outside] * 2


def test_run_turns_ctrl_c_and_a_failing_disk_into_one_line(stack, capsys):
    import errno
    from theano_today import cli

    def interrupted():
        raise KeyboardInterrupt

    def disk_full():
        raise OSError(errno.ENOSPC, "No space left on device", "/root/.theano/x.so")

    with pytest.raises(SystemExit) as stop:
        cli.run(interrupted)
    assert stop.value.code == 130
    assert capsys.readouterr().err == "interrupted before training ended: nothing was saved\n"
    with pytest.raises(SystemExit) as stop:
        cli.run(disk_full)
    assert stop.value.code == ("error: [Errno 28] No space left on device: "
                               "'/root/.theano/x.so'")


@pytest.mark.slow
def test_output_piped_into_head_ends_quietly(shared_cifar_dir):
    command = [sys.executable, str(REPO / "mlp.py"), "--data-dir", shared_cifar_dir,
               "--epochs", "1000"]
    process = subprocess.Popen(command, cwd=str(REPO), env=SCRIPT_ENV, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.readline()  # what `head -1` reads, then it closes the pipe
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 1
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", [
    ["gpu_check.py"], ["cifar_loader.py"], ["setup_theanorc.py"], ["reproduce.py"],
    ["-m", "bench.feeding"], ["-m", "bench.fusion_check"], ["-m", "bench.vs_pytorch"],
    ["-m", "bench.ops"]])
def test_every_script_answers_help(command):
    result = run_python(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ") and "--help" in result.stdout
