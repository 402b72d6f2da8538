"""A run's folder survives everything: refused input, a diverged loss, a kill, and --resume.

A run never trains or writes straight into its `--out` folder. It trains in OUT/.staging/,
writes its artifacts there, and only once all of them exist moves them into OUT, one rename
each, metrics.json last: its presence marks a finished run. A run that is refused, diverges or
is killed therefore leaves the previous run's files as they were.

Which folder a run may take (`check_out`): a new or empty one; one holding a run of the same
recipe, data set, task and model, which it replaces (so `run NAME` and `run all` can simply be
run again); anything else (another recipe or model, a tuning result, files that are not a run)
only with --overwrite, which replaces the run's files and leaves other files alone.

With --resume the staging folder also keeps a `Backup` of the training state, committed after
every epoch, and the same command run again after a kill continues from the last finished epoch,
to the weights an uninterrupted run reaches. That takes more than Keras' BackupAndRestore saves:
- the random state of the dropout layers (Keras `SeedGenerator`s: `save_weights` skips them);
- early stopping's patience count, best loss and best weights, and the checkpoint's best loss;
- the history and training time of the epochs before the restart;
- each epoch's shuffled order (`train.EpochOrder` draws it from the seed and the epoch alone);
- one atomic commit per epoch: Keras writes the weights, then the epoch number, each in place,
  so a kill between the two would resume epoch k+1's weights as if they were epoch k's.
(Not restored: `--augment`'s random shifts, drawn in parallel by tf.data; a resumed augmented
run continues from its epoch but is not bit-identical to an uninterrupted one.)
"""

import contextlib
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from recipes import artifacts, train
from recipes.errors import UserError

STAGING_DIR = ".staging"  # inside --out: the run in progress, or the one that was killed
REQUEST_FILE = "request.json"  # what the staged run was asked to do, for --resume to compare
BACKUP_DIR = "backup"  # inside the staging folder, with --resume
STATE_FILE = "state.json"  # the backup's commit: names the files that belong to it
IDENTITY = ("recipe", "dataset", "task", "model", "tuned")  # what makes two runs "the same run"


# --- which folder a run may take -----------------------------------------------------------


def check_out(out, request, *, resume, overwrite, marker):
    """Refuse, before anything is written, an `out` this run must not take; returns whether the
    run continues an interrupted one (--resume with the same options).

    `request`: the run's options as JSON (IDENTITY among them); `marker`: the file whose presence
    marks a finished run and says what it was (metrics.json).
    """
    artifacts.check_writable(out, "--out")
    if not out.is_dir():
        return False
    staging = out / STAGING_DIR
    # The run the folder holds: finished, else the one staged (killed, maybe while promoting).
    held = read_json(out / marker) or read_json(staging / REQUEST_FILE)
    if held is not None and identity(held) != identity(request) and not overwrite:
        raise UserError(f"{out} holds another run ({describe(held)}), not {describe(request)}; "
                        f"pass --overwrite to replace it, or choose another --out")
    visible = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    if held is None and visible and not overwrite:
        raise UserError(f"{out} holds files that are not a run ({', '.join(visible[:3])}"
                        f"{', ...' * (len(visible) > 3)}); pass --overwrite to write the run "
                        f"beside them, or choose another --out")
    state = read_json(staging / BACKUP_DIR / STATE_FILE)
    if state is None or overwrite and not resume:
        return False
    where = f"after epoch {state['epoch']} of {state['epochs']}"
    if not resume:
        raise UserError(f"{out} holds a run interrupted {where}; add --resume to continue it, or "
                        f"--overwrite to start over")
    started = read_json(staging / REQUEST_FILE) or {}
    changed = [f"{key} {started.get(key)!r} -> {request[key]!r}" for key in request
               if started.get(key) != request[key]]
    if changed and not overwrite:
        raise UserError(f"--resume: the run interrupted in {out} had other options "
                        f"({'; '.join(changed)}); resume with its options, or --overwrite to start "
                        f"over")
    return not changed


