"""What every training loop shares: its configuration, its result, and its data pipeline.

Every loop (recipes/training/train.py's `fit`, recipes/training/tape.py's `tape`, recipes/training/scratch.py's) takes a compiled
model, training and validation data and a `TrainConfig`, feeds them through `dataset_of` in the
order `EpochOrder` draws, and returns a `TrainResult` whose history has the same keys as Keras'
`History`, so reports and plots never care which loop ran.
"""

import time
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
import keras

from recipes.sources.stream import TableStream


@dataclass(frozen=True)
class TrainConfig:
    epochs: int
    batch_size: int
    patience: int
    seed: int
    quiet: bool = False
    loop: str = "fit"  # which loop trains: a key of train.LOOPS
    mixed_precision: bool = False  # devices.mixed_precision_policy() for the model's layers
    jit: bool | None = None  # XLA; None leaves Keras' choice: on for one GPU, off on CPU
    augment: object = None  # a Keras layer randomising training batches (images.augmentation)
    deterministic: bool = False  # TensorFlow's op determinism (run.build_network turns it on)
    resumable: bool = False  # --resume: back up the training state every epoch (callbacks.Backup)
    class_weight: dict | None = None  # class index -> loss weight (--class-weight balanced)


@dataclass
class TrainResult:
    history: dict  # metric name -> list of per-epoch values, as keras.callbacks.History
    epochs_run: int
    seconds: float
    examples_per_second: float
    epoch_seconds: tuple = ()  # each epoch's wall time, validation included (since a restart)

    @classmethod
    def from_history(cls, history, examples, seconds):
        """`history` as keras.callbacks.History.history; `examples` trained on per epoch.

        A resumed run whose epochs were all done before the restart runs none here.
        """
        epochs_run = len(history.get("loss", []))
        speed = examples * epochs_run / seconds if epochs_run else 0.0
        return cls(history, epochs_run, seconds, speed)


class EpochTimer(keras.callbacks.Callback):
    """Each epoch's wall time, its validation included: what a data pipeline costs per epoch,
    apart from what is done once before training (a streamed table's encoding pass)."""

    def __init__(self):
        super().__init__()
        self.seconds, self.start = [], None

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(round(time.perf_counter() - self.start, 3))


class EpochOrder(keras.callbacks.Callback):
    """Shuffles epoch e's `size` training examples by a permutation drawn from (seed, e) alone.

    tf.data's reshuffling `shuffle` draws each order from how often the data set was iterated
    before, so a run resumed at epoch e would replay epoch 1's order (and `fit`, which iterates
    once more to build the model, would see other orders than the tape loop). Both loops tell
    their callbacks the epoch before they draw its first batch, which is when `to_dataset`
    reads `indices`.
    """

    def __init__(self, seed, size):
        super().__init__()
        self.seed, self.size, self.epoch = seed, size, 0
        self.indices = tf.Variable(tf.range(size, dtype="int64"), trainable=False)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch  # a streamed table (stream.TableStream) shuffles by it
        if self.size:
            self.indices.assign(np.random.default_rng([self.seed, epoch]).permutation(self.size))


def examples(data):
    """How many examples `data` holds: (x, y) arrays, or a streamed table."""
    return len(data) if isinstance(data, TableStream) else len(data[0])


def joined(first, second):
    """Two parts as one, as tune retrains on train + validation: arrays concatenated, or a
    stream's parts read together."""
    if isinstance(first, TableStream):
        return first.joined(second)
    return tuple(np.concatenate(pair) for pair in zip(first, second))


def dataset_of(data, batch_size, *, order=None, augment=None):
    """`data` as batches: (x, y) arrays through `to_dataset`; a `stream.TableStream` read from
    its file, shuffled by `order` within chunks."""
    if isinstance(data, TableStream):
        return data.dataset(batch_size, order=order)
    return to_dataset(*data, batch_size, order=order, augment=augment)


def predictions(network, data, batch_size):
    """(the network's outputs, the targets they answer), in order, for arrays or a stream."""
    if isinstance(data, TableStream):
        pairs = [(network.predict_on_batch(x), y.numpy()) for x, y in data.dataset(batch_size)]
        return tuple(np.concatenate(values) for values in zip(*pairs))
    x, y = data
    return network.predict(x, batch_size=batch_size, verbose=0), y


def to_dataset(x, y, batch_size, *, order=None, augment=None):
    """A batched, prefetched `tf.data` pipeline; shuffled each epoch and augmented for training.

    Training data is shuffled by `order`, an `EpochOrder` that must be among the callbacks of
    whatever trains on it (so --resume replays each epoch's order); without it the data keeps its
    order (validation, test). `augment` (a Keras layer) runs here on the CPU pipeline, not inside
    the model, so the saved model sees only real images.
    """
    if order is not None:
        features, targets = tf.constant(x), tf.constant(y)

        def epoch(_):  # read when the epoch's first batch is drawn, after EpochOrder set it
            return tf.gather(features, order.indices), tf.gather(targets, order.indices)

        # One gather per epoch, cut into batches natively: a third of the time per epoch of
        # per-example shuffling on MNIST, ~5 ms more on a 400-row table (benchmarks/reliability)
        data = (tf.data.Dataset.range(1).map(epoch).rebatch(batch_size)
                .apply(tf.data.experimental.assert_cardinality(-(-len(x) // batch_size))))
    else:
        data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
    if augment is not None:
        data = data.map(lambda images, labels: (augment(images, training=True), labels),
                        num_parallel_calls=tf.data.AUTOTUNE)
    return data.prefetch(tf.data.AUTOTUNE)
