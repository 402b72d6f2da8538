"""The zoo: every registered builder in both APIs, trained a step and saved and loaded; registry
errors; the from-scratch Dense layer; the tasks. (The sequence builders and the scratch
SimpleRNN: tests/test_sequences.py.)"""

import ast
import re
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

import zoo
from zoo.layers import Dense

# A tiny input of each kind a builder may be made for (zoo.INPUT_KINDS), and the classes a
# target of each task names: every registered builder is tested on them, so a new one is too.
TINY_INPUTS = {"table": (5,), "images": (28, 28, 1), "tokens": (12,), "windows": (8, 2)}
TINY_VOCABULARY = 20  # token ids 0..19: padding, out of vocabulary and 18 words
CLASSES = {"regression": [], "binary": ["no", "yes"], "multiclass": ["a", "b", "c"]}
BUILDS = [(name, kind) for name in zoo.names() for kind in zoo.entry(name).inputs]


def layer_shapes(model):
    """Each layer's type and output shape (a functional model also lists its InputLayer)."""
    return [(type(layer).__name__, tuple(layer.output.shape)) for layer in model.layers
            if not isinstance(layer, keras.layers.InputLayer)]


def tiny_inputs(kind, rows, rng):
    """Random inputs of `kind`: token ids are whole numbers in float32, as a recipe casts them."""
    if kind == "tokens":
        return rng.integers(0, TINY_VOCABULARY, size=(rows, *TINY_INPUTS[kind])).astype("float32")
    return rng.uniform(size=(rows, *TINY_INPUTS[kind])).astype("float32")


def tiny_build(name, input_kind, outputs, **hyperparameters):
    """Builder `name` on the tiny input of `input_kind`, with the tiny vocabulary where it takes
    one (a builder's own `kind` may be among `hyperparameters`)."""
    if "vocabulary_size" in zoo.hyperparameters(name):
        hyperparameters = {"vocabulary_size": TINY_VOCABULARY, **hyperparameters}
    return zoo.build(name, TINY_INPUTS[input_kind], outputs, **hyperparameters)


def tiny_problem(name, kind, rows=2):
    """(x, encoded y, the builder's task, its output units): random data builder `name` takes."""
    task = zoo.task(zoo.entry(name).tasks[0])
    classes = CLASSES[task.name]
    rng = np.random.default_rng(0)
    x = tiny_inputs(kind, rows, rng)
    target = rng.choice(classes, rows) if classes else rng.normal(size=rows)
    return x, task.encode(target, classes), task, task.output_units(classes)


def test_the_tiny_inputs_and_classes_cover_every_kind_and_task():
    assert set(TINY_INPUTS) == set(zoo.INPUT_KINDS) and set(CLASSES) == set(zoo.TASKS)
    assert all(zoo.entry(name).tasks and zoo.entry(name).inputs for name in zoo.names())


@pytest.mark.parametrize("name, kind", BUILDS)
def test_both_apis_have_identical_layers_and_parameters(name, kind):
    _, _, _, outputs = tiny_problem(name, kind)
    sequential = tiny_build(name, kind, outputs, api="sequential")
    functional = tiny_build(name, kind, outputs, api="functional")
    assert isinstance(sequential, keras.Sequential)
    assert not isinstance(functional, keras.Sequential)
    assert layer_shapes(sequential) == layer_shapes(functional)
    assert sequential.count_params() == functional.count_params() > 0


@pytest.mark.parametrize("api", ["sequential", "functional"])
@pytest.mark.parametrize("name, kind", BUILDS)
def test_every_builder_trains_a_step_and_survives_a_safe_mode_round_trip(name, kind, api,
                                                                         tmp_path):
    x, y, _, outputs = tiny_problem(name, kind)
    model = tiny_build(name, kind, outputs, api=api)
    before = model.get_weights()
    logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert type(loaded) is type(model) and loaded.count_params() == model.count_params()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("name, kind", BUILDS)
def test_builders_compile_with_their_loss_and_task_metrics(name, kind):
    x, y, task, outputs = tiny_problem(name, kind)
    model = tiny_build(name, kind, outputs, optimizer="rmsprop", learning_rate=0.005)
    assert model.loss == (zoo.hyperparameters(name).get("loss") or task.loss)  # the builder's own
    logs = model.evaluate(x, y, return_dict=True, verbose=0)
    assert set(logs) == {"loss", *(metric.name for metric in task.metrics())}
    assert type(model.optimizer).__name__ == "RMSprop"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.005)


