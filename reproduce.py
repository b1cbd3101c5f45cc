"""Rebuild the article's results table on this machine, with pictures.

Trains the article's nets on the full CIFAR-10 and writes to results/:

    RESULTS.md            one row per run, the article's figures beside it
                          (and README.md's compact table, for results/ itself)
    results.json          the same numbers, plus every epoch's history
    <run>-<device>-curves.png      training / validation loss, validation accuracy
    <run>-<device>-confusion.png   test-set confusion matrix (CNN runs)
    <run>-<device>-best.pkl / -last.pkl  parameters (best validation loss / latest)

Runs (--runs picks some): 'mlp' (the article's MLP, 50 epochs), 'cnn' (the
article's CNN as printed: lr 0.015, 5 epochs) and 'cnn-long' (the settings of
the article's own project code: lr 0.005, 50 epochs). Rows from other
devices already in results.json are kept, so a GPU run and a CPU run build one
table with the speed-up between them.

    python reproduce.py                 # everything (about 10 minutes on 2 cores)
    python reproduce.py --quick         # a few hundred images, 1 epoch each: a smoke test
    python reproduce.py --resume        # continue from the saved -last.pkl parameters
    python reproduce.py --render-only   # redraw RESULTS.md and plots from results.json
    python reproduce.py --merge gpu-results/results.json   # add rows measured elsewhere

Ctrl-C stops the current run cleanly: its parameters so far are saved, its
test accuracy is still measured and reported, and --resume carries on later.
"""
import theano_today  # noqa: F401  (first: makes the 2015 stack run on today's Python)

import contextlib
import datetime
import fcntl
import json
import os
import platform
import socket
import sys
import time

import lasagne
import nolearn
import numpy as np
import theano

import cifar_loader
import ConvolutionNN
import mlp
from theano_today import cli, device, divergence, params

