"""Install this tutorial's .theanorc as ~/.theanorc (the article's set-up step).

Theano reads ~/.theanorc at import (or the files named in $THEANORC).
An existing ~/.theanorc that differs is kept as ~/.theanorc.backup-<time>
before it is replaced; running this twice changes nothing the second time.
A ~/.theanorc that is a symbolic link (to a dotfiles folder, say) stays one:
the file it leads to gets the tutorial's settings, its old ones the backup.

    python setup_theanorc.py          # install ./.theanorc into $HOME
"""
import argparse
import importlib.util
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def theano_today_files():
    """theano_today.files, the one way this tutorial writes a file, without
    theano_today/__init__.py, which imports Theano: the scripts that run
    without Theano (this one, cifar_loader.py, report.py) load it by its path.
    The module is registered under its own name, so a process that imports
    theano_today as well has one such module, not two."""
    name = "theano_today.files"
    if name not in sys.modules and "theano_today" in sys.modules:
        return importlib.import_module(name)
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, os.path.join(HERE, "theano_today", "files.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def install(source, home):
    """Copy source to home/.theanorc; returns a sentence saying what happened.

    The user's file is copied to a backup first, and the new one is put in its
    place whole (theano_today.files.write): a full disk or any other failure
    leaves ~/.theanorc as it was, and no backup behind.
    """
    files = theano_today_files()
    target = os.path.join(home, ".theanorc")
    try:
        new = files.read(source)
    except FileNotFoundError:
        raise OSError("%s not found: run this from a checkout of the tutorial" % source)
    final = files.check(target)  # a FIFO or a device there is refused, never read
    try:
        old = files.read(final)
    except FileNotFoundError:
        old = None
    where = target if final == target else "%s (the file it links to, %s)" % (target, final)
    # What is compared is what is kept: another set-up running beside this one
    # may replace the file in between, and the backup must hold the user's.
    if old == new:
        return "%s is already this tutorial's configuration; nothing changed." % where
    backup = None if old is None else _keep(files, target, old, os.stat(final))
    try:
        files.write(target, new)
    except OSError:
        if backup:
            os.remove(backup)  # ~/.theanorc is as it was: no backup of it is needed
        raise
    if backup:
        return "Installed %s (your previous file is kept as %s)." % (where, backup)
    return "Installed %s." % where


def _keep(files, target, contents, like):
    """Write contents to a new file target.backup-<time> (numbered when that
    is taken: two runs within one second); returns its name. Each name is
    created exclusively, so a backup never names a file that holds anything else."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup, n = "%s.backup-%s" % (target, stamp), 1
    while True:
        try:
            return files.create(backup, contents, like)
        except FileExistsError:
            n += 1
            backup = "%s.backup-%s-%d" % (target, stamp, n)
        except OSError as e:
            raise OSError("could not keep %s as a backup: %s" % (target, e))


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    user_path = theano_today_files().user_path  # '~/x' expanded, as a shell would
    parser.add_argument("--source", type=user_path, default=os.path.join(HERE, ".theanorc"),
                        help="configuration to install")
    parser.add_argument("--home", type=user_path, default=os.path.expanduser("~"),
                        help="home directory to install it in ($HOME)")
    args = parser.parse_args(argv)
    theano_today_files().keep_standard_streams()
    theano_today_files().printable_output()  # a home whose name stdout cannot encode
    try:
        print(install(args.source, args.home))
    except OSError as e:
        sys.exit("error: could not install .theanorc: %s" % e)


if __name__ == "__main__":
    main()
