"""The tests' fixtures: small CIFAR-10 folders, and theano_today imported
into the test process. Plain helpers are in helpers.py."""
import os
import warnings

import pytest

from helpers import SCRIPT_ENV, write_cifar_dir


@pytest.fixture
def cifar_dir(tmp_path):
    """A small CIFAR-10 folder of this test's own: free to damage."""
    return write_cifar_dir(tmp_path / "cifar-10-batches-py")


@pytest.fixture(scope="session")
def shared_cifar_dir(tmp_path_factory):
    """A small CIFAR-10 folder shared by the whole session: read only."""
    return write_cifar_dir(tmp_path_factory.mktemp("shared") / "cifar-10-batches-py")


@pytest.fixture(scope="session")
def stack():
    """theano_today (and theano after it) imported into the test process.

    Importing theano_today edits THEANO_FLAGS in os.environ and Theano reads
    its configuration once, at import; both happen here with the
    repository's .theanorc, and os.environ is put back afterwards.
    """
    saved = {k: os.environ.get(k) for k in ("THEANO_FLAGS", "THEANORC")}
    os.environ["THEANORC"] = SCRIPT_ENV["THEANORC"]
    os.environ.pop("THEANO_FLAGS", None)
    try:
        with warnings.catch_warnings():  # Theano's own use of distutils
            warnings.simplefilter("ignore", DeprecationWarning)
            import theano_today
            import theano  # noqa: F401
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return theano_today


def pytest_collection_finish(session):
    """A test module's long background runs (start_background_runs, as in
    test_gpu_backend.py), those its selected tests use, start at once, and
    the rest of the suite runs meanwhile."""
    for module in {getattr(item, "module", None) for item in session.items}:
        start = getattr(module, "start_background_runs", None)
        if start is not None:
            start([item for item in session.items if getattr(item, "module", None) is module])
