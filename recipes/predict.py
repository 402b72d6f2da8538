"""Apply a trained run (its saved preprocessor and model) to raw rows from a CSV file."""

import json
from pathlib import Path

import keras
import pandas as pd

from recipes import artifacts, datasets, preprocess
from recipes.errors import UserError
from recipes.run import METRICS_FILE, MODEL_FILE


def load_run(model_dir):
    """The model, preprocessor and metrics of a finished run folder."""
    model_dir = Path(model_dir)
    needed = [model_dir / f for f in (MODEL_FILE, preprocess.PREPROCESSOR_FILE, METRICS_FILE)]
    missing = [p.name for p in needed if not p.is_file()]
    if missing:
        raise UserError(f"{model_dir} is not a finished run folder: missing {', '.join(missing)}")
    model = keras.saving.load_model(model_dir / MODEL_FILE)
    preprocessor = preprocess.load_preprocessor(model_dir / preprocess.PREPROCESSOR_FILE)
    return model, preprocessor, json.loads((model_dir / METRICS_FILE).read_text())


def predict_frame(model, preprocessor, frame):
    """Predictions for raw rows: values, or class names plus one probability column per class."""
    outputs = model.predict(preprocessor.transform(frame), verbose=0)
    result = pd.DataFrame({"prediction": preprocessor.decode(outputs)}, index=frame.index)
    if preprocessor.classes:
        probabilities = preprocessor.target_encoder.probabilities(outputs)
        for i, name in enumerate(preprocessor.classes):
            result[f"probability_{name}"] = probabilities[:, i]
    return result


def predict(model_dir, data_path, output=None):
    model, preprocessor, _ = load_run(model_dir)
    frame = datasets.read_csv(data_path)
    result = predict_frame(model, preprocessor, frame)
    if output:
        artifacts.write_csv(output, result)
    return result
