"""What each column becomes inside the raw-input model, bounded, and served as it was trained:
dates, free text, many-level categories, piecewise-linear numbers, skewed targets, and which
columns a model uses."""

import io
import json
import subprocess
import sys
from types import SimpleNamespace

import keras
import numpy as np
import pandas as pd
import pytest

import zoo
from recipes.data import reading
from recipes.evaluation import importance
from recipes.features import encoding, parts, preprocess, targets
from recipes.roles import categorical, text
from recipes.data.dataset import Dataset
from tests.conftest import run_cli


def role(name, kind, date_format=None):
    return SimpleNamespace(name=name, role=kind, date_format=date_format)


def fitted(features, roles, target=None, task="binary", **options):
    target = target if target is not None else pd.Series(np.arange(len(features)) % 2).astype(str)
    dataset = Dataset("t", task, features, target, columns=roles)
    return preprocess.fit(dataset, parts.Part(features, target), **options)


def test_a_20000_level_column_and_a_long_text_stay_within_bounded_widths():
    rng = np.random.default_rng(0)
    rows = 40_000
    words = np.array([f"w{i}" for i in range(3000)])
    features = pd.DataFrame({
        "shop": [f"s{i}" for i in rng.integers(0, 20_000, rows)],
        "review": [" ".join(rng.choice(words, 6)) for _ in range(rows)],
    })
    prep = fitted(features, [role("shop", "categorical"), role("review", "text")])
    assert prep.input_shape == (categorical.MAX_LEVELS + text.MAX_TOKENS + 1,)
    x = prep.encode(features.iloc[:1000])
    assert x.shape == (1000, prep.input_shape[0]) and x.dtype == np.float32
    other = x[:, categorical.MAX_LEVELS - 1]  # rare shops share the "other" column
    assert other.mean() > 0.9


def test_numbers_with_many_levels_get_a_piecewise_linear_encoding():
    values = np.linspace(0, 100, 1000)
    features = pd.DataFrame({"x": values, "few": np.arange(1000) % 3})
    prep = fitted(features, None, bins=8)
    x_spec, few_spec = prep.spec["numeric"]
    assert len(x_spec["edges"]) == 9 and "edges" not in few_spec  # 3 levels need no bins
    x = prep.encode(features)
    assert x.shape == (1000, 2 + 8)
    bins = x[:, 2:]
    assert bins.min() == 0 and bins.max() == 1
    assert np.all(np.diff(bins.sum(axis=1)) >= -1e-6)  # the bins fill up as x grows


def test_a_skewed_positive_target_is_learned_in_log_space_and_answered_in_its_units():
    rng = np.random.default_rng(0)
    price = pd.Series(np.exp(rng.normal(10, 1, 500)))
    task = zoo.task("regression")
    scale = targets.fit_scale(task, price, "auto")
    assert scale["transform"] == "log"
    assert targets.fit_scale(task, pd.Series(rng.normal(0, 1, 500)), "auto")["transform"] == \
        "standard"
    encoded = targets.learned(task, price, [], scale)
    assert abs(encoded.mean()) < 1e-5 and abs(encoded.std() - 1) < 1e-3
    np.testing.assert_allclose(np.asarray(targets.served(task, encoded, scale))[:, 0], price,
                               rtol=1e-4)


def test_answers_learned_as_logs_stay_within_the_training_targets_range():
    price = pd.Series(np.exp(np.random.default_rng(0).normal(10, 1, 500)))
    task = zoo.task("regression")
    scale = targets.fit_scale(task, price, "log")
    # a network extrapolating 100 standard deviations out: exp of it is past float32's largest
    outputs = np.array([[100.0], [-100.0]], "float32")
    answers = np.asarray(targets.served(task, outputs, scale))[:, 0]
    np.testing.assert_allclose(answers, [price.max(), price.min()], rtol=1e-4)
    past_the_top = np.array([[scale["high"] + 1]])  # a test target may lie there: not bounded
    assert np.asarray(targets.restored(past_the_top, scale))[0, 0] > 2 * price.max()
    old_scale = {key: scale[key] for key in ("transform", "mean", "scale")}  # an older run's
    assert np.isinf(np.asarray(targets.served(task, outputs[:1], old_scale))).all()


