"""Stop a nolearn net between minibatches when asked to stop.

nolearn's fit ends training where Ctrl-C lands. Landing after an epoch was
recorded in the net's history but before that epoch's handlers ran, it left
the epoch's row unprinted and its loss unchecked (StopOnDivergence), though
the epoch counts as done. StopBetweenBatches holds Ctrl-C (SIGINT) and a
polite kill (SIGTERM) during training until the minibatch, or the epoch's
handlers, under way are done; a second one stops at once.

    net = NeuralNet(..., on_training_started=[StopOnDivergence(), StopBetweenBatches()])
"""
import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def in_training(frame):
    """Whether a frame runs within a nolearn net's train_loop."""
    while frame is not None:
        if frame.f_code.co_name == "train_loop":
            return True
        frame = frame.f_back
    return False


class StopBetweenBatches(object):
    """A nolearn on_training_started handler. Listed after the other
    handlers that add epoch handlers, so that it ends an epoch after them."""

    def __init__(self):
        self.asked = False
        self.before = {}  # each signal's handler outside training

    def __call__(self, net, history):
        # Python lets the main thread alone set signal handlers; nolearn's lists
        # are the ones train_loop iterates only where they are lists.
        if threading.current_thread() is not threading.main_thread() or not all(
                isinstance(handlers, list) for handlers in (
                    net.on_batch_finished, net.on_epoch_finished, net.on_training_finished)):
            return
        self.asked = False
        for number in SIGNALS:
            held = signal.signal(number, self.ask)
            if held != self.ask:  # else held since a fit that an error ended
                self.before[number] = held
        for handlers, handler in ((net.on_batch_finished, self.stop_if_asked),
                                  (net.on_epoch_finished, self.stop_if_asked),
                                  (net.on_training_finished, self.training_finished)):
            if handler not in handlers:
                handlers.append(handler)

    def ask(self, number, frame):
        if not self.asked and in_training(frame):
            self.asked = True
            return
        # asked twice, or after an error ended training and left this handler:
        # as without it
        before = self.before.get(number)
        self.restore()
        if callable(before):  # Python's KeyboardInterrupt, or the script's own
            before(number, frame)
        elif before != signal.SIG_IGN:
            signal.raise_signal(number)

    def stop_if_asked(self, net, history):
        if self.asked:
            self.restore()
            raise KeyboardInterrupt  # nolearn's fit returns the net as it is

    def training_finished(self, net, history):
        self.restore()

    def restore(self):
        for number, handler in self.before.items():
            # None: a handler set outside Python, which Python cannot put back
            signal.signal(number, signal.SIG_DFL if handler is None else handler)
        self.before = {}
