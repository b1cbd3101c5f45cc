"""Files this run did not write are checked before they are used: results
files (report.load_results), README.md's table lines, parameter files and
checkpoints (theano_today.params). What is wrong is one line naming the
file, the field and the fix; nothing invalid is stored, nothing of the
user's changed; what another supported Python, numpy or floatX wrote loads."""
import collections
import json
import math
import os
import pickle
import subprocess
import warnings

import numpy as np
import pytest

import report
from helpers import REPO, Py2Pickler, assert_clean_failure, run_python, run_script

RESULTS = json.loads((REPO / "results" / "results.json").read_text())
ROW = RESULTS["rows"][0]
EPOCH = ROW["history"][0]


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def refused(error, *words):
    """The message of a ResultsError or ParamsError: one line with words."""
    text = str(error)
    assert "\n" not in text and "Traceback" not in text, text
    for word in words:
        assert word in text, (word, text)


def write_rows(path, *rows):
    path.write_text(json.dumps({"rows": list(rows)}))
    return path


# --- results.json: every field of every row ------------------------------------------

@pytest.mark.parametrize("change, field", [
    (dict(run="rnn"), "not a row of reproduce.py"),
    (dict(run=["mlp"]), "not a row of reproduce.py"),
    (dict(device="../../elsewhere"), "device"),  # a part of the plots' file names
    (dict(device=2), "device"),
    (dict(host="a\nb"), "host"),  # a new line would break RESULTS.md's lists
    (dict(machine=None), "machine"),
    (dict(epochs=True), "epochs"),
    (dict(epochs=0), "epochs"),
    (dict(epochs="50"), "epochs"),
    (dict(epochs_done=-1), "epochs_done"),
    (dict(epochs_done=ROW["epochs_done"] + 1), "epochs_done"),
    (dict(learning_rate=0), "learning_rate"),
    (dict(learning_rate="0.01"), "learning_rate"),
    (dict(test_accuracy="high"), "test_accuracy"),
    (dict(test_accuracy=1.5), "test_accuracy"),
    (dict(test_accuracy=math.nan), "test_accuracy"),
    (dict(median_epoch_s=-1), "median_epoch_s"),
    (dict(history={}), "history"),
    (dict(history=[1], epochs_done=1), "epoch 1 of the history"),
    (dict(history=[dict(EPOCH, train_loss="x")], epochs_done=1), "train_loss"),
    (dict(history=[dict(EPOCH, epoch=2)], epochs_done=1), "says it is epoch 2"),
    (dict(history=[dict(EPOCH, valid_accuracy=3)], epochs_done=1), "valid_accuracy"),
    (dict(confusion=[[1]]), "confusion"),
    (dict(interrupted="yes"), "interrupted"),
    (dict(diverged=0), "diverged"),
    (dict(best_valid_epoch="5"), "best_valid_epoch"),
])
def test_a_row_with_a_wrong_field_is_refused_naming_it(tmp_path, change, field):
    row = dict(ROW, host="other")
    row.update(change)
    path = write_rows(tmp_path / "results.json", ROW, row)
    with pytest.raises(report.ResultsError) as error:
        report.load_results(str(path))
    refused(error.value, str(path), "row 2", field, "move the file away")


def test_a_row_lacking_a_field_is_refused_naming_it(tmp_path):
    row = dict(ROW)
    del row["median_epoch_s"]
    path = write_rows(tmp_path / "results.json", row)
    with pytest.raises(report.ResultsError) as error:
        report.load_results(str(path))
    refused(error.value, "row 1 lacks median_epoch_s")


@pytest.mark.parametrize("content, says", [
    (b"{not json", "is not a results file"),
    (b"\xff\xfe{}", "is not a results file"),  # not UTF-8
    (b"[" * 100000 + b"]" * 100000, "is not a results file"),  # deeper than Python recurses
    (b"[1, 2]", "no list of rows"),
    (b'{"rows": {}}', "no list of rows"),
    (json.dumps({"rows": [ROW, ROW]}).encode(), "rows 1 and 2 are both"),
])
def test_a_file_that_is_no_results_file_is_refused(tmp_path, content, says):
    path = tmp_path / "results.json"
    path.write_bytes(content)
    with pytest.raises(report.ResultsError) as error:
        report.load_results(str(path))
    refused(error.value, str(path), says)


