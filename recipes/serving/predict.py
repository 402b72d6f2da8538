"""Apply a finished run to raw rows from a CSV file: the run's one raw-input model answers.

Loading goes through recipes/runs/rundir.py: JSON and the .keras model in Keras' safe mode, nothing
that runs code. No training code is imported here.
"""

import os
import sys

import numpy as np
import pandas as pd

import zoo
from recipes.data import files, reading
from recipes.serving import series_rows
from recipes.runs import artifacts, rundir
from recipes.features.encoding import IMAGE_INPUT
from recipes.errors import UserError
from recipes.features.preprocess import table_feed


def predict_frame(run, frame):
    """Predictions for raw rows: values, or class names plus one probability column per class
    (a series' forecast is `forecast_frame`'s)."""
    if [i["name"] for i in run.card["inputs"]] == [IMAGE_INPUT]:
        raise UserError(f"{run.metrics['recipe']} takes images, not CSV rows; use its SavedModel "
                        f"export (`export`) to serve images")
    # The card lists each input's column, name and dtype, as the preprocessing spec does.
    answers = np.asarray(run.model.predict(table_feed(frame, run.card), verbose=0))
    task = zoo.task(run.card["task"])
    result = pd.DataFrame({"prediction": task.decode(answers, run.classes)}, index=frame.index)
    for i, name in enumerate(run.classes):
        result[f"probability_{name}"] = answers[:, i]
    return result


def forecast_frame(run, frame):
    """The next `horizon` values of a series after the last `window` rows of `frame` (in time
    order, gaps filled as in training): one row per step, timed where the step is regular."""
    series = run.card["series"]
    feed, times = series_rows.last_window(frame, {"inputs": run.card["inputs"], **series},
                                      run.card.get("na_values", ()))
    forecast = np.asarray(run.model.predict(feed, verbose=0))[0]
    result = pd.DataFrame({"step": range(1, len(forecast) + 1), "forecast": forecast})
    if times is not None:
        result.insert(0, series["time"], times)
    return result


def predictions(run, data_path):
    """The predictions for the rows of `data_path`, one DataFrame per chunk the file is read in
    (reading.read_chunks): a file bigger than memory is predicted as a small one is. A series
    is read whole: its last rows are the ones that count, once sorted by time."""
    na_values = run.card.get("na_values", ())
    if "series" in run.card:
        yield forecast_frame(run, reading.read_csv(data_path, na_values))
        return
    for chunk in reading.read_chunks(data_path, na_values):
        yield predict_frame(run, chunk)


def predict(model_dir, data_path, output=None, unsafe=False):
    """Predict the rows of `data_path` chunk by chunk, writing each chunk's predictions as CSV to
    the file `output` (atomically: a stopped or failed write leaves the previous file; never over
    the input; compressed as its suffix says, or Parquet for .parquet) or to standard output;
    returns how many rows were predicted."""
    if output:
        check_output(output, data_path)
    run = rundir.load(model_dir, unsafe)
    chunks = predictions(run, data_path)
    if not output:
        return write_chunks(sys.stdout, chunks)
    with artifacts.writing("--output", output), artifacts.atomic_path(output) as tmp:
        if files.is_parquet(output):
            return files.write_parquet(tmp, chunks)
        with files.text_writer(tmp) as file:  # the temporary path keeps the suffixes
            return write_chunks(file, chunks)


def write_chunks(file, chunks):
    """Each chunk's rows as CSV, the header once; how many rows."""
    rows = 0
    for chunk in chunks:
        chunk.to_csv(file, index=False, header=rows == 0)
        rows += len(chunk)
    return rows


def check_output(output, data_path):
    artifacts.check_writable(output, "--output", folder=False)
    if os.path.exists(output) and os.path.exists(data_path) and os.path.samefile(output, data_path):
        raise UserError(f"--output {output} is the --data file: the predictions would replace the "
                        f"rows they come from; choose another --output")
