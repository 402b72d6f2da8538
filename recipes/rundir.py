"""The run folder: its file names, what a finished run holds, which folder a run may take,
staging and promotion, and loading a finished run without running anyone's code.

A run never trains or writes straight into its `--out` folder. It trains in OUT/.staging/,
writes its artifacts there, and only once all of them exist moves them into OUT, one rename
each, metrics.json last: its presence marks a finished run. A run that is refused, diverges or
is killed therefore leaves the previous run's files as they were.

Which folder a run may take (`check_out`): a new or empty one; one holding a run of the same
recipe, data set, task and model, which it replaces (so `run NAME` and `run all` can simply be
run again); anything else (another recipe or model, a tuning result, files that are not a run)
only with --overwrite, which replaces the run's files and leaves other files alone. A folder
holding a run interrupted with --resume is continued only by --resume with the same options.

Loading (`load`) reads JSON and the Keras model in safe mode, nothing else: a run folder may come
from someone else, and the project writes no pickle. A model holding Python code (a Lambda
layer) loads only with `unsafe`; a pickle file in the folder is refused, never opened.
"""

import contextlib
import json
import os
import platform
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import sklearn
import tensorflow as tf

from recipes import artifacts, encoding
from recipes.errors import Diverged, UserError

RUNS_DIR = Path("reports/runs")
MODEL_FILE = "model.keras"  # the raw-input model: preprocessing, network, answer
CARD_FILE = "model_card.json"  # the serving contract: inputs, output, classes, origin
METRICS_FILE = "metrics.json"  # last written: marks a finished run
HISTORY_FILE = "history.csv"
CHECKPOINT_FILE = "checkpoint.weights.h5"  # callbacks.Checkpoint's, of the network alone
LOG_DIR = "logs"  # TensorBoard's
EXPORT_DIR = "export"  # recipes/export.py's default output folder, inside the run folder
CONFUSION_MATRIX_FILE = "confusion_matrix.png"
MISCLASSIFIED_FILE = "misclassified.png"
# Everything a run may write into its folder, metrics.json last (it marks a finished run). A new
# run replaces all of them: an export it does not redo belonged to the model it replaces.
RUN_ENTRIES = (MODEL_FILE, CARD_FILE, HISTORY_FILE, "loss.png", "accuracy.png", "mae.png",
               CONFUSION_MATRIX_FILE, MISCLASSIFIED_FILE, CHECKPOINT_FILE, LOG_DIR, EXPORT_DIR,
               METRICS_FILE)
STAGING_DIR = ".staging"  # inside --out: the run in progress, or the one that was killed
REQUEST_FILE = "request.json"  # what the staged run was asked to do, for --resume to compare
SEARCH_FILE = "search.json"  # what a search was asked to do: marks a `tune` folder
BACKUP_STATE = ("backup", "state.json")  # callbacks.Backup's commit inside the staging folder
IDENTITY = ("recipe", "dataset", "task", "model", "tuned")  # what makes two runs "the same run"
PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")  # never written here; never opened


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
    held = artifacts.read_json(out / marker) or artifacts.read_json(staging / REQUEST_FILE)
    if held is not None and identity(held) != identity(request) and not overwrite:
        raise UserError(f"{out} holds another run ({describe(held)}), not {describe(request)}; "
                        f"pass --overwrite to replace it, or choose another --out")
    visible = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    if held is None and visible and not overwrite:
        raise UserError(f"{out} holds files that are not a run ({', '.join(visible[:3])}"
                        f"{', ...' * (len(visible) > 3)}); pass --overwrite to write the run "
                        f"beside them, or choose another --out")
    state = artifacts.read_json(staging.joinpath(*BACKUP_STATE))
    if state is None or overwrite and not resume:
        return False
    where = f"after epoch {state['epoch']} of {state['epochs']}"
    if not resume:
        raise UserError(f"{out} holds a run interrupted {where}; add --resume to continue it, or "
                        f"--overwrite to start over")
    changed = changes(artifacts.read_json(staging / REQUEST_FILE) or {}, request)
    if changed and not overwrite:
        raise UserError(f"--resume: the run interrupted in {out} had other options "
                        f"({'; '.join(changed)}); resume with its options, or --overwrite to start "
                        f"over")
    return not changed


def check_search_out(out, request, *, resume):
    """`tune`'s folder: an existing search continues only with --resume, and only as the same
    search. `request` is held in SEARCH_FILE, which marks a search: workers of a distributed
    search, which may reach the folder before the chief, create keras-tuner's folder but never
    this file."""
    artifacts.check_writable(out, "--out")
    held = out / SEARCH_FILE
    if held.is_file() and not resume:
        raise UserError(f"{out} already holds a search; add --resume to continue it, or choose "
                        f"another --out")
    if resume and held.is_file():
        changed = changes(json_file(held), request)
        if changed:
            raise UserError(f"--resume: {out} holds a different search ({'; '.join(changed)}); "
                            f"resume with its options, or choose another --out")