HERE = os.path.dirname(os.path.abspath(__file__))
#: The runs: the script that defines each net and its settings, and the
#: article's figures (seconds per epoch on its GPU and its 32-core CPU).
RUNS = {
    "mlp": dict(script=mlp, build=mlp.build_mlp, epochs=mlp.EPOCHS,
                learning_rate=mlp.LEARNING_RATE, article_accuracy=mlp.ARTICLE_ACCURACY,
                article_gpu_s=0.5, article_cpu_s=1.3),
    "cnn": dict(script=ConvolutionNN, build=ConvolutionNN.build_cnn,
                epochs=ConvolutionNN.EPOCHS, learning_rate=ConvolutionNN.LEARNING_RATE,
                article_accuracy=ConvolutionNN.ARTICLE_ACCURACY,
                article_gpu_s=12.8, article_cpu_s=177.0),
    "cnn-long": dict(script=ConvolutionNN, build=ConvolutionNN.build_cnn,
                     epochs=ConvolutionNN.PROJECT_EPOCHS,
                     learning_rate=ConvolutionNN.PROJECT_LEARNING_RATE,
                     article_accuracy=ConvolutionNN.ARTICLE_ACCURACY,
                     article_gpu_s=12.8, article_cpu_s=177.0),
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


# --- where we run -------------------------------------------------------------

def cpu_description():
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return "CPU: %s, %d cores" % (model, os.cpu_count() or 1)


#: The Python of the repository's rows. A row measured with another one has
#: its own tag (cpu2-py3.12), so it gets its own row and files beside them.
RESULTS_PYTHON = (3, 11)


def python_tag(version=None):
    """'' on RESULTS_PYTHON, else '-pyX.Y': the end of a row's device tag."""
    version = tuple(version or sys.version_info[:2])
    return "" if version == RESULTS_PYTHON else "-py%d.%d" % version


def device_info():
    """A short tag for file names ('gpu', 'cpu2' for 2 cores; python_tag
    after it), a description of the device, and one of the host (to pair a
    GPU row with its CPU row)."""
    cpu = cpu_description()
    host = "%s (%s)" % (socket.gethostname(), cpu)
    if device.gpu_active():
        from theano import gpuarray
        return "gpu" + python_tag(), "GPU: %s" % gpuarray.type.get_context(None).devname, host
    return "cpu%d%s" % (os.cpu_count() or 1, python_tag()), cpu, host


def library_versions():
    return "Python %s, Theano %s, Lasagne %s, nolearn %s, numpy %s" % (
        platform.python_version(), theano.__version__, lasagne.__version__,
        getattr(nolearn, "__version__", "0.6.1"), np.__version__)


# --- saving and resuming ------------------------------------------------------

class Checkpoint(object):
    """nolearn on_epoch_finished handler: after every epoch, save the latest
    parameters with the run's name and history, in one file written whole
    (so Ctrl-C or a crash loses at most one epoch, and parameters and history
    always agree), and the parameters of the epoch with the lowest
    validation loss so far. The history also goes to a JSON file, to read."""

    def __init__(self, prefix, run):
        self.run = run
        self.last = prefix + "-last.pkl"
        self.best = prefix + "-best.pkl"
        self.history = prefix + "-history.json"

    def __call__(self, net, history):
        plain = _plain(history)
        params.save(net, self.last, __run__=self.run, __history__=plain)
        if history[-1]["valid_loss_best"]:
            params.save(net, self.best)
        _atomic(lambda p: _write_json(p, plain), self.history)

    def resume(self, net):
        """Load the latest parameters and history into net; epochs done.
        Raises params.ParamsError for a file that is not this run's."""
        if not os.path.exists(self.last):
            return 0
        saved = params.load(self.last)
        run, history = saved.pop("__run__", None), saved.pop("__history__", None)
        if run != self.run or not isinstance(history, list):
            raise params.ParamsError("%s: not a checkpoint of run %s (it is %s)" % (
                self.last, self.run, "run %s's" % run if run else "of an older reproduce.py"))
        params.check_fits(net, saved, self.last)
        verbose, net.verbose = net.verbose, 0  # quiet: nolearn prints each parameter
        net.load_params_from(saved)
        net.verbose = verbose
        net.train_history_ = history
        print("resumed from %s after epoch %d" % (self.last, len(history)))
        return len(history)


def _atomic(write, path):
    """Write to path + '.part', then rename: a file is never half written."""
    write(path + ".part")
    os.replace(path + ".part", path)


def _write_json(path, data):
    with open(path, "w") as f:
        json.dump(data, f, indent=1)


def _write_text(path, text):
    with open(path, "w") as f:
        f.write(text)


def _plain(history):
    """nolearn's history with numpy scalars turned into JSON numbers."""
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in history]


# --- one run --------------------------------------------------------------------

def estimate_epoch_seconds(spec, Xtr, Ytr, batches=3):
    """Time a few training batches of a throwaway copy of the net."""
    net = spec["build"](epochs=1, learning_rate=spec["learning_rate"], verbose=0)
    net.initialize()
    net.store(Xtr[:128], Ytr[:128])
    rows, yb = np.arange(128), Ytr[:128]  # one run of stored rows, as fit()'s batches are
    net.train_iter_(rows, yb)  # the first call carries one-off costs
    t0 = time.time()
    for _ in range(batches):
        net.train_iter_(rows, yb)
    per_batch = (time.time() - t0) / batches
    # 80% of the images train, 20% validate (forward only, about a third of the cost)
    return per_batch * len(Xtr) / 128.0 * (0.8 + 0.2 / 3)