def test_every_builder_is_registered_with_its_task():
    assert {"dense_regressor", "linear_regression", "binary_classifier", "multiclass_classifier",
            "softmax_regression", "mnist_cnn", "keras_io_convnet", "mnist_mlp", "text_classifier",
            "series_forecaster"} <= set(zoo.names())
    assert zoo.names("binary") == ["binary_classifier", "text_classifier"]
    assert {"dense_regressor", "series_forecaster"} <= set(zoo.names("regression"))
    assert zoo.entry("mnist_cnn").inputs == ("images",)
    assert zoo.entry("text_classifier").inputs == ("tokens",)
    assert zoo.entry("series_forecaster").inputs == ("windows",)


def test_a_builder_is_registered_with_known_tasks_and_input_kinds_only():
    with pytest.raises(ValueError, match=r"unknown task\(s\) \['ranking'\]"):
        zoo.register(tasks=("ranking",), inputs=("table",))
    with pytest.raises(ValueError, match=r"unknown input kind\(s\) \['audio'\]; valid: table"):
        zoo.register(tasks=("binary",), inputs=("audio",))


def test_no_zoo_message_names_a_command_line_flag():
    """The zoo is a library: its errors say what is wrong; the recipes, which know the command
    line, add the flag that fixes it (recipes.data.tables.check_task, recipes.workflow.run)."""
    flags = [f"{path.name}:{node.lineno}: {text.value!r}"
             for path in sorted(Path(zoo.__file__).parent.glob("*.py"))
             for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Raise)
             for text in ast.walk(node) if isinstance(text, ast.Constant)
             and isinstance(text.value, str) and re.search(r"--[a-z]", text.value)]
    assert not flags


def test_unknown_builder_lists_the_valid_ones():
    with pytest.raises(zoo.ZooError, match=r"unknown model 'resnet'; valid: .*dense_regressor"):
        zoo.build("resnet", (3,), 1)


def test_unknown_hyperparameter_lists_the_valid_ones():
    with pytest.raises(zoo.ZooError, match=r"no hyperparameter units; valid: hidden_units, .*dropout"):
        zoo.build("dense_regressor", (3,), 1, units=3)


@pytest.mark.parametrize("bad, message", [
    ({"api": "subclassed"}, "unknown api 'subclassed'; valid: sequential, functional"),
    ({"optimizer": "adamax2"}, "unknown optimizer 'adamax2'; valid: adam"),
    ({"dropout": 1.5}, r"dropout must be in \[0, 1\)"),
    ({"learning_rate": -1.0}, "learning_rate must be positive"),
    ({"dense": "numpy"}, "unknown dense implementation 'numpy'; valid: keras, scratch"),
])
def test_bad_hyperparameter_values_are_clear_errors(bad, message):
    with pytest.raises(zoo.ZooError, match=message):
        zoo.build("multiclass_classifier", (4,), 3, **bad)


def test_l2_and_dropout_are_in_the_model():
    model = zoo.build("binary_classifier", (5,), 1, hidden_units=(8, 8), dropout=0.3, l2=0.01)
    dropouts = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert dropouts == [0.3, 0.3]
    model(np.ones((1, 5), "float32"))
    assert len(model.losses) == 3  # one L2 penalty per Dense kernel


def test_scratch_dense_matches_keras_dense_given_the_same_weights():
    x = np.random.default_rng(0).normal(size=(16, 5)).astype("float32")
    reference = keras.layers.Dense(4, activation="relu")
    scratch = Dense(4, activation="relu")
    reference.build((None, 5))
    scratch.build((None, 5))
    scratch.set_weights(reference.get_weights())
    np.testing.assert_allclose(scratch(x), reference(x), rtol=1e-6, atol=1e-6)
    assert [w.shape for w in scratch.weights] == [(5, 4), (4,)]


