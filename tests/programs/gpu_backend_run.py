"""Run by tests/test_gpu_backend.py with the Python of the pygpu environment:
the MLP of mlp.py trained on Theano's GPU back end, fed by nolearn's
NeuralNet, by the scripts' SharedDataNeuralNet and by its gathering variant
(bench/feeding.py's loaders), and by SharedDataNeuralNet again without
theano_today's multi_output_fusion, and without its scaled_dot and
gpu_contiguous; prints one JSON report.

    python tests/programs/gpu_backend_run.py CIFAR_DIR   (from the repository root)
"""
import contextlib
import json
import os
import sys

sys.path.insert(0, os.getcwd())  # the repository root: the pygpu Python has no PYTHONPATH
import theano_today  # noqa: E402,F401  (first: makes the 2015 stack run on today's Python)

import theano  # noqa: E402
from theano import gpuarray  # noqa: E402
from theano.compile import optdb  # noqa: E402

import cifar_loader  # noqa: E402
import mlp  # noqa: E402
import reproduce  # noqa: E402
from bench import feeding  # noqa: E402
from theano_today import cli, device  # noqa: E402


@contextlib.contextmanager
def default_mode_excluding(*tags):
    """Theano's default mode, which nolearn compiles with, without tags."""
    saved = theano.compile.mode.instantiated_default_mode
    theano.compile.mode.instantiated_default_mode = theano.compile.get_default_mode().excluding(
        *tags)
    try:
        yield
    finally:
        theano.compile.mode.instantiated_default_mode = saved


def main(data_dir):
    X, y, Xte, _ = cifar_loader.load_CIFAR10(data_dir)
    X, Xte = mlp.preprocess(X), mlp.preprocess(Xte)
    report = {"device": theano.config.device, "gpu": bool(gpuarray.pygpu_activated),
              "gpu_active": device.gpu_active(), "device_info": reproduce.device_info()[0],
              "batched_conv": "local_batched_conv" in optdb["stabilize"].__db__}
    excluding = {"unfused": ["fusion"], "gemm": ["scaled_dot", "contiguous"]}
    for name, loader in [("nolearn", "nolearn"), ("gather", "gather"), ("shared", "shared"),
                         ("unfused", "shared"), ("gemm", "shared")]:
        cli.seed_everything()
        net = feeding.build("mlp", loader)
        with default_mode_excluding(*excluding.get(name, [])):
            net.fit(X, y, epochs=2)
        step, gathered = net.train_iter_, None
        if loader != "nolearn":  # a StoredDataStep: the function that trained
            gathered = step.gathered is not None
            step = step.gathered if loader == "gather" else step.sliced
        step = step.maker
        report[name] = dict(
            history=[[float(row[k]) for k in ("train_loss", "valid_loss", "valid_accuracy")]
                     for row in net.train_history_],
            step_inputs=[str(i.variable.type) for i in step.inputs],
            # what the step does with its first input (the images, or positions)
            first_input_to=sorted(type(node.op).__name__
                                  for node, _ in step.fgraph.inputs[0].clients),
            step_ops=[type(node.op).__name__ for node in step.fgraph.toposort()],
            # how many nodes compute the new parameters and velocities
            update_nodes=len({out.owner for out in step.fgraph.outputs[1:]}),
            predictions=net.predict(Xte).tolist(),
            stored=[type(getattr(net, attr, None)).__name__ for attr in ("images_", "labels_")],
            gathered=gathered)
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
