"""The command line of a training script: each option defined once.

    parser = cli.training_parser(__doc__, EPOCHS, LEARNING_RATE, add_data_dir_option)
    parser = cli.data_parser(__doc__, add_data_dir_option)     # the data options only
    cli.run(main)                                              # Ctrl-C, kill, a full disk

The data set's own options (where it is) come from the caller, as the
tutorial's cifar_loader.add_data_dir_option: the package knows no data set.
"""
import argparse
import math
import os
import signal
import sys

import lasagne
import numpy as np

from theano_today import compiling, divergence, files, params, settings

#: The seed of every run that does not choose one: same seed, same result.
DEFAULT_SEED = 1


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's formatter that shows each option's default, except None
    and a switch's False: there the help says what None means (where a
    data folder is searched for, say), and "(default: None)" would only confuse."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


# --- values that make sense, checked when the command line is read ---------------

def _whole_number(text, low, high, must):
    """int(text) if it lies in low..high, else argparse's error: 'must ..., not text'."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise argparse.ArgumentTypeError("must %s, not %r" % (must, text))
    return value


def count(text):
    """A whole number of at least 1 (epochs, batches, repetitions)."""
    return _whole_number(text, 1, math.inf, "be a whole number of at least 1")


def images(text):
    """How many images to use: at least 50, so that some class has 5 of them
    (pigeonhole), which nolearn's split (5 stratified folds, 80/20) needs."""
    return _whole_number(text, 50, math.inf, "be at least 50 (nolearn's 80/20 split "
                         "needs 5 images of a class)")


def step_size(text):
    """A learning rate: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError("must be a number above 0, such as 0.01, not %r" % text)
    return value


def seed(text):
    """A random seed numpy accepts: a whole number from 0 to 2**32 - 1."""
    return _whole_number(text, 0, 2 ** 32 - 1, "be a whole number from 0 to 4294967295")


def path(text):
    """A path, ~ and $VARIABLES expanded (files.user_path)."""
    return files.user_path(text)


def folder_problem(folder):
    """Why files cannot be written into folder, made where missing (the
    words after its name), or None: checked before a long run, not after."""
    if os.path.islink(folder) and not os.path.exists(folder):
        return ("is a symbolic link to %s, which leads nowhere: create that folder or name "
                "another" % os.readlink(folder))
    if os.path.exists(folder) and not os.path.isdir(folder):
        return "is not a folder: name a folder to write into"
    existing = os.path.abspath(folder)
    while not os.path.isdir(existing):  # the folder to make it in
        existing = os.path.dirname(existing)
        if os.path.lexists(existing) and not os.path.isdir(existing):
            return "cannot be made: %s is not a folder" % existing
    if not os.access(existing, os.W_OK | os.X_OK):
        where = "" if existing == os.path.abspath(folder) else " (in %s)" % existing
        return "cannot be written%s: name a folder you can write to" % where
    return None


def new_file(text):
    """A file to write: one that theano_today.files.write can write (its folder
    exists and is writable; not a folder, pipe or device; a link that leads
    somewhere; a name that fits the file system, and so does the temporary
    name written first, which keeps at most 200 bytes of it), so that a long
    training never ends in a file it cannot write."""
    text = path(text)
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError("%s is a folder: name a file in it" % text)
    try:
        files.check(text)
    except OSError as e:
        raise argparse.ArgumentTypeError(str(e))
    return text


# --- the parsers ----------------------------------------------------------------------

def new_parser(doc, parents=()):
    """An ArgumentParser described by the first paragraph of doc (None
    under python -OO, which strips docstrings: then undescribed)."""
    return argparse.ArgumentParser(description=(doc or "").split("\n\n")[0],
                                   parents=list(parents), formatter_class=HelpFormatter)


def add_limit_option(parser):
    parser.add_argument("--limit", type=images, metavar="N",
                        help="use only the first N training and N test images "
                        "(a quick try-out; default: all)")


def data_parser(doc, add_data_options):
    """A parser with the data options of every script that trains: where the
    data is (add_data_options(parser) adds them) and how much of it to use."""
    parser = new_parser(doc)
    add_data_options(parser)
    add_limit_option(parser)
    return parser


def training_parser(doc, epochs, learning_rate, add_data_options):
    """The knobs both training scripts share, with the article's defaults."""
    parser = data_parser(doc, add_data_options)
    parser.add_argument("--epochs", type=count, default=epochs,
                        help="training epochs (the article's value)")
    parser.add_argument("--learning-rate", type=step_size, default=learning_rate,
                        help="Nesterov momentum learning rate (the article's value)")
    parser.add_argument("--seed", type=seed, default=DEFAULT_SEED,
                        help="random seed for weight initialisation: same seed, same result")
    parser.add_argument("--save", metavar="PATH", type=new_file,
                        help="write the trained parameters here (nolearn's "
                        "save_params_to; reload with net.load_params_from(PATH))")
    return parser