@pytest.mark.parametrize("thing, says", [("folder", "is a folder"),
                                         ("link to nowhere", "which does not exist"),
                                         ("FIFO", "is a FIFO")])
def test_a_results_file_that_is_no_file_is_refused(tmp_path, thing, says):
    path = tmp_path / "results.json"
    {"folder": path.mkdir, "FIFO": lambda: os.mkfifo(path),
     "link to nowhere": lambda: path.symlink_to(tmp_path / "gone")}[thing]()
    code = ("import report\ntry: report.load_results(%r)\n"
            "except report.ResultsError as e: print(e)" % str(path))
    result = run_python("-c", code, timeout=60)  # a FIFO read would wait for ever
    assert result.returncode == 0, result.stderr
    refused(result.stdout.strip(), str(path), says)


def test_rows_of_this_and_older_versions_load():
    assert report.load_results(str(REPO / "results" / "results.json")) == RESULTS
    older = {k: v for k, v in ROW.items() if k in report.ROW_FIELDS}  # no optional fields
    report.check_row(older, "an older row")  # raises if refused


def test_an_invalid_results_file_is_never_written_over(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    path = write_rows(out / "results.json", dict(ROW, test_accuracy="high"))
    before = path.read_bytes()
    with pytest.raises(report.ResultsError):
        report.add_rows(str(out), [RESULTS["rows"][1]])
    assert path.read_bytes() == before and names(out) == ["results.json"]


def test_an_invalid_row_is_never_stored(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    with pytest.raises(report.ResultsError, match="new row 1: device"):
        report.add_rows(str(out), [dict(ROW, device="../x")])
    assert names(out) == [] and names(tmp_path) == ["results"]


@pytest.mark.slow
@pytest.mark.parametrize("option", ["--render-only", "--merge"])
def test_the_command_line_says_one_line_and_changes_nothing(tmp_path, option):
    out = tmp_path / "results"
    out.mkdir()
    bad = write_rows(tmp_path / "bad.json", dict(ROW, epochs="50", device="../../x"))
    if option == "--render-only":
        bad = bad.rename(out / "results.json")
    before = bad.read_bytes()
    args = [option] + ([str(bad)] if option == "--merge" else []) + ["--out", str(out)]
    result = run_script("reproduce.py", *args)
    assert_clean_failure(result, "row 1: device is '../../x'", str(bad))
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert bad.read_bytes() == before
    assert names(out) == (["results.json"] if option == "--render-only" else [])


# --- README.md's table lines ---------------------------------------------------------------

START, END = report.README_TABLE


@pytest.mark.parametrize("text, says", [
    ("# Title\nold table\n%s\n" % END, "is missing the results table's lines"),
    ("# Title\n%s\nold table\n" % START, "is missing the results table's lines"),
    ("# Title\n", "is missing the results table's lines"),
    ("%s\n%s\nold\n%s\n" % (START, START, END), "more than once"),
    ("%s\nold\n%s\n%s\n" % (START, END, END), "more than once"),
    ("# Title\n%s\nold table\n%s\n" % (END, START), "end line above its start"),
])
def test_readme_table_lines_out_of_place_are_one_line_and_readme_is_untouched(
        tmp_path, monkeypatch, text, says):
    readme = tmp_path / "README.md"
    readme.write_text(text)
    with pytest.raises(report.ResultsError) as error:
        report.update_readme(RESULTS, str(readme))
    refused(error.value, str(readme), says, "is left as it is")
    assert readme.read_text() == text and names(tmp_path) == ["README.md"]
    # the repository's own results: refused before anything is written
    out = tmp_path / "results"
    out.mkdir()
    monkeypatch.setattr(report, "RESULTS_DIR", str(out))
    with pytest.raises(report.ResultsError):
        report.check_readme(str(out), str(readme))


def test_rows_are_kept_when_the_readme_table_lines_went_missing_meanwhile(tmp_path,
                                                                         monkeypatch):
    out = tmp_path / "results"
    out.mkdir()
    readme = tmp_path / "README.md"
    readme.write_text("# Title, and no table\n")
    monkeypatch.setattr(report, "RESULTS_DIR", str(out))
    monkeypatch.setattr(report, "README", str(readme))
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)  # no plots: quicker
    with pytest.raises(report.ResultsError, match="is missing the results table's lines"):
        report.add_rows(str(out), [ROW])
    assert report.load_results(str(out / "results.json"))["rows"] == [ROW]
    assert (out / "RESULTS.md").exists() and readme.read_text() == "# Title, and no table\n"


# --- parameter files and checkpoints --------------------------------------------------------

@pytest.fixture(scope="module")
def mlp_net(stack):
    import mlp
    net = mlp.build_mlp(verbose=0)
    net.initialize()
    return net


def save_values(path, values, protocol=-1, pickler=pickle.Pickler):
    with open(path, "wb") as f:
        pickler(f, protocol=protocol).dump(values)
    return str(path)


def test_parameters_of_another_floatx_are_converted_and_said(mlp_net, tmp_path, capfd):
    import mlp
    from theano_today import params
    wide = collections.OrderedDict((k, [v.astype("float64") + 1 for v in vs])
                                   for k, vs in mlp_net.get_all_params_values().items())
    path = save_values(tmp_path / "float64.pkl", wide)
    net = mlp.build_mlp(verbose=0)
    net.load_params_from(path)
    said = [line for line in capfd.readouterr().err.splitlines() if line.startswith("note:")]
    assert len(said) == 1 and "float64" in said[0] and "float32" in said[0] and path in said[0]
    for layer, values in net.get_all_params_values().items():
        for got, saved in zip(values, wide[layer]):
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got, saved.astype("float32"))

    class Float64Net(object):  # a net built with floatX=float64
        def get_all_params_values(self):
            return {"hidden": [np.zeros((2, 3))]}

    fitted = params.fit_to(Float64Net(), {"hidden": [np.ones((2, 3), "float32")]}, "f32.pkl")
    assert fitted["hidden"][0].dtype == np.float64
    assert "f32.pkl holds float32 parameters" in capfd.readouterr().err