def signal_and_noise():
    """A table of two columns, a binary target read off the first, and a network that reads
    only the first encoded column (signal): sigmoid(20 x signal). (features, target, prep,
    network)"""
    rng = np.random.default_rng(0)
    features = pd.DataFrame({"signal": rng.normal(size=400), "noise": rng.normal(size=400)})
    target = pd.Series(np.where(features["signal"] > 0, "yes", "no"))
    prep = fitted(features, None, target=target)
    inputs = keras.Input(prep.input_shape)
    network = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid", name="head")(inputs))
    network.get_layer("head").set_weights([np.array([[20.0], [0.0]]), np.zeros(1)])
    return features, target, prep, network


def test_permutation_importance_finds_the_column_the_answer_depends_on():
    features, target, prep, network = signal_and_noise()
    found = importance.permutation_importance(network, prep, zoo.task("binary"), features,
                                              target, seed=0)
    assert found["signal"] > 0.3 and abs(found["noise"]) < 1e-9


def test_permutation_importance_scores_a_sample_of_a_large_split(monkeypatch):
    """Past MAX_ROWS rows, every copy is scored on the same seeded sample of that many."""
    monkeypatch.setattr(importance, "MAX_ROWS", 100)
    features, target, prep, network = signal_and_noise()
    predicted_rows = []
    predict = network.predict
    monkeypatch.setattr(network, "predict", lambda x, **kwargs: (
        predicted_rows.append(len(x)), predict(x, **kwargs))[1])
    found = importance.permutation_importance(network, prep, zoo.task("binary"), features,
                                              target, seed=0)
    assert sum(predicted_rows) == 100 * (1 + 2 * 3)  # the rows, and 2 columns x 3 shuffles
    assert found["signal"] > 0.3 and abs(found["noise"]) < 1e-9
    again = importance.permutation_importance(network, prep, zoo.task("binary"), features,
                                              target, seed=0)
    assert again == found  # the same seed, the same sample


def importance_through_the_raw_model(model, prep, task, features, target, seed, repeats=3):
    """The reference: each shuffled raw column fed whole to the raw-input model, in the order
    `permutation_importance` draws its permutations."""
    feed, rng = prep.feed(features), np.random.default_rng(seed)
    mae = lambda answers: float(np.mean(np.abs(np.asarray(answers)[:, 0] - target)))
    baseline = mae(model.predict(feed, verbose=0))
    found = {}
    for column in prep.spec["inputs"]:
        name = column["name"]
        scores = [mae(model.predict({**feed, name: feed[name][rng.permutation(len(target))]},
                                    verbose=0)) for _ in range(repeats)]
        found[column["column"]] = float(np.mean(scores)) - baseline
    return found


@pytest.mark.parametrize("cells", [importance.CELLS_PER_CALL, 1])  # 1: a call per copy
def test_importance_through_encoded_rows_equals_shuffling_raw_columns_through_the_model(
        monkeypatch, cells):
    """Moving encoded rows is shuffling the raw column: numbers with gaps and bins, a category
    with a gap, a date; against the raw-input model answering each shuffled copy whole."""
    monkeypatch.setattr(importance, "CELLS_PER_CALL", cells)
    rng = np.random.default_rng(1)
    rows = 300
    size = rng.normal(size=rows)
    size[::13] = np.nan
    features = pd.DataFrame({
        "size": size, "city": rng.choice(["a", "b", "c", ""], rows),
        "day": pd.date_range("2021-01-01", periods=rows).strftime("%Y-%m-%d")})
    target = pd.Series(rng.normal(size=rows))
    prep = fitted(features, None, target=target, task="regression", bins=8)
    inputs = keras.Input(prep.input_shape)
    keras.utils.set_random_seed(0)
    network = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dense(8, "tanh")(inputs)))
    task = zoo.task("regression")
    model = encoding.raw_model(prep.spec, "regression", network, prep.scale)
    found = importance.permutation_importance(network, prep, task, features, target, seed=3)
    expected = importance_through_the_raw_model(model, prep, task, features, target.to_numpy(), 3)
    assert set(found) == {"size", "city", "day"}
    for column in expected:
        assert found[column] == pytest.approx(expected[column], rel=1e-3, abs=1e-5)
    assert min(abs(v) for v in found.values()) > 1e-4  # every column moved some answers


