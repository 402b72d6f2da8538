"""The callbacks every training shares, for `fit` and the tape loops alike.

`make` is the one factory, each callback asked for by keyword: for a run, a tuning trial, a
retrain on train + validation, an ensemble's network. A run's set (`standard`) is early stopping
on validation loss with the best weights restored, a best-only checkpoint, TensorBoard logs, the
progress bar, with --resume a `Backup` of the whole training state after every epoch; every set
ends with the safe point where training (shielded by `train.train`) stops for Ctrl-C or
SIGTERM. `train.train` adds the epoch order and the stop at the first NaN loss to whatever set
it is given.

Weights are written as one atomic write of a file built in memory (`save_weights`): HDF5 writing
straight to a disk that fills up reports it from object destructors, and at times crashes.

The backup is Keras' BackupAndRestore made complete and atomic, so the same command run again
after a crash or `kill -9` continues from the last finished epoch to the weights an uninterrupted
run reaches. That takes more than BackupAndRestore saves:
- the random state of the dropout layers (Keras `SeedGenerator`s: `save_weights` skips them);
- early stopping's patience count, best loss and best weights, and the checkpoint's best loss;
- the history and training time of the epochs before the restart;
- each epoch's shuffled order (`pipeline.EpochOrder` draws it from the seed and the epoch alone);
- one atomic commit per epoch: Keras writes the weights, then the epoch number, each in place,
  so a kill between the two would resume epoch k+1's weights as if they were epoch k's.
(Not restored: `--augment`'s random shifts, drawn in parallel by tf.data; a resumed augmented
run continues from its epoch but is not bit-identical to an uninterrupted one.)
"""

import math
import time
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np

from recipes.compat import keras_private
from recipes.runs import artifacts, interrupts
from recipes.training.pipeline import TrainResult
from recipes.runs.rundir import BACKUP_STATE, CHECKPOINT_FILE, LOG_DIR

BACKUP_DIR, STATE_FILE = BACKUP_STATE  # inside the staging folder, with --resume


def make(config, out=None, *, early_stopping=False, checkpoint=False, tensorboard=False,
         backup=False, progress=False, epochs=None):
    """The callbacks of one training, each asked for by name, and always the safe point where
    training stops for Ctrl-C or SIGTERM (`StopOnSignal`, last):

    - `early_stopping`: on validation loss after `config.patience` epochs without a better one,
      the best weights restored;
    - `checkpoint`: the best epoch's weights in OUT (rundir.CHECKPOINT_FILE);
    - `tensorboard`: logs in OUT/logs;
    - `backup`: all of their state, and the training's, after every epoch, in OUT (--resume;
      with early stopping);
    - `progress`: one bar over `epochs` (default `config.epochs`).
    """
    assert early_stopping or not backup, "a backup saves early stopping's state"
    stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience,
                                             restore_best_weights=True) if early_stopping else None
    best = Checkpoint(Path(out) / CHECKPOINT_FILE) if checkpoint else None
    return [
        *([stopping] if stopping else []),
        *([best] if best else []),
        *([keras.callbacks.TensorBoard(Path(out) / LOG_DIR)] if tensorboard else []),
        # after early stopping and the checkpoint: it saves their state of the epoch
        *([Backup(out, stopping, best)] if backup else []),
        *([EpochProgbar(epochs or config.epochs)] if progress else []),
        StopOnSignal(),  # last: an epoch's backup is committed before it stops
    ]


def standard(config, out):
    """A run's set: early stopping, the best-only checkpoint, TensorBoard logs in OUT/logs, the
    progress bar unless `config.quiet`; with `config.resumable`, the backup of all of it."""
    return make(config, out, early_stopping=True, checkpoint=True, tensorboard=True,
                backup=config.resumable, progress=not config.quiet)


def save_weights(model, path):
    """`model.save_weights(path)`, the same .weights.h5 file, built in memory and written in one
    atomic write: a failure to write is then one OSError, and a kill leaves the old file whole.

    """
    artifacts.write_bytes(path, keras_private.weights_h5(model))


class StopOnSignal(keras.callbacks.Callback):
    """A safe point for Ctrl-C and SIGTERM (`interrupts.check_training`) after every batch and
    epoch.

    Every training is shielded (`train.train`), so a signal waits for it: the steps running end
    (Keras calls batch hooks once per `steps_per_execution` steps), an epoch's checkpoint and
    backup are written whole, and the `Interrupted` is raised here, in plain Python. (The tape
    loops call no batch hooks: `tape.run_epoch` checks after each call of its steps.)
    """

    def on_train_batch_end(self, batch, logs=None):
        interrupts.check_training()

    def on_test_batch_end(self, batch, logs=None):
        interrupts.check_training()

    def on_epoch_end(self, epoch, logs=None):
        interrupts.check_training()