@pytest.mark.parametrize("change, says", [
    (lambda v: v.pop("hidden"), "layer 'hidden': missing"),
    (lambda v: v.update(hidden="weights"), "layer 'hidden': str"),
    (lambda v: v.update(hidden=[w.astype(bool) for w in v["hidden"]]), "arrays of numbers"),
    (lambda v: v.update(hidden=[v["hidden"][0].T, v["hidden"][1]]), "layer 'hidden'"),
    (lambda v: v["hidden"][0].__setitem__((0, 0), np.nan), "not numbers (nan or inf)"),
])
def test_parameters_that_are_not_this_nets_are_refused_naming_the_layer(mlp_net, tmp_path,
                                                                        change, says):
    import mlp
    from theano_today import params
    values = collections.OrderedDict((k, [v.copy() for v in vs])
                                     for k, vs in mlp_net.get_all_params_values().items())
    change(values)
    path = save_values(tmp_path / "mlp.pkl", values)
    net = mlp.build_mlp(verbose=0)
    net.initialize()
    before = net.get_all_params_values()
    with pytest.raises(params.ParamsError) as error:
        net.load_params_from(path)
    refused(error.value, path, says)
    for layer, values in net.get_all_params_values().items():  # nothing loaded
        for got, was in zip(values, before[layer]):
            np.testing.assert_array_equal(got, was)


def test_the_mlps_parameters_are_refused_by_the_cnn(mlp_net, tmp_path):
    import ConvolutionNN
    from theano_today import params
    path = tmp_path / "mlp.pkl"
    params.save(mlp_net, str(path))
    with pytest.raises(params.ParamsError) as error:
        ConvolutionNN.build_cnn(verbose=0).load_params_from(str(path))
    refused(error.value, str(path), "not this net's parameters")


