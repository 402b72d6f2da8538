"""How an MLP reads a table's numbers (zoo/numbers.py): smooth clipping (`smooth_clip`) and
periodic embeddings (`numeric_embedding`): the layers' arithmetic, every MLP builder with them
in both APIs, what each does that a plain MLP does not, and a csv run that embeds exactly its
numbers."""

import keras
import numpy as np
import pandas as pd
import pytest

import zoo
from recipes.data.dataset import Dataset
from recipes.features import parts, preprocess
from recipes.runs import rundir
from tests.conftest import exit_code, trains_and_reloads
from zoo.numbers import PeriodicEmbedding, SmoothClip

MLPS = ["dense_regressor", "binary_classifier", "multiclass_classifier"]


def test_each_embedded_column_is_its_own_dense_relu_of_cos_and_sin_and_the_rest_pass():
    layer = PeriodicEmbedding(columns=2, frequencies=3, width=4, scale=1.0)
    x = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    out = np.asarray(layer(x))
    assert out.shape == (5, 2 * 4 + 1) == layer.compute_output_shape((5, 3))
    frequency, kernel, bias = (np.asarray(w, "float64") for w in layer.get_weights())
    for column in range(2):
        angles = 2 * np.pi * x[:, column, None] * frequency[column]
        waves = np.concatenate([np.cos(angles), np.sin(angles)], axis=1)
        expected = np.maximum(waves @ kernel[column] + bias[column], 0)
        np.testing.assert_allclose(out[:, 4 * column:4 * (column + 1)], expected, atol=1e-5)
    np.testing.assert_array_equal(out[:, -1], x[:, 2])  # the third column passes as it is


def test_smooth_clipping_bounds_the_first_columns_keeps_their_order_and_passes_the_rest():
    x = np.array([[0.1, -10.0, 100.0, 7.0], [1.0, 10.0, 1000.0, 8.0]], "float32")
    out = np.asarray(SmoothClip(columns=3)(x))
    expected = x[:, :3] / np.sqrt(1 + (x[:, :3] / 3) ** 2)
    np.testing.assert_allclose(out[:, :3], expected, rtol=1e-6)
    np.testing.assert_array_equal(out[:, 3], x[:, 3])
    assert abs(out[0, 0] - 0.1) < 1e-3  # about the identity near 0
    assert -3 < out[0, 1] < -2.8 and 2.99 < out[0, 2] < out[1, 2] < 3  # bounded, in order


def test_a_number_far_outside_the_training_range_moves_a_clipped_mlp_no_further():
    keras.utils.set_random_seed(0)
    clipped = zoo.build("dense_regressor", (2,), 1, smooth_clip=True, numeric_columns=1)
    keras.utils.set_random_seed(0)
    plain = zoo.build("dense_regressor", (2,), 1)
    far = np.array([[1e3, 0.5], [1e6, 0.5]], "float32")  # a typo's worth of standard deviations
    answers = clipped.predict(far, verbose=0)[:, 0]
    assert abs(answers[1] - answers[0]) < 1e-3  # both read as about 3
    assert abs(plain.predict(far, verbose=0)[1, 0]) > 1e3  # a ReLU MLP extrapolates linearly


def test_without_a_column_count_every_column_is_embedded():
    layer = PeriodicEmbedding(width=2)
    assert np.asarray(layer(np.zeros((1, 3), "float32"))).shape == (1, 6)


@pytest.mark.parametrize("api", ["sequential", "functional"])
@pytest.mark.parametrize("name", MLPS)
def test_every_mlp_trains_with_clipped_and_embedded_numbers_and_loads_in_safe_mode(name, api, tmp_path):
    outputs = 3 if name == "multiclass_classifier" else 1
    model = zoo.build(name, (5,), outputs, api=api, hidden_units=(8,), smooth_clip=True,
                      numeric_embedding="periodic", numeric_columns=3, embedding_scale=0.5)
    embedding = model.get_layer("numeric_embedding")
    assert embedding.columns == 3 and embedding.scale == 0.5
    assert model.get_layer("smooth_clip").columns == 3
    trains_and_reloads(model, "numeric_embedding", tmp_path)


