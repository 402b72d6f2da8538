"""Data sets by name, CSV loading and task inference, splitting and train-only preprocessing:
statistics learned from the training split only, carried by Keras layers into one raw-input model
that loads in safe mode and answers as it did in memory."""

import json

import keras
import numpy as np
import pandas as pd
import pytest

import zoo
from recipes.data import loaders, tables
from recipes.features import encoding, parts, preprocess
from recipes.data.dataset import DataOptions, Dataset
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
    data = loaders.load(name)
    assert data.task == task
    assert isinstance(data.features, pd.DataFrame)
    assert data.features.shape == (rows, columns)
    assert len(data.target) == rows
    assert not data.target.isna().any()


def test_auto_mpg_origin_is_categorical():
    features = loaders.load("auto-mpg").features
    assert isinstance(features["origin"].dtype, pd.CategoricalDtype)
    assert set(features["origin"]) == {"usa", "europe", "japan"}
    assert features.drop(columns="origin").select_dtypes("number").shape[1] == 6


def test_linear_synthetic_follows_y_equals_xw_plus_b():
    data = loaders.load("linear-synthetic")
    residual = data.target - (data.features.to_numpy() @ np.array([2.0, -3.4]) + 4.2)
    assert abs(residual.mean()) < 0.005 and residual.std() < 0.02


def test_unknown_data_set_lists_valid_names():
    with pytest.raises(UserError, match="unknown data set 'mnist-99'; valid: .*iris"):
        loaders.load("mnist-99")


def write_csv(path, frame):
    frame.to_csv(path, index=False)
    return str(path)


def test_csv_infers_the_task_and_drops_rows_without_target(tmp_path):
    frame = pd.DataFrame({"size": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                          "colour": ["red", "blue", "red", None, "blue", "red"],
                          "label": ["yes", "no", None, "yes", "no", "yes"]})
    data = loaders.load("csv", DataOptions(path=write_csv(tmp_path / "d.csv", frame), target="label"))
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
    assert tables.infer_task(pd.Series(values)) == task


def test_task_can_be_forced(tmp_path):
    frame = pd.DataFrame({"x": range(40), "y": [0, 1, 2, 3] * 10})
    data = loaders.load("csv", DataOptions(path=write_csv(tmp_path / "d.csv", frame), target="y",
                                            task="regression"))
    assert data.task == "regression"


def tabular_dataset(rows=200, seed=0, task="multiclass"):
    rng = np.random.default_rng(seed)
    features = pd.DataFrame({"a": rng.normal(10, 2, rows), "b": rng.normal(-5, 1, rows),
                             "kind": rng.choice(["x", "y", "z"], rows)})
    target = pd.Series(rng.choice(["p", "q", "r"], rows, p=[0.6, 0.3, 0.1]))
    return Dataset("toy", task, features, target)


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


def test_a_large_data_set_validates_on_at_most_val_max_rows_and_trains_on_the_rest():
    rows = 40_000  # test 8,000; 15% of all rows would be 6,000 validation rows
    data = Dataset("large", "regression", pd.DataFrame({"x": np.arange(rows, dtype=float)}),
                   pd.Series(np.arange(rows, dtype=float)))
    cut = preprocess.split(data, seed=0)
    assert [len(cut.train), len(cut.val), len(cut.test)] == [27_000, parts.VAL_MAX_ROWS, 8_000]
    assert len(set(cut.train.features.index) | set(cut.val.features.index)
               | set(cut.test.features.index)) == rows


def test_preprocessing_learns_from_the_training_split_only():
    data = tabular_dataset()
    splits = preprocess.split(data, seed=0)
    prep = preprocess.fit(data, splits.train)
    means = [column["mean"] for column in prep.spec["numeric"]]
    np.testing.assert_allclose(means, splits.train.features[["a", "b"]].mean(), rtol=1e-9)
    # Poisoning every row outside the training split must change nothing that is learned, nor
    # what the training rows become.
    outside = ~data.features.index.isin(splits.train.features.index)
    poisoned = Dataset("toy", data.task, data.features.copy(), data.target.copy())
    poisoned.features.loc[outside, "a"] = 1e6
    poisoned.features.loc[outside, "kind"] = "never-seen"
    poisoned.target.loc[outside] = "s"
    assert preprocess.fit(poisoned, splits.train) == prep
    before = prep.encode(splits.train.features)
    transformed = prep.encode(splits.test.features.assign(a=1e6, kind="never-seen"))
    np.testing.assert_array_equal(prep.encode(splits.train.features), before)
    assert transformed[:, 0].min() > 1e4  # scaled with the train statistics, not its own
    np.testing.assert_array_equal(transformed[:, 2:], 0)  # unknown category: all-zero one-hot