def test_files_of_python_2_and_of_either_numpy_load(mlp_net, tmp_path):
    from theano_today import params
    values = mlp_net.get_all_params_values()
    spelled = pickle.dumps(dict(values), 2)
    core = b"numpy._core." if b"numpy._core." in spelled else b"numpy.core."
    paths = [save_values(tmp_path / "py2.pkl", dict(values), 2, Py2Pickler)]
    for other in (b"numpy.core.", b"numpy._core."):  # the numpy 1 and numpy 2 spellings
        (tmp_path / other.decode()).write_bytes(spelled.replace(core, other))
        paths.append(str(tmp_path / other.decode()))
    for path in paths:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy 2 warns on numpy.core
            loaded = params.load(path)
        fitted = params.fit_to(mlp_net, loaded, path)
        for layer in values:
            for got, saved in zip(fitted[layer], values[layer]):
                np.testing.assert_array_equal(got, saved)


OTHER_PYTHONS = [REPO / ".venv-3.10" / "bin" / "python", REPO / ".venv-3.13" / "bin" / "python"]


@pytest.mark.parametrize("python", OTHER_PYTHONS, ids=lambda p: p.parent.parent.name)
def test_a_parameter_file_written_on_another_python_and_numpy_loads(mlp_net, tmp_path, python):
    if not python.exists():
        pytest.skip("no %s here" % python.parent.parent.name)
    from theano_today import params
    path = tmp_path / "other.pkl"
    code = ("import collections, pickle, sys, numpy as np; values = collections.OrderedDict("
            "hidden=[np.full((1024, 100), 0.5, 'float32'), np.zeros(100, 'float32')], "
            "output=[np.ones((100, 10), 'float32'), np.zeros(10, 'float32')]); "
            "pickle.dump(values, open(sys.argv[1], 'wb'), -1)")
    subprocess.run([str(python), "-c", code, str(path)], check=True)
    fitted = params.fit_to(mlp_net, params.load(str(path)), str(path))
    assert fitted["hidden"][0][0, 0] == 0.5 and fitted["output"][0].sum() == 1000


def test_a_checkpoint_with_a_wrong_history_or_another_nets_best_is_refused(mlp_net, tmp_path):
    import reproduce
    from theano_today import params
    prefix = str(tmp_path / "mlp-cpu2")
    checkpoint = reproduce.Checkpoint(prefix, "mlp")
    for history, says in [("three epochs", "not a list of epochs"),
                          ([dict(EPOCH, dur=-1)], "dur is -1"),
                          ([dict(EPOCH, epoch=3)], "says it is epoch 3")]:
        params.save(mlp_net, checkpoint.last, __run__="mlp", __history__=history)
        with pytest.raises(params.ParamsError) as error:
            checkpoint.resume(mlp_net)
        refused(error.value, checkpoint.last, says)
    params.save(mlp_net, checkpoint.last, __run__="mlp", __history__=[EPOCH])
    with open(checkpoint.best, "wb") as f:
        pickle.dump({"conv1": [np.zeros(3, "float32")]}, f)  # not the MLP's
    with pytest.raises(params.ParamsError) as error:
        checkpoint.resume(mlp_net)  # refused before training, not after
    refused(error.value, checkpoint.best, "not this net's parameters")
    os.remove(checkpoint.best)
    assert checkpoint.resume(mlp_net) == 1


@pytest.mark.slow
def test_a_parameter_file_that_is_a_fifo_is_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "mlp.pkl")
    code = ("import theano_today, mlp\nfrom theano_today import params\n"
            "try: mlp.build_mlp(verbose=0).load_params_from(%r)\n"
            "except params.ParamsError as e: print(e)" % str(tmp_path / "mlp.pkl"))
    result = run_python("-c", code, timeout=300)  # a FIFO read would wait for ever
    assert result.returncode == 0, result.stderr
    refused(result.stdout.strip().splitlines()[-1], "mlp.pkl is a FIFO")
