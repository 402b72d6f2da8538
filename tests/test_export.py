"""Export: SavedModels that take raw inputs, checked by clients that are not this project.

Each check compares the served answer with the training-time pipeline (the preprocessing fitted
on the run's training split encodes the raw test rows, the run's trained network answers, the
task turns its outputs into values or probabilities) within 1e-5.
"""

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from recipes.data import loaders
from recipes.features import encoding, preprocess
from recipes.runs import rundir
from recipes.serving import export
from recipes.errors import UserError
from recipes.workflow.prepare import prepare
from recipes.workflow.run import RunOptions, run
from tests.conftest import exit_code

TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}

# A client that knows nothing of this project: TensorFlow, the SavedModels and raw rows. It
# serves each (SavedModel, rows, answers) triple of its arguments in turn: one TensorFlow start.
FRESH_CLIENT = """
import sys
import numpy as np
import tensorflow as tf

for saved_model, rows, answers in zip(*[iter(sys.argv[1:])] * 3):
    serve = tf.saved_model.load(saved_model).signatures["serving_default"]
    with np.load(rows) as feed:
        served = serve(**{name: tf.constant(feed[name]) for name in feed.files})
    np.savez(answers, **{name: tensor.numpy() for name, tensor in served.items()})
"""


def trained(tmp_path_factory, recipe, *flags):
    """`recipe` trained for an epoch and exported by `run --export` (in this process: the
    clients below are the fresh ones)."""
    out = tmp_path_factory.mktemp(recipe) / "run"
    assert exit_code(["run", recipe, "--epochs", "1", "--out", str(out), "--quiet",
                      "--export", *flags]) == 0
    return out


@pytest.fixture(scope="module")
def auto_mpg(tmp_path_factory):
    """auto-mpg trained and exported by `run --export`."""
    return trained(tmp_path_factory, "auto-mpg")


@pytest.fixture(scope="module")
def auto_mpg_periodic(tmp_path_factory):
    """auto-mpg with its numbers as periodic embeddings (zoo.numbers.PeriodicEmbedding), under
    an ensemble of 4 members (zoo.efficient_ensemble): the MLPs' two options, in one run."""
    return trained(tmp_path_factory, "auto-mpg", "--set", "numeric_embedding=periodic",
                   "--set", "members=4")


@pytest.fixture(scope="module")
def auto_mpg_rows():
    """Raw test rows, plus a missing number, an unseen category and a missing category."""
    rows = preprocess.split(loaders.load("auto-mpg"), seed=0).test.features.iloc[:40].copy()
    rows["origin"] = rows["origin"].astype(object)
    rows.iloc[0, rows.columns.get_loc("horsepower")] = np.nan
    rows.iloc[1, rows.columns.get_loc("origin")] = "atlantis"
    rows.iloc[2, rows.columns.get_loc("origin")] = np.nan
    return rows


@pytest.fixture(scope="module")
def auto_mpg_expected(auto_mpg, auto_mpg_rows):
    return pipeline_answer(auto_mpg, auto_mpg_rows)


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """digits-cnn trained and exported by `run --export`."""
    return trained(tmp_path_factory, "digits-cnn")


@pytest.fixture(scope="module")
def digits_rows():
    return preprocess.split(loaders.load("digits"), seed=0).test.features[:64]


@pytest.fixture(scope="module")
def served(auto_mpg, auto_mpg_rows, digits, digits_rows, auto_mpg_periodic, tmp_path_factory):
    """The exports' serving_default answers, computed by one fresh client process."""
    runs = {"auto-mpg": (auto_mpg, auto_mpg_rows), "digits-cnn": (digits, digits_rows),
            "auto-mpg-periodic": (auto_mpg_periodic, auto_mpg_rows)}
    return served_in_fresh_process(
        {name: (run / "export" / "saved_model", serving_feed(card(run / "export"), rows))
         for name, (run, rows) in runs.items()}, tmp_path_factory.mktemp("client"))


def card(export_dir):
    return json.loads((Path(export_dir) / rundir.CARD_FILE).read_text())


def training_preprocessing(run_dir):
    """The preprocessing the run fitted on its training split, fitted again (same recipe, seed
    and split), checked against the serving contract the run wrote."""
    finished = rundir.load(run_dir)
    _, loaded = prepare(finished.metrics["recipe"], RunOptions(seed=finished.metrics["seed"]))
    preprocessing = loaded.preprocessing
    assert encoding.card_inputs(preprocessing.spec) == finished.card["inputs"]
    assert preprocessing.classes == finished.classes
    return preprocessing


