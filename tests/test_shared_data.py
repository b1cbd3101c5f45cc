"""theano_today.shared_data.SharedDataNeuralNet: nolearn's training, with
the data stored once.

On the CPU it must train exactly as nolearn's NeuralNet does (the GPU run of
bench/gpu_reproduce.sh measures what it saves there).
"""
import numpy as np
import pytest

import cifar_loader

HISTORY_KEYS = ["epoch", "train_loss", "valid_loss", "valid_accuracy"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(stack, shared_cifar_dir):
    import ConvolutionNN
    import mlp
    Xtr, Ytr, Xte, Yte = cifar_loader.load_CIFAR10(shared_cifar_dir)
    return {name: (script.preprocess(Xtr), Ytr, script.preprocess(Xte), Yte)
            for name, script in (("mlp", mlp), ("cnn", ConvolutionNN))}


def twins(name):
    """The net as the script builds it, and the same net as nolearn's NeuralNet."""
    import nolearn.lasagne
    from ConvolutionNN import build_cnn
    from mlp import build_mlp
    from theano_today.cli import seed_everything
    from theano_today.shared_data import SharedDataNeuralNet
    build = {"mlp": build_mlp, "cnn": build_cnn}[name]
    ours, stock = build(verbose=0), build(verbose=0, net_class=nolearn.lasagne.NeuralNet)
    assert type(ours) is SharedDataNeuralNet
    assert type(stock) is nolearn.lasagne.NeuralNet
    for net in (ours, stock):  # the same initial weights: Lasagne draws them here
        seed_everything(3)
        net.initialize()
    return ours, stock


@pytest.mark.parametrize("name, epochs", [("mlp", 3), ("cnn", 1)])
def test_trains_exactly_as_nolearn(data, name, epochs):
    Xtr, Ytr, Xte, Yte = data[name]
    ours, stock = twins(name)
    ours.fit(Xtr, Ytr, epochs=epochs)
    stock.fit(Xtr, Ytr, epochs=epochs)
    assert len(ours.train_history_) == len(stock.train_history_) == epochs
    for mine, theirs in zip(ours.train_history_, stock.train_history_):
        assert [mine[k] for k in HISTORY_KEYS] == [theirs[k] for k in HISTORY_KEYS]
    ours_values, stock_values = ours.get_all_params_values(), stock.get_all_params_values()
    assert list(ours_values) == list(stock_values)  # the same layers
    assert sum(len(v) for v in ours_values.values()) > 0
    for mine, theirs in zip(ours_values.values(), stock_values.values()):
        assert len(mine) == len(theirs)  # none for the input layer
        for a, b in zip(mine, theirs):
            np.testing.assert_array_equal(a, b)
    # predict() takes new images, as nolearn's does
    np.testing.assert_array_equal(ours.predict_proba(Xte), stock.predict_proba(Xte))


def test_store_holds_the_training_part_first(data):
    Xtr, Ytr, _, _ = data["mlp"]
    ours, stock = twins("mlp")
    positions = ours.store(Xtr, Ytr)
    stored = ours.images_.get_value()
    np.testing.assert_array_equal(stored[positions], Xtr)
    np.testing.assert_array_equal(ours.labels_.get_value()[positions], Ytr)
    # nolearn's split of the positions hands back two runs: 0..n_train-1, then the rest
    train, valid = ours.train_split(positions, Ytr, ours)[:2]
    np.testing.assert_array_equal(np.concatenate([train, valid]), np.arange(len(Xtr)))
    assert len(valid) == len(Xtr) // 5


def test_steps_read_runs_as_slices_and_gather_the_rest(data):
    Xtr, Ytr, _, _ = data["mlp"]
    ours, stock = twins("mlp")
    positions = ours.store(Xtr, Ytr)
    step = ours.eval_iter_
    assert step.gathered is None  # nothing gathered, nothing compiled for it yet
    for batch in (np.arange(40, 168), np.array([5, 0, 17, 3])):
        images = np.argsort(positions)[batch]  # which of X's images those rows hold
        wrong = (Ytr[images] + 1) % 10  # the labels passed are ignored: the store has them
        loss, accuracy = step(batch, wrong)
        want_loss, want_accuracy = stock.eval_iter_(Xtr[images], Ytr[images])
        assert loss == want_loss and accuracy == want_accuracy
        assert stock.eval_iter_(Xtr[images], wrong)[0] != want_loss
    assert step.gathered is not None  # the second batch, not a run, was gathered


def test_fit_reads_every_minibatch_as_a_slice(data):
    Xtr, Ytr, _, _ = data["mlp"]
    ours, _ = twins("mlp")
    ours.fit(Xtr, Ytr, epochs=1)
    assert ours.train_iter_.gathered is None and ours.eval_iter_.gathered is None


def test_shuffled_minibatches_are_gathered_and_train_as_nolearn(data):
    from nolearn.lasagne import BatchIterator
    Xtr, Ytr, _, _ = data["mlp"]
    ours, stock = twins("mlp")
    for net in (ours, stock):
        net.batch_iterator_train = BatchIterator(batch_size=128, shuffle=True, seed=5)
        net.fit(Xtr, Ytr, epochs=2)
    assert ours.train_iter_.gathered is not None
    assert ours.eval_iter_.gathered is None  # validation batches are still runs
    assert len(ours.train_history_) == len(stock.train_history_) == 2
    for mine, theirs in zip(ours.train_history_, stock.train_history_):
        assert [mine[k] for k in HISTORY_KEYS] == [theirs[k] for k in HISTORY_KEYS]


def test_a_split_that_is_no_partition_keeps_x_order_and_trains_as_nolearn(data):
    Xtr, Ytr, _, _ = data["mlp"]
    ours, stock = twins("mlp")

    def train_on_all_validate_on_some(X, y, net):  # the validation images overlap
        return X, X[:100], y, y[:100]

    for net in (ours, stock):
        net.train_split = train_on_all_validate_on_some
        net.fit(Xtr, Ytr, epochs=2)
    np.testing.assert_array_equal(ours.images_.get_value(), Xtr)
    assert len(ours.train_history_) == len(stock.train_history_) == 2
    for mine, theirs in zip(ours.train_history_, stock.train_history_):
        assert [mine[k] for k in HISTORY_KEYS] == [theirs[k] for k in HISTORY_KEYS]


def test_store_rejects_mismatched_data(data):
    from mlp import build_mlp
    Xtr, Ytr, _, _ = data["mlp"]
    net = build_mlp(verbose=0)
    with pytest.raises(ValueError, match="one label each"):
        net.store(Xtr, Ytr[:-1])
    with pytest.raises(ValueError, match="expected 2-d images"):
        net.store(Xtr.reshape(-1, 1, 32, 32), Ytr)


def test_unsupported_nets_are_told_to_use_nolearns(stack):
    from mlp import build_mlp
    net = build_mlp(verbose=0)
    net.custom_scores = [("top-1", lambda y, p: 0.0)]
    with pytest.raises(ValueError, match="use nolearn's NeuralNet"):
        net.initialize()