def fitted(features, target, task):
    """The preprocessing fitted on all of `features` and `target` as the training split."""
    return preprocess.fit(Dataset("toy", task, features, target), parts.Part(features, target))


def test_preprocessing_imputes_scales_and_one_hot_encodes():
    features = pd.DataFrame({"n": [1.0, np.nan, 3.0, 5.0], "c": ["u", "v", None, "u"]})
    prep = fitted(features, pd.Series(["no", "yes", "no", "yes"]), "binary")
    x = prep.encode(features)
    assert prep.input_shape == (5,) and x.shape == (4, 5) and x.dtype == np.float32
    assert prep.spec["numeric"][0]["median"] == 3.0  # NaN becomes the median
    np.testing.assert_allclose(x[:, 0].mean(), 0, atol=1e-6)  # median-imputed, standardised
    np.testing.assert_allclose(x[:, 0].std(), 1, atol=1e-6)
    np.testing.assert_array_equal(x[:, 1], [0, 1, 0, 0])  # training had a missing n: a flag
    # Training had a missing c too: missing is its own level, beside "u" and "v".
    np.testing.assert_array_equal(x[:, 2:], [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]])
    complete = fitted(features.fillna({"n": 2.0, "c": "v"}), pd.Series(list("abab")), "binary")
    assert complete.input_shape == (3,)  # no missing values in training: no flag, no level
    missing = complete.encode(pd.DataFrame({"n": [np.nan], "c": [None]}))
    np.testing.assert_array_equal(missing[0, 1:], [1, 0])  # missing c -> the most frequent "u"
    assert prep.classes == ["no", "yes"] and prep.num_outputs == 1
    np.testing.assert_array_equal(prep.encode_target(["yes", "no"]), [[1], [0]])
    answers = np.array([[0.1, 0.9], [0.8, 0.2]])  # the raw-input model's: one column per class
    assert list(zoo.task("binary").decode(answers, prep.classes)) == ["yes", "no"]
    with pytest.raises(UserError, match="label.* maybe were not seen in training"):
        prep.encode_target(["maybe"])


def test_text_in_a_number_column_is_a_user_error():
    features = pd.DataFrame({"n": [1.0, 2.0, 3.0, 4.0], "c": list("uvuv")})
    prep = fitted(features, pd.Series(list("abab")), "binary")
    with pytest.raises(UserError, match=r"column 'n' should hold numbers but holds 'lots'"):
        prep.encode(features.astype({"n": object}).assign(n=["lots", 1, 2, 3]))
    with pytest.raises(UserError, match=r"missing feature column\(s\): c; the model needs: n, c"):
        prep.encode(features.drop(columns="c"))


def test_multiclass_labels_are_one_hot_and_decode_to_names():
    task, classes = zoo.task("multiclass"), ["a", "b", "c"]
    np.testing.assert_array_equal(task.encode(["a", "c"], classes), [[1, 0, 0], [0, 0, 1]])
    assert list(task.decode(np.array([[0.1, 0.7, 0.2]]), classes)) == ["b"]
    with pytest.raises(zoo.ZooError, match="label.* d were not seen in training; known classes: "
                                           "a, b, c"):
        task.encode(["d"], classes)
    prep = fitted(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}), pd.Series(["b", "a", "c", "a"]),
                  "multiclass")
    assert prep.classes == classes and prep.num_outputs == 3


# The network was never trained: its optimizer has not made its slots, which loading reports.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_the_saved_raw_input_model_answers_as_in_memory(tmp_path):
    """The spec is plain JSON; the model built from it and a network saves, reloads in Keras'
    safe mode, and answers raw rows (missing values and unseen categories included) exactly as
    before, its encoder computing what `encode` gave the network."""
    data = tabular_dataset()
    splits = preprocess.split(data, seed=0)
    prep = preprocess.fit(data, splits.train)
    assert json.loads(json.dumps(prep.spec)) == prep.spec
    network = zoo.build("multiclass_classifier", prep.input_shape, prep.num_outputs)
    model = encoding.raw_model(prep.spec, data.task, network)
    rows = splits.test.features.copy()
    rows.iloc[0, rows.columns.get_loc("a")] = np.nan
    rows.iloc[1, rows.columns.get_loc("kind")] = "never-seen"
    rows.iloc[2, rows.columns.get_loc("kind")] = None
    in_memory = model.predict(prep.feed(rows), verbose=0)
    model.save(tmp_path / "model.keras")
    again = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_array_equal(again.predict(prep.feed(rows), verbose=0), in_memory)
    np.testing.assert_allclose(in_memory, network.predict(prep.encode(rows), verbose=0), rtol=1e-6)
    np.testing.assert_array_equal(again.get_layer("encode")(prep.feed(rows)), prep.encode(rows))
    np.testing.assert_allclose(in_memory.sum(axis=1), 1, rtol=1e-6)
