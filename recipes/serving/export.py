import importlib.util
from importlib import metadata
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import tensorflow as tf

from recipes.runs import artifacts, lock, rundir
from recipes.choices import FORMATS
from recipes.errors import UserError, silenced_stderr

SAVED_MODEL_DIR = "saved_model"
FORMAT_FILES = {"onnx": "model.onnx", "tflite": "model.tflite"}  # converted from the SavedModel
assert set(FORMATS) == {"savedmodel", *FORMAT_FILES}


def export(run_dir, out_dir=None, formats=("savedmodel",), unsafe=False):
    """Export the run in `run_dir` to `out_dir` (default RUN_DIR/export); returns the model card.

    `unsafe`: load a model holding Python code (a Lambda layer), which Keras' safe mode refuses.
    """
    run_dir = Path(run_dir)
    out = Path(out_dir) if out_dir else run_dir / rundir.EXPORT_DIR
    formats = tuple(dict.fromkeys(formats))
    run = rundir.load(run_dir, unsafe)
    check_request(out, formats, run.metrics.get("precision", "float32"))
    # One export per folder; a failure to write leaves the previous export as it was.
    with lock.locked(out, "export"), artifacts.writing("--out", out), \
            artifacts.atomic_dir(out) as tmp:
        write_saved_model(run.model, run.card, tmp / SAVED_MODEL_DIR)
        shutil.copyfile(run_dir / rundir.MODEL_FILE, tmp / rundir.MODEL_FILE)
        for name in formats:
            if name in FORMAT_FILES:
                CONVERTERS[name](tmp / SAVED_MODEL_DIR, tmp / FORMAT_FILES[name])
        card = {**run.card,
                "files": {"saved_model": f"{SAVED_MODEL_DIR}/", "keras": rundir.MODEL_FILE,
                          **{f: FORMAT_FILES[f] for f in formats if f in FORMAT_FILES}},
                "versions": {**rundir.versions(), **({"tf2onnx": metadata.version("tf2onnx")}
                                                    if "onnx" in formats else {})},
                "trained_with": run.card["versions"]}
        artifacts.write_json(tmp / rundir.CARD_FILE, card)
    return card


def check_request(out, formats, precision="float32"):
    """Refuse what would fail or destroy something, before anything is built or written.
    `precision`: the dtype policy the run trained in (its metrics.json)."""
    artifacts.check_writable(out, "--out")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise UserError(f"unknown export format {', '.join(unknown)}; valid: {', '.join(FORMATS)}")
    if "tflite" in formats and precision == "mixed_bfloat16":
        # TFLite's builtin ops take no bfloat16 convolution or matrix product
        raise UserError("--format tflite: this run computes in bfloat16 (mixed precision), which "
                        "TFLite cannot convert; the SavedModel and ONNX formats serve it, or "
                        "train again with --no-mixed-precision")
    if "onnx" in formats and not all(importlib.util.find_spec(m) for m in ("tf2onnx", "onnx")):
        raise UserError("--format onnx needs tf2onnx: pip install 'keras-zoo-recipes[export]'")
    # The output folder is replaced whole: only ever replace an earlier export (a run folder
    # holds a model card too, beside its metrics.json).
    occupied = out.exists() and any(p.name != lock.LOCK_FILE for p in out.iterdir())
    if occupied and (not (out / rundir.CARD_FILE).is_file()
                     or (out / rundir.METRICS_FILE).exists()):
        raise UserError(f"{out} exists and is not an export folder (no {rundir.CARD_FILE}, or a "
                        f"run's {rundir.METRICS_FILE} beside it); give --out a new or empty "
                        f"folder, or an earlier export to replace")


# --- writing the formats -----------------------------------------------------------------------


def write_saved_model(model, card, path):
    """`serve` (and its alias `serving_default`) takes one named tensor per raw input."""
    signature = {i["name"]: tf.TensorSpec(tuple(i["shape"]), i["dtype"], name=i["name"])
                 for i in card["inputs"]}
    output_name = card["outputs"][0]["name"]
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda raw: {output_name: model(raw)},
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
        with silenced_stderr():  # the converter logs its errors there, many lines each
            flatbuffer = converter.convert()
    except Exception as error:  # the converter raises ConverterError and others, with long logs
        reason = (str(error).strip() or type(error).__name__).splitlines()[0]
        raise UserError(f"TFLite cannot convert this model: {reason}; the SavedModel and ONNX "
                        f"formats serve it") from None
    path.write_bytes(flatbuffer)


CONVERTERS = {"onnx": to_onnx, "tflite": to_tflite}
