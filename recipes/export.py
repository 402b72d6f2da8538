"""Export a trained run for serving: a SavedModel that takes raw inputs, plus ONNX and TFLite.

The trained network expects preprocessed arrays. A serving client has raw rows (or raw uint8
images), so the export puts the fitted preprocessing in front of the network as Keras layers and
ops, with the statistics scikit-learn learned on the training split as constants:

- numbers: NaN -> the training median, then (x - mean) / scale of the fitted `StandardScaler`
  (`keras.layers.Normalization`);
- categories: "" (missing) -> the most frequent training category, then one-hot over the fitted
  `OneHotEncoder` categories (`keras.layers.StringLookup`); an unseen category gives all zeros,
  as `handle_unknown="ignore"` does;
- images: uint8 pixels / 255, plus the channel axis.

Blocks are concatenated in the `ColumnTransformer`'s column order, the network runs, and the
answer comes out under a name: `probabilities` (one column per class) or `value`. The
`serving_default` signature takes one named tensor per CSV column (or `image`), so TensorFlow
Serving, `tf.saved_model.load` and `saved_model_cli` need nothing from this project.

Everything is written into a temporary folder that replaces the output folder only once complete.
"""

import importlib.util
from importlib import metadata
import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from recipes import artifacts, images
from recipes.errors import UserError
from recipes.predict import load_run
from recipes.preprocess import TabularPreprocessor
from recipes.run import MODEL_FILE, versions

EXPORT_DIR = "export"  # default output folder, inside the run folder
SAVED_MODEL_DIR = "saved_model"
CARD_FILE = "model_card.json"
FORMATS = ("savedmodel", "onnx", "tflite")  # the SavedModel is always written; others convert it
FORMAT_FILES = {"onnx": "model.onnx", "tflite": "model.tflite"}
MISSING_CATEGORY = ""  # how a client sends "no value" for a category (pandas reads it as NaN)
IMAGE_INPUT = "image"


def export(run_dir, out_dir=None, formats=("savedmodel",), unsafe=False):
    """Export the run in `run_dir` to `out_dir` (default RUN_DIR/export); returns the model card.

    `unsafe`: load a model holding Python code (a Lambda layer), which Keras' safe mode refuses.
    """
    run_dir = Path(run_dir)
    out = Path(out_dir) if out_dir else run_dir / EXPORT_DIR
    formats = tuple(dict.fromkeys(formats))
    model, preprocessor, metrics = load_run(run_dir, unsafe)
    check_request(out, formats)
    inputs, features, card_inputs = raw_inputs(preprocessor)
    output_name = "value" if metrics["task"] == "regression" else "probabilities"
    serving = keras.Model(list(inputs.values()), answer(model(features), metrics["task"]),
                          name="serving")
    with artifacts.atomic_dir(out) as tmp:
        write_saved_model(serving, inputs, output_name, tmp / SAVED_MODEL_DIR)
        model.save(tmp / MODEL_FILE)
        for name in formats:
            if name in FORMAT_FILES:
                CONVERTERS[name](tmp / SAVED_MODEL_DIR, tmp / FORMAT_FILES[name])
        card = model_card(metrics, preprocessor, card_inputs, output_name, serving, formats)
        artifacts.write_json(tmp / CARD_FILE, card)
    return card


def check_request(out, formats):
    """Refuse what would fail or destroy something, before anything is built or written."""
    artifacts.check_writable(out, "--out")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise UserError(f"unknown export format {', '.join(unknown)}; valid: {', '.join(FORMATS)}")
    if "onnx" in formats and not all(importlib.util.find_spec(m) for m in ("tf2onnx", "onnx")):
        raise UserError("--format onnx needs tf2onnx: pip install 'keras-zoo-recipes[export]'")
    # The output folder is replaced whole: only ever replace an earlier export.
    if out.exists() and any(out.iterdir()) and not (out / CARD_FILE).is_file():
        raise UserError(f"{out} exists and is not an export folder (no {CARD_FILE}); give --out a "
                        f"new or empty folder, or an earlier export to replace")


