"""Apply a finished run to raw rows from a CSV file: the run's one raw-input model answers.

Loading goes through recipes/rundir.py: JSON and the .keras model in Keras' safe mode, nothing
that runs code. No training code is imported here.
"""

import numpy as np
import pandas as pd

import zoo
from recipes import artifacts, rundir, tables
from recipes.encoding import IMAGE_INPUT
from recipes.errors import UserError
from recipes.preprocess import table_feed


def predict_frame(run, frame):
    """Predictions for raw rows: values, or class names plus one probability column per class."""
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


def predict(model_dir, data_path, output=None, unsafe=False):
    if output:
        artifacts.check_writable(output, "--output", folder=False)
    run = rundir.load(model_dir, unsafe)
    result = predict_frame(run, tables.read_csv(data_path))
    if output:
        artifacts.write_csv(output, result)
    return result
