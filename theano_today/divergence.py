"""Stop a nolearn net whose loss stops being a number.

With a learning rate far too large the loss becomes inf, then nan, and every
later epoch trains on nan: nolearn carries on to the last epoch and the net
predicts one class. StopOnDivergence ends training at the first epoch whose
training or validation loss is not finite, and puts back the parameters of
the last epoch whose losses were (or the initial ones).

    net = NeuralNet(..., on_training_started=[StopOnDivergence()])
"""
import numpy as np


def diverged_at(history):
    """The first epoch of a nolearn history whose losses are not finite, or None."""
    for row in history:
        if not (np.isfinite(row["train_loss"]) and np.isfinite(row["valid_loss"])):
            return row["epoch"]
    return None


class StopOnDivergence(object):
    """A nolearn on_training_started handler that keeps the parameters, and
    watches each epoch from then on (epoch_finished)."""

    def __init__(self):
        self.kept = None

    def __call__(self, net, history):
        self.kept = net.get_all_params_values()
        # last among the epoch handlers, after nolearn's PrintLog: the epoch
        # that diverged is still printed
        if isinstance(net.on_epoch_finished, list) and \
                self.epoch_finished not in net.on_epoch_finished:
            net.on_epoch_finished.append(self.epoch_finished)

    def epoch_finished(self, net, history):
        """Keep the parameters after a finite epoch; after one that is not,
        put the kept ones back and end training."""
        if diverged_at(history[-1:]) is None:
            self.kept = net.get_all_params_values()
            return
        for name, values in self.kept.items():
            for param, value in zip(net.layers_[name].get_params(), values):
                param.set_value(value)
        raise StopIteration  # nolearn's way for a handler to end training