def test_scratch_dense_replaces_keras_dense_in_a_builder(tmp_path):
    keras_model = zoo.build("multiclass_classifier", (4,), 3, hidden_units=(8,), l2=1e-3)
    scratch_model = zoo.build("multiclass_classifier", (4,), 3, hidden_units=(8,), l2=1e-3,
                              dense="scratch")
    assert any(isinstance(layer, Dense) for layer in scratch_model.layers)
    assert scratch_model.count_params() == keras_model.count_params()
    scratch_model.set_weights(keras_model.get_weights())
    x = np.random.default_rng(1).normal(size=(8, 4)).astype("float32")
    np.testing.assert_allclose(scratch_model.predict(x, verbose=0), keras_model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)
    # The regularizer travels with the layer, and the layer survives a .keras round trip.
    scratch_model(x)
    assert len(scratch_model.losses) == 2
    scratch_model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), scratch_model.predict(x, verbose=0),
                               rtol=1e-6)


# --- tasks --------------------------------------------------------------------------------------


def test_tasks_are_found_by_name_and_a_wrong_name_lists_them():
    assert tuple(zoo.TASKS) == zoo.TASK_NAMES == ("regression", "binary", "multiclass")
    assert all(zoo.task(name).name == name for name in zoo.TASKS)
    with pytest.raises(zoo.ZooError, match="unknown task 'ranking'; valid: regression, binary, "
                                           "multiclass"):
        zoo.task("ranking")


def test_each_task_owns_its_head_headline_and_objective():
    regression, binary, multiclass = (zoo.task(n) for n in ("regression", "binary", "multiclass"))
    assert (regression.loss, regression.activation, regression.headline) == ("mse", None, "mae")
    assert (binary.activation, multiclass.activation) == ("sigmoid", "softmax")
    assert [regression.objective, binary.objective] == ["val_mae", "val_accuracy"]
    assert regression.better(1.0, 2.0) and binary.better(0.9, 0.8)
    assert [t.output_units(["a", "b", "c"]) for t in (regression, binary, multiclass)] == [1, 1, 3]
    assert [t.answer_name for t in (regression, binary, multiclass)] == [
        "value", "probabilities", "probabilities"]
    assert [m.name for m in binary.metrics()] == ["accuracy", "auc"]
    assert [t.loss for t in (binary, multiclass)] == ["binary_crossentropy",
                                                      "categorical_crossentropy"]
    assert [[m.name for m in t.metrics()] for t in (regression, multiclass)] == [["mae"],
                                                                                ["accuracy"]]


def test_targets_encode_for_the_loss_and_answers_decode_to_predictions():
    binary = zoo.task("binary")
    np.testing.assert_array_equal(binary.encode(["yes", "no"], ["no", "yes"]), [[1], [0]])
    answers = np.asarray(binary.answer(np.array([[0.2], [0.9]], "float32")))
    np.testing.assert_allclose(answers, [[0.8, 0.2], [0.1, 0.9]], rtol=1e-6)  # one per class
    assert list(binary.decode(answers, ["no", "yes"])) == ["no", "yes"]
    regression = zoo.task("regression")
    np.testing.assert_array_equal(regression.encode([1.5, 2], []), [[1.5], [2.0]])
    values = np.asarray(regression.answer(np.array([[3.5]], "float32")))
    assert values.dtype == np.float32 and list(regression.decode(values, [])) == [3.5]


def test_output_bias_starts_at_the_mean_or_the_log_odds():
    assert zoo.task("regression").output_bias(np.array([[1.0], [3.0]])) == 2.0
    assert zoo.task("binary").output_bias(np.array([[1.0], [0.0], [0.0], [0.0]])) == \
        pytest.approx(np.log(1 / 3), abs=1e-6)
    assert zoo.task("multiclass").output_bias(np.eye(3)) is None


@pytest.mark.parametrize("name, target, message, could", [
    ("regression", ["a", "b"], "target 'y' is not numeric, so it cannot be a regression target$",
     ("binary", "multiclass")),
    ("binary", ["a", "a"], r"target 'y' has a single class \('a'\); need at least 2$", ()),
    ("binary", ["a", "b", "c"], "target 'y' has 3 classes, so it is not binary$",
     ("multiclass",)),
])
def test_a_target_the_task_cannot_learn_says_which_could(name, target, message, could):
    with pytest.raises(zoo.TargetError, match=message) as raised:
        zoo.task(name).check_target(pd.Series(target), "y")  # a CSV column, as tables.csv passes
    assert raised.value.could == could and isinstance(raised.value, zoo.ZooError)
    for task in could:
        zoo.task(task).check_target(pd.Series(target), "y")  # the tasks named can learn it
