"""Data sets by name, CSV loading and task inference, splitting and train-only preprocessing."""

import numpy as np
import pandas as pd
import pytest

from recipes import datasets, preprocess
from recipes.datasets import DataOptions
from recipes.errors import UserError

TABULAR = {  # name -> (task, rows, feature columns)
    "iris": ("multiclass", 150, 4),
    "wine": ("multiclass", 178, 13),
    "breast-cancer": ("binary", 569, 30),
    "diabetes": ("regression", 442, 10),
    "boston-housing": ("regression", 506, 13),
    "auto-mpg": ("regression", 392, 7),
    "linear-synthetic": ("regression", 1000, 2),
}


@pytest.mark.parametrize("name", sorted(TABULAR))
def test_named_data_sets_load_as_typed_frames(name):
    task, rows, columns = TABULAR[name]
    data = datasets.load(name)
    assert data.task == task
    assert isinstance(data.features, pd.DataFrame)
    assert data.features.shape == (rows, columns)
    assert len(data.target) == rows
    assert not data.target.isna().any()


def test_auto_mpg_origin_is_categorical():
    features = datasets.load("auto-mpg").features
    assert isinstance(features["origin"].dtype, pd.CategoricalDtype)
    assert set(features["origin"]) == {"usa", "europe", "japan"}
    assert features.drop(columns="origin").select_dtypes("number").shape[1] == 6


def test_linear_synthetic_follows_y_equals_xw_plus_b():
    data = datasets.load("linear-synthetic")
    residual = data.target - (data.features.to_numpy() @ np.array([2.0, -3.4]) + 4.2)
    assert abs(residual.mean()) < 0.005 and residual.std() < 0.02


def test_unknown_data_set_lists_valid_names():
    with pytest.raises(UserError, match="unknown data set 'mnist-99'; valid: .*iris"):
        datasets.load("mnist-99")


def write_csv(path, frame):
    frame.to_csv(path, index=False)
    return str(path)


def test_csv_infers_the_task_and_drops_rows_without_target(tmp_path):
    frame = pd.DataFrame({"size": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                          "colour": ["red", "blue", "red", None, "blue", "red"],
                          "label": ["yes", "no", None, "yes", "no", "yes"]})
    data = datasets.load("csv", DataOptions(path=write_csv(tmp_path / "d.csv", frame), target="label"))
    assert data.task == "binary"
    assert data.dropped_rows == 1
    assert list(data.features.columns) == ["size", "colour"]
    assert len(data.target) == 5


@pytest.mark.parametrize("values, task", [
    (np.linspace(0, 1, 50), "regression"),
    ([0, 1] * 25, "binary"),
    ([0, 1, 2, 3] * 12 + [0, 1], "multiclass"),
    (["cat", "dog", "eel"] * 16 + ["cat", "dog"], "multiclass"),
])
def test_task_inference(values, task):
    assert datasets.infer_task(pd.Series(values)) == task


def test_task_can_be_forced(tmp_path):
    frame = pd.DataFrame({"x": range(40), "y": [0, 1, 2, 3] * 10})
    data = datasets.load("csv", DataOptions(path=write_csv(tmp_path / "d.csv", frame), target="y",
                                            task="regression"))
    assert data.task == "regression"


def tabular_dataset(rows=200, seed=0, task="multiclass"):
    rng = np.random.default_rng(seed)
    features = pd.DataFrame({"a": rng.normal(10, 2, rows), "b": rng.normal(-5, 1, rows),
                             "kind": rng.choice(["x", "y", "z"], rows)})
    target = pd.Series(rng.choice(["p", "q", "r"], rows, p=[0.6, 0.3, 0.1]))
    return datasets.Dataset("toy", task, features, target)


def test_split_is_stratified_and_fixed_by_seed():
    data = tabular_dataset()
    first, again, other = (preprocess.split(data, seed=s) for s in (1, 1, 2))
    assert first.train.features.index.equals(again.train.features.index)
    assert not first.train.features.index.equals(other.train.features.index)
    sizes = [len(first.train), len(first.val), len(first.test)]
    assert sum(sizes) == 200 and sizes == [130, 30, 40]
    overall = data.target.value_counts(normalize=True)
    for part in (first.train, first.val, first.test):
        np.testing.assert_allclose(part.target.value_counts(normalize=True)[overall.index], overall,
                                   atol=0.05)


def test_preprocessor_learns_from_the_training_split_only():
    data = tabular_dataset()
    splits = preprocess.split(data, seed=0)
    prep = preprocess.TabularPreprocessor(data.task).fit(splits.train.features, splits.train.target)
    scaler = prep.column_transformer.named_transformers_["numeric"]["scale"]
    np.testing.assert_allclose(scaler.mean_, splits.train.features[["a", "b"]].mean(), rtol=1e-9)
    # Poisoning the test rows must change nothing the preprocessor learned or produces for train.
    before = prep.transform(splits.train.features)
    poisoned = splits.test.features.assign(a=1e6, kind="never-seen")
    transformed = prep.transform(poisoned)
    np.testing.assert_array_equal(prep.transform(splits.train.features), before)
    assert transformed[:, 0].min() > 1e4  # scaled with the train statistics, not its own
    np.testing.assert_array_equal(transformed[:, 2:], 0)  # unknown category: all-zero one-hot


def test_preprocessor_imputes_scales_and_one_hot_encodes():
    features = pd.DataFrame({"n": [1.0, np.nan, 3.0, 5.0], "c": ["u", "v", None, "u"]})
    prep = preprocess.TabularPreprocessor("binary").fit(features, pd.Series(["no", "yes", "no", "yes"]))
    x = prep.transform(features)
    assert prep.input_shape == (3,) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, 0].mean(), 0, atol=1e-6)  # median-imputed, standardised
    np.testing.assert_array_equal(x[:, 1:], [[1, 0], [0, 1], [1, 0], [1, 0]])  # None -> "u"
    assert prep.classes == ["no", "yes"]
    np.testing.assert_array_equal(prep.encode_target(["yes", "no"]), [[1], [0]])
    assert list(prep.decode(np.array([[0.9], [0.2]]))) == ["yes", "no"]


def test_multiclass_labels_are_one_hot_and_decode_to_names():
    encoder = preprocess.TargetEncoder("multiclass").fit(["b", "a", "c", "a"])
    np.testing.assert_array_equal(encoder.encode(["a", "c"]), [[1, 0, 0], [0, 0, 1]])
    assert list(encoder.decode(np.array([[0.1, 0.7, 0.2]]))) == ["b"]
    with pytest.raises(UserError, match="label.* d were not seen in training; known classes: a, b, c"):
        encoder.encode(["d"])


def test_preprocessor_round_trips_through_disk(tmp_path):
    data = tabular_dataset()
    prep = preprocess.TabularPreprocessor(data.task).fit(data.features, data.target)
    prep.save(tmp_path / "p.joblib")
    again = preprocess.load_preprocessor(tmp_path / "p.joblib")
    np.testing.assert_array_equal(again.transform(data.features), prep.transform(data.features))
    assert again.classes == prep.classes
