"""A 2015 script's imports of scikit-learn loaders since removed; with
--fixed, theano_today is imported first. Prints what calling one says."""
import sys

if "--fixed" in sys.argv:
    import theano_today  # noqa: F401
from sklearn.datasets import fetch_mldata, load_boston  # noqa: E402

for loader in (load_boston, fetch_mldata):
    try:
        loader()
    except Exception as e:
        print("%s: %s" % (type(e).__name__, e))
