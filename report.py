"""The results of reproduce.py: the store (results.json) and its report.

reproduce.py trains and hands each run's row to add_rows, which merges it
into results.json (as it is then: runs beside each other add their rows in
turn), and render writes RESULTS.md, the README's table and the plots.
`python reproduce.py --render-only` and `--merge` use this alone; nothing
here trains or imports Theano.
"""
import contextlib
import fcntl
import json
import math
import os
import re

import numpy as np

import cifar_loader
from setup_theanorc import theano_today_files

files = theano_today_files()  # writing a file whole, without importing Theano

HERE = os.path.dirname(os.path.abspath(__file__))
#: The article's figures for each of reproduce.py's runs: test accuracy, and
#: seconds per epoch on its GPU and its 32-core CPU (cnn-long: the same net).
ARTICLE = {
    "mlp": dict(accuracy=0.41, gpu_s=0.5, cpu_s=1.3),
    "cnn": dict(accuracy=0.61, gpu_s=12.8, cpu_s=177.0),
    "cnn-long": dict(accuracy=0.61, gpu_s=12.8, cpu_s=177.0),
}
QUICK_IMAGES = 500
#: The repository's own results, whose table README.md shows between these lines.
RESULTS_DIR = os.path.join(HERE, "results")
README = os.path.join(HERE, "README.md")
README_TABLE = ("<!-- results table: written by reproduce.py from results/results.json -->",
                "<!-- end of results table -->")

#: What differs from the article's set-up, for reading the table.
NOTES = [
    "- Split: nolearn holds out 20% of the 50,000 training images for validation "
    "(stratified, fixed), so every net trains on 40,000 images; the test set is the "
    "official 10,000.",
    "- Data: on the offline copy used here (a JPEG re-encoding, pixels differ by about "
    "5.8/255 on average) accuracy is close to, not identical with, the official files.",
    "- The CNN as printed in the article (lr 0.015, 5 epochs) stops while its validation "
    "accuracy is still rising every epoch (see its curves): it is under-trained. The "
    "article's own project trained the same net for 50 epochs at lr 0.005 (row "
    "cnn-long), which reaches the article's 61%, and overfits after its best "
    "validation epoch (training loss keeps falling, validation loss rises).",
    "- Initialisation: Lasagne's Glorot-uniform weights from seed 1 (the scripts' --seed); the "
    "article's seed is unknown.",
    "- Seconds per epoch are nolearn's own 'dur' column (training plus validation "
    "pass, after compilation), median over the epochs.",
]


class ResultsError(Exception):
    """A results file (or README.md's table) that cannot be used; the
    message is one line naming the file, the field and the fix."""


# --- what a results file may hold -------------------------------------------

def _whole(low):
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low


def _number(low, high, nan=False):
    return lambda v: (isinstance(v, (int, float)) and not isinstance(v, bool)
                      and (low <= v <= high or (nan and math.isnan(v))))


def _or_null(check):
    return lambda v: v is None or check(v)


def _text(v):
    return isinstance(v, str) and v.isprintable()  # one line: no newline to break a table


def _confusion(v):
    return (isinstance(v, list) and len(v) == 10
            and all(isinstance(r, list) and len(r) == 10 and all(map(_whole(0), r)) for r in v))