def changes(started, request):
    """What `request` asks differently from the `started` one, one "key old -> new" each."""
    return [f"{key} {started.get(key)!r} -> {request[key]!r}" for key in request
            if started.get(key) != request[key]]


def identity(run):
    return {key: run.get(key) for key in IDENTITY}


def describe(run):
    tuned = ", tuned" if run.get("tuned") else ""
    return f"recipe {run.get('recipe')}: {run.get('model')} on {run.get('dataset')}{tuned}"


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
    except Diverged:  # resuming would diverge again: nothing worth keeping
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
              if p.name not in (marker, REQUEST_FILE, BACKUP_STATE[0]) and not p.name.startswith(".")]
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




# --- a finished run ----------------------------------------------------------------------------


@dataclass
class FinishedRun:
    model: keras.Model  # raw inputs -> answers (encoding.raw_model)
    card: dict  # model_card.json
    metrics: dict  # metrics.json

    @property
    def classes(self):
        return self.card["classes"]


def load(run_dir, unsafe=False):
    """The model, card and metrics of a finished run folder, checked to belong together.

    Reads JSON and the .keras zip in Keras' safe mode only; a folder holding a pickle file is
    refused without opening it.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir} is not a finished run folder: no such folder")
    pickles = sorted(p.name for p in run_dir.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise UserError(f"{run_dir} holds {', '.join(pickles)}: pickle files, which can run code "
                        f"when opened and which this project never writes; refusing to load it")
    needed = [run_dir / f for f in (MODEL_FILE, CARD_FILE, METRICS_FILE)]
    missing = [p.name for p in needed if not p.is_file()]
    if missing:
        raise UserError(f"{run_dir} is not a finished run folder: missing {', '.join(missing)}")
    model_path, card_path, metrics_path = needed
    card, metrics = (json_file(path) for path in (card_path, metrics_path))
    model = keras_file(model_path, unsafe)
    check_same_run(run_dir, model, card, metrics)
    return FinishedRun(model, card, metrics)


def json_file(path):
    """A JSON object from `path`, or one `UserError` line for anything else (a pickle included)."""
    try:
        value = json.loads(Path(path).read_bytes().decode("utf-8"))
    except (OSError, ValueError) as error:
        raise UserError(unreadable(path, error)) from None
    if not isinstance(value, dict):
        raise UserError(unreadable(path, "not a JSON object"))
    return value


def keras_file(path, unsafe):
    """The .keras model, loaded in safe mode unless `unsafe`."""
    if not zipfile.is_zipfile(path):  # Keras would say "file not found"
        raise UserError(unreadable(path, "not a whole .keras zip file"))
    try:
        return keras.saving.load_model(path, safe_mode=not unsafe)
    except ValueError as error:
        if "safe_mode" not in str(error):
            raise UserError(unreadable(path, error)) from None
        raise UserError(f"{path} holds Python code (a Lambda layer), which Keras' safe mode "
                        f"refuses to load; pass --unsafe if you trust where it came from") from None
    except Exception as error:  # a damaged member, ...: Keras raises many kinds
        raise UserError(unreadable(path, error)) from None


def unreadable(path, error):
    """One line: the file, the first line of what went wrong, and the way out."""
    reason = (str(error).strip() or type(error).__name__).splitlines()[0]
    return f"cannot load {path} ({reason}); is it truncated? run the recipe again to rewrite it"


def check_same_run(run_dir, model, card, metrics):
    """A model and a card copied together from two runs disagree on inputs, outputs or task."""
    takes = sorted(tensor.name for tensor in model.inputs)
    expects = sorted(i.get("name") for i in card.get("inputs", []))
    answers = model.output_shape[-1]
    classes = card.get("classes") or []
    if takes != expects or answers != max(len(classes), 1) or card.get("task") != metrics.get("task"):
        raise UserError(f"{run_dir}: {MODEL_FILE} and {CARD_FILE} come from different runs (the "
                        f"model takes {', '.join(takes)} and gives {answers} outputs; the card "
                        f"describes {', '.join(map(str, expects))} and {len(classes)} classes); "
                        f"run the recipe again to write them together")


def model_card(metrics, spec, classes, answer_name):
    """model_card.json: the serving contract (inputs, output, classes) and the model's origin."""
    return {
        "recipe": metrics["recipe"], "dataset": metrics["dataset"], "task": metrics["task"],
        "model": metrics["model"], "seed": metrics["seed"],
        "signature": "serving_default",
        "inputs": encoding.card_inputs(spec),
        "outputs": [{"name": answer_name, "dtype": "float32",
                     "shape": [None, max(len(classes), 1)],
                     **({"columns": classes} if classes else {})}],
        "classes": classes,
        "test_metrics": metrics["test"],
        "files": {"keras": MODEL_FILE},
        "versions": metrics["versions"],
    }


def versions():
    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "scikit-learn": sklearn.__version__,
            "numpy": np.__version__, "pandas": pd.__version__}