class TerminateOnNaN(keras.callbacks.TerminateOnNaN):
    """Keras' callback without its "Invalid loss" print: `check_finite`, or the failed trial,
    says what happened in one line, and `--quiet` stays quiet."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.model.stop_training = True


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
    """The best-only weights checkpoint, written atomically (`save_weights`).

    Keras writes it in place: a run killed mid-write would leave a truncated file where the
    last good checkpoint was.
    """

    def __init__(self, path):
        super().__init__(path, monitor="val_loss", save_best_only=True, save_weights_only=True)

    def _save_model(self, epoch, batch, logs):
        if self._should_save_model(epoch, batch, logs, self.filepath):  # and records the best
            save_weights(self.model, self.filepath)


class Backup(keras.callbacks.BackupAndRestore):
    """Keras' BackupAndRestore, complete and committed atomically (see the module docstring).

    Restoring sets the epoch both loops start from (`compat.keras_private.set_initial_epoch`, as BackupAndRestore
    does for `model.fit`); a run that early stopping had ended starts past its last epoch, so
    only the callbacks' end of training (the best weights restored) runs again.
    """

    def __init__(self, staging, early_stopping, checkpoint):
        # Kept at the end of training: the run's promotion deletes it, once all is written.
        super().__init__(Path(staging) / BACKUP_DIR, delete_checkpoint=False)
        self.folder = Path(self.backup_dir)
        self.early_stopping, self.checkpoint = early_stopping, checkpoint
        self.history, self.seconds = {}, 0.0

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()
        super().on_train_begin(logs)  # runs _load_model

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if not math.isfinite(logs.get("loss", 0.0)):
            return  # a diverged epoch is nothing to resume from: the run fails
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        super().on_epoch_end(epoch, logs)  # runs _save_model

    def _save_model(self):
        """Write this epoch's files under new names, then commit by replacing state.json."""
        epoch, stopping = self._current_epoch, self.early_stopping
        weights = f"epoch-{epoch}.weights.h5"
        save_weights(self.model, self.folder / weights)  # the layers' and the optimizer's variables
        best = None
        if stopping.best_weights is not None:
            best = f"best-epoch-{stopping.best_epoch + 1}.npz"
            if not (self.folder / best).exists():
                with artifacts.atomic_path(self.folder / best) as tmp:
                    np.savez(tmp, *stopping.best_weights)
        artifacts.write_json(self.folder / STATE_FILE, {
            "epoch": epoch, "epochs": self.params["epochs"],
            "stopped": bool(self.model.stop_training), "weights": weights, "best_weights": best,
            "seed_generators": [v.numpy().tolist() for v in seed_states(self.model)],
            "early_stopping": {"wait": stopping.wait, "best": stopping.best,
                               "best_epoch": stopping.best_epoch,
                               "stopped_epoch": stopping.stopped_epoch},
            "checkpoint_best": self.checkpoint.best if self.checkpoint else None,
            "history": self.history,
            "seconds": self.seconds + time.perf_counter() - self.started,
        })
        for path in self.folder.iterdir():  # what the previous commit named
            if path.name not in (STATE_FILE, weights, best):
                path.unlink()

    def _load_model(self):
        state = artifacts.read_json(self.folder / STATE_FILE)
        if state is None:
            return
        model, stopping = self.model, self.early_stopping
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(self.folder / state["weights"])
        for variable, value in zip(seed_states(model), state["seed_generators"]):
            variable.assign(value)
        if state["best_weights"]:
            with np.load(self.folder / state["best_weights"]) as saved:
                stopping.best_weights = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        for key, value in state["early_stopping"].items():
            setattr(stopping, key, value)
        if self.checkpoint:
            self.checkpoint.best = state["checkpoint_best"]
        self.history, self.seconds = state["history"], state["seconds"]
        keras_private.set_initial_epoch(
            model, self.params["epochs"] if state["stopped"] else state["epoch"])


def seed_states(model):
    """The random state of the model's dropout layers: its variables that are not weights."""
    weights = {id(w) for w in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def resumed_after(staging):
    """The epochs a backup in `staging` holds (0: none), for the run to say where it resumes."""
    state = artifacts.read_json(Path(staging) / BACKUP_DIR / STATE_FILE)
    return state["epoch"] if state else 0


def whole_run(result, staging, examples):
    """The `TrainResult` of the whole run: with a backup, from its first epoch on (the
    loop's result covers the epochs since the restart only)."""
    state = artifacts.read_json(Path(staging) / BACKUP_DIR / STATE_FILE)
    if state is None:
        return result
    return replace(TrainResult.from_history(state["history"], examples, state["seconds"]),
                   epoch_seconds=result.epoch_seconds)
