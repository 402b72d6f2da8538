"""What every training loop shares: its configuration, its result, and the data it reads.

Every loop (recipes/training/train.py's `fit`, recipes/training/tape.py's `tape`,
recipes/training/scratch.py's) takes a compiled model, training and validation data and a
`TrainConfig`, reads the data's batches through the `DataSource` protocol in the order
`EpochOrder` draws, and returns a `TrainResult` whose history has the same keys as Keras'
`History`, so reports and plots never care which loop ran. Training defines the protocol and
never asks which source it has: in-memory arrays (recipes/sources/arrays.py) and a table streamed
from a file (recipes/sources/stream.py) implement it.
"""

import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import tensorflow as tf
import keras


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
    deterministic: bool = False  # TensorFlow's op determinism (workflow.prepare.build_network)
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
    """Epoch e's order of the training examples, drawn from (seed, e) alone.

    tf.data's reshuffling `shuffle` draws each order from how often the data set was iterated
    before, so a run resumed at epoch e would replay epoch 1's order (and `fit`, which iterates
    once more to build the model, would see other orders than the tape loop). Both loops tell
    their callbacks the epoch before they draw its first batch, which is when a source reads
    the order: in-memory arrays gather their examples by `indices(size)`, a permutation of
    them assigned here; a streamed table shuffles its blocks by `epoch`.
    """

    def __init__(self, seed):
        super().__init__()
        self.seed, self.epoch = seed, 0
        self.permutation = None  # a tf.Variable, once a source asks for `indices`

    def indices(self, size):
        """The variable holding epoch e's permutation of `size` examples (the identity until
        the first epoch begins): made on a source's first call, outside any traced function."""
        if self.permutation is None:
            self.permutation = tf.Variable(tf.range(size, dtype="int64"), trainable=False)
        assert int(self.permutation.shape[0]) == size, "one order shuffles one source"
        return self.permutation

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        if self.permutation is not None:
            size = int(self.permutation.shape[0])
            self.permutation.assign(np.random.default_rng([self.seed, epoch]).permutation(size))


class DataSource(Protocol):
    """The data a loop trains, validates or tests on: all that training, evaluation and tuning
    ask of it. Implemented by recipes/sources/arrays.py's `Arrays` (examples in memory) and
    recipes/sources/stream.py's `TableStream` (a file too big for memory)."""

    def __len__(self) -> int:
        """How many examples it holds."""

    def dataset(self, batch_size, *, order=None, augment=None, shard=(0, 1), replicas=1):
        """A `tf.data.Dataset` of (encoded features, encoded targets) batches of `batch_size`,
        `steps(self, batch_size) * replicas` of them: shuffled by `order` (an `EpochOrder` among
        the callbacks of whatever trains on it), else in order; `augment` (a Keras layer)
        randomising each batch. `shard` = (this worker, workers): the worker gets only its slice
        of each global batch, cut into `replicas` pieces, one per local replica, both cuts as
        np.array_split makes them; every worker takes the same steps."""

    def predictions(self, network, batch_size):
        """(the network's outputs, the targets they answer), NumPy arrays, in order."""

    def joined(self, other):
        """This and `other` (a source of the same kind) as one, as tune retrains on train +
        validation."""

    def sample_features(self):
        """The encoded features of the rows held in memory, in their split's order (its
        parts.Part's): all of them, or a streamed table's sample. What scikit-learn's
        baseline fits and is scored on."""

    def rows_encoded(self):
        """How many rows this process has read from a file and encoded; None: the rows are in
        memory."""


PREFETCH = 2  # batches prepared ahead: the next while one trains, and one more for jitter


def steps(data, batch_size):
    """Batches an epoch of `data` (anything with a length) takes, the last one smaller."""
    return -(-len(data) // batch_size)


def ready(batches, augment):
    """`batches` as the loops draw them: `augment` (a Keras layer, or None) randomising their
    features on the CPU pipeline, not inside the model, so the saved model sees only real
    images; the next batches prepared while the network computes; tf.data's autotuning off.

    Why off: both loops draw a new iterator each epoch, and deleting the last one waits for
    its autotuner's thread to wake: 0.6 s idle on a quiet machine, 2-5 s while a network trains,
    at the start of one epoch in three to six (mnist-cnn on 2 cores; a third of a bfloat16
    epoch). Without it the augmentation map runs at tf.data's default parallelism (the same
    seconds an epoch of batches, measured) and the prefetch buffer holds PREFETCH batches.
    """
    if augment is not None:
        batches = batches.map(lambda features, targets: (augment(features, training=True),
                                                         targets),
                              num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.autotune.enabled = False
    return batches.prefetch(PREFETCH).with_options(options)
