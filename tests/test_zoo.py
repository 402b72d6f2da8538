"""The zoo: registry errors, both API forms of every builder, the from-scratch Dense layer."""

import keras
import numpy as np
import pandas as pd
import pytest

import zoo
from zoo.layers import Dense

TABULAR_BUILDERS = {  # builder -> (input shape, outputs, expected loss, expected metrics)
    "dense_regressor": ((7,), 1, "mse", {"mae"}),
    "linear_regression": ((2,), 1, "mse", {"mae"}),
    "binary_classifier": ((30,), 1, "binary_crossentropy", {"accuracy", "auc"}),
    "multiclass_classifier": ((4,), 3, "categorical_crossentropy", {"accuracy"}),
    "softmax_regression": ((4,), 3, "categorical_crossentropy", {"accuracy"}),
}


def layer_shapes(model):
    """Each layer's type and output shape (a functional model also lists its InputLayer)."""
    return [(type(layer).__name__, tuple(layer.output.shape)) for layer in model.layers
            if not isinstance(layer, keras.layers.InputLayer)]


@pytest.mark.parametrize("name", sorted(TABULAR_BUILDERS))
def test_both_apis_have_identical_layers_and_parameters(name):
    shape, outputs, _, _ = TABULAR_BUILDERS[name]
    sequential = zoo.build(name, shape, outputs, api="sequential")
    functional = zoo.build(name, shape, outputs, api="functional")
    assert isinstance(sequential, keras.Sequential)
    assert not isinstance(functional, keras.Sequential)
    assert layer_shapes(sequential) == layer_shapes(functional)
    assert sequential.count_params() == functional.count_params() > 0


@pytest.mark.parametrize("name", sorted(TABULAR_BUILDERS))
def test_builders_compile_with_their_task_loss_and_metrics(name):
    shape, outputs, loss, metrics = TABULAR_BUILDERS[name]
    model = zoo.build(name, shape, outputs, optimizer="rmsprop", learning_rate=0.005)
    assert model.loss == loss
    x = np.zeros((2, *shape), "float32")
    y = np.zeros((2, outputs), "float32")
    logs = model.evaluate(x, y, return_dict=True, verbose=0)
    assert set(logs) == {"loss", *metrics}
    assert type(model.optimizer).__name__ == "RMSprop"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.005)


def test_every_builder_is_registered_with_its_task():
    for name in TABULAR_BUILDERS:
        assert name in zoo.names()
    assert zoo.names("binary") == ["binary_classifier"]
    assert "dense_regressor" in zoo.names("regression")


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


@pytest.mark.parametrize("name, target, message", [
    ("regression", ["a", "b"], "target 'y' is not numeric"),
    ("binary", ["a", "a"], r"target 'y' has a single class \('a'\)"),
    ("binary", ["a", "b", "c"], "target 'y' has 3 classes, so it is not binary"),
])
def test_a_target_the_task_cannot_learn_says_which_could(name, target, message):
    with pytest.raises(zoo.ZooError, match=message):
        zoo.task(name).check_target(pd.Series(target), "y")  # a CSV column, as tables.csv passes