# --- raw inputs -> the arrays the network was trained on ---------------------------------------


def raw_inputs(preprocessor):
    """(Keras inputs keyed by serving name, model-ready features, the inputs for the model card)."""
    if isinstance(preprocessor, TabularPreprocessor):
        return table_inputs(preprocessor)
    if isinstance(preprocessor, images.ImagePreprocessor):
        return image_inputs(preprocessor)
    raise UserError(f"cannot export a run preprocessed by {type(preprocessor).__name__}")


def table_inputs(preprocessor):
    """One input per CSV column; each fitted block of the ColumnTransformer in its own order."""
    names = input_names(preprocessor.columns)
    numeric = set(preprocessor.numeric_columns)
    # Keras names the inputs itself: a column called "stack" or "where" must not clash with an op.
    inputs = {names[c]: keras.Input(shape=(), dtype="float32" if c in numeric else "string")
              for c in preprocessor.columns}
    blocks, cards = [], {}
    for block, pipeline, columns in preprocessor.column_transformer.transformers_:
        if not len(columns):  # e.g. no category columns: that block was never fitted
            continue
        columns_in = [inputs[names[c]] for c in columns]
        if block == "numeric":
            blocks.append(numbers(pipeline, columns_in))
            cards.update({c: number_card(names[c], c, median)
                          for c, median in zip(columns, pipeline["impute"].statistics_)})
        else:
            for column, tensor, filler, categories in zip(
                    columns, columns_in, pipeline["impute"].statistics_,
                    pipeline["one_hot"].categories_):
                categories = [str(c) for c in categories]
                blocks.append(one_hot(tensor, categories, str(filler)))
                cards[column] = category_card(names[column], column, str(filler), categories)
    features = keras.ops.concatenate(blocks, axis=-1)
    return inputs, features, [cards[c] for c in preprocessor.columns]


def input_names(columns):
    """Signature-safe, unique input names: "sepal length (cm)" -> "sepal_length_cm"."""
    names = {}
    for column in columns:
        base = re.sub(r"[^0-9A-Za-z]+", "_", str(column)).strip("_") or "column"
        base = f"x_{base}" if base[0].isdigit() else base
        name, n = base, 2
        while name in names.values():
            name, n = f"{base}_{n}", n + 1
        names[column] = name
    return names


def numbers(pipeline, columns):
    """Median imputation of NaN, then the fitted standard scaling."""
    values = keras.ops.stack(columns, axis=-1)
    medians = pipeline["impute"].statistics_.astype("float32")
    values = keras.ops.where(keras.ops.isnan(values), medians, values)
    scaler = pipeline["scale"]
    # scale_**2, not var_: scikit-learn gives a constant column scale 1 (var_ 0 would divide by ~0)
    return keras.layers.Normalization(mean=scaler.mean_, variance=scaler.scale_ ** 2)(values)


def one_hot(column, categories, filler):
    """The fitted one-hot columns: unknown -> all zeros, missing ("") -> the most frequent category.

    The lookup's slots are [unknown, *categories, missing]; one 0/1 matrix maps them onto the
    encoder's columns. (A string comparison would read more directly, but ONNX cannot convert it.)
    """
    lookup = keras.layers.StringLookup(vocabulary=[*categories, MISSING_CATEGORY],
                                       num_oov_indices=1, output_mode="one_hot")
    identity = np.eye(len(categories), dtype="float32")
    to_encoder = np.vstack([np.zeros_like(identity[:1]), identity,
                            identity[[categories.index(filler)]]])
    return keras.ops.matmul(lookup(column), to_encoder)


def image_inputs(preprocessor):
    """uint8 images as the loaders give them, scaled to [0, 1] with the channel axis added."""
    shape = tuple(preprocessor.input_shape)
    raw_shape = shape[:-1] if shape[-1] == 1 else shape  # grayscale images come without a channel
    image = keras.Input(shape=raw_shape, dtype="uint8")
    pixels = keras.ops.cast(image, "float32") / images.PIXEL_MAX  # as ImagePreprocessor.transform
    card = {"name": IMAGE_INPUT, "dtype": "uint8", "shape": [None, *raw_shape],
            "range": [0, images.PIXEL_MAX]}
    return {IMAGE_INPUT: image}, keras.ops.reshape(pixels, (-1, *shape)), [card]