#: A row's fields: (check, what it must be). Every row has ROW_FIELDS; the
#: others (older reproduce.py wrote fewer) are checked where present.
ROW_FIELDS = {
    "run": (lambda v: isinstance(v, str) and v in ARTICLE, "one of %s" % ", ".join(ARTICLE)),
    # a part of file names (the plots): never a path
    "device": (lambda v: isinstance(v, str) and re.fullmatch(r"(cpu\d+|gpu)(-py\d+\.\d+)?", v),
               "a device tag such as cpu2, gpu or cpu2-py3.12"),
    "host": (_text, "text on one line"),
    "machine": (_text, "text on one line"),
    "versions": (_text, "text on one line"),
    "date": (_text, "text on one line"),
    "epochs": (_whole(1), "a whole number of at least 1"),
    "epochs_done": (_whole(0), "a whole number of at least 0"),
    "learning_rate": (lambda v: _number(0, 1e300)(v) and v > 0, "a number above 0"),
    "test_accuracy": (_or_null(_number(0, 1)), "a number from 0 to 1, or null"),
    "median_epoch_s": (_or_null(_number(0, 1e300)), "a number of seconds, or null"),
    "history": (lambda v: isinstance(v, list), "a list of epochs"),
}
OPTIONAL_FIELDS = {
    "interrupted": (lambda v: isinstance(v, bool), "true or false"),
    "quick": (lambda v: isinstance(v, bool), "true or false"),
    "diverged": (_or_null(_whole(1)), "an epoch number, or null"),
    "best_valid_accuracy": (_or_null(_number(0, 1, nan=True)), "a number from 0 to 1, or null"),
    "best_valid_epoch": (_whole(1), "an epoch number"),
    "best_params_test_accuracy": (_or_null(_number(0, 1)), "a number from 0 to 1, or null"),
    "confusion": (_or_null(_confusion), "10 lists of 10 whole numbers, or null"),
}
#: An epoch of a history (nolearn's train_history_ row): what is drawn. The
#: losses of a run that diverged are not numbers (NaN).
EPOCH_FIELDS = {
    "epoch": (_whole(1), "an epoch number"),
    "train_loss": (_number(-math.inf, math.inf, nan=True), "a number"),
    "valid_loss": (_number(-math.inf, math.inf, nan=True), "a number"),
    "valid_accuracy": (_number(0, 1, nan=True), "a number from 0 to 1"),
    "dur": (_number(0, 1e300), "a number of seconds"),
}


def _check_fields(item, fields, optional, where):
    """Raise ResultsError naming where and the first field of item that
    is missing or not what fields say it must be."""
    if not isinstance(item, dict):
        raise ResultsError("%s is %.60r, not an object of fields" % (where, item))
    missing = [k for k in fields if k not in item]
    if missing:
        raise ResultsError("%s lacks %s" % (where, ", ".join(missing)))
    for key, (check, expected) in list(fields.items()) + list(optional.items()):
        if key in item and not check(item[key]):
            raise ResultsError("%s: %s is %.60r, expected %s" % (where, key, item[key], expected))


def check_history(history, where):
    """Raise ResultsError unless history is a list of epochs 1, 2, ... as
    reproduce.py records them (EPOCH_FIELDS)."""
    if not isinstance(history, list):
        raise ResultsError("%s: the history is a %s, not a list of epochs"
                           % (where, type(history).__name__))
    for n, epoch in enumerate(history, 1):
        _check_fields(epoch, EPOCH_FIELDS, {}, "%s, epoch %d of the history" % (where, n))
        if epoch["epoch"] != n:
            raise ResultsError("%s: epoch %d of the history says it is epoch %d"
                               % (where, n, epoch["epoch"]))


def check_row(row, where):
    """Raise ResultsError unless row is a row reproduce.py writes: every
    field of the right type and range, its history that of its epochs."""
    _check_fields(row, {"run": (lambda v: True, "")}, {}, where)  # an object with a run
    if not (isinstance(row["run"], str) and row["run"] in ARTICLE):
        raise ResultsError("%s is not a row of reproduce.py (run %.60r; expected one of %s)"
                           % (where, row["run"], ", ".join(ARTICLE)))
    _check_fields(row, ROW_FIELDS, OPTIONAL_FIELDS, where)
    check_history(row["history"], where)
    if row["epochs_done"] != len(row["history"]):
        raise ResultsError("%s: epochs_done is %d, but the history has %d epochs"
                           % (where, row["epochs_done"], len(row["history"])))
    if row.get("best_valid_accuracy") is not None and "best_valid_epoch" not in row:
        raise ResultsError("%s lacks best_valid_epoch (it has best_valid_accuracy)" % where)