def test_importance_encodes_each_copy_whole_where_an_encoded_column_mixes_inputs():
    """An encoding whose first column is a + b: moving rows would be wrong, so the copies of
    each input are encoded whole; the answers then depend on a only through that column."""
    a, b = np.arange(8.0), np.arange(8.0)[::-1] * 10
    prep = SimpleNamespace(
        spec={"inputs": [{"name": "a", "column": "a"}, {"name": "b", "column": "b"}]},
        scale=None, classes=[], feed=lambda features: {"a": a, "b": b},
        encode_feed=lambda feed: np.stack([feed["a"] + feed["b"], feed["b"]], axis=1))
    inputs = keras.Input((2,))
    network = keras.Model(inputs, keras.layers.Dense(1, name="head")(inputs))
    network.get_layer("head").set_weights([np.array([[1.0], [-1.0]]), np.zeros(1)])  # = a
    found = importance.permutation_importance(network, prep, zoo.task("regression"), None,
                                              pd.Series(a), seed=0)
    assert found["a"] > 1 and found["b"] == pytest.approx(0, abs=1e-5)


def test_importance_moves_rows_where_a_larger_call_only_rounds_differently():
    """Encoded in a larger call, values can come out a float32 ULP apart (as oneDNN rounds),
    in an input's column and in one no input moves (a date's cycle): that is not mixing, so
    each input's copies are moved rows, two encodings in all (the rows, and the rolled copies
    in one call), not one per shuffle."""
    a, b = np.arange(1.0, 9.0), np.arange(8.0)[::-1] * 10
    cycle = np.linspace(0.3, 0.9, 8)  # a column of each row, whichever input is shuffled
    calls = []

    def encode_feed(feed):
        rows = len(feed["a"])
        calls.append(rows)
        encoded = np.stack([feed["a"], feed["b"], np.resize(cycle, rows)], axis=1)
        encoded = encoded.astype("float32")
        return np.nextafter(encoded, np.float32(np.inf)) if rows > 8 else encoded  # 1 ULP up

    prep = SimpleNamespace(
        spec={"inputs": [{"name": "a", "column": "a"}, {"name": "b", "column": "b"}]},
        scale=None, classes=[], feed=lambda features: {"a": a, "b": b}, encode_feed=encode_feed)
    inputs = keras.Input((3,))
    network = keras.Model(inputs, keras.layers.Dense(1, name="head")(inputs))
    network.get_layer("head").set_weights([np.array([[1.0], [0.0], [0.0]]), np.zeros(1)])  # = a
    found = importance.permutation_importance(network, prep, zoo.task("regression"), None,
                                              pd.Series(a), seed=0)
    assert calls == [8, 16]
    assert found["a"] > 1 and found["b"] == pytest.approx(0, abs=1e-5)


def test_balanced_class_weights_weigh_the_rare_class_up():
    encoded = np.array([[0]] * 90 + [[1]] * 10, dtype="float32")
    weights = zoo.task("binary").balanced_weights(encoded)
    assert weights == {0: pytest.approx(100 / 180), 1: pytest.approx(100 / 20)}


MESSY = """id,when,city,review,price,size
{rows}"""


