"""Stop a nolearn net between minibatches when asked to stop.

nolearn's fit ends training where Ctrl-C lands. Landing after an epoch was
recorded in the net's history but before that epoch's handlers ran, it left
the epoch's row unprinted and its loss unchecked (StopOnDivergence), though
the epoch counts as done. Within stop_between_batches, Ctrl-C (SIGINT),
and a polite kill (SIGTERM) where the program makes it KeyboardInterrupt
(theano_today.cli.run does), take effect during training at the end of the
minibatch, or of the epoch's handlers, under way; a second one at once.

    with stop_between_batches(net):
        net.fit(X, y)
"""
import contextlib
import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Holder(object):
    """The signal handler and nolearn handlers of one stop_between_batches."""

    def __init__(self):
        self.outside = {}  # the handler each held signal had before
        self.training = False
        self.held = False  # a signal held, not yet acted on
        self.asked = False  # whether a signal came during training, acted on or not

    def ask(self, number, frame):
        if self.training and not self.held:
            self.held = self.asked = True
            return
        # outside training (compiling, say), or asked twice: as without this
        self.held = False
        self.outside[number](number, frame)

    def training_started(self, net, history):
        self.training = True
        # last, so that it follows the epoch handlers that other
        # on_training_started handlers add (StopOnDivergence's)
        for handlers in (net.on_batch_finished, net.on_epoch_finished):
            if self.stop_if_asked not in handlers:
                handlers.append(self.stop_if_asked)

    def stop_if_asked(self, net, history):
        if self.held:
            self.training = self.held = False
            raise KeyboardInterrupt  # nolearn's fit returns the net as it is

    def training_finished(self, net, history):
        self.training = False


@contextlib.contextmanager
def stop_between_batches(net):
    """Within it, Ctrl-C and SIGTERM stop the net's training between
    minibatches; outside training they do what they did before. It gives
    an object whose `asked` says whether one came during training: one
    that came in the last epoch's validation, say, stopped nothing. After
    it the net's handler lists and the signals' handlers are as they were."""
    # train_loop iterates the net's own lists only where they are lists, and
    # Python lets the main thread alone set signal handlers
    lists = (net.on_training_started, net.on_batch_finished, net.on_epoch_finished,
             net.on_training_finished)
    if threading.current_thread() is not threading.main_thread() or not all(
            isinstance(handlers, list) for handlers in lists):
        yield _Holder()
        return
    holder = _Holder()
    ours = [holder.training_started, holder.stop_if_asked, holder.training_finished]
    try:
        net.on_training_started.append(holder.training_started)
        net.on_training_finished.append(holder.training_finished)
        for number in SIGNALS:
            # held only where a handler of Python's stops the program (Ctrl-C's
            # KeyboardInterrupt, cli.run's SIGTERM); SIGTERM's default end of the
            # process and an ignored signal stay as they are
            if callable(signal.getsignal(number)):
                holder.outside[number] = signal.signal(number, holder.ask)
        yield holder
    finally:
        for number, handler in holder.outside.items():
            signal.signal(number, handler)
        for handlers in lists:
            handlers[:] = [h for h in handlers if h not in ours]