def train_run(name, spec, data, out_dir, tag, epochs, resume, quick=False):
    """Train one net, evaluate it on the test set; returns its results row.
    A quick run keeps its checkpoints apart, so a full run's are left whole."""
    Xtr, Ytr, Xte, Yte = data[spec["script"].__name__]
    cli.seed_everything()
    net = spec["build"](epochs=epochs, learning_rate=spec["learning_rate"])
    checkpoint = Checkpoint(os.path.join(out_dir, "%s-%s%s" % (name, tag, "-quick" * quick)),
                            name)
    net.on_epoch_finished.append(checkpoint)
    net.initialize()
    done = checkpoint.resume(net) if resume else 0
    if done < epochs:
        # nolearn's fit stops cleanly on Ctrl-C and returns the net as it is.
        net.fit(Xtr, Ytr, epochs=epochs - done)
    history = _plain(net.train_history_)
    diverged = divergence.diverged_at(history)
    interrupted = len(history) < epochs and diverged is None
    if history:
        checkpoint(net, net.train_history_)  # the final state, also after Ctrl-C

    predicted = net.predict(Xte)
    row = dict(
        run=name, device=tag, epochs=epochs, epochs_done=len(history),
        learning_rate=spec["learning_rate"],
        # a diverged net predicts what its last good epoch learned: not this run's result
        test_accuracy=None if diverged else float(np.mean(predicted == Yte)),
        median_epoch_s=float(np.median([h["dur"] for h in history])) if history else None,
        history=history, interrupted=interrupted, diverged=diverged,
    )
    if history:
        best = int(np.argmax([h["valid_accuracy"] for h in history]))
        row.update(best_valid_accuracy=history[best]["valid_accuracy"],
                   best_valid_epoch=history[best]["epoch"])
        if os.path.exists(checkpoint.best) and not diverged:
            net.verbose = 0  # load quietly: nolearn prints a line per parameter
            net.load_params_from(checkpoint.best)
            row["best_params_test_accuracy"] = float(np.mean(net.predict(Xte) == Yte))
    if spec["script"] is ConvolutionNN and not diverged:
        from sklearn.metrics import confusion_matrix
        row["confusion"] = confusion_matrix(Yte, predicted, labels=range(10)).tolist()
    if diverged:
        print("%s on %s: diverged at epoch %d (its loss is not a number): recorded as "
              "diverged; try a smaller learning rate" % (name, tag, diverged))
    else:
        print("%s on %s: test accuracy %.4f%s" % (
            name, tag, row["test_accuracy"],
            " (interrupted after epoch %d of %d)" % (len(history), epochs) if interrupted
            else ""))
    return row


# --- the report -------------------------------------------------------------------

class ResultsError(Exception):
    """A results file that cannot be used; the message names it."""


#: What every row needs, to be drawn and compared.
ROW_KEYS = ["run", "device", "host", "machine", "versions", "date", "epochs", "epochs_done",
            "learning_rate", "test_accuracy", "median_epoch_s", "history"]


def load_results(path):
    """The results in path ({"rows": []} where there is none yet), checked
    before anything uses them; raises ResultsError."""
    if not os.path.exists(path):
        return {"rows": []}
    try:
        with open(path) as f:
            results = json.load(f)
    except (OSError, ValueError) as e:
        raise ResultsError("%s is not a results file (%s)" % (path, e))
    rows = results.get("rows") if isinstance(results, dict) else None
    if not isinstance(rows, list):
        raise ResultsError("%s is not a results file (no list of rows)" % path)
    for i, row in enumerate(rows, 1):
        missing = [k for k in ROW_KEYS if not isinstance(row, dict) or k not in row]
        if missing:
            raise ResultsError("%s: row %d lacks %s" % (path, i, ", ".join(missing)))
        if row["run"] not in RUNS or not isinstance(row["history"], list):
            raise ResultsError("%s: row %d is not a row of reproduce.py (run %r)"
                               % (path, i, row["run"]))
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
    results["rows"].sort(key=lambda r: (list(RUNS).index(r["run"]), r["device"]))
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
                             RUNS[r["run"]]["article_cpu_s"] / RUNS[r["run"]]["article_gpu_s"]))
    return lines