def load_results(path):
    """The results in path ({"rows": []} where there is none yet), checked
    before anything uses them (check_row; one row per run, device and
    host); raises ResultsError, whose message ends with the fix."""
    fix = "repair that or move the file away"
    if not os.path.exists(path) and not os.path.islink(path):
        return {"rows": []}
    try:
        results = json.loads(files.read(path).decode("utf-8"))
    except OSError as e:  # theano_today.files: a FIFO, a folder, a link to nowhere
        raise ResultsError("%s; %s" % (e, fix) if isinstance(e, files.FileError)
                           else "%s cannot be read (%s)" % (path, e.strerror or e))
    except (ValueError, RecursionError, MemoryError) as e:  # UnicodeDecodeError too
        raise ResultsError("%s is not a results file (%s): %s"
                           % (path, " ".join(str(e).split())[:100] or type(e).__name__, fix))
    rows = results.get("rows") if isinstance(results, dict) else None
    if not isinstance(rows, list):
        raise ResultsError("%s is not a results file (no list of rows): %s" % (path, fix))
    seen = {}
    for i, row in enumerate(rows, 1):
        try:
            check_row(row, "%s: row %d" % (path, i))
        except ResultsError as e:
            raise ResultsError("%s: %s" % (e, fix))
        if _key(row) in seen:
            raise ResultsError("%s: rows %d and %d are both %s on %s (host %s): keep one"
                               % (path, seen[_key(row)], i, row["run"], row["device"], row["host"]))
        seen[_key(row)] = i
    return results


def _key(row):
    return row["run"], row["device"], row["host"]


def _grounds(row):
    """How well-founded a row is: a full run over a quick one, a finished
    one over an interrupted or diverged one, then more epochs over fewer."""
    finished = not row.get("interrupted") and not row.get("diverged")
    return not row.get("quick"), finished, row["epochs_done"]


def merge_row(results, row):
    """Put row in results in place of the row of the same run on the same
    device and host, unless that one is better founded (_grounds): then it
    stays, and the sentence returned says so; else None."""
    same = [r for r in results["rows"] if _key(r) == _key(row)]
    if same and _grounds(same[0]) > _grounds(row):
        return ("results keep the row of %s on %s (%s epochs%s); this one (%s epochs%s) "
                "is not recorded" % (row["run"], row["device"], _epochs(same[0]),
                                     ", quick" if same[0].get("quick") else "",
                                     _epochs(row), ", quick" if row.get("quick") else ""))
    results["rows"] = [r for r in results["rows"] if _key(r) != _key(row)]
    results["rows"].append(row)
    results["rows"].sort(key=lambda r: (list(ARTICLE).index(r["run"]), r["device"]))
    return None


def _fmt(value, pattern):
    return "-" if value is None else pattern % value


def _epochs(row):
    if row.get("diverged"):
        return "%d of %d (diverged)" % (row["epochs_done"], row["epochs"])
    if row.get("interrupted"):
        return "%d of %d (interrupted)" % (row["epochs_done"], row["epochs"])
    return "%d" % row["epochs"]


def speedup_lines(results):
    """One line per GPU row that has a CPU row of the same run, host and Python."""
    lines = []
    for r in results["rows"]:
        kind, python = r["device"].partition("-py")[::2]  # 'gpu-py3.12': ('gpu', '3.12')
        cpu = [c for c in results["rows"] if c["run"] == r["run"] and c["host"] == r["host"]
               and c["device"].partition("-py")[::2] != (kind, python)
               and c["device"].partition("-py")[2] == python]
        if kind == "gpu" and cpu and r["median_epoch_s"] and cpu[0]["median_epoch_s"]:
            lines.append("- %s: GPU %.3f s/epoch vs CPU %.3f s/epoch on the same machine: "
                         "%.1fx (article: %.1fx)" % (
                             r["run"], r["median_epoch_s"], cpu[0]["median_epoch_s"],
                             cpu[0]["median_epoch_s"] / r["median_epoch_s"],
                             ARTICLE[r["run"]]["cpu_s"] / ARTICLE[r["run"]]["gpu_s"]))
    return lines


