"""nolearn's import of sklearn.cross_validation (removed in scikit-learn
0.20). With --fixed, theano_today first."""
import sys

if "--fixed" in sys.argv:
    import theano_today  # noqa: F401
import sklearn.cross_validation as cv

print(cv.KFold.__module__)
