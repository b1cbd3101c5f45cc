"""What the lab's benchmarks share: the tutorial's nets, and timing that
knows when the machine was not ours alone."""
import os
import time

import ConvolutionNN
import mlp

#: Each net: the script that defines it (its build function, preprocessing, settings).
NETS = {"mlp": (mlp, mlp.build_mlp), "cnn": (ConvolutionNN, ConvolutionNN.build_cnn)}


# --- timing, and whether the machine was ours ------------------------------------

#: A repetition during which other processes (or the hypervisor) took more
#: than this many cores is contended: its time says little about the code.
CONTENDED_CORES = 0.25


def busy_seconds():
    """CPU seconds that all processes, and the hypervisor (steal), have used
    since boot, from /proc/stat; None where there is none."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def timed(train, X, y, passes=1):
    """Train passes times over (X, y): samples per second, and how many
    cores others used meanwhile (None where /proc/stat is missing)."""
    busy0, own0, t0 = busy_seconds(), time.process_time(), time.perf_counter()
    for _ in range(passes):
        train(X, y)
    wall = time.perf_counter() - t0
    own, busy = time.process_time() - own0, busy_seconds()
    others = None if busy is None else max(0.0, busy - busy0 - own) / wall
    return passes * len(X) / wall, others


def repetitions(trainers, X, y, reps, retries, passes=1):
    """reps uncontended repetitions per library, alternating so that both
    see the same conditions; a contended round is repeated, up to retries
    times in all. Returns {lib: [rates]}, {lib: [rates of contended rounds]}."""
    rates = {lib: [] for lib in trainers}
    contended = {lib: [] for lib in trainers}
    while len(rates[next(iter(trainers))]) < reps:
        round_ = {lib: timed(train, X, y, passes) for lib, train in trainers.items()}
        disturbed = any(o is not None and o > CONTENDED_CORES for _, o in round_.values())
        if disturbed and retries > 0:
            retries -= 1
            for lib, (rate, _) in round_.items():
                contended[lib].append(rate)
            continue
        for lib, (rate, _) in round_.items():
            rates[lib].append(rate)
    return rates, contended
