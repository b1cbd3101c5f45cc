"""reproduce.py: the whole pipeline in --quick mode, plots, saved parameters,
Ctrl-C and --resume, merging rows measured elsewhere, and README.md's table."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import cifar_loader

from helpers import REPO, SCRIPT_ENV, run_script

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick(shared_cifar_dir, tmp_path_factory):
    """One `reproduce.py --quick` run: (output folder, its results.json)."""
    out = tmp_path_factory.mktemp("results")
    result = run_script("reproduce.py", "--quick", "--data-dir", shared_cifar_dir,
                        "--out", out)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "expected total: about" in result.stdout
    with open(out / "results.json") as f:
        return out, json.load(f)


def test_quick_run_writes_every_row(quick):
    out, results = quick
    rows = {row["run"]: row for row in results["rows"]}
    assert set(rows) == {"mlp", "cnn", "cnn-long"}
    for row in rows.values():
        assert row["quick"] and row["epochs"] == row["epochs_done"] == 1
        assert len(row["history"]) == 1 and row["history"][0]["dur"] > 0
        assert 0 <= row["test_accuracy"] <= 1 and row["median_epoch_s"] > 0
        assert row["device"].startswith("cpu") and "Theano 1.0.5" in row["versions"]
    assert np.array(rows["cnn"]["confusion"]).sum() == 100  # the fixture's test images
    table = (out / "RESULTS.md").read_text()
    for name in ("| mlp |", "| cnn |", "| cnn-long |", "0.41", "12.8 / 177.0"):
        assert name in table


def test_quick_run_draws_the_plots(quick):
    out, results = quick
    from PIL import Image
    expected = ["%s-%s-curves.png" % (r["run"], r["device"]) for r in results["rows"]]
    expected += ["%s-%s-confusion.png" % (r["run"], r["device"])
                 for r in results["rows"] if r["run"] != "mlp"]
    for name in expected:
        path = out / name
        assert path.read_bytes()[:8] == PNG_MAGIC, name
        with Image.open(path) as image:
            image.verify()  # a whole, decodable PNG
            assert image.size[0] > 300 and image.size[1] > 200
        assert "(%s)" % name in (out / "RESULTS.md").read_text()
    assert not (out / ("mlp-%s-confusion.png" % results["rows"][0]["device"])).exists()


def test_saved_parameters_predict_the_same_labels(quick, shared_cifar_dir, stack):
    out, results = quick
    import ConvolutionNN
    from sklearn.metrics import confusion_matrix
    row = [r for r in results["rows"] if r["run"] == "cnn"][0]
    net = ConvolutionNN.build_cnn(verbose=0)
    net.load_params_from(str(out / ("cnn-%s-last.pkl" % row["device"])))
    _, _, Xte, Yte = cifar_loader.load_CIFAR10(str(shared_cifar_dir))
    Xte, Yte = ConvolutionNN.preprocess(Xte[:500]), Yte[:500]
    predicted = net.predict(Xte)
    assert confusion_matrix(Yte, predicted, labels=range(10)).tolist() == row["confusion"]
    assert np.mean(predicted == Yte) == row["test_accuracy"]


def test_ctrl_c_keeps_the_parameters_and_resume_continues(shared_cifar_dir, tmp_path):
    out = tmp_path / "results"
    command = [sys.executable, str(REPO / "reproduce.py"), "--quick", "--runs", "cnn",
               "--epochs", "1000", "--data-dir", str(shared_cifar_dir), "--out", str(out)]
    process = subprocess.Popen(command, cwd=str(REPO), env=SCRIPT_ENV, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    history = None
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        found = list(out.glob("cnn-*-history.json")) if out.exists() else []
        if found:
            history = found[0]
            break
        time.sleep(0.2)
    assert history is not None, "no epoch finished in time"
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert "interrupted after epoch" in stdout and "--resume" in stdout
    with open(out / "results.json") as f:
        row = json.load(f)["rows"][0]
    done = row["epochs_done"]
    assert row["interrupted"] and 1 <= done < 1000
    assert (out / ("cnn-%s-last.pkl" % row["device"])).exists()
    assert 0 <= row["test_accuracy"] <= 1  # evaluated although interrupted

    resumed = run_script("reproduce.py", "--quick", "--runs", "cnn", "--epochs", done + 1,
                         "--resume", "--data-dir", shared_cifar_dir, "--out", out)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stdout
    with open(out / "results.json") as f:
        row = json.load(f)["rows"][0]
    assert not row["interrupted"]
    assert [h["epoch"] for h in row["history"]] == list(range(1, done + 2))


def test_merge_adds_rows_from_another_machine(quick, tmp_path):
    _, results = quick
    gpu = dict(results["rows"][0], device="gpu", host="gpu-machine",
               machine="GPU: test", median_epoch_s=results["rows"][0]["median_epoch_s"] / 4)
    cpu = dict(results["rows"][0], host="gpu-machine", machine="CPU: test, 16 cores")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"rows": [gpu, cpu]}))
    out = tmp_path / "merged"
    out.mkdir()
    (out / "results.json").write_text(json.dumps(results))
    result = run_script("reproduce.py", "--merge", other, "--out", out)
    assert result.returncode == 0, result.stderr
    merged = json.loads((out / "results.json").read_text())["rows"]
    assert len(merged) == len(results["rows"]) + 2
    table = (out / "RESULTS.md").read_text()
    assert "## GPU speed-up" in table and "4.0x" in table


def test_help_shows_real_defaults_only():
    result = run_script("reproduce.py", "--help")
    assert result.returncode == 0, result.stderr
    assert "--merge" in result.stdout and "(default: results)" in result.stdout
    # unset options and switches say what they do, not "None" or "False"
    assert "default: None" not in result.stdout, result.stdout
    assert "default: False" not in result.stdout, result.stdout