def readme_table(results):
    """The compact table README.md shows: accuracy and speed beside the article's."""
    lines = ["| run | device | epochs | test accuracy | article | s/epoch "
             "| article s/epoch (GPU / CPU) |", "|---|---|---|---|---|---|---|"]
    for r in results["rows"]:
        article = ARTICLE.get(r["run"], {})
        lines.append("| %s | %s | %s | %s | %s | %s | %s / %s |" % (
            r["run"], r["device"], _epochs(r), _fmt(r["test_accuracy"], "%.4f"), _fmt(article.get("accuracy"), "%.2f"),
            _fmt(r["median_epoch_s"], "%.3f"),
            article.get("gpu_s", "-"), article.get("cpu_s", "-")))
    return "\n".join(lines + [""] + speedup_lines(results)) + "\n"


def _readme_parts(readme):
    """README.md's text before the table, and after it (README_TABLE's
    lines, once each, the start above the end); ResultsError if not."""
    try:
        text = files.read(readme).decode("utf-8")
    except FileNotFoundError:
        raise ResultsError("%s is missing: restore it (git checkout %s)"
                           % (readme, os.path.basename(readme)))
    except (OSError, ValueError) as e:
        raise ResultsError(str(e) if isinstance(e, files.FileError) else
                           "%s cannot be read as UTF-8 text (%s): restore it" % (readme, e))
    start, end = README_TABLE
    counts = (text.count(start), text.count(end))
    problem = ("is missing the results table's lines" if 0 in counts else
               "has the results table's lines more than once" if counts != (1, 1) else
               "has the results table's end line above its start" if
               text.index(end) < text.index(start) else None)
    if problem:
        raise ResultsError("%s %s: put back one line '%s' above the table and one line '%s' "
                           "below it; %s is left as it is"
                           % (readme, problem, start, end, os.path.basename(readme)))
    head, rest = text.split(start)
    return head + start + "\n", end + rest.split(end)[1]


def check_readme(out_dir, readme=None):
    """For the repository's own results folder, raise ResultsError where
    README.md's table could not be written (before anything is)."""
    if os.path.abspath(out_dir) == RESULTS_DIR:
        _readme_parts(readme or README)


def update_readme(results, readme=None):
    """Put readme_table(results) between the README_TABLE lines of readme
    (README.md)."""
    readme = readme or README
    head, tail = _readme_parts(readme)
    files.write(readme, head + readme_table(results) + tail)


def results_markdown(results):
    lines = [
        "# Results: the article's table, rebuilt",
        "",
        "Measured by `python reproduce.py` (see README.md); every row is one run, "
        "reported as it came out. Article figures: MLP %d%% / %g s per epoch on GPU / "
        "%g s on a 32-core CPU; CNN %d%% / %g s GPU / %g s CPU." % (
            round(100 * ARTICLE["mlp"]["accuracy"]), ARTICLE["mlp"]["gpu_s"],
            ARTICLE["mlp"]["cpu_s"], round(100 * ARTICLE["cnn"]["accuracy"]),
            ARTICLE["cnn"]["gpu_s"], ARTICLE["cnn"]["cpu_s"]),
        "",
        "| run | device | epochs | learning rate | test accuracy | best valid accuracy (epoch) "
        "| test acc. at best valid loss | median s/epoch | article accuracy | article s/epoch (GPU / CPU) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["rows"]:
        article = ARTICLE.get(r["run"], {})
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["run"], r["device"], _epochs(r), r["learning_rate"],
            _fmt(r["test_accuracy"], "%.4f"),
            "-" if r.get("best_valid_accuracy") is None else
            "%.4f (%d)" % (r["best_valid_accuracy"], r["best_valid_epoch"]),
            _fmt(r.get("best_params_test_accuracy"), "%.4f"),
            _fmt(r["median_epoch_s"], "%.3f"),
            _fmt(article.get("accuracy"), "%.2f"),
            "%s / %s" % (article.get("gpu_s", "-"), article.get("cpu_s", "-"))))
    speedups = speedup_lines(results)
    if speedups:
        lines += ["", "## GPU speed-up", ""] + speedups
    lines += ["", "## Where each row ran", ""]
    for r in results["rows"]:
        lines.append("- %s on %s: %s; %s; %s%s" % (
            r["run"], r["device"], r["machine"], r["versions"], r["date"],
            "; quick mode (%d images)" % QUICK_IMAGES if r.get("quick") else ""))
    lines += ["", "## Pictures", ""]
    for r in results["rows"]:
        key = "%s-%s" % (r["run"], r["device"])
        lines.append("![%s curves](%s-curves.png)" % (key, key))
        if r.get("confusion"):
            lines.append("![%s confusion matrix](%s-confusion.png)" % (key, key))
    lines += ["", "## Notes", ""] + NOTES
    return "\n".join(lines) + "\n"