def answer(outputs, task):
    """Probabilities with one column per class (binary: the sigmoid as two), or the value."""
    outputs = keras.ops.cast(outputs, "float32")  # mixed-precision networks answer in float16
    if task == "binary":
        return keras.ops.concatenate([1 - outputs, outputs], axis=-1)
    return outputs


# --- writing the formats -----------------------------------------------------------------------


def write_saved_model(serving, inputs, output_name, path):
    """`serve` (and its alias `serving_default`) takes one named tensor per raw input."""
    signature = {name: tf.TensorSpec((None, *tensor.shape[1:]), tensor.dtype, name=name)
                 for name, tensor in inputs.items()}
    archive = keras.export.ExportArchive()
    archive.track(serving)
    archive.add_endpoint(
        "serve", lambda raw: {output_name: serving([raw[name] for name in inputs])},
        input_signature=[signature])
    archive.write_out(path, verbose=False)


def to_onnx(saved_model, path):
    """tf2onnx's command line on the SavedModel (its `from_keras` fails on Sequential models)."""
    converted = subprocess.run(
        [sys.executable, "-m", "tf2onnx.convert", "--saved-model", str(saved_model),
         "--signature_def", "serving_default", "--output", str(path)],
        capture_output=True, text=True)
    if converted.returncode != 0 or not path.is_file():
        errors = [line for line in converted.stderr.splitlines() if "Error" in line]
        raise UserError(f"tf2onnx cannot convert this model to ONNX: "
                        f"{(errors or ['(no error message)'])[-1].strip()}")


def to_tflite(saved_model, path):
    """TFLite's converter on the SavedModel; refused models get a one-line reason."""
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model),
                                                         signature_keys=["serving_default"])
    try:
        flatbuffer = converter.convert()
    except Exception as error:  # the converter raises ConverterError and others, with long logs
        reason = (str(error).strip() or type(error).__name__).splitlines()[0]
        raise UserError(f"TFLite cannot convert this model: {reason}; the SavedModel and ONNX "
                        f"formats serve it") from None
    path.write_bytes(flatbuffer)


CONVERTERS = {"onnx": to_onnx, "tflite": to_tflite}


# --- what a client needs to know ---------------------------------------------------------------


def number_card(name, column, median):
    return {"name": name, "column": column, "dtype": "float32", "shape": [None],
            "missing": "NaN", "missing_becomes": float(median)}


def category_card(name, column, filler, categories):
    return {"name": name, "column": column, "dtype": "string", "shape": [None],
            "missing": MISSING_CATEGORY, "missing_becomes": filler, "categories": categories,
            "unknown_category": "all-zero one-hot (as scikit-learn's handle_unknown='ignore')"}


def model_card(metrics, preprocessor, inputs, output_name, serving, formats):
    """model_card.json: the serving contract (inputs, output, classes) and the model's origin."""
    output_shape = serving.outputs[0].shape
    return {
        "recipe": metrics["recipe"],
        "dataset": metrics["dataset"],
        "task": metrics["task"],
        "model": metrics["model"],
        "seed": metrics["seed"],
        "signature": "serving_default",
        "inputs": inputs,
        "outputs": [{"name": output_name, "dtype": "float32", "shape": [None, *output_shape[1:]],
                     **({"columns": preprocessor.classes} if preprocessor.classes else {})}],
        "classes": preprocessor.classes,
        "test_metrics": metrics["test"],
        "files": {"saved_model": f"{SAVED_MODEL_DIR}/", "keras": MODEL_FILE,
                  **{f: FORMAT_FILES[f] for f in formats if f in FORMAT_FILES}},
        "versions": {**versions(), **({"tf2onnx": metadata.version("tf2onnx")}
                                      if "onnx" in formats else {})},
        "trained_with": metrics["versions"],
    }
