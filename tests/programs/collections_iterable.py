"""nolearn's import of collections.Iterable (moved to collections.abc, and
gone from collections since Python 3.10). With --fixed, theano_today first."""
import sys

if "--fixed" in sys.argv:
    import theano_today  # noqa: F401
from collections import Iterable

print(Iterable.__module__)
