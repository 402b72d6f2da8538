"""The one data-source protocol (recipes/training/pipeline.py's `DataSource`): in-memory arrays
(recipes/sources/arrays.py) and a streamed table (recipes/sources/stream.py) give the same
batches, on every worker and replica, the same predictions and the same training for the same
rows; the epoch order is drawn from the seed and the epoch alone; training imports no source."""

import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from recipes.features import preprocess
from recipes.sources import arrays, stream
from recipes.data.dataset import DataOptions
from recipes.training import train
from recipes.training.pipeline import EpochOrder, TrainConfig, steps
from tests.conftest import ROOT
from tests.test_stream import table

ROWS, BATCH = 600, 64


def batches(data):
    """A tf.data.Dataset's (x, y) elements as NumPy pairs."""
    return [(x.numpy(), y.numpy()) for x, y in data]


def rows_of(data):
    """All (x, y) rows of a dataset's batches, concatenated."""
    return tuple(np.concatenate(values) for values in zip(*batches(data)))


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """A file's training part streamed, and the same rows, in the stream's order, in memory."""
    path = tmp_path_factory.mktemp("sources") / "rows.csv"
    table(ROWS).to_csv(path, index=False)
    source = stream.survey(DataOptions(path=str(path), target="y", stream=True), seed=0,
                           quiet=True)
    parts = source.parts(preprocess.fit(source.dataset, source.splits.train))
    in_memory = {name: arrays.Arrays(*rows_of(part.dataset(BATCH))) for name, part in parts.items()}
    return parts, in_memory, source


@pytest.mark.parametrize("shard, replicas", [((0, 1), 1), ((0, 1), 2), ((0, 2), 1), ((1, 2), 2),
                                             ((2, 3), 2)])
@pytest.mark.parametrize("tail", ["some rows", "one row"])
def test_both_sources_give_each_worker_and_replica_the_same_pieces(sources, shard, replicas, tail):
    parts, in_memory, _ = sources
    streamed, held = parts["train"], in_memory["train"]
    assert len(streamed) == len(held)
    batch_size = BATCH if tail == "some rows" else len(held) - 1  # a last batch of one row
    expected = batches(streamed.dataset(batch_size, shard=shard, replicas=replicas))
    found = held.dataset(batch_size, shard=shard, replicas=replicas)
    assert int(found.cardinality()) == len(expected) == steps(held, batch_size) * replicas
    for (x, y), (want_x, want_y) in zip(batches(found), expected, strict=True):
        np.testing.assert_array_equal(x, want_x)
        np.testing.assert_array_equal(y, want_y)


def test_the_pieces_are_np_array_split_s(sources):
    """Every worker's slice and every replica's piece, for batches of 0 to 7 rows."""
    for rows in range(8):
        x = np.arange(rows, dtype="float32")[:, None]
        for workers, replicas in ((1, 2), (2, 1), (3, 2)):
            for worker, slice_ in enumerate(np.array_split(x, workers)):
                pieces = batches(arrays.worker_pieces(tf.constant(x), tf.constant(x),
                                                      (worker, workers), replicas))
                for (piece, _), want in zip(pieces, np.array_split(slice_, replicas), strict=True):
                    np.testing.assert_array_equal(piece, want)


def test_both_sources_give_the_same_predictions_and_samples(sources):
    parts, in_memory, source = sources
    keras.utils.set_random_seed(0)
    network = zoo.build("binary_classifier", (in_memory["test"].x.shape[1],), 1)
    outputs, targets = parts["test"].predictions(network, 32)
    want_outputs, want_targets = in_memory["test"].predictions(network, 32)
    np.testing.assert_allclose(outputs, want_outputs, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(targets, want_targets)
    # What scikit-learn fits: a stream's sample (here every training row), encoded
    np.testing.assert_array_equal(parts["train"].sample_features(),
                                  parts["train"].preprocessing.encode(source.splits.train.features))
    assert in_memory["train"].sample_features() is in_memory["train"].x
    assert parts["train"].rows_encoded() >= len(parts["train"])  # one pass per batch size here
    assert in_memory["train"].rows_encoded() is None


def test_joined_sources_hold_both_parts(sources):
    parts, in_memory, _ = sources
    streamed = parts["train"].joined(parts["val"])
    held = in_memory["train"].joined(in_memory["val"])
    assert len(streamed) == len(held) == len(parts["train"]) + len(parts["val"])
    np.testing.assert_array_equal(held.x[:len(in_memory["train"])], in_memory["train"].x)

    def sorted_rows(x, y):
        rows = np.hstack([x, y])
        return rows[np.lexsort(rows.T[::-1])]

    # The stream reads the two parts' rows in the file's order: the same rows
    np.testing.assert_array_equal(sorted_rows(*rows_of(streamed.dataset(BATCH))),
                                  sorted_rows(held.x, held.y))


def test_the_epoch_order_is_drawn_from_the_seed_and_the_epoch_alone(sources):
    parts, in_memory, _ = sources
    held = in_memory["train"]
    straight, resumed = EpochOrder(seed=5), EpochOrder(seed=5)
    walked, jumped = held.dataset(BATCH, order=straight), held.dataset(BATCH, order=resumed)
    for epoch in range(3):
        straight.on_epoch_begin(epoch)
    resumed.on_epoch_begin(2)  # a run resumed at epoch 3 replays its order
    x, _ = rows_of(walked)
    np.testing.assert_array_equal(x, held.x[np.random.default_rng([5, 2]).permutation(len(held))])
    np.testing.assert_array_equal(rows_of(jumped)[0], x)

    order = EpochOrder(seed=5)
    epochs = []
    for epoch in (1, 2, 1):  # the stream shuffles by order.epoch: again epoch 1's order
        order.on_epoch_begin(epoch)
        epochs.append(rows_of(parts["train"].dataset(BATCH, order=order))[0])
    np.testing.assert_array_equal(epochs[0], epochs[2])
    assert not np.array_equal(epochs[0], epochs[1])
    assert order.permutation is None  # a stream asks for no permutation of its rows


@pytest.mark.parametrize("loop", ["fit", "tape"])
def test_a_loop_trains_the_same_on_either_source(sources, loop):
    """One batch per epoch: whatever order each source draws, the same gradient steps."""
    parts, in_memory, _ = sources
    config = TrainConfig(epochs=3, batch_size=ROWS, patience=3, seed=0, quiet=True, loop=loop)
    trained = []
    for data in (parts["train"], in_memory["train"]):
        keras.utils.set_random_seed(0)
        network = zoo.build("binary_classifier", (in_memory["train"].x.shape[1],), 1, dropout=0.0)
        result = train.train(network, data, parts["val"], config)
        assert result.epochs_run == 3 and len(result.history["val_loss"]) == 3
        trained.append((network.get_weights(), result.history))
    (streamed, streamed_history), (held, held_history) = trained
    for first, second in zip(streamed, held):
        np.testing.assert_allclose(first, second, rtol=0, atol=1e-5)
    np.testing.assert_allclose(streamed_history["loss"], held_history["loss"], rtol=1e-5)


def test_training_imports_no_data_source_and_no_reader():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys; import recipes.training.train; "
         "print(' '.join(m for m in sys.modules if m.startswith('recipes.')))"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True).stdout.split()
    assert "recipes.training.train" in loaded
    assert not [m for m in loaded if m.startswith("recipes.sources")
                or m in ("recipes.data.reading", "recipes.data.loaders", "recipes.data.tables")]
