"""Ensembles inside one network (zoo.efficient_ensemble.EfficientEnsemble, the MLPs'
`members`): the answer is the mean of the members' answers, training moves every member, every
MLP builds, trains and loads in safe mode with it, and a csv run uses it."""

import keras
import numpy as np
import pandas as pd
import pytest

import zoo
from recipes.runs import rundir
from tests.conftest import exit_code, trains_and_reloads
from zoo.efficient_ensemble import EfficientEnsemble

MLPS = ["dense_regressor", "binary_classifier", "multiclass_classifier"]


def small_ensemble(members=3, activation="softmax"):
    """An ensemble of `members` over a shared Dense(4, relu), heads of 2 units; built."""
    keras.utils.set_random_seed(0)
    body = keras.Sequential([keras.layers.Dense(4, activation="relu")])
    layer = EfficientEnsemble(body, members, 2, activation=activation, bias=0.5)
    x = np.random.default_rng(0).normal(size=(7, 5)).astype("float32")
    layer(x)
    return layer, x


def by_hand(layer, x, member):
    """Member `member`'s answers to rows `x`, from the layer's weights in numpy."""
    kernel, bias = (np.asarray(w, "float64") for w in layer.body.get_weights())
    scaling = np.asarray(layer.scaling)[member]
    hidden = np.maximum((x * scaling) @ kernel + bias, 0)
    logits = hidden @ np.asarray(layer.kernel)[member] + np.asarray(layer.bias)[member]
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def test_the_answer_is_the_mean_of_the_members_answers():
    layer, x = small_ensemble()
    members = np.stack([by_hand(layer, x, m) for m in range(3)], axis=1)
    np.testing.assert_allclose(np.asarray(layer.member_answers(x)), members, atol=1e-5)
    np.testing.assert_allclose(np.asarray(layer(x)), members.mean(axis=1), atol=1e-5)
    np.testing.assert_allclose(np.asarray(layer(x)).sum(axis=1), 1.0, atol=1e-5)
    assert members.std(axis=1).max() > 1e-3  # the members differ from the start


def test_one_training_step_moves_every_members_scaling_and_head():
    layer, x = small_ensemble()
    model = keras.Sequential([keras.Input((5,)), layer])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="categorical_crossentropy")
    before = [np.asarray(w) for w in (layer.scaling, layer.kernel, layer.bias)]
    model.train_on_batch(x, np.eye(2)[np.arange(7) % 2])
    for old, new in zip(before, (layer.scaling, layer.kernel, layer.bias)):
        assert all(not np.allclose(old[m], np.asarray(new)[m]) for m in range(3))


def test_members_start_with_random_signs_and_heads_at_the_bias():
    layer, _ = small_ensemble(members=4)
    assert set(np.unique(np.asarray(layer.scaling))) == {-1.0, 1.0}
    np.testing.assert_array_equal(np.asarray(layer.bias), 0.5)


@pytest.mark.parametrize("api", ["sequential", "functional"])
@pytest.mark.parametrize("name", MLPS)
def test_every_mlp_trains_with_members_and_loads_in_safe_mode(name, api, tmp_path):
    outputs = 3 if name == "multiclass_classifier" else 1
    model = zoo.build(name, (5,), outputs, api=api, hidden_units=(8, 8), members=4, l2=1e-4)
    ensemble = model.get_layer("output")
    assert ensemble.members == 4 and ensemble.compute_dtype == "float32"
    trains_and_reloads(model, "output", tmp_path)


@pytest.mark.parametrize("bad, message", [
    ({"members": 0}, "members must be positive, got 0"),
    ({"members": 2, "hidden_units": ()}, "members=2 share the hidden layers, and hidden_units is"),
])
def test_bad_member_arguments_are_clear_errors(bad, message):
    with pytest.raises(zoo.ZooError, match=message):
        zoo.build("dense_regressor", (4,), 1, **bad)


def test_a_csv_run_with_members_learns_and_its_members_disagree(tmp_path):
    rng = np.random.default_rng(1)
    rows = 600
    frame = pd.DataFrame({"x": rng.uniform(-2, 2, rows), "noise": rng.normal(size=rows),
                          "shop": rng.choice(["a", "b", "c"], rows)})
    frame["y"] = 3 * frame["x"] + (frame["shop"] == "b") * 2 + rng.normal(0, 0.3, rows)
    path, out = tmp_path / "table.csv", tmp_path / "run"
    frame.to_csv(path, index=False)
    assert exit_code(["run", "csv", "--data", str(path), "--target", "y", "--epochs", "15",
                      "--set", "members=4", "--quiet", "--out", str(out)]) == 0
    run = rundir.load(out)
    assert run.metrics["test"]["mae"] < 0.6  # the target's spread is about 3.6; its noise 0.3
    network = next(layer for layer in run.model.layers if isinstance(layer, keras.Model))
    ensemble = network.get_layer("output")
    encoded = np.random.default_rng(2).normal(size=(20, network.inputs[0].shape[1]))
    answers = np.asarray(ensemble.member_answers(encoded.astype("float32")))
    assert answers.shape == (20, 4, 1) and answers.std(axis=1).mean() > 1e-3