def readme_table(results):
    """The compact table README.md shows: accuracy and speed beside the article's."""
    lines = ["| run | device | epochs | test accuracy | article | s/epoch "
             "| article s/epoch (GPU / CPU) |", "|---|---|---|---|---|---|---|"]
    for r in results["rows"]:
        spec = RUNS.get(r["run"], {})
        lines.append("| %s | %s | %s | %s | %s | %s | %s / %s |" % (
            r["run"], r["device"], _epochs(r), _fmt(r["test_accuracy"], "%.4f"), _fmt(spec.get("article_accuracy"), "%.2f"),
            _fmt(r["median_epoch_s"], "%.3f"),
            spec.get("article_gpu_s", "-"), spec.get("article_cpu_s", "-")))
    return "\n".join(lines + [""] + speedup_lines(results)) + "\n"


def update_readme(results, readme=README):
    """Put readme_table(results) between the README_TABLE lines of readme."""
    with open(readme) as f:
        text = f.read()
    start, end = README_TABLE
    if start not in text or end not in text:
        return
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    table = readme_table(results)
    _atomic(lambda p: _write_text(p, head + start + "\n" + table + end + tail), readme)


def results_markdown(results):
    lines = [
        "# Results: the article's table, rebuilt",
        "",
        "Measured by `python reproduce.py` (see README.md); every row is one run, "
        "reported as it came out. Article figures: MLP %d%% / %g s per epoch on GPU / "
        "%g s on a 32-core CPU; CNN %d%% / %g s GPU / %g s CPU." % (
            round(100 * mlp.ARTICLE_ACCURACY), RUNS["mlp"]["article_gpu_s"],
            RUNS["mlp"]["article_cpu_s"], round(100 * ConvolutionNN.ARTICLE_ACCURACY),
            RUNS["cnn"]["article_gpu_s"], RUNS["cnn"]["article_cpu_s"]),
        "",
        "| run | device | epochs | learning rate | test accuracy | best valid accuracy (epoch) "
        "| test acc. at best valid loss | median s/epoch | article accuracy | article s/epoch (GPU / CPU) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["rows"]:
        spec = RUNS.get(r["run"], {})
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["run"], r["device"], _epochs(r), r["learning_rate"],
            _fmt(r["test_accuracy"], "%.4f"),
            "-" if r.get("best_valid_accuracy") is None else
            "%.4f (%d)" % (r["best_valid_accuracy"], r["best_valid_epoch"]),
            _fmt(r.get("best_params_test_accuracy"), "%.4f"),
            _fmt(r["median_epoch_s"], "%.3f"),
            _fmt(spec.get("article_accuracy"), "%.2f"),
            "%s / %s" % (spec.get("article_gpu_s", "-"), spec.get("article_cpu_s", "-"))))
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
    acc_ax.axhline(RUNS[row["run"]]["article_accuracy"], color="grey", linestyle="--",
                   label="article's test accuracy")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("validation accuracy")
    acc_ax.legend()
    fig.suptitle("%s on %s (lr %s): test accuracy %.4f" % (
        row["run"], row["device"], row["learning_rate"], row["test_accuracy"]))
    fig.tight_layout()
    _atomic(lambda p: fig.savefig(p, dpi=80, format="png"), path)
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
    _atomic(lambda p: fig.savefig(p, dpi=80, format="png"), path)
    plt.close(fig)


def render(out_dir, results):
    """Write RESULTS.md and the plots (plots need matplotlib); for the
    repository's own results folder, README.md's table too."""
    markdown = results_markdown(results)
    _atomic(lambda p: _write_text(p, markdown), os.path.join(out_dir, "RESULTS.md"))
    if os.path.abspath(out_dir) == RESULTS_DIR:  # the published results
        update_readme(results)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib is not installed: plots skipped (run "
              "`python reproduce.py --render-only` where it is)")
        return
    for row in results["rows"]:
        key = os.path.join(out_dir, "%s-%s" % (row["run"], row["device"]))
        if row["history"]:
            plot_curves(row, key + "-curves.png")
        if row.get("confusion"):
            plot_confusion(row, key + "-confusion.png")


# --- main ----------------------------------------------------------------------

