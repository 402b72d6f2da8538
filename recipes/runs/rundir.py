"""The run folder: its file names, what a finished run holds, which folder a run may take, its
lock, staging and promotion, and loading a finished run without running anyone's code.

A run never trains or writes straight into its `--out` folder. It trains in OUT/.staging/,
writes its artifacts there, and only once all of them exist moves them into OUT, one rename
each, metrics.json last: its presence marks a finished run. A promotion that fails midway puts
every file back. A run that is refused, diverges, fails to write or is stopped therefore leaves
the previous run's files as they were, and its staging folder only when that holds an epoch to
resume from (--resume); it says so in one line.

One writer per folder: a run holds OUT's lock (recipes/runs/lock.py) from its check to its promotion.

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

from recipes.features import encoding
from recipes.runs import artifacts, interrupts, lock
from recipes.errors import Diverged, UserError

RUNS_DIR = Path("reports/runs")
MODEL_FILE = "model.keras"  # the raw-input model: preprocessing, network, answer
CARD_FILE = "model_card.json"  # the serving contract: inputs, output, classes, origin
METRICS_FILE = "metrics.json"  # last written: marks a finished run
HISTORY_FILE = "history.csv"
CHECKPOINT_FILE = "checkpoint.weights.h5"  # callbacks.Checkpoint's, of the network alone
LOG_DIR = "logs"  # TensorBoard's
EXPORT_DIR = "export"  # recipes/serving/export.py's default output folder, inside the run folder
CONFUSION_MATRIX_FILE = "confusion_matrix.png"
MISCLASSIFIED_FILE = "misclassified.png"
IMPORTANCE_FILE = "importance.png"  # tables: permutation importance of each raw column
FORECAST_FILE = "forecast.png"  # series: the test span, truth and forecast over time
HORIZON_ERRORS_FILE = "horizon_errors.png"  # series: MAE by horizon step, beside the baselines
# Everything a run may write into its folder, metrics.json last (it marks a finished run). A new
# run replaces all of them: an export it does not redo belonged to the model it replaces.
RUN_ENTRIES = (MODEL_FILE, CARD_FILE, HISTORY_FILE, "loss.png", "accuracy.png", "mae.png",
               CONFUSION_MATRIX_FILE, MISCLASSIFIED_FILE, IMPORTANCE_FILE, FORECAST_FILE,
               HORIZON_ERRORS_FILE, CHECKPOINT_FILE,
               LOG_DIR, EXPORT_DIR,
               METRICS_FILE)
STAGING_DIR = ".staging"  # inside --out: the run in progress, or the one that was killed
REQUEST_FILE = "request.json"  # what the staged run was asked to do, for --resume to compare
SEARCH_FILE = "search.json"  # what a search was asked to do: marks a `tune` folder
BACKUP_STATE = ("backup", "state.json")  # callbacks.Backup's commit inside the staging folder
IDENTITY = ("recipe", "dataset", "task", "model", "tuned", "tuner")  # what makes two runs "the same run"
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
def staged(out, request, *, resume, overwrite, entries, command="run"):
    """Lock `out` for `command` and check it (`check_out`), then yield the staging folder to
    train in and write to; once the block succeeds, `promote` the staged run into `out`.

    `entries`: every file or folder a run may write, the finished-run marker last. A run that
    stops (an error, a failed write, Ctrl-C or SIGTERM) leaves `out` as it was, and its staging
    folder only if that holds a finished epoch for --resume (not after a divergence, which
    resuming would repeat); a failed write or a signal then says so in one line.
    """
    out = Path(out)
    with lock.locked(out, command):
        continuing = check_out(out, request, resume=resume, overwrite=overwrite,
                               marker=entries[-1])
        staging = out / STAGING_DIR
        promoted = False
        try:
            if not continuing and staging.exists():
                shutil.rmtree(staging)
            staging.mkdir(exist_ok=True)
            artifacts.write_json(staging / REQUEST_FILE, request)
            yield staging
            with interrupts.shielded():  # a signal meanwhile is raised once all is promoted
                promote(staging, out, entries)
                promoted = True
        except BaseException as error:
            if promoted:
                raise interrupts.Interrupted.of(error).saying(
                    f"interrupted; the run had just been written to {out}") from None
            state = None if isinstance(error, Diverged) else resumable(staging)
            if state is None:
                with interrupts.shielded():
                    shutil.rmtree(staging, ignore_errors=True)
            report = stopped(error, out, state, resume)
            if report is None:
                raise
            raise report from None


def resumable(staging):
    """The backup state of the staging folder's last finished epoch, or None."""
    return artifacts.read_json(staging.joinpath(*BACKUP_STATE))