@pytest.mark.parametrize("bad, message", [
    ({"numeric_embedding": "fourier"}, "unknown numeric_embedding 'fourier'; valid: none, periodic"),
    ({"numeric_embedding": "periodic", "embedding_scale": 0.0}, "embedding_scale must be positive"),
    ({"numeric_embedding": "periodic", "numeric_columns": -1}, "numeric_columns must be >= 0"),
])
def test_bad_embedding_arguments_are_clear_errors(bad, message):
    with pytest.raises(zoo.ZooError, match=message):
        zoo.build("dense_regressor", (4,), 1, **bad)


def fit_a_wave(numeric_embedding):
    """Test MAE of a small MLP fitted 20 epochs to y = sin(6x), x uniform in [-2, 2]."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(1024, 1)).astype("float32")
    grid = np.linspace(-2, 2, 400, dtype="float32")[:, None]
    keras.utils.set_random_seed(0)
    model = zoo.build("dense_regressor", (1,), 1, hidden_units=(32,), learning_rate=1e-2,
                      numeric_embedding=numeric_embedding, embedding_scale=1.0)
    model.fit(x, np.sin(6 * x[:, 0]), epochs=20, batch_size=64, verbose=0)
    return float(np.mean(np.abs(model.predict(grid, verbose=0)[:, 0] - np.sin(6 * grid[:, 0]))))


def test_periodic_embeddings_follow_a_target_that_oscillates_where_a_plain_mlp_cannot():
    # measured: plain 0.58 (it draws a smooth curve through the waves), periodic 0.003
    assert fit_a_wave("periodic") < 0.05
    assert fit_a_wave("none") > 0.3


def test_a_table_tells_the_builder_how_many_leading_encoded_columns_are_its_numbers():
    rng = np.random.default_rng(0)
    features = pd.DataFrame({"colour": rng.choice(["red", "blue"], 50), "a": rng.normal(size=50),
                             "b": rng.normal(size=50) * 10 + 3})
    target = pd.Series(rng.choice(["no", "yes"], 50))
    prep = preprocess.fit(Dataset("t", "binary", features, target), parts.Part(features, target),
                          bins=4)
    assert prep.network_arguments == {"numeric_columns": 2}
    encoded = prep.encode(features)
    assert encoded.shape[1] > 2  # categories and piecewise-linear bins follow the numbers
    for i, column in enumerate(["a", "b"]):
        standardised = (features[column] - features[column].mean()) / features[column].std(ddof=0)
        np.testing.assert_allclose(encoded[:, i], standardised, atol=1e-5)


def test_a_csv_run_with_periodic_embeddings_embeds_its_numbers_and_learns(tmp_path):
    rng = np.random.default_rng(1)
    rows = 600
    frame = pd.DataFrame({"x": rng.uniform(-2, 2, rows), "noise": rng.normal(size=rows),
                          "shop": rng.choice(["a", "b", "c"], rows)})
    frame["y"] = np.where(np.sin(4 * frame["x"]) > 0, "up", "down")
    path, out = tmp_path / "waves.csv", tmp_path / "run"
    frame.to_csv(path, index=False)
    assert exit_code(["run", "csv", "--data", str(path), "--target", "y", "--epochs", "20",
                      "--set", "numeric_embedding=periodic", "--set", "embedding_scale=1",
                      "--quiet", "--out", str(out)]) == 0
    run = rundir.load(out)
    assert run.metrics["test"]["accuracy"] > 0.85
    embedding = next(layer for layer in run.model.layers if isinstance(layer, keras.Model)
                     ).get_layer("numeric_embedding")
    assert embedding.columns == 2  # x and noise; the shop's one-hot columns pass as they are


def test_a_table_without_numbers_gets_no_embedding_and_no_clipping():
    model = zoo.build("binary_classifier", (6,), 1, numeric_embedding="periodic",
                      numeric_columns=0, smooth_clip=True)
    assert not any(isinstance(layer, (PeriodicEmbedding, SmoothClip)) for layer in model.layers)
    x = np.eye(6, dtype="float32")
    assert np.isfinite(model.train_on_batch(x, np.ones((6, 1), "float32"),
                                            return_dict=True)["loss"])