def messy_csv(path, rows=240, seed=0):
    """Ids, day-first dates, a many-level city, free text, missing values, a skewed price."""
    rng = np.random.default_rng(seed)
    words = ["quiet", "sunny", "flat", "noisy", "garden", "view", "old", "new", "big", "small"]
    lines = []
    for i in range(rows):
        size = np.exp(rng.normal(4, 0.7))  # right-skewed, as sizes and prices are
        review = " ".join(rng.choice(words, 5)) + f" r{i}"
        when = f"{rng.integers(1, 29):02d}/{rng.integers(1, 13):02d}/{rng.integers(2015, 2024)}"
        city = f"c{rng.integers(0, 90)}" if i % 17 else ""
        price = size * 3000 * np.exp(rng.normal(0, 0.2))
        lines.append(f"{1000 + i},{when if i % 23 else '?'},{city},{review},{price:.0f},"
                     f"{size:.1f}" if i % 13 else f"{1000 + i},{when},{city},{review},{price:.0f},")
    path.write_text(MESSY.format(rows="\n".join(lines)) + "\n")
    return path


SERVE = """
import json, sys
import numpy as np, tensorflow as tf
rows = json.load(open(sys.argv[2]))
served = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
feed = {name: tf.constant(values, tf.string if isinstance(values[0], str) else tf.float32)
        for name, values in rows.items()}
print(json.dumps(np.asarray(served(**feed)["value"]).tolist()))
"""


@pytest.mark.slow
def test_predict_and_the_saved_model_answer_raw_messy_rows_as_training_did(tmp_path):
    data = messy_csv(tmp_path / "homes.csv")
    run = tmp_path / "run"
    trained = run_cli("run", "csv", "--data", data, "--target", "price", "--epochs", "2",
                      "--quiet", "--out", run, "--export")
    assert trained.returncode == 0, trained.stderr
    card = json.loads((run / "model_card.json").read_text())
    kinds = {i["column"]: i for i in card["inputs"]}
    assert "id" not in kinds and kinds["when"]["format"] == "%d/%m/%Y"
    assert kinds["review"]["encoding"].startswith("TF-IDF")
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["target_scale"]["transform"] == "log" and "importance" in metrics
    # New rows: an unseen city, unseen words, a missing date, a missing size and city.
    rows = tmp_path / "new.csv"
    rows.write_text("id,when,city,review,price,size\n"
                    "1,01/02/2020,atlantis,brand unseen words here,,55.0\n"
                    "2,?,,quiet garden view,,\n"
                    "3,15/06/2018,c3,noisy old flat,,120\n")
    predicted = run_cli("predict", "--model", run, "--data", rows)
    assert predicted.returncode == 0, predicted.stderr
    values = pd.read_csv(io.StringIO(predicted.stdout))["prediction"].to_numpy()
    assert np.all(np.isfinite(values)) and np.all(values > 0)
    # The same rows the training-time way: the run's encoder layer, its network, the answer.
    model = keras.saving.load_model(run / "model.keras")
    feed = preprocess.table_feed(reading.read_csv(rows), card)
    network = model.get_layer(metrics["model"])
    trained_way = np.asarray(targets.served(
        zoo.task("regression"), network(model.get_layer("encode")(feed)),
        metrics["target_scale"]))[:, 0]
    np.testing.assert_allclose(values, trained_way, rtol=1e-5)
    # And TF Serving's signature, in a fresh process, from the same raw values.
    (tmp_path / "serve.py").write_text(SERVE)
    (tmp_path / "feed.json").write_text(json.dumps({k: v.tolist() for k, v in feed.items()}))
    served = subprocess.run([sys.executable, tmp_path / "serve.py", run / "export" / "saved_model",
                             tmp_path / "feed.json"], capture_output=True, text=True, timeout=300)
    assert served.returncode == 0, served.stderr
    answers = np.asarray(json.loads(served.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(answers[:, 0], values, rtol=1e-5)
