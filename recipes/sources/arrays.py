"""Examples in memory: the network's encoded (x, y) arrays as a training data source.

`Arrays` implements training's `pipeline.DataSource`: what `run` trains on for every data set
that fits in memory (`encoded` makes one from a split), and what `tune` and `grid` join, fold
and retrain on. Its batches come from `to_dataset`: for training, one gather per epoch in
`EpochOrder`'s order, cut into batches natively.
"""

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from recipes.training.pipeline import ready, steps


@dataclass(eq=False)
class Arrays:
    x: np.ndarray  # the network's float32 inputs: (examples, width) or (examples, *image shape)
    y: np.ndarray  # its float32 targets: (examples, outputs)

    def __len__(self):
        return len(self.x)

    def dataset(self, batch_size, *, order=None, augment=None, shard=(0, 1), replicas=1):
        data = to_dataset(self.x, self.y, batch_size, order=order, augment=augment)
        if shard == (0, 1) and replicas == 1:
            return data
        # Every worker builds the same global batches (the same order: from seed and epoch)
        # and keeps its own slice of each, as a streamed table's workers read theirs.
        return data.flat_map(lambda x, y: worker_pieces(x, y, shard, replicas)).apply(
            tf.data.experimental.assert_cardinality(steps(self, batch_size) * replicas))

    def predictions(self, network, batch_size):
        return network.predict(self.x, batch_size=batch_size, verbose=0), self.y

    def joined(self, other):
        return Arrays(np.concatenate([self.x, other.x]), np.concatenate([self.y, other.y]))

    def sample_features(self):
        return self.x

    def rows_encoded(self):
        return None


def encoded(preprocessing, part):
    """`part` (a parts.Part of raw rows) encoded by the fitted `preprocessing`."""
    return Arrays(preprocessing.encode(part.features), preprocessing.encode_target(part.target))


def to_dataset(x, y, batch_size, *, order=None, augment=None):
    """A batched, prefetched `tf.data` pipeline; shuffled each epoch and augmented for training.

    Training data is shuffled by `order`, an `EpochOrder` that must be among the callbacks of
    whatever trains on it (so --resume replays each epoch's order); without it the data keeps its
    order (validation, test). `augment` (a Keras layer) randomises each batch
    (`pipeline.ready`).
    """
    if order is not None:
        features, targets, indices = tf.constant(x), tf.constant(y), order.indices(len(x))

        def epoch(_):  # read when the epoch's first batch is drawn, after EpochOrder set it
            return tf.gather(features, indices), tf.gather(targets, indices)

        # One gather per epoch, cut into batches natively: a third of the time per epoch of
        # per-example shuffling on MNIST, ~5 ms more on a 400-row table (benchmarks/reliability)
        data = (tf.data.Dataset.range(1).map(epoch).rebatch(batch_size)
                .apply(tf.data.experimental.assert_cardinality(steps(x, batch_size))))
    else:
        data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
    return ready(data, augment)


def worker_pieces(x, y, shard, replicas):
    """This worker's slice of the global batch (x, y), as `replicas` pieces (a tf.data.Dataset
    of them), both cut as np.array_split cuts: even empty pieces, so every replica takes every
    step."""
    worker, workers = shard
    start, rows = array_split_range(tf.shape(y)[0], worker, workers)

    def piece(replica):
        offset, size = array_split_range(rows, replica, replicas)
        return x[start + offset:start + offset + size], y[start + offset:start + offset + size]

    return tf.data.Dataset.range(replicas).map(piece)


def array_split_range(total, index, parts):
    """(first row, rows) of piece `index` when np.array_split cuts `total` rows into `parts`:
    the first `total % parts` pieces one row longer."""
    total, index = tf.cast(total, "int64"), tf.cast(index, "int64")
    share, longer = total // parts, total % parts
    return index * share + tf.minimum(index, longer), share + tf.cast(index < longer, "int64")
