"""Where Theano runs: the GPU asked for, or the CPU where its back end is missing.

choose_device must run before Theano starts (importing theano_today runs it);
gpu_active, gpu_note and describe tell afterwards where Theano computes.
"""
import importlib.util
import logging

from theano_today import blas, settings

GPU_HELP = "to use a GPU, see docs/gpu.md"

#: Set by choose_device when the device asked for could not be had: what was asked.
fallback_from = None


def _one_line_gpu_errors(record):
    """Logging filter: Theano logs a failed GPU start with a full traceback."""
    if record.exc_info:
        record.msg = "%s: %s (%s)" % (record.getMessage(), record.exc_info[1], GPU_HELP)
        record.args = ()
        record.exc_info = None
    return True


def choose_device():
    """The CPU, quietly, where the GPU back end is not installed.

    A break of the stack: the article's .theanorc said device=gpu, the old
    CUDA back end that Theano 1.0 removed (it refuses the name); its successor
    is device=cuda, which needs pygpu (libgpuarray). Without pygpu Theano
    would log a traceback; here Theano runs on the CPU, fallback_from
    records what was asked, and describe() and gpu_check.py say so.
    """
    global fallback_from
    device = settings.setting("device") or "cpu"
    if device.startswith("gpu"):  # 2015 name -> Theano 1.0 name
        device = "cuda" + device[3:]
        settings.add_flag("device", device)
    if not device.startswith(("cuda", "opencl")):
        return device
    if importlib.util.find_spec("pygpu") is None:
        fallback_from = device
        settings.add_flag("device", "cpu")
        return "cpu"
    # pygpu is there; if the GPU still fails to start, keep that to one line.
    logging.getLogger("theano.gpuarray").addFilter(_one_line_gpu_errors)
    return device


def check_forced():
    """With force_device=True Theano must run on the device asked for, or not
    at all; Theano 1.0.5 itself carries on on the CPU (it logs a GPU that
    fails to start). Raises settings.ConfigurationError (one line) once
    Theano has started on the CPU where a GPU was forced."""
    if not settings.setting_is_true("force_device"):
        return
    import theano
    asked = fallback_from or theano.config.device
    if not asked.startswith(("cuda", "opencl")) or gpu_active():
        return
    source, value = settings.user_setting("force_device")
    where, fix = settings.set_by("force_device", value, source)
    why = ("Theano's GPU back end (pygpu) is not installed here" if fallback_from else
           "it did not start (see the message above)")
    raise settings.ConfigurationError(
        "theano_today: %s: run on device=%s or not at all, and %s. Fix: %s to run on the "
        "CPU; %s." % (where, asked, why, fix, GPU_HELP))


def gpu_active():
    """True when Theano computes on its GPU back end: device=cuda (or an
    OpenCL device, such as pocl in bench/opencl_env.sh) and pygpu started."""
    import theano
    if not theano.config.device.startswith(("cuda", "opencl")):
        return False
    from theano import gpuarray
    return bool(gpuarray.pygpu_activated)


def gpu_note():
    """Why Theano runs on the CPU although a GPU was asked for, and what to
    do; None when it runs where it was asked to."""
    import theano
    if fallback_from:
        return ("Theano runs on the CPU: the configuration asks for device=%s, "
                "and Theano's GPU back end (pygpu) is not installed here; %s."
                % (fallback_from, GPU_HELP))
    if theano.config.device.startswith(("cuda", "opencl")) and not gpu_active():
        return ("Theano runs on the CPU: device=%s did not start (see the message "
                "above); %s." % (theano.config.device, GPU_HELP))
    return None


def describe():
    """One line: where Theano runs, in which precision, with which BLAS."""
    import theano
    device = theano.config.device
    if fallback_from:
        device = "cpu (no GPU back end for device=%s: gpu_check.py says more)" % fallback_from
    elif device.startswith(("cuda", "opencl")) and not gpu_active():
        device = "cpu (GPU %s did not start)" % device
    return "Theano %s on %s, floatX=%s, BLAS: %s" % (
        theano.__version__, device, theano.config.floatX, blas.name())