def main(argv=None):
    parser = cli.new_parser(__doc__)
    cifar_loader.add_data_dir_option(parser)
    parser.add_argument("--out", default="results", help="folder for the results")
    parser.add_argument("--runs", nargs="+", choices=list(RUNS), default=list(RUNS),
                        help="which runs to train")
    parser.add_argument("--quick", action="store_true",
                        help="%d images and 1 epoch per run: checks the pipeline "
                        "in a minute" % QUICK_IMAGES)
    parser.add_argument("--epochs", type=cli.count,
                        help="override every run's epochs (default: the article's)")
    parser.add_argument("--resume", action="store_true",
                        help="continue each run from its saved -last.pkl parameters")
    parser.add_argument("--render-only", action="store_true",
                        help="only redraw RESULTS.md and the plots from results.json")
    parser.add_argument("--merge", metavar="JSON", nargs="+",
                        help="add the rows of other results.json files (say, from a "
                        "GPU machine), then redraw; trains nothing")
    args = parser.parse_args(argv)
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        parser.error("--out %s is not a folder: name a folder for the results" % args.out)
    try:
        return run(args)
    except (ResultsError, params.ParamsError) as e:
        sys.exit("error: %s\nFix: repair or move that file away; nothing was changed "
                 "by this run after the error." % e)


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
    with _results_locked(out):
        results = load_results(path)
        for row in rows:
            note = merge_row(results, row)
            if note:
                print(note)
        _atomic(lambda p: _write_json(p, results), path)
        render(out, results)
    return results


def run(args):
    """What main does once the command line is read."""
    os.makedirs(args.out, exist_ok=True)
    results = load_results(os.path.join(args.out, "results.json"))  # before hours of training
    if args.render_only or args.merge:
        merged = [load_results(other) for other in args.merge or []]  # all checked first
        results = add_rows(args.out, [row for other in merged for row in other["rows"]])
        print("wrote %s" % os.path.join(args.out, "RESULTS.md"))
        return results

    print(device.describe())
    tag, machine, host = device_info()
    limit = QUICK_IMAGES if args.quick else None
    images = cifar_loader.load_or_exit(args.data_dir, limit)
    data = {}
    for script in {RUNS[name]["script"] for name in args.runs}:
        Xtr, Ytr, Xte, Yte = images
        data[script.__name__] = script.preprocess(Xtr), Ytr, script.preprocess(Xte), Yte

    plan, total = [], 0.0
    for name in args.runs:
        spec = RUNS[name]
        epochs = args.epochs or (1 if args.quick else spec["epochs"])
        seconds = estimate_epoch_seconds(spec, *data[spec["script"].__name__][:2])
        plan.append((name, spec, epochs))
        total += epochs * seconds
        print("%-9s %3d epochs x ~%.1f s = ~%.1f min" % (name, epochs, seconds, epochs * seconds / 60))
    print("expected total: about %.0f min; Ctrl-C stops cleanly and keeps what was learned\n"
          % max(1, round(total / 60)))

    diverged = None
    for name, spec, epochs in plan:
        print("=== %s: %d epochs, learning rate %s, on %s" % (name, epochs, spec["learning_rate"], machine))
        row = train_run(name, spec, data, args.out, tag, epochs, args.resume, args.quick)
        row.update(machine=machine, host=host, versions=library_versions(), quick=args.quick,
                   date=datetime.date.today().isoformat())
        diverged = diverged or row["diverged"]
        results = add_rows(args.out, [row])
        if row["interrupted"]:
            print("wrote %s" % os.path.join(args.out, "RESULTS.md"))
            print("stopped by Ctrl-C: parameters so far are in %s; "
                  "`python reproduce.py --resume` continues" % args.out, file=sys.stderr)
            sys.exit(130)
    print("wrote %s" % os.path.join(args.out, "RESULTS.md"))
    if diverged:
        sys.exit(1)  # said above, run by run
    return results


if __name__ == "__main__":
    cli.run(main, "interrupted; finished runs are in results.json, and "
            "`python reproduce.py --resume` continues the others")