def pipeline_answer(run_dir, rows):
    """What the training-time pipeline answers: the fitted preprocessing's `encode`, the trained
    network, then the task's answer (values, or one probability per class)."""
    finished = rundir.load(run_dir)
    network = next(layer for layer in finished.model.layers if isinstance(layer, keras.Model))
    outputs = network.predict(training_preprocessing(run_dir).encode(rows), verbose=0)
    return np.asarray(zoo.task(finished.card["task"]).answer(outputs))


def serving_feed(model_card, rows):
    """Raw rows as a client sends them, one array per input; NaN numbers, "" missing categories."""
    if model_card["inputs"][0]["name"] == encoding.IMAGE_INPUT:
        return {encoding.IMAGE_INPUT: np.asarray(rows, np.uint8)}
    feed = {}
    for spec in model_card["inputs"]:
        values = rows[spec["column"]]
        if spec["dtype"] == "float32":
            feed[spec["name"]] = values.to_numpy("float32")
        else:
            feed[spec["name"]] = values.astype(object).where(values.notna(), "").to_numpy(dtype=str)
    return feed


def served_in_fresh_process(exports, folder):
    """For each name -> (SavedModel, feed) of `exports`, serving_default's answers, computed by
    `tf.saved_model.load` in one new Python process."""
    triples = []
    for name, (saved_model, feed) in exports.items():
        np.savez(folder / f"{name}-rows.npz", **feed)
        triples += [saved_model, folder / f"{name}-rows.npz", folder / f"{name}-answers.npz"]
    client = subprocess.run([sys.executable, "-c", FRESH_CLIENT, *triples], cwd=folder,
                            capture_output=True, text=True)
    assert client.returncode == 0, client.stderr
    answers = {}
    for name in exports:
        with np.load(folder / f"{name}-answers.npz") as served:
            answers[name] = {output: served[output] for output in served.files}
    return answers


def test_saved_model_serves_raw_rows_like_the_training_pipeline(auto_mpg, auto_mpg_rows,
                                                                auto_mpg_expected, served):
    encoded = training_preprocessing(auto_mpg).encode(auto_mpg_rows.iloc[:3])
    assert not encoded[1, -3:].any()  # the unseen category is all zeros (handle_unknown="ignore")
    assert encoded[2, -1] == 1  # the missing category is the most frequent, usa

    answers = served["auto-mpg"]
    assert list(answers) == ["value"]
    np.testing.assert_allclose(answers["value"], auto_mpg_expected, **TOLERANCE)


def test_periodic_embeddings_and_members_serve_raw_rows_like_the_training_pipeline(
        auto_mpg_periodic, auto_mpg_rows, served):
    network = next(layer for layer in rundir.load(auto_mpg_periodic).model.layers
                   if isinstance(layer, keras.Model))
    assert network.get_layer("numeric_embedding").columns == 6  # auto-mpg's six numbers
    assert network.get_layer("output").members == 4
    np.testing.assert_allclose(served["auto-mpg-periodic"]["value"],
                               pipeline_answer(auto_mpg_periodic, auto_mpg_rows), **TOLERANCE)


def test_model_card_describes_inputs_outputs_and_origin(auto_mpg):
    model_card = card(auto_mpg / "export")
    metrics = json.loads((auto_mpg / "metrics.json").read_text())
    assert [(i["name"], i["dtype"]) for i in model_card["inputs"]] == [
        ("cylinders", "float32"), ("displacement", "float32"), ("horsepower", "float32"),
        ("weight", "float32"), ("acceleration", "float32"), ("model_year", "float32"),
        ("origin", "string")]
    origin = model_card["inputs"][-1]
    assert origin["categories"] == ["europe", "japan", "usa"] and origin["missing_becomes"] == "usa"
    assert model_card["outputs"] == [{"name": "value", "dtype": "float32", "shape": [None, 1]}]
    assert model_card["task"] == "regression" and model_card["dataset"] == "auto-mpg"
    assert model_card["seed"] == 0
    assert model_card["test_metrics"] == metrics["test"]
    assert {"tensorflow", "keras", "scikit-learn"} <= set(model_card["versions"])
    assert model_card["files"] == {"saved_model": "saved_model/", "keras": "model.keras"}
    # the run's own raw-input model, copied: what predict uses is what is served
    copied = auto_mpg / "export" / "model.keras"
    assert copied.read_bytes() == (auto_mpg / "model.keras").read_bytes()
    assert keras.saving.load_model(copied).count_params() > 0


