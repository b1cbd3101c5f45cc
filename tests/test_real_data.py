"""The real CIFAR-10 (all 60,000 images), where CIFAR10_DIR names a copy.

CI sets CIFAR10_DIR to an offline copy in the official format; elsewhere
these tests are skipped.
"""
import os

import numpy as np
import pytest

import cifar_loader

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.environ.get("CIFAR10_DIR"),
                                 reason="CIFAR10_DIR is not set")]


@pytest.fixture(scope="module")
def cifar10():
    return cifar_loader.load_CIFAR10(cifar_loader.resolve_data_dir(
        os.environ["CIFAR10_DIR"], download=False))


def test_shapes_and_types(cifar10):
    Xtr, Ytr, Xte, Yte = cifar10
    assert Xtr.shape == (50000, 32, 32, 3) and Xtr.dtype == np.float32
    assert Xte.shape == (10000, 32, 32, 3) and Xte.dtype == np.float32
    assert Ytr.shape == (50000,) and Ytr.dtype == np.int32
    assert Yte.shape == (10000,) and Yte.dtype == np.int32


def test_classes_are_balanced(cifar10):
    _, Ytr, _, Yte = cifar10
    assert np.bincount(Ytr, minlength=10).tolist() == [5000] * 10
    assert np.bincount(Yte, minlength=10).tolist() == [1000] * 10


def test_pixels_are_bytes(cifar10):
    Xtr, _, Xte, _ = cifar10
    for X in (Xtr, Xte):
        assert X.min() == 0 and X.max() == 255
        assert np.array_equal(X[:1000], np.round(X[:1000]))


def test_preprocessing_on_a_slice(cifar10, stack):
    import ConvolutionNN
    import mlp
    X = cifar10[0][:2000]
    flat, image = mlp.preprocess(X), ConvolutionNN.preprocess(X)
    assert flat.shape == (2000, 1024) and image.shape == (2000, 1, 32, 32)
    assert flat.dtype == image.dtype == np.float32
    assert -0.5 <= flat.min() < -0.4 and 0.4 < flat.max() <= 0.5
    assert -0.2 < flat.mean() < 0.2  # centred around zero
    np.testing.assert_array_equal(flat, image.reshape(2000, 1024))  # MLP == CNN input
