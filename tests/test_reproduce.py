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

from helpers import REPO, SCRIPT_ENV, run_python, run_script

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
    net.load_params_from(str(out / ("cnn-%s-quick-last.pkl" % row["device"])))
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
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr, stderr
    assert "interrupted after epoch" in stdout and "--resume" in stderr
    with open(out / "results.json") as f:
        row = json.load(f)["rows"][0]
    done = row["epochs_done"]
    assert row["interrupted"] and 1 <= done < 1000
    assert (out / ("cnn-%s-quick-last.pkl" % row["device"])).exists()
    assert 0 <= row["test_accuracy"] <= 1  # evaluated although interrupted

    resumed = run_script("reproduce.py", "--quick", "--runs", "cnn", "--epochs", done + 1,
                         "--resume", "--data-dir", shared_cifar_dir, "--out", out)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stdout
    with open(out / "results.json") as f:
        row = json.load(f)["rows"][0]
    assert not row["interrupted"]
    assert [h["epoch"] for h in row["history"]] == list(range(1, done + 2))


def test_ctrl_c_too_late_to_stop_a_run_stops_the_next(quick, shared_cifar_dir, tmp_path,
                                                      monkeypatch, stack, capsys):
    # Ctrl-C in the last epoch's validation: that run is whole, and no other starts
    import reproduce
    _, results = quick
    rows = {r["run"]: dict(r) for r in results["rows"]}
    trained = []

    def train_run(name, *args, **kwargs):
        trained.append(name)
        return rows[name], True

    monkeypatch.setattr(reproduce, "train_run", train_run)
    monkeypatch.setattr(reproduce, "estimate_epoch_seconds", lambda *args: 1.0)
    out = tmp_path / "results"
    with pytest.raises(SystemExit) as stopped:
        reproduce.main(["--runs", "mlp", "cnn", "--quick", "--data-dir", shared_cifar_dir,
                        "--out", str(out)])
    assert stopped.value.code == 130 and trained == ["mlp"]
    assert [r["run"] for r in json.loads((out / "results.json").read_text())["rows"]] == ["mlp"]
    assert "stopped by Ctrl-C" in capsys.readouterr().err


