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
This file trains; report.py keeps results.json and draws the report.
"""
import theano_today  # noqa: F401  (first: makes the 2015 stack run on today's Python)

import datetime
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
import report
from theano_today import cli, device, divergence, files, interrupt, params

#: The runs (report.ARTICLE's): the script that defines each net and its settings.
RUNS = {
    "mlp": dict(script=mlp, build=mlp.build_mlp, epochs=mlp.EPOCHS,
                learning_rate=mlp.LEARNING_RATE),
    "cnn": dict(script=ConvolutionNN, build=ConvolutionNN.build_cnn,
                epochs=ConvolutionNN.EPOCHS, learning_rate=ConvolutionNN.LEARNING_RATE),
    "cnn-long": dict(script=ConvolutionNN, build=ConvolutionNN.build_cnn,
                     epochs=ConvolutionNN.PROJECT_EPOCHS,
                     learning_rate=ConvolutionNN.PROJECT_LEARNING_RATE),
}


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

    def paths(self):
        return [self.last, self.best, self.history]

    def __call__(self, net, history):
        plain = _plain(history)
        params.save(net, self.last, __run__=self.run, __history__=plain)
        if history[-1]["valid_loss_best"]:
            params.save(net, self.best)
        files.write(self.history, json.dumps(plain, indent=1))

    def resume(self, net):
        """Load the latest parameters and history into net; epochs done.
        Raises params.ParamsError for a file that is not this run's (its
        run, its history, its layers' shapes; another floatX is converted),
        or a -best.pkl that is not this net's."""
        if not os.path.lexists(self.last):
            return 0
        saved = params.load(self.last)
        run, history = saved.pop("__run__", None), saved.pop("__history__", None)
        if run != self.run:
            raise params.ParamsError("%s: not a checkpoint of run %s (it is %s)" % (
                self.last, self.run, "run %s's" % run if run else "of an older reproduce.py"))
        try:
            report.check_history(history, self.last)
        except report.ResultsError as e:
            raise params.ParamsError("%s (not a checkpoint reproduce.py wrote)" % e)
        saved = params.fit_to(net, saved, self.last)
        if os.path.lexists(self.best):  # tested after training: refused now, not then
            params.fit_to(net, params.load(self.best), self.best)
        verbose, net.verbose = net.verbose, 0  # quiet: nolearn prints each parameter
        net.load_params_from(saved)
        net.verbose = verbose
        net.train_history_ = history
        print("resumed from %s after epoch %d" % (self.last, len(history)))
        return len(history)


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
    """Train one net, evaluate it on the test set; returns its results row,
    and whether Ctrl-C came during training (a run it stopped is
    "interrupted"; one it came too late to stop is whole). A quick run keeps
    its checkpoints apart, so a full run's are left whole."""
    Xtr, Ytr, Xte, Yte = data[spec["script"].__name__]
    cli.seed_everything()
    net = spec["build"](epochs=epochs, learning_rate=spec["learning_rate"])
    checkpoint = Checkpoint(os.path.join(out_dir, "%s-%s%s" % (name, tag, "-quick" * quick)),
                            name)
    net.on_epoch_finished.append(checkpoint)
    net.initialize()
    done = checkpoint.resume(net) if resume else 0
    asked = False
    if done < epochs:
        # Ctrl-C ends training after the minibatch under way; fit returns the net as it is.
        with interrupt.stop_between_batches(net) as stop:
            net.fit(Xtr, Ytr, epochs=epochs - done)
        asked = stop.asked
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
    return row, asked


# --- main ----------------------------------------------------------------------

def main(argv=None):
    parser = cli.new_parser(__doc__)
    cifar_loader.add_data_dir_option(parser)
    parser.add_argument("--out", type=cli.path, default=report.RESULTS_DIR,
                        help="folder for the results")
    parser.add_argument("--runs", nargs="+", choices=list(RUNS), default=list(RUNS),
                        help="which runs to train")
    parser.add_argument("--quick", action="store_true",
                        help="%d images and 1 epoch per run: checks the pipeline "
                        "in a minute" % report.QUICK_IMAGES)
    parser.add_argument("--epochs", type=cli.count,
                        help="override every run's epochs (default: the article's)")
    parser.add_argument("--resume", action="store_true",
                        help="continue each run from its saved -last.pkl parameters")
    parser.add_argument("--render-only", action="store_true",
                        help="only redraw RESULTS.md and the plots from results.json")
    parser.add_argument("--merge", metavar="JSON", nargs="+", type=cli.path,
                        help="add the rows of other results.json files (say, from a "
                        "GPU machine), then redraw; trains nothing")
    args = parser.parse_args(argv)
    problem = cli.folder_problem(args.out)
    if problem:
        parser.error("--out %s %s" % (args.out, problem))
    unused = [option for option, given in (("--quick", args.quick), ("--resume", args.resume),
                                           ("--epochs", args.epochs)) if given]
    if (args.render_only or args.merge) and unused:  # else silently not done
        parser.error("%s trains nothing: %s would do nothing; leave %s out"
                     % ("--render-only" if args.render_only else "--merge",
                        " and ".join(unused), "it" if len(unused) == 1 else "them"))
    try:
        return run(args)
    except (report.ResultsError, files.FileError) as e:  # each says its fix
        sys.exit("error: %s" % e)
    except params.ParamsError as e:
        sys.exit("error: %s; move that file away to train the run afresh" % e)


def check_outputs(out, names, tag, quick):
    """Refuse now, not after training, a file the runs names will write
    that theano_today.files would refuse (a FIFO, a link to nowhere, ...),
    and a README.md whose table cannot be written."""
    report.check_readme(out)
    paths = [os.path.join(out, name) for name in ("results.json", "RESULTS.md")]
    for name in names:
        prefix = os.path.join(out, "%s-%s" % (name, tag))
        paths += [prefix + "-curves.png", prefix + "-confusion.png"]
        paths += Checkpoint(prefix + "-quick" * quick, name).paths()
    for path in paths:
        files.check(path)


def run(args):
    """What main does once the command line is read."""
    os.makedirs(args.out, exist_ok=True)
    results = report.load_results(os.path.join(args.out, "results.json"))  # before hours of training
    if args.render_only or args.merge:
        merged = [report.load_results(other) for other in args.merge or []]  # all checked first
        report.check_readme(args.out)
        results = report.add_rows(args.out, [row for other in merged for row in other["rows"]])
        print("wrote %s" % os.path.join(args.out, "RESULTS.md"))
        return results

    print(device.describe())
    tag, machine, host = device_info()
    check_outputs(args.out, args.runs, tag, args.quick)
    limit = report.QUICK_IMAGES if args.quick else None
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
        row, asked = train_run(name, spec, data, args.out, tag, epochs, args.resume, args.quick)
        row.update(machine=machine, host=host, versions=library_versions(), quick=args.quick,
                   date=datetime.date.today().isoformat())
        diverged = diverged or row["diverged"]
        results = report.add_rows(args.out, [row])
        if row["interrupted"] or asked:
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
