"""Training: the data pipeline, callbacks, and `model.fit` behind one small interface.

Every loop (`fit` here, the GradientTape loop beside it) takes a compiled model, training and
validation arrays and a `TrainConfig`, and returns a `TrainResult` whose history has the same
keys as Keras' `History`, so reports and plots never care which loop ran.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

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


@dataclass
class TrainResult:
    history: dict  # metric name -> list of per-epoch values, as keras.callbacks.History
    epochs_run: int
    seconds: float
    examples_per_second: float

    @classmethod
    def from_history(cls, history, examples, seconds):
        """`history` as keras.callbacks.History.history; `examples` trained on per epoch."""
        epochs_run = len(history["loss"])
        return cls(history, epochs_run, seconds, examples * epochs_run / seconds)


def to_dataset(x, y, batch_size, *, shuffle=False, seed=None, augment=None):
    """A batched, prefetched `tf.data` pipeline; shuffled each epoch and augmented for training.

    `augment` (a Keras layer) runs here on the CPU pipeline, not inside the model, so the saved
    model sees only real images.
    """
    data = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        data = data.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size)
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


def callbacks(config, out):
    """Early stopping with best weights restored, a best-only checkpoint, TensorBoard logs."""
    out = Path(out)
    return [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience,
                                      restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(out / CHECKPOINT_FILE, monitor="val_loss",
                                        save_best_only=True, save_weights_only=True),
        keras.callbacks.TensorBoard(out / LOG_DIR),
        keras.callbacks.TerminateOnNaN(),
        *([] if config.quiet else [EpochProgbar(config.epochs)]),
    ]


def fit(model, train, val, config, out):
    """`model.fit` with the standard callbacks; returns a `TrainResult`."""
    train_data = to_dataset(train[0], train[1], config.batch_size, shuffle=True, seed=config.seed,
                            augment=config.augment)
    val_data = to_dataset(val[0], val[1], config.batch_size)
    start = time.perf_counter()
    history = model.fit(train_data, validation_data=val_data, epochs=config.epochs,
                        callbacks=callbacks(config, out), shuffle=False, verbose=0)  # tf.data shuffles
    return TrainResult.from_history(history.history, len(train[0]), time.perf_counter() - start)
