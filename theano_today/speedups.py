"""The speed-ups: one table, and their place in Theano's optimizer.

Each speed-up is a module of theano_today whose graph rewrites are in its
REWRITES ({name: rewrite}); its row in SPEEDUPS says on which device it
runs, where in Theano's optimizer, and what it does. Every rewrite is
tagged with its module's name and with TAG, so Theano's own flag turns off
one speed-up, or all of them:

    THEANO_FLAGS=optimizer_excluding=parallel_dot   # one speed-up off
    THEANO_FLAGS=optimizer_excluding=theano_today   # stock Theano

Each changes how Theano computes, not what: its tests compare it with
stock Theano (tests/test_speedups.py, tests/test_gpu_backend.py).
"""
import collections
import importlib

from theano_today.settings import log

#: The tag every speed-up carries: optimizer_excluding=theano_today is stock Theano.
TAG = "theano_today"

Speedup = collections.namedtuple("Speedup", "module device where what")
# device: "cpu", "gpu" (Theano's GPU back end running) or "any".
# where: a database of Theano's optimizer (optdb) that applies local rewrites
# until nothing changes ("stabilize" 1.5, "specialize" 2, "specialize_device"
# 48.6), or a position in optdb's sequence (BLAS rewrites 1.7, GPU lifting
# 48.5, element-wise fusion 49, in-place passes 49.5 to 75).
SPEEDUPS = [
    Speedup("pooling", "any", "specialize_device",
            "faster max pooling and its gradient (non-overlapping windows)"),
    Speedup("bias_add", "cpu", 75.5,
            "a conv layer's bias added in one pass over memory"),
    Speedup("bias_grad", "cpu", "stabilize",
            "a conv layer's bias gradient as two matrix-vector products"),
    Speedup("corrmm", "cpu", 48.75,
            "the convolution's im2col and col2im without a test per value"),
    Speedup("conv_blocks", "cpu", 48.76,
            "the convolution's small products in AVX-512 registers, where the BLAS's kernels are not"),
    Speedup("parallel_dot", "cpu", 48.8,
            "matrix products split over OpenMP's threads, one BLAS set of threads less"),
    Speedup("batched_conv", "gpu", "stabilize",
            "one matrix product per convolution layer and direction"),
    Speedup("reshape", "gpu", "specialize",
            "reshapes that take -1: no shape vector from the host"),
    Speedup("scaled_dot", "gpu", 48.8,
            "plain products instead of GEMMs into fresh buffers"),
    Speedup("im2col", "gpu", 48.9,
            "a convolution layer's columns in one kernel"),
    Speedup("fusion", "gpu", 49.4,
            "element-wise kernels with several outputs: fewer kernels per step"),
    Speedup("contiguous", "gpu", 99,
            "no copy node for arrays that are contiguous already"),
]

#: The tags of earlier versions, still given to their rewrites: old tag -> rewrite.
OLD_TAGS = {
    "fast_max_pool": "local_fast_max_pool",
    "fast_max_pool_grad": "local_fast_max_pool_grad",
    "bias_grad_dot": "local_bias_grad_dot",
    "corrmm_copies": "local_corrmm_copies",
    "gpu_im2col": "local_gpu_im2col",
    "gpu_contiguous": "drop_gpu_contiguous",
    "reshape_minus_one": "local_reshape_minus_one",
    "multi_output_fusion": "multi_output_fusion_pass",
}


def rewrites(speedup):
    """{name: rewrite} of a row's module (importing it)."""
    return importlib.import_module("theano_today." + speedup.module).REWRITES


def register(gpu):
    """Add the rewrites of every speed-up for this device to Theano's
    optimizer (once), with their tags. gpu: whether Theano's GPU back end runs."""
    for speedup in SPEEDUPS:
        if speedup.device != ("cpu" if gpu else "gpu"):
            register_speedup(speedup.module)


def rewrite_tags(speedup, name):
    """The tags of a speed-up's rewrite: each turns it off in optimizer_excluding."""
    return ["fast_run", speedup.module, TAG] + [old for old, new in OLD_TAGS.items()
                                                if new == name]


def tags(module):
    """Every tag that turns off one of a speed-up's rewrites."""
    speedup, = [s for s in SPEEDUPS if s.module == module]
    return {tag for name in rewrites(speedup) for tag in rewrite_tags(speedup, name)}


def register_speedup(module):
    """Add one speed-up's rewrites to Theano's optimizer (once), with its
    tags, on whatever device (a test compares one where it is not the default)."""
    from theano import gof
    from theano.compile import optdb
    speedup, = [s for s in SPEEDUPS if s.module == module]
    for name, rewrite in rewrites(speedup).items():
        tags = rewrite_tags(speedup, name)
        if isinstance(speedup.where, str):
            db = optdb[speedup.where]
            if name not in db.__db__:
                db.register(name, rewrite, *tags)
        elif name not in optdb.__db__:
            if isinstance(rewrite, gof.LocalOptimizer):  # optdb runs graph-wide passes
                rewrite = gof.opt.in2out(rewrite, name=name)
            optdb.register(name, rewrite, speedup.where, *tags)


def _tags_in(db, seen):
    """Every name and tag under Theano's optimizer database db."""
    from theano.gof.optdb import DB, ProxyDB
    if id(db) in seen:
        return set()
    seen.add(id(db))
    tags = set(db.__db__)
    for opts in list(db.__db__.values()):
        for opt in opts:
            if isinstance(opt, ProxyDB):
                opt = opt.db
            if isinstance(opt, DB):
                tags |= _tags_in(opt, seen)
    return tags


def check_excluding(excluding=None):
    """One line for each optimizer_excluding tag that turns nothing off (Theano
    passes over an unknown tag without a word), and for each old tag of ours.
    excluding: Theano's optimizer_excluding by default."""
    import theano
    from theano.compile import optdb
    if excluding is None:
        excluding = theano.config.optimizer_excluding
    known = None
    for tag in [t for t in excluding.split(":") if t]:
        if tag in OLD_TAGS:
            new = [s.module for s in SPEEDUPS if OLD_TAGS[tag] in rewrites(s)]
            log.warning("theano_today: optimizer_excluding=%s works for now; the "
                        "speed-up's tag is %s (docs/performance.md)", tag, new[0])
            continue
        if known is None:
            known = _tags_in(optdb, set()) | {s.module for s in SPEEDUPS} | {TAG}
        if tag not in known:
            log.warning("theano_today: optimizer_excluding=%s names no rewrite of Theano's "
                        "or theano_today's, so it turns nothing off (theano_today's tags: "
                        "%s; all of them: %s)", tag,
                        ", ".join(s.module for s in SPEEDUPS), TAG)


def markdown_table():
    """The table of SPEEDUPS as docs/performance.md and the README show it."""
    rows = ["| speed-up (tag) | device | what it does |", "|---|---|---|"]
    rows += ["| `%s` | %s | %s |" % (s.module, s.device.upper() if s.device != "any" else "CPU, GPU",
                                     s.what) for s in SPEEDUPS]
    return "\n".join(rows) + "\n"
