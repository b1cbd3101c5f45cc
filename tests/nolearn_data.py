"""Offline stand-ins of the two data sets that nolearn 0.6.1's own tests
load (tests/nolearn_suite.sh loads this as a pytest plug-in): scikit-learn
removed both loaders, and mldata.org is gone. Same shapes, dtypes and order
as the originals, and as learnable for the suite's accuracy checks:

  fetch_mldata('mnist-original')  70,000 x 784 uint8 images of digits, float
                                  targets 0-9 in sorted order: scikit-learn's
                                  8x8 digits, scaled 3x, shifted a little
  load_boston()                   506 x 13 floats, a target of 506 house
                                  prices: a fixed linear rule plus noise
"""
import numpy as np
import pytest
import sklearn.datasets
from sklearn.utils import Bunch

MNIST_PER_DIGIT = 7000


def fetch_mldata(dataname, *args, **kwargs):
    if dataname != "mnist-original":
        raise ValueError("this offline stand-in has only 'mnist-original', not %r" % dataname)
    digits = sklearn.datasets.load_digits()
    rng = np.random.RandomState(0)
    images, targets = [], []
    for digit in range(10):
        mine = digits.images[digits.target == digit]
        picks = mine[rng.randint(0, len(mine), MNIST_PER_DIGIT)]
        big = np.kron(picks, np.ones((3, 3))) * (255.0 / 16)  # 24x24, 0-255
        canvas = np.zeros((MNIST_PER_DIGIT, 28, 28))
        shifts = rng.randint(1, 4, (MNIST_PER_DIGIT, 2))  # the 24x24 digit within 28x28
        for dy in range(1, 4):
            for dx in range(1, 4):
                at = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
                canvas[at, dy:dy + 24, dx:dx + 24] = big[at]
        canvas += rng.normal(0, 4, canvas.shape)
        images.append(np.clip(canvas, 0, 255).astype(np.uint8).reshape(-1, 784))
        targets.append(np.full(MNIST_PER_DIGIT, float(digit)))
    return Bunch(data=np.concatenate(images), target=np.concatenate(targets),
                 DESCR="offline stand-in of mldata's mnist-original (tests/nolearn_data.py)")


def load_boston(*args, **kwargs):
    rng = np.random.RandomState(0)
    data = rng.gamma(2.0, 2.0, (506, 13))
    weights = rng.normal(0, 1.5, 13)
    target = 22.5 + (data - data.mean(0)) / data.std(0) @ weights + rng.normal(0, 1.0, 506)
    return Bunch(data=data, target=target, feature_names=np.array(["x%d" % i for i in range(13)]),
                 DESCR="offline stand-in of the Boston house prices (tests/nolearn_data.py)")


sklearn.datasets.fetch_mldata = fetch_mldata
sklearn.datasets.load_boston = load_boston

#: Tests that need packages this project does not install: skipped by name.
NEEDS = {"test_visualize.py": ("pydotplus", "IPython")}


def pytest_collection_modifyitems(config, items):
    import importlib.util
    for item in items:
        needed = NEEDS.get(item.fspath.basename, ())
        missing = [name for name in needed if importlib.util.find_spec(name) is None]
        if missing:
            item.add_marker(pytest.mark.skip(
                reason="needs %s (nolearn's visualize extras), not installed here"
                % " and ".join(missing)))