def stopped(error, out, state, resume):
    """The one line that a run stopped by a failed write or a signal ends with, saying what it
    kept (`state`: the backup of its last finished epoch, or None); None for other errors."""
    failure = artifacts.write_failure(error)
    interrupted = isinstance(error, KeyboardInterrupt)
    if not interrupted and failure is None:
        return None
    if state is None:
        kept = f"nothing was kept and {out} is as it was" + (
            "" if resume else " (--resume keeps every finished epoch)")
    elif state["stopped"] or state["epoch"] >= state["epochs"]:
        kept = "its training had ended and is kept: run the same command with --resume to finish"
    elif interrupted:
        return interrupts.Interrupted.of(error).saying(
            f"interrupted in epoch {state['epoch'] + 1}; run the same command with --resume to "
            f"continue")
    else:
        kept = (f"epoch {state['epoch']} is kept: run the same command with --resume to "
                f"continue")
    if interrupted:
        return interrupts.Interrupted.of(error).saying(f"interrupted; {kept}")
    return UserError(f"{artifacts.cannot_write('--out', out, failure)}; {kept}")


def promote(staging, out, entries):
    """Move the staged run into `out`: every entry of the earlier run aside (the marker first),
    the staged ones in, the marker last, each one rename; then drop the earlier run's (an old
    export, say, of the model being replaced). If a rename fails, the ones done are undone, so
    a folder is never left half promoted, and no one mistakes one for a finished run."""
    *others, marker = entries
    staged = [p.name for p in sorted(staging.iterdir())
              if p.name not in (marker, REQUEST_FILE, BACKUP_STATE[0]) and not p.name.startswith(".")]
    trash = Path(tempfile.mkdtemp(dir=staging, prefix=".replaced."))
    earlier = [name for name in dict.fromkeys([marker, *staged, *others])
               if os.path.lexists(out / name)]
    moves = [*((out / n, trash / n) for n in earlier), *((staging / n, out / n) for n in staged),
             (staging / marker, out / marker)]
    done = []
    try:
        for source, target in moves:
            os.replace(source, target)
            done.append((source, target))
    except BaseException:
        for source, target in reversed(done):
            with contextlib.suppress(OSError):  # put back all that can be
                os.replace(target, source)
        raise
    staging.joinpath(*BACKUP_STATE).unlink(missing_ok=True)  # first: it marks a resumable run
    shutil.rmtree(staging, ignore_errors=True)


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
    return (f"cannot load {path} ({artifacts.reason(error)}); is it truncated? run the recipe "
            f"again to rewrite it")


def check_same_run(run_dir, model, card, metrics):
    """A model and a card copied together from two runs disagree on inputs, outputs or task."""
    takes = sorted(tensor.name for tensor in model.inputs)
    expects = sorted(i.get("name") for i in card.get("inputs", []))
    answers = model.output_shape[-1]
    classes = card.get("classes") or []
    # one answer per class (or one value), or a forecast's one per step
    described = card["series"].get("horizon") if isinstance(card.get("series"), dict) else \
        max(len(classes), 1)
    if takes != expects or answers != described or card.get("task") != metrics.get("task"):
        raise UserError(f"{run_dir}: {MODEL_FILE} and {CARD_FILE} come from different runs (the "
                        f"model takes {', '.join(takes)} and gives {answers} outputs; the card "
                        f"describes {', '.join(map(str, expects))} and {described} outputs); "
                        f"run the recipe again to write them together")


SERIES_CARD = ("time", "window", "horizon", "step")  # a series spec's keys the card carries


def model_card(metrics, spec, classes, answer_name):
    """model_card.json: the serving contract (inputs, output, classes) and the model's origin."""
    return {
        "recipe": metrics["recipe"], "dataset": metrics["dataset"], "task": metrics["task"],
        "model": metrics["model"], "seed": metrics["seed"],
        "signature": "serving_default",
        "inputs": encoding.card_inputs(spec),
        "outputs": [{"name": answer_name, "dtype": "float32",  # a forecast: one per step
                     "shape": [None, spec.get("horizon") or max(len(classes), 1)],
                     **({"columns": classes} if classes else {})}],
        "classes": classes,
        "test_metrics": metrics["test"],
        **({"columns": metrics["columns"]} if metrics.get("columns") else {}),
        # a series: what predict needs to find the last window in a file, and to time its answer
        **({"series": {key: spec[key] for key in SERIES_CARD}} if spec["kind"] == "series"
           else {}),
        "na_values": metrics.get("na_values", []),  # what reads as missing, beyond the defaults
        "files": {"keras": MODEL_FILE},
        "versions": metrics["versions"],
    }


def versions():
    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "scikit-learn": sklearn.__version__,
            "numpy": np.__version__, "pandas": pd.__version__}
