"""The one training entry: `train(network, train, val, config, callbacks=...)`.

Everything that trains goes through here: `run`, every stage of `tune` (its trials, the rescoring
of the best configuration and the default, their retraining on train + validation) and the
benchmarks. It owns what every training must get right, so no caller repeats it:

- the loop: Keras' `model.fit`, or the GradientTape loops of recipes/training/tape.py (`--loop`);
- the data: any `pipeline.DataSource` (arrays in memory, a streamed table), asked only for
  its batches and its length;
- each epoch's order, drawn from (seed, epoch) by `pipeline.EpochOrder`, which must be among the
  callbacks of whatever trains on the shuffled data;
- where Ctrl-C and SIGTERM stop it: between two calls of its steps, an epoch's backup whole (the
  training is shielded, recipes/runs/interrupts.py);
- the stop at the first NaN loss, and one `Diverged` error naming the epoch (keras-tuner's trials
  turn it into a failed trial, in recipes/tuning/hypermodel.py).
"""

import math
import time
from dataclasses import replace

import keras
import numpy as np

from recipes import choices
from recipes.training import scratch, tape
from recipes.training.callbacks import TerminateOnNaN
from recipes.errors import Diverged
from recipes.runs import interrupts
from recipes.training.pipeline import EpochOrder, EpochTimer, TrainResult


def fit(network, train_data, val_data, config, callbacks, epochs, initial_epoch):
    """Keras' `model.fit` on the epoch-ordered batches; `val_data` None: no validation."""
    train_batches = train_data.dataset(config.batch_size, order=tape.epoch_order(callbacks),
                                       augment=config.augment)
    val_batches = val_data.dataset(config.batch_size) if val_data is not None else None
    start = time.perf_counter()
    history = network.fit(train_batches, validation_data=val_batches, epochs=epochs,
                          initial_epoch=initial_epoch, callbacks=callbacks, shuffle=False,
                          class_weight=config.class_weight, verbose=0)  # `order` shuffles
    return TrainResult.from_history(history.history, len(train_data),
                                    time.perf_counter() - start)


# Each loop(network, train, val, config, callbacks, epochs, initial_epoch) -> TrainResult.
LOOPS = {"fit": fit, "tape": tape.fit, "scratch": scratch.fit}
assert tuple(LOOPS) == choices.LOOPS


def train(network, train_data, val_data, config, *, callbacks=(), epochs=None, initial_epoch=0):
    """Train the compiled `network` on `train_data` (a `pipeline.DataSource`: arrays in memory,
    a streamed table), validating on `val_data` (None: none, as when retraining on train +
    validation), with `callbacks` besides the epoch order and the NaN stop; returns a
    `TrainResult`, or raises `Diverged` for a NaN or infinite loss.

    `epochs` (default `config.epochs`) and `initial_epoch` are Hyperband's, which continues a
    trial's model.
    """
    timer = EpochTimer()
    # Ctrl-C and SIGTERM stop training between two calls of its steps (callbacks.StopOnSignal,
    # tape.run_epoch), never half-way through Keras' or TensorFlow's own Python code (an epoch's
    # iterator being built, a device scope being left): raised there, a SIGTERM once crashed a
    # run (SIGSEGV).
    with interrupts.shielded():
        result = LOOPS[config.loop](network, train_data, val_data, config,
                                    [EpochOrder(config.seed), timer, *callbacks, TerminateOnNaN()],
                                    epochs or config.epochs, initial_epoch)
    check_finite(result.history, initial_epoch, learning_rate_of(network))
    return replace(result, epoch_seconds=tuple(timer.seconds))


def check_finite(history, initial_epoch, learning_rate):
    """Raise `Diverged` naming the first epoch whose training loss is not a number, or when no
    validation loss ever was one (a network that predicts NaN scores nothing real)."""
    for epoch, loss in enumerate(history.get("loss", []), start=initial_epoch + 1):
        if not math.isfinite(loss):
            advice = (f"the learning rate ({learning_rate:g}) is likely too high: try --set "
                      f"learning_rate={learning_rate / 10:g}" if learning_rate else
                      "the learning rate is likely too high: lower it with --set learning_rate=...")
            raise Diverged(f"training diverged in epoch {epoch}: the loss became {loss}; {advice}")
    val_loss = history.get("val_loss")
    if val_loss and not np.isfinite(np.asarray(val_loss, dtype=float)).any():
        raise Diverged(f"training diverged: the validation loss was never a number "
                       f"({val_loss[0]} in epoch {initial_epoch + 1})")


def learning_rate_of(network):
    """The optimizer's initial step size, for the advice of a `Diverged` message."""
    rate = network.optimizer.learning_rate
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        return float(rate.initial_learning_rate) if hasattr(rate, "initial_learning_rate") else None
    return float(keras.ops.convert_to_numpy(rate))
