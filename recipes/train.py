"""Training: the data pipeline, callbacks, and `model.fit` behind one small interface.

Every loop (`fit` here, the GradientTape loop beside it) takes a compiled model, training and
validation arrays and a `TrainConfig`, and returns a `TrainResult` whose history has the same
keys as Keras' `History`, so reports and plots never care which loop ran.
"""

import math
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from recipes import artifacts
from recipes.errors import UserError

CHECKPOINT_FILE = "checkpoint.weights.h5"
LOG_DIR = "logs"


@dataclass(frozen=True)
class TrainConfig:
    epochs: int
    batch_size: int
    patience: int
    seed: int
    quiet: bool = False
    loop: str = "fit"  # which loop trains: a key of run.LOOPS
    mixed_precision: bool = False  # devices.mixed_precision_policy() for the model's layers
    jit: bool | None = None  # XLA; None leaves Keras' choice: on for one GPU, off on CPU
    augment: object = None  # a Keras layer randomising training batches (images.augmentation)
    deterministic: bool = False  # TensorFlow's op determinism (run.build_model turns it on)
    resumable: bool = False  # --resume: back up the training state every epoch (recipes/resume.py)


@dataclass
class TrainResult:
    history: dict  # metric name -> list of per-epoch values, as keras.callbacks.History
    epochs_run: int
    seconds: float
    examples_per_second: float

    @classmethod
    def from_history(cls, history, examples, seconds):
        """`history` as keras.callbacks.History.history; `examples` trained on per epoch.

        A resumed run whose epochs were all done before the restart runs none here.
        """
        epochs_run = len(history.get("loss", []))
        speed = examples * epochs_run / seconds if epochs_run else 0.0
        return cls(history, epochs_run, seconds, speed)


class Diverged(UserError):
    """The training loss became NaN or infinite; the run stopped there and promoted nothing."""


def check_finite(history, learning_rate):
    """Raise `Diverged` naming the first epoch whose training loss is not a number."""
    for epoch, loss in enumerate(history.get("loss", []), start=1):
        if not math.isfinite(loss):
            advice = (f"the learning rate ({learning_rate:g}) is likely too high: try --set "
                      f"learning_rate={learning_rate / 10:g}" if learning_rate else
                      "the learning rate is likely too high: lower it with --set learning_rate=...")
            raise Diverged(f"training diverged in epoch {epoch}: the loss became {loss}; {advice}")


class TerminateOnNaN(keras.callbacks.TerminateOnNaN):
    """Keras' callback without its "Invalid loss" print: `check_finite`, or the failed trial,
    says what happened in one line, and `--quiet` stays quiet."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.model.stop_training = True


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
        self.seed, self.size = seed, size
        self.indices = tf.Variable(tf.range(size, dtype="int64"), trainable=False)

    def on_epoch_begin(self, epoch, logs=None):
        self.indices.assign(np.random.default_rng([self.seed, epoch]).permutation(self.size))


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


class EpochProgbar(keras.callbacks.Callback):
    """One progress bar for the whole run, advanced per epoch, showing the latest metrics."""

    SHOWN = ("loss", "val_loss", "accuracy", "val_accuracy", "mae", "val_mae")

    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_train_begin(self, logs=None):
        # Stateful: show each epoch's value, not Progbar's running mean over epochs.
        self.bar = keras.utils.Progbar(self.epochs, unit_name="epoch", stateful_metrics=self.SHOWN)
        self.seen = 0

    def on_epoch_end(self, epoch, logs=None):
        self.seen = epoch + 1
        self.bar.update(self.seen, [(k, v) for k, v in (logs or {}).items() if k in self.SHOWN],
                        finalize=False)

    def on_train_end(self, logs=None):
        self.bar.update(self.seen, finalize=True)  # early stopping may end before the target


class Checkpoint(keras.callbacks.ModelCheckpoint):
    """The best-only weights checkpoint, written to a temporary file renamed into place.

    Keras writes it in place: a run killed mid-write would leave a truncated file where the
    last good checkpoint was.
    """

    def __init__(self, path):
        super().__init__(path, monitor="val_loss", save_best_only=True, save_weights_only=True)

    def _save_model(self, epoch, batch, logs):
        if self._should_save_model(epoch, batch, logs, self.filepath):  # and records the best
            with artifacts.atomic_path(self.filepath) as tmp:
                self.model.save_weights(tmp)


def callbacks(config, out, order=None):
    """Early stopping with best weights restored, a best-only checkpoint, TensorBoard logs, a stop
    at the first NaN loss; `order` when the loop shuffles by it; with `config.resumable`, the
    backup of all of their state after every epoch."""
    out = Path(out)
    early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience,
                                                   restore_best_weights=True)
    checkpoint = Checkpoint(out / CHECKPOINT_FILE)
    backup = []
    if config.resumable:
        from recipes.resume import Backup  # here: resume imports this module

        backup = [Backup(out, early_stopping, checkpoint)]
    return [
        *([order] if order else []),
        early_stopping,
        checkpoint,
        keras.callbacks.TensorBoard(out / LOG_DIR),
        TerminateOnNaN(),
        *backup,  # after early stopping and the checkpoint: it saves their state of the epoch
        *([] if config.quiet else [EpochProgbar(config.epochs)]),
    ]


def fit(model, train, val, config, out):
    """`model.fit` with the standard callbacks; returns a `TrainResult`."""
    order = EpochOrder(config.seed, len(train[0]))
    train_data = to_dataset(train[0], train[1], config.batch_size, order=order,
                            augment=config.augment)
    val_data = to_dataset(val[0], val[1], config.batch_size)
    start = time.perf_counter()
    history = model.fit(train_data, validation_data=val_data, epochs=config.epochs,
                        callbacks=callbacks(config, out, order), shuffle=False, verbose=0)
    return TrainResult.from_history(history.history, len(train[0]), time.perf_counter() - start)
