"""Install this tutorial's .theanorc as ~/.theanorc (the article's set-up step).

Theano reads ~/.theanorc at import (or the files named in $THEANORC).
An existing ~/.theanorc that differs is kept as ~/.theanorc.backup-<time>
before it is replaced; running this twice changes nothing the second time.

    python setup_theanorc.py          # install ./.theanorc into $HOME
"""
import argparse
import filecmp
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def install(source, home):
    """Copy source to home/.theanorc; returns a sentence saying what happened.

    The new file is written beside the old one first: a full disk or any
    other failure leaves the user's ~/.theanorc where it was.
    """
    target = os.path.join(home, ".theanorc")
    if not os.path.isfile(source):
        raise OSError("%s not found: run this from a checkout of the tutorial" % source)
    if os.path.isfile(target) and filecmp.cmp(source, target, shallow=False):
        return "%s is already this tutorial's configuration; nothing changed." % target
    tmp = target + ".tmp"
    try:
        shutil.copyfile(source, tmp)
    except OSError as e:
        _remove(tmp)
        raise OSError("could not write %s: %s (nothing changed)" % (tmp, _reason(e)))
    backup = None
    if os.path.lexists(target):
        backup = _backup_name(target)
        try:
            os.rename(target, backup)
        except OSError as e:
            _remove(tmp)
            raise OSError("could not keep %s as %s: %s (nothing changed)"
                          % (target, backup, _reason(e)))
    try:
        os.replace(tmp, target)
    except OSError as e:
        _remove(tmp)
        raise OSError("could not put the new file in place of %s: %s (%s)"
                      % (target, _reason(e), _restore(backup, target)))
    if backup:
        return "Installed %s (your previous file is kept as %s)." % (target, backup)
    return "Installed %s." % target


def _backup_name(target):
    """target.backup-<time>, numbered when taken (two runs within one second)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup, n = "%s.backup-%s" % (target, stamp), 1
    while os.path.lexists(backup):
        n += 1
        backup = "%s.backup-%s-%d" % (target, stamp, n)
    return backup


def _restore(backup, target):
    """Move backup back to target; says where the user's file is now."""
    if backup is None:
        return "nothing changed"
    try:
        os.rename(backup, target)
    except OSError:
        return "your previous file is kept as %s" % backup
    return "nothing changed"


def _remove(path):
    """Remove a half-written file, if there is one."""
    try:
        os.remove(path)
    except OSError:
        pass


def _reason(error):
    """An OSError's reason without its file name, which the message names."""
    return error.strerror or str(error)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=os.path.join(HERE, ".theanorc"),
                        help="configuration to install")
    parser.add_argument("--home", default=os.path.expanduser("~"),
                        help="home directory to install it in ($HOME)")
    args = parser.parse_args(argv)
    try:
        print(install(args.source, args.home))
    except OSError as e:
        sys.exit("error: could not install .theanorc: %s" % e)


if __name__ == "__main__":
    main()