def test_merge_adds_rows_from_another_machine(quick, tmp_path, stack):
    import reproduce
    _, results = quick
    gpu = dict(results["rows"][0], device="gpu" + reproduce.python_tag(), host="gpu-machine",
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


def test_each_python_has_its_own_rows(quick, stack):
    import report
    import reproduce
    assert reproduce.python_tag(reproduce.RESULTS_PYTHON) == ""
    assert reproduce.python_tag((3, 12)) == "-py3.12"
    _, results = quick
    tag = "cpu%d%s" % (os.cpu_count(), reproduce.python_tag())
    assert {r["device"] for r in results["rows"]} == {tag}
    other = dict(results["rows"][0], device="cpu%d-py3.99" % os.cpu_count())
    table = {"rows": list(results["rows"])}
    assert report.merge_row(table, other) is None  # beside, not in place of, the others
    assert len(table["rows"]) == len(results["rows"]) + 1


def test_help_shows_real_defaults_only():
    result = run_script("reproduce.py", "--help")
    assert result.returncode == 0, result.stderr
    # the checkout's results/, from wherever it is run
    assert "--merge" in result.stdout
    assert "(default: %s)" % (REPO / "results") in " ".join(result.stdout.split())
    # unset options and switches say what they do, not "None" or "False"
    assert "default: None" not in result.stdout, result.stdout
    assert "default: False" not in result.stdout, result.stdout


# --- what reproduce.py must never do: lose results, or train on the wrong checkpoint ----

def test_a_quick_or_shorter_row_never_replaces_a_complete_one(quick):
    import report
    _, results = quick
    complete = dict(results["rows"][0], quick=False, epochs=50, epochs_done=50)
    table = {"rows": [complete]}
    for weaker in [dict(complete, quick=True, epochs=1, epochs_done=1),
                   dict(complete, epochs_done=4, interrupted=True),
                   dict(complete, epochs_done=3, diverged=3),
                   dict(complete, epochs=5, epochs_done=5)]:
        note = report.merge_row(table, weaker)
        assert table["rows"] == [complete]
        assert note.startswith("results keep the row of %s on %s (50 epochs)"
                               % (complete["run"], complete["device"]))
    better = dict(complete, test_accuracy=0.5)  # a complete run of the same length
    assert report.merge_row(table, better) is None and table["rows"] == [better]


def test_merge_of_a_malformed_file_changes_nothing(quick, tmp_path):
    _, results = quick
    out = tmp_path / "results"
    out.mkdir()
    (out / "results.json").write_text(json.dumps(results))
    before = (out / "results.json").read_bytes()
    bad_row = dict(results["rows"][0])
    del bad_row["history"]
    for text, says in [("{not json", "is not a results file"),
                       (json.dumps({"rows": [bad_row]}), "row 1 lacks history"),
                       (json.dumps({"rows": [dict(bad_row, run="rnn", history=[])]}),
                        "not a row of reproduce.py")]:
        other = tmp_path / "other.json"
        other.write_text(text)
        result = run_script("reproduce.py", "--merge", other, "--out", out)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert says in result.stderr and str(other) in result.stderr
        assert (out / "results.json").read_bytes() == before
        assert not (out / "RESULTS.md").exists()


def test_a_corrupt_results_file_or_out_that_is_a_file_is_one_line(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "results.json").write_text("[1, 2")
    result = run_script("reproduce.py", "--render-only", "--out", out)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "results.json is not a results file" in result.stderr
    assert (out / "results.json").read_text() == "[1, 2"
    result = run_script("reproduce.py", "--render-only", "--out", out / "results.json")
    assert result.returncode == 2 and "is not a folder: name a folder" in result.stderr


def test_resume_refuses_a_checkpoint_of_another_run_or_a_damaged_one(quick, shared_cifar_dir,
                                                                      tmp_path):
    import shutil
    out, results = quick
    device = results["rows"][0]["device"]
    mine = tmp_path / "resume"
    mine.mkdir()
    # the MLP's checkpoint where the CNN's should be
    shutil.copy(out / ("mlp-%s-quick-last.pkl" % device), mine / ("cnn-%s-quick-last.pkl" % device))
    args = ["--quick", "--runs", "cnn", "--resume", "--data-dir", shared_cifar_dir, "--out", mine]
    result = run_script("reproduce.py", *args)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "not a checkpoint of run cnn (it is run mlp's)" in result.stderr
    (mine / ("cnn-%s-quick-last.pkl" % device)).write_bytes(
        (out / ("cnn-%s-quick-last.pkl" % device)).read_bytes()[:300])
    result = run_script("reproduce.py", *args)
    assert result.returncode == 1 and "truncated or corrupt" in result.stderr
    assert not (mine / "results.json").exists()


def test_a_diverged_run_is_recorded_as_diverged(stack, shared_cifar_dir, tmp_path, capsys):
    import mlp
    import report
    import reproduce
    X, y, Xte, yte = cifar_loader.load_CIFAR10(shared_cifar_dir)
    data = {"mlp": (mlp.preprocess(X), y, mlp.preprocess(Xte), yte)}
    spec = dict(reproduce.RUNS["mlp"], learning_rate=1e20)  # the fixture's images need that
    row, asked = reproduce.train_run("mlp", spec, data, str(tmp_path), "cpu", 5, resume=False)
    assert not asked
    assert row["diverged"] == row["epochs_done"] < 5 and not row["interrupted"]
    assert row["test_accuracy"] is None
    assert "diverged at epoch %d" % row["diverged"] in capsys.readouterr().out
    assert "(diverged)" in report.readme_table({"rows": [dict(
        row, machine="m", host="h", versions="v", date="d")]})



def test_rows_another_run_wrote_meanwhile_are_kept(quick, shared_cifar_dir, tmp_path,
                                                   monkeypatch, stack):
    # reproduce.py --runs mlp and --runs cnn side by side: each adds its row
    # to results.json as the file is when it ends, not as it was when it began
    import reproduce
    _, results = quick
    mine, theirs = [dict(r) for r in results["rows"][:2]]
    out = tmp_path / "results"

    def train_run(name, *args, **kwargs):
        written = {"rows": [dict(theirs, host="the-other-run")]}
        (out / "results.json").write_text(json.dumps(written))  # while this one trains
        return dict(mine), False

    monkeypatch.setattr(reproduce, "train_run", train_run)
    monkeypatch.setattr(reproduce, "estimate_epoch_seconds", lambda *args: 1.0)
    reproduce.main(["--runs", mine["run"], "--quick", "--data-dir", shared_cifar_dir,
                    "--out", str(out)])
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert sorted((r["run"], r["host"]) for r in rows) == sorted(
        [(theirs["run"], "the-other-run"), (mine["run"], mine["host"])])


def test_the_report_has_the_articles_figures_of_the_scripts_and_runs(stack):
    import ConvolutionNN
    import mlp
    import report
    import reproduce
    assert list(report.ARTICLE) == list(reproduce.RUNS)
    assert report.ARTICLE["mlp"]["accuracy"] == mlp.ARTICLE_ACCURACY
    assert report.ARTICLE["cnn"]["accuracy"] == ConvolutionNN.ARTICLE_ACCURACY


def test_the_report_renders_without_the_training_code(tmp_path):
    # a fresh interpreter: the store and the report import neither Theano nor the scripts
    code = ("import json, sys, report; results = report.load_results(%r); "
            "report.render(%r, results); "
            "print(sorted(m for m in ('theano', 'theano_today', 'mlp', 'lasagne') if m in sys.modules))"
            % (str(REPO / "results" / "results.json"), str(tmp_path)))
    result = run_python("-c", code, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "RESULTS.md").read_text() == (REPO / "results" / "RESULTS.md").read_text()
    assert (tmp_path / "mlp-cpu2-curves.png").stat().st_size > 1000
