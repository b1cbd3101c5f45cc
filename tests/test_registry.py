"""theano_today.speedups: one table of speed-ups, the tags that turn them
off, and the pages that show the table."""
import logging
import pkgutil

import pytest

from helpers import REPO, cnn_training_step


def test_the_table_and_the_modules_with_rewrites_are_the_same(stack):
    import importlib
    speedups = stack.speedups
    with_rewrites = {m.name for m in pkgutil.iter_modules(stack.__path__)
                     if hasattr(importlib.import_module("theano_today." + m.name), "REWRITES")}
    assert with_rewrites == {s.module for s in speedups.SPEEDUPS}
    for s in speedups.SPEEDUPS:
        assert s.device in ("cpu", "gpu", "any") and s.what
        assert speedups.rewrites(s), s.module


def test_every_cpu_rewrite_is_registered_with_its_tags(stack):
    from theano.compile import optdb
    speedups = stack.speedups
    for s in speedups.SPEEDUPS:
        if s.device == "gpu":  # registered where the GPU back end runs (test_gpu_backend.py)
            continue
        db = optdb[s.where] if isinstance(s.where, str) else optdb
        for name in speedups.rewrites(s):
            registered, = db.__db__[name]
            assert registered in db.__db__[s.module] and registered in db.__db__[speedups.TAG]
            assert registered in db.__db__["fast_run"]
            if not isinstance(s.where, str):
                assert db.__position__[name] == s.where


def test_gpu_rewrites_are_not_registered_on_the_cpu(stack):
    from theano.compile import optdb
    speedups = stack.speedups
    if stack.device.gpu_active():
        pytest.skip("Theano runs on its GPU back end here")
    for s in speedups.SPEEDUPS:
        if s.device == "gpu":
            db = optdb[s.where] if isinstance(s.where, str) else optdb
            assert not set(speedups.rewrites(s)) & set(db.__db__), s.module


def test_old_tags_still_name_their_rewrites(stack):
    from theano.compile import optdb
    speedups = stack.speedups
    cpu = [s for s in speedups.SPEEDUPS if s.device != "gpu"]
    for old, name in speedups.OLD_TAGS.items():
        owner = [s for s in speedups.SPEEDUPS if name in speedups.rewrites(s)]
        assert len(owner) == 1, old  # each old tag names one rewrite of the table
        if owner[0] in cpu:
            db = optdb[owner[0].where] if isinstance(owner[0].where, str) else optdb
            assert db.__db__[old] == db.__db__[name]


def test_theano_today_tag_is_stock_theano(stack):
    import theano
    import theano.tensor as T
    inputs, outputs = cnn_training_step(T)
    mode = theano.compile.get_default_mode()
    ours = {"FastMaxPool", "FastMaxPoolGrad", "BiasAdd", "ParallelDot"}
    convolutions = {"FastCorrMM", "BlockedCorrMM"}  # Blocked where the BLAS leaves the products
    names = lambda f: {type(n.op).__name__ for n in f.maker.fgraph.toposort()}
    fast = names(theano.function(inputs, outputs, mode=mode))
    assert ours <= fast and fast & convolutions
    stock = names(theano.function(inputs, outputs, mode=mode.excluding(stack.speedups.TAG)))
    assert not (ours | convolutions) & stock and {"CorrMM", "MaxPoolGrad", "Dot22"} <= stock


@pytest.mark.parametrize("excluding, says", [
    ("pooling_typo", "optimizer_excluding=pooling_typo names no rewrite"),
    ("fast_max_pool", "optimizer_excluding=fast_max_pool works for now; the speed-up's tag is pooling"),
    ("inplace:theano_today:scaled_dot:local_gemm_to_gemv", None),  # Theano's tag, ours, a name
])
def test_optimizer_excluding_tags_are_checked(stack, monkeypatch, caplog, excluding, says):
    monkeypatch.setattr(stack.settings.log, "propagate", True)  # to caplog
    with caplog.at_level(logging.WARNING, logger="theano_today"):
        stack.speedups.check_excluding(excluding)
    lines = caplog.text.strip().splitlines()
    if says is None:
        assert lines == []
    else:
        assert len(lines) == 1 and says in lines[0], caplog.text


@pytest.mark.parametrize("page", ["README.md", "docs/performance.md"])
def test_pages_show_the_table(stack, page):
    assert stack.speedups.markdown_table() in (REPO / page).read_text()