def test_saved_model_cli_lists_the_named_inputs_and_output(auto_mpg):
    saved_model_cli = Path(sys.executable).with_name("saved_model_cli")
    result = subprocess.run([saved_model_cli, "show", "--dir", auto_mpg / "export" / "saved_model",
                             "--all"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    serving_default = result.stdout.split("signature_def['serving_default']")[1]
    for spec in card(auto_mpg / "export")["inputs"]:
        assert f"inputs['{spec['name']}']" in serving_default
    assert "DT_STRING" in serving_default and "outputs['value']" in serving_default


def test_tfsm_layer_wraps_the_export_in_a_new_keras_model(auto_mpg, auto_mpg_rows,
                                                          auto_mpg_expected):
    model_card = card(auto_mpg / "export")
    layer = keras.layers.TFSMLayer(auto_mpg / "export" / "saved_model", call_endpoint="serve")
    inputs = {i["name"]: keras.Input(shape=(), dtype=i["dtype"], name=i["name"])
              for i in model_card["inputs"]}
    wrapped = keras.Model(inputs, layer(inputs))
    answers = wrapped({name: tf.constant(values)
                       for name, values in serving_feed(model_card, auto_mpg_rows).items()})
    np.testing.assert_allclose(answers["value"], auto_mpg_expected, **TOLERANCE)


@pytest.fixture(scope="module")
def converted(auto_mpg, tmp_path_factory):
    """`export --format onnx --format tflite` of the auto-mpg run, into a folder of its own."""
    out = tmp_path_factory.mktemp("formats") / "export"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert exit_code(["export", "--model", str(auto_mpg), "--out", str(out), "--format",
                          "onnx", "--format", "tflite"]) == 0
    assert "serving_default: cylinders (float32)" in printed.getvalue()
    return out


def test_onnx_runtime_answers_like_keras(auto_mpg_rows, auto_mpg_expected, converted):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(converted / "model.onnx"))
    feed = {name: values.astype(object) if values.dtype.kind == "U" else values
            for name, values in serving_feed(card(converted), auto_mpg_rows).items()}
    answers = dict(zip([o.name for o in session.get_outputs()], session.run(None, feed)))
    np.testing.assert_allclose(answers["value"], auto_mpg_expected, **TOLERANCE)


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")
def test_tflite_answers_like_keras(auto_mpg_rows, auto_mpg_expected, converted):
    interpreter = tf.lite.Interpreter(str(converted / "model.tflite"))
    runner = interpreter.get_signature_runner("serving_default")
    feed = {name: np.char.encode(values) if values.dtype.kind == "U" else values
            for name, values in serving_feed(card(converted), auto_mpg_rows).items()}
    np.testing.assert_allclose(runner(**feed)["value"], auto_mpg_expected, **TOLERANCE)


@pytest.mark.slow
def test_image_export_takes_uint8_images(digits, digits_rows, served):
    model_card = card(digits / "export")
    assert model_card["inputs"] == [{"name": "image", "dtype": "uint8", "shape": [None, 8, 8],
                                     "range": [0, 255]}]
    assert model_card["outputs"][0]["columns"] == [str(d) for d in range(10)]
    np.testing.assert_allclose(served["digits-cnn"]["probabilities"],
                               pipeline_answer(digits, digits_rows), **TOLERANCE)


def test_binary_classifier_serves_one_probability_per_class_under_safe_names(tmp_path):
    run("breast-cancer", RunOptions(epochs=1, out=tmp_path / "run", quiet=True, export=True))
    model_card = card(tmp_path / "run" / "export")
    first = model_card["inputs"][0]
    assert (first["name"], first["column"]) == ("mean_radius", "mean radius")
    rows = loaders.load("breast-cancer").features.iloc[:30]
    saved_model = tf.saved_model.load(tmp_path / "run" / "export" / "saved_model")
    feed = {name: tf.constant(values) for name, values in serving_feed(model_card, rows).items()}
    probabilities = saved_model.signatures["serving_default"](**feed)["probabilities"]
    assert model_card["outputs"][0]["columns"] == model_card["classes"] == ["benign", "malignant"]
    np.testing.assert_allclose(probabilities, pipeline_answer(tmp_path / "run", rows), **TOLERANCE)
    np.testing.assert_allclose(np.sum(probabilities, axis=1), 1.0, **TOLERANCE)


def test_export_never_replaces_a_folder_that_is_not_an_export(auto_mpg):
    files = sorted(p.name for p in auto_mpg.iterdir())
    with pytest.raises(UserError, match="is not an export folder"):
        export.export(auto_mpg, auto_mpg)
    assert sorted(p.name for p in auto_mpg.iterdir()) == files


def test_an_interrupted_export_leaves_the_previous_one_whole(auto_mpg, tmp_path, monkeypatch):
    out = tmp_path / "export"
    export.export(auto_mpg, out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def interrupted(_saved_model, path):
        path.write_bytes(b"half a model")
        raise KeyboardInterrupt

    monkeypatch.setitem(export.CONVERTERS, "tflite", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export.export(auto_mpg, out, formats=["savedmodel", "tflite"])
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["export"]  # no temporary folder left behind
