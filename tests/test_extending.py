"""What docs/architecture.md promises a newcomer, done for real: a model, a data set, a recipe
and an export format each added as one entry, and each works through the command line at once.
(A column role: tests/test_roles.py's toy boolean role.) Every addition is undone after its test.
"""

import json

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

import zoo
from recipes import catalog, choices
from recipes.data import loaders
from recipes.data.dataset import Dataset
from recipes.serving import export
from zoo.common import compile_for
from tests.conftest import exit_code


def tiny_regressor(input_shape, num_outputs, *, api="functional", units=4):
    """A toy builder: one hidden layer, compiled for regression."""
    inputs = keras.Input(input_shape)
    outputs = keras.layers.Dense(num_outputs)(keras.layers.Dense(units, activation="relu")(inputs))
    return compile_for(keras.Model(inputs, outputs), "regression")


def line(options):
    """A toy data set: y = 3x + 1 plus a little noise, 200 rows."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 200)
    target = pd.Series(3 * x + 1 + rng.normal(0, 0.05, 200))
    return Dataset("toy-line", "regression", pd.DataFrame({"x": x}), target)


def test_a_model_is_one_decorated_builder(monkeypatch, tmp_path):
    monkeypatch.setattr(zoo.registry, "_REGISTRY", dict(zoo.registry._REGISTRY))
    zoo.register(tasks=("regression",), inputs=("table",))(tiny_regressor)
    assert "tiny_regressor" in zoo.names("regression")
    out = tmp_path / "run"
    assert exit_code(["run", "diabetes", "--model", "tiny_regressor", "--set", "units=3",
                      "--epochs", "1", "--quiet", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "tiny_regressor" and metrics["hyperparameters"]["units"] == 3


def test_a_data_set_and_its_recipe_are_one_entry_each(monkeypatch, tmp_path):
    monkeypatch.setitem(loaders.LOADERS, "toy-line", line)
    monkeypatch.setitem(catalog.RECIPES, "toy-line", catalog.Recipe(
        "toy-line", "toy-line", "dense_regressor", "regression", {"hidden_units": (8,), "learning_rate": 3e-2},
        epochs=40, batch_size=16, patience=40))
    out = tmp_path / "run"
    assert exit_code(["run", "toy-line", "--quiet", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"] == "toy-line"
    assert metrics["test"]["mae"] < 0.5  # y spans [-2, 4]: well under guessing the mean (~1.5)


def to_weights_json(saved_model, path):
    """A toy converter: the SavedModel's variables' names and shapes, as JSON."""
    loaded = tf.saved_model.load(str(saved_model))
    path.write_text(json.dumps({v.name: v.shape.as_list() for v in loaded.variables}))


def test_an_export_format_is_one_converter_and_its_file_name(monkeypatch, iris_run, tmp_path):
    formats = (*choices.FORMATS, "weights-json")
    monkeypatch.setattr(choices, "FORMATS", formats)
    monkeypatch.setattr(export, "FORMATS", formats)
    monkeypatch.setitem(export.FORMAT_FILES, "weights-json", "weights.json")
    monkeypatch.setitem(export.CONVERTERS, "weights-json", to_weights_json)
    out = tmp_path / "export"
    assert exit_code(["export", "--model", str(iris_run), "--out", str(out),
                      "--format", "savedmodel", "--format", "weights-json"]) == 0
    shapes = json.loads((out / "weights.json").read_text())
    assert shapes and all(isinstance(shape, list) for shape in shapes.values())
    assert json.loads((out / "model_card.json").read_text())["files"]["weights-json"] == "weights.json"