def add_nets_option(parser, nets):
    """--nets: which of the tutorial's nets (names of nets, a dict) to run."""
    parser.add_argument("--nets", nargs="+", default=list(nets), choices=sorted(nets),
                        help="nets to time")


# --- running ---------------------------------------------------------------------------

def seed_everything(value=DEFAULT_SEED):
    """Lasagne draws initial weights from its own RNG; nolearn's batch order
    and train/validation split are fixed (seed 42) already."""
    np.random.seed(value)
    lasagne.random.set_rng(np.random.RandomState(value))


def save_params(net, path):
    """theano_today.params.save (a failed or interrupted write leaves an older
    file whole), saying so; True if saved, else one line on stderr and False."""
    try:
        params.save(net, path)
    except OSError as e:
        print("error: could not save the parameters to %s: %s" % (path, e.strerror or e),
              file=sys.stderr)
        return False
    print("parameters saved to %s" % path)
    return True


def exit_unless_complete(net, epochs, learning_rate, saved=True):
    """Exit non-zero where the run fell short: 1 where the loss diverged
    (theano_today.divergence) or --save failed, 130 after Ctrl-C or SIGTERM (nolearn's
    fit stops and returns the net as it is)."""
    done = len(net.train_history_)
    epoch = divergence.diverged_at(net.train_history_)
    if epoch is not None:
        kept = "the parameters of epoch %d" % (epoch - 1) if epoch > 1 else "its initial parameters"
        print("training diverged: the loss of epoch %d is not a number, so training stopped "
              "and the net keeps %s. Fix: a smaller --learning-rate (this run: %g)"
              % (epoch, kept, learning_rate), file=sys.stderr)
        sys.exit(1)
    if done < epochs:
        print("interrupted after epoch %d of %d: the accuracy above is that of the net "
              "as it was then" % (done, epochs), file=sys.stderr)
        sys.exit(130)
    if not saved:
        sys.exit(1)


def plain_epoch_table():
    """nolearn colours its epoch table with ANSI codes, which land as
    '[36m2.01014[0m' in files and pipes: the tutorial's scripts print it as
    plain text unless stdout is a terminal. (Not done on import: nolearn's
    colours belong to whoever else uses nolearn in the process.)"""
    if sys.stdout.isatty():
        return
    from nolearn.lasagne.util import ansi
    for name in [n for n in vars(ansi) if n.isupper()]:
        setattr(ansi, name, "")


def check_precision():
    """The tutorial's nets train in float32 or float64: with floatX=float16
    Theano refuses nolearn's float32 images at the first batch; and nolearn
    computes its accuracy in float64 (Theano's mean), which warn_float64=raise
    refuses as the net is built. One line (settings.ConfigurationError)
    before anything is loaded."""
    import theano
    if theano.config.floatX not in ("float32", "float64"):
        name, value, why = ("floatX", theano.config.floatX,
                            "the tutorial's nets train in float32 or float64")
    elif theano.config.warn_float64 == "raise":
        name, value, why = ("warn_float64", "raise", "nolearn computes its accuracy in "
                            "float64 (Theano's mean), so no net of nolearn's can be built")
    else:
        return
    where, fix = settings.set_by(name, value, settings.user_setting(name)[0])
    raise settings.ConfigurationError("theano_today: %s, but %s. Fix: %s." % (where, why, fix))


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run(main, interrupted="interrupted before training ended: nothing was saved"):
    """Call a script's main. Ctrl-C outside training (nolearn and
    theano_today.interrupt handle it within) says interrupted and exits
    130, and so does a polite kill (SIGTERM: kill, timeout, a batch
    system's time limit), which would otherwise end the process at once,
    unsaved; a reader that closes the output early (python mlp.py | head)
    ends the script quietly; a failing disk or folder (full, unwritable),
    Theano's compile directory's included, is one line; so is a floatX the
    nets cannot train in, and a warning that `python -W error` made an
    error. Any path prints."""
    signal.signal(signal.SIGTERM, _interrupt)
    files.printable_output()
    plain_epoch_table()
    try:
        check_precision()
        main()
    except settings.ConfigurationError as e:
        sys.exit(str(e))
    except Warning as e:
        sys.exit("error: %s: %s (a warning, which python -W error makes an error)"
                 % (type(e).__name__, settings.one_line(e).rstrip(".")))
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        # as the Python docs advise: no further writes to the closed pipe
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except OSError as e:
        sys.exit(compiling.compile_problem(e) or "error: %s" % e)
    except Exception as e:
        problem = compiling.compile_problem(e)  # a full disk while Theano compiled
        if problem is None:
            raise
        sys.exit(problem)