def plot_curves(row, path):
    import matplotlib
    matplotlib.use("Agg")  # headless: no display needed
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in row["history"]]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    loss_ax.plot(epochs, [h["train_loss"] for h in row["history"]], "o-", label="training loss")
    loss_ax.plot(epochs, [h["valid_loss"] for h in row["history"]], "o-", label="validation loss")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("cross-entropy")
    loss_ax.legend()
    acc_ax.plot(epochs, [h["valid_accuracy"] for h in row["history"]], "o-", color="C2")
    acc_ax.axhline(ARTICLE[row["run"]]["accuracy"], color="grey", linestyle="--",
                   label="article's test accuracy")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("validation accuracy")
    acc_ax.legend()
    fig.suptitle("%s on %s (lr %s): test accuracy %.4f" % (
        row["run"], row["device"], row["learning_rate"], row["test_accuracy"]))
    fig.tight_layout()
    files.write(path, lambda f: fig.savefig(f, dpi=80, format="png"))
    plt.close(fig)


def plot_confusion(row, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.array(row["confusion"])
    fig, ax = plt.subplots(figsize=(7, 6))
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax)
    ax.set_xticks(range(10))
    ax.set_xticklabels(cifar_loader.CLASSES, rotation=45, ha="right")
    ax.set_yticks(range(10))
    ax.set_yticklabels(cifar_loader.CLASSES)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for i in range(10):
        for j in range(10):
            ax.text(j, i, matrix[i, j], ha="center", va="center", fontsize=7,
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ax.set_title("%s on %s: test confusion matrix" % (row["run"], row["device"]))
    fig.tight_layout()
    files.write(path, lambda f: fig.savefig(f, dpi=80, format="png"))
    plt.close(fig)


def render(out_dir, results):
    """Write RESULTS.md and the plots (plots need matplotlib); for the
    repository's own results folder, README.md's table too (last: a README
    whose table lines are gone raises ResultsError, the rest written)."""
    files.write(os.path.join(out_dir, "RESULTS.md"), results_markdown(results))
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib is not installed: plots skipped (run "
              "`python reproduce.py --render-only` where it is)")
    else:
        for row in results["rows"]:
            key = os.path.join(out_dir, "%s-%s" % (row["run"], row["device"]))
            if row["history"]:
                plot_curves(row, key + "-curves.png")
            if row.get("confusion"):
                plot_confusion(row, key + "-confusion.png")
    if os.path.abspath(out_dir) == RESULTS_DIR:  # the published results
        update_readme(results)


@contextlib.contextmanager
def _results_locked(out):
    """Another reproduce.py writing to out waits until this one is done."""
    folder = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)


def add_rows(out, rows):
    """Merge rows into out's results.json as it is now, not as it was when
    this run began (another run, say mlp beside cnn, may have added rows
    since), write it and redraw; returns the results."""
    path = os.path.join(out, "results.json")
    for i, row in enumerate(rows, 1):  # nothing is stored that could not be read back
        check_row(row, "new row %d" % i)
    with _results_locked(out):
        results = load_results(path)
        for row in rows:
            note = merge_row(results, row)
            if note:
                print(note)
        files.write(path, json.dumps(results, indent=1))
        render(out, results)
    return results
