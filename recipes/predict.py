"""Apply a trained run (its saved preprocessor and model) to raw rows from a CSV file.

A run folder that is incomplete, truncated, mixed from two runs, or holds a model with Python
code in it (refused by Keras' safe mode unless `unsafe`) is a one-line `UserError`.
"""

import json
import zipfile
from pathlib import Path

import keras
import pandas as pd

from recipes import artifacts, datasets, preprocess
from recipes.errors import UserError
from recipes.run import METRICS_FILE, MODEL_FILE


def load_run(model_dir, unsafe=False):
    """The model, preprocessor and metrics of a finished run folder, checked to belong together."""
    model_dir = Path(model_dir)
    needed = [model_dir / f for f in (MODEL_FILE, preprocess.PREPROCESSOR_FILE, METRICS_FILE)]
    missing = [p.name for p in needed if not p.is_file()]
    if missing:
        raise UserError(f"{model_dir} is not a finished run folder: missing {', '.join(missing)}")
    model_path, preprocessor_path, metrics_path = needed
    metrics = readable(metrics_path, lambda path: json.loads(path.read_text()))
    preprocessor = readable(preprocessor_path, preprocess.load_preprocessor)
    if not hasattr(preprocessor, "target_encoder"):
        raise UserError(f"{preprocessor_path} holds a {type(preprocessor).__name__}, not the "
                        f"preprocessor a run saves")
    if not zipfile.is_zipfile(model_path):  # Keras would say "file not found"
        raise UserError(unreadable(model_path, "not a whole .keras zip file"))
    try:
        model = keras.saving.load_model(model_path, safe_mode=not unsafe)
    except ValueError as error:
        if "safe_mode" not in str(error):
            raise UserError(unreadable(model_path, error)) from None
        raise UserError(f"{model_path} holds Python code (a Lambda layer), which Keras' safe mode "
                        f"refuses to load; pass --unsafe if you trust where it came from") from None
    except Exception as error:  # a damaged member, ...: Keras raises many kinds
        raise UserError(unreadable(model_path, error)) from None
    check_same_run(model_dir, model, preprocessor, metrics)
    return model, preprocessor, metrics


def readable(path, load):
    """`load(path)`, with anything a damaged file raises as one `UserError` line."""
    try:
        return load(path)
    except Exception as error:  # pickle, zlib, EOF, JSON, ...: a damaged file raises many kinds
        raise UserError(unreadable(path, error)) from None


def unreadable(path, error):
    """One line: the file, the first line of what went wrong, and the way out."""
    reason = (str(error).strip() or type(error).__name__).splitlines()[0]
    return f"cannot load {path} ({reason}); is it truncated? run the recipe again to rewrite it"


def check_same_run(model_dir, model, preprocessor, metrics):
    """A model and a preprocessor copied together from two runs disagree on shapes or task."""
    takes, gives = tuple(model.input_shape[1:]), tuple(preprocessor.input_shape)
    outputs = model.output_shape[-1]
    task = metrics.get("task")
    if takes != gives or outputs != preprocessor.num_outputs or task != preprocessor.task:
        raise UserError(f"{model_dir}: {MODEL_FILE} and {preprocess.PREPROCESSOR_FILE} come from "
                        f"different runs (the model takes {takes} and gives {outputs} outputs; the "
                        f"preprocessor makes {gives} for {preprocessor.num_outputs}); run the "
                        f"recipe again to write them together")


def predict_frame(model, preprocessor, frame):
    """Predictions for raw rows: values, or class names plus one probability column per class."""
    outputs = model.predict(preprocessor.transform(frame), verbose=0)
    result = pd.DataFrame({"prediction": preprocessor.decode(outputs)}, index=frame.index)
    if preprocessor.classes:
        probabilities = preprocessor.target_encoder.probabilities(outputs)
        for i, name in enumerate(preprocessor.classes):
            result[f"probability_{name}"] = probabilities[:, i]
    return result


def predict(model_dir, data_path, output=None, unsafe=False):
    if output:
        artifacts.check_writable(output, "--output", folder=False)
    model, preprocessor, _ = load_run(model_dir, unsafe)
    frame = datasets.read_csv(data_path)
    result = predict_frame(model, preprocessor, frame)
    if output:
        artifacts.write_csv(output, result)
    return result