def identity(run):
    return {key: run.get(key) for key in IDENTITY}


def describe(run):
    tuned = ", tuned" if run.get("tuned") else ""
    return f"recipe {run.get('recipe')}: {run.get('model')} on {run.get('dataset')}{tuned}"


def read_json(path):
    """The file's JSON, or None when it is missing or unreadable (then it marks nothing)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def staged(out, request, *, resume, overwrite, entries):
    """Check `out` (`check_out`), then yield the staging folder to train in and write to; once
    the block succeeds, `promote` the staged run into `out`.

    `entries`: every file or folder a run may write, the finished-run marker last. A diverged
    run leaves no trace; a killed one leaves the staging folder for --resume.
    """
    out = Path(out)
    continuing = check_out(out, request, resume=resume, overwrite=overwrite, marker=entries[-1])
    staging = out / STAGING_DIR
    created = next((p for p in reversed([staging, *staging.parents]) if not p.exists()), None)
    if not continuing and staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True, exist_ok=True)
    artifacts.write_json(staging / REQUEST_FILE, request)
    try:
        yield staging
    except train.Diverged:  # resuming would diverge again: nothing worth keeping
        shutil.rmtree(created or staging)
        raise
    promote(staging, out, entries)


def promote(staging, out, entries):
    """Move the staged run into `out`, each entry replaced by one rename (a folder: moved aside,
    replaced, then deleted), and drop entries of an earlier run that this one did not write
    (an old export, say, of the model being replaced). The marker goes first and comes back
    last, so a kill midway leaves a folder that no one mistakes for a finished run."""
    *others, marker = entries
    staged = [p.name for p in sorted(staging.iterdir())
              if p.name not in (marker, REQUEST_FILE, BACKUP_DIR) and not p.name.startswith(".")]
    (out / marker).unlink(missing_ok=True)
    trash = Path(tempfile.mkdtemp(dir=staging, prefix=".replaced."))
    for name in dict.fromkeys([*staged, *others]):
        target = out / name
        if target.is_dir():  # a folder cannot be renamed onto
            os.replace(target, trash / name)
        if name in staged:
            os.replace(staging / name, target)
        elif target.exists():  # an earlier run's file that this run did not write
            target.unlink()
    os.replace(staging / marker, out / marker)
    shutil.rmtree(staging)


# --- the backup ------------------------------------------------------------------------------


class Backup(keras.callbacks.BackupAndRestore):
    """Keras' BackupAndRestore, complete and committed atomically (see the module docstring).

    Restoring sets the epoch both loops start from (`model._initial_epoch`, as BackupAndRestore
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
        with artifacts.atomic_path(self.folder / weights) as tmp:
            self.model.save_weights(tmp)  # the layers' and the optimizer's variables
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
            "checkpoint_best": self.checkpoint.best,
            "history": self.history,
            "seconds": self.seconds + time.perf_counter() - self.started,
        })
        for path in self.folder.iterdir():  # what the previous commit named
            if path.name not in (STATE_FILE, weights, best):
                path.unlink()

    def _load_model(self):
        state = read_json(self.folder / STATE_FILE)
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
        self.checkpoint.best = state["checkpoint_best"]
        self.history, self.seconds = state["history"], state["seconds"]
        model._initial_epoch = self.params["epochs"] if state["stopped"] else state["epoch"]


def seed_states(model):
    """The random state of the model's dropout layers: its variables that are not weights."""
    weights = {id(w) for w in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def resumed_after(staging):
    """The epochs a backup in `staging` holds (0: none), for the run to say where it resumes."""
    state = read_json(Path(staging) / BACKUP_DIR / STATE_FILE)
    return state["epoch"] if state else 0


def whole_run(result, staging, examples):
    """The `train.TrainResult` of the whole run: with a backup, from its first epoch on (the
    loop's result covers the epochs since the restart only)."""
    state = read_json(Path(staging) / BACKUP_DIR / STATE_FILE)
    if state is None:
        return result
    return train.TrainResult.from_history(state["history"], examples, state["seconds"])
