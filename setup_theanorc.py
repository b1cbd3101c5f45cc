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
    """Copy source to home/.theanorc; returns a sentence saying what happened."""
    target = os.path.join(home, ".theanorc")
    if not os.path.isfile(source):
        raise OSError("%s not found: run this from a checkout of the tutorial" % source)
    if os.path.isfile(target) and filecmp.cmp(source, target, shallow=False):
        return "%s is already this tutorial's configuration; nothing changed." % target
    backup = None
    if os.path.lexists(target):
        backup = "%s.backup-%s" % (target, time.strftime("%Y%m%d-%H%M%S"))
        n = 1
        while os.path.lexists(backup):  # two runs within one second
            n += 1
            backup = "%s.backup-%s-%d" % (target, time.strftime("%Y%m%d-%H%M%S"), n)
        os.rename(target, backup)
    tmp = target + ".tmp"
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)  # never leave a half-written ~/.theanorc
    if backup:
        return "Installed %s (your previous file is kept as %s)." % (target, backup)
    return "Installed %s." % target


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
