"""Text and time series end to end: `run text` and `run series` on small files written here,
their plots and baselines, `predict` and the SavedModel answering from raw strings and raw rows,
and each bad input's one line.

The texts: reviews made of a few telling words among filler, so a network that reads words
beats chance by far in a few epochs. The series: a weekly cycle on a trend, daily, with a gap
and missing values, so the loader has something to fill.
"""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.conftest import exit_code

POSITIVE = ["great", "good", "lovely", "excellent", "superb"]
NEGATIVE = ["bad", "awful", "poor", "terrible", "dull"]
FILLER = ["the", "film", "was", "plot", "acting", "really", "quite", "story", "and", "a"]

# A client that knows nothing of this project: TensorFlow, the SavedModel and raw inputs.
FRESH_CLIENT = """
import json, sys
import numpy as np
import tensorflow as tf

serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
inputs = json.load(open(sys.argv[2]))
answers = serve(**{name: tf.constant(value) for name, value in inputs.items()})
print(json.dumps({name: tensor.numpy().tolist() for name, tensor in answers.items()}))
"""


def reviews(rows, seed):
    rng = np.random.default_rng(seed)
    labels = rng.choice(["negative", "positive"], rows)
    texts = [" ".join([*rng.choice(FILLER, 6),
                       *rng.choice(POSITIVE if label == "positive" else NEGATIVE, 2)])
             for label in labels]
    return pd.DataFrame({"id": range(rows), "review": texts, "label": labels})


def daily_series(days=360):
    """A weekly cycle on a trend, with a second value column, 3 missing days, 2 missing values."""
    t = np.arange(days)
    frame = pd.DataFrame({"day": pd.date_range("2020-01-01", periods=days, freq="D")
                          .strftime("%Y-%m-%d"),
                          "sales": 10 + 0.05 * t + 4 * np.sin(2 * np.pi * t / 7),
                          "price": 2 + np.cos(2 * np.pi * t / 7)})
    frame.loc[[days // 7, days // 3], "sales"] = np.nan
    gap = [days // 2, days // 2 + 1, days // 2 + 2]
    return frame.drop(index=gap).sample(frac=1.0, random_state=0)  # in any row order


def served(export_dir, inputs):
    """serving_default's answers in a fresh process: {output name: nested lists}."""
    result = subprocess.run([sys.executable, "-c", FRESH_CLIENT, str(export_dir / "saved_model"),
                             str(inputs)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text")
    reviews(400, seed=0).to_csv(folder / "reviews.csv", index=False)
    out = folder / "run"
    assert exit_code(["run", "text", "--data", str(folder / "reviews.csv"), "--target", "label",
                      "--text", "review", "--set", "kind=bag", "--epochs", "8", "--quiet",
                      "--out", str(out), "--export"]) == 0
    return out


def test_a_text_run_beats_chance_and_carries_the_tfidf_baseline(text_run):
    metrics = json.loads((text_run / "metrics.json").read_text())
    assert metrics["task"] == "binary" and metrics["model"] == "text_classifier"
    assert metrics["test"]["accuracy"] > 0.8  # chance is about 0.5
    assert metrics["baseline"]["model"] == "tfidf_logistic_regression"
    assert metrics["baseline"]["accuracy"] > 0.8
    refit = metrics["refit"]  # the bag of words' second stage, and whether it was kept
    assert refit["epochs_run"] >= 1 and refit["val_loss_after"] <= refit["val_loss_before"]
    assert {"confusion_matrix.png", "misclassified.png"} <= {p.name for p in text_run.iterdir()}
    card = json.loads((text_run / "model_card.json").read_text())
    assert [(i["column"], i["dtype"]) for i in card["inputs"]] == [("review", "string")]


def test_raw_strings_get_the_same_probabilities_from_predict_and_the_saved_model(text_run,
                                                                                   tmp_path):
    texts = ["great lovely film", "awful dull plot", "", "words never seen zyzzyva", "good bad"]
    pd.DataFrame({"review": texts}).to_csv(tmp_path / "new.csv", index=False)
    assert exit_code(["predict", "--model", str(text_run), "--data", str(tmp_path / "new.csv"),
                      "--output", str(tmp_path / "predicted.csv")]) == 0
    predicted = pd.read_csv(tmp_path / "predicted.csv", keep_default_na=False)
    assert list(predicted["prediction"][:2]) == ["positive", "negative"]
    (tmp_path / "inputs.json").write_text(json.dumps({"review": texts}))
    answers = served(text_run / "export", tmp_path / "inputs.json")
    np.testing.assert_allclose(
        answers["probabilities"],
        predicted[["probability_negative", "probability_positive"]].to_numpy(), atol=1e-5)


@pytest.fixture(scope="module", params=[[], ["--set", "instance_norm=True"]],
                ids=["default", "instance_norm"])
def series_run(tmp_path_factory, request):
    """The recipe's forecaster, and one whose reader sees each window on its own scale
    (`instance_norm`, zoo.layers.InstanceNormalized): both serve what they predict."""
    folder = tmp_path_factory.mktemp("series")
    daily_series().to_csv(folder / "sales.csv", index=False)
    out = folder / "run"
    assert exit_code(["run", "series", "--data", str(folder / "sales.csv"), "--time", "day",
                      "--target", "sales", "--features", "price", "--window", "14",
                      "--horizon", "3", "--epochs", "3", "--quiet", "--out", str(out),
                      "--export", *request.param]) == 0
    return folder, out


def test_a_series_run_reports_its_baselines_error_by_step_and_what_it_filled(series_run):
    _, out = series_run
    metrics = json.loads((out / "metrics.json").read_text())
    series = metrics["series"]
    assert (series["step"], series["window"], series["horizon"]) == ("D", 14, 3)
    assert len(series["mae_by_step"]) == 3 and all(v > 0 for v in series["mae_by_step"])
    assert {"persistence", "lagged_ridge"} <= set(series["baselines"])
    assert any("3" in note for note in series["notes"])  # the 3 missing days, filled
    assert {"forecast.png", "horizon_errors.png"} <= {p.name for p in out.iterdir()}


def test_the_saved_model_forecasts_what_predict_does_with_timestamps(series_run, tmp_path):
    folder, out = series_run
    assert exit_code(["predict", "--model", str(out), "--data", str(folder / "sales.csv"),
                      "--output", str(tmp_path / "forecast.csv")]) == 0
    forecast = pd.read_csv(tmp_path / "forecast.csv")
    assert list(forecast["day"]) == ["2020-12-26", "2020-12-27", "2020-12-28"]  # after the last
    assert list(forecast["step"]) == [1, 2, 3]
    rows = daily_series().assign(day=lambda f: pd.to_datetime(f["day"])).sort_values("day")
    last = rows.tail(14)  # the last 14 days hold no gap and no missing value
    (tmp_path / "inputs.json").write_text(json.dumps(
        {"sales": [last["sales"].tolist()], "price": [last["price"].tolist()]}))
    answers = served(out / "export", tmp_path / "inputs.json")
    np.testing.assert_allclose(answers["value"][0], forecast["forecast"], rtol=1e-5, atol=1e-4)


def bad_files(folder):
    table = reviews(40, seed=1)
    table.assign(review="").to_csv(folder / "no_words.csv", index=False)
    table.assign(review=range(40)).to_csv(folder / "numbers.csv", index=False)
    series = daily_series(60)
    series.assign(day="soon").to_csv(folder / "bad_time.csv", index=False)
    pd.concat([series, series.head(1)]).to_csv(folder / "repeated.csv", index=False)
    series.head(12).to_csv(folder / "short.csv", index=False)
    series.to_csv(folder / "good.csv", index=False)


BAD = [  # (arguments after `run`, with {dir} for the files' folder; what the one line says)
    ("text --data {dir}/no_words.csv --text review --target label", "no words"),
    ("text --data {dir}/numbers.csv --text review --target label", "numbers"),
    ("series --data {dir}/bad_time.csv --time day --target sales", "soon"),
    ("series --data {dir}/repeated.csv --time day --target sales", "repeat"),
    ("series --data {dir}/short.csv --time day --target sales --window 14", "rows"),
    ("series --data {dir}/good.csv --time day --target sales --horizon 0", "horizon"),
    ("series --data {dir}/good.csv --time when --target sales", "when"),
    ("csv --data {dir}/good.csv --target sales --time day", "--time"),
    ("co2 --task binary", "--task"),
]


@pytest.mark.parametrize("arguments, says", BAD, ids=[b[0].split(" --")[0] + ": " + b[1]
                                                      for b in BAD])
def test_a_bad_text_or_series_input_is_one_line_and_writes_nothing(arguments, says, tmp_path,
                                                                   capsys):
    bad_files(tmp_path)
    out = tmp_path / "out"
    code = exit_code(["run", *arguments.format(dir=tmp_path).split(), "--quiet",
                      "--out", str(out)])
    error = capsys.readouterr().err.strip()
    assert code == 2 and len(error.splitlines()) == 1 and says in error, error
    assert not out.exists()



def test_tflite_refuses_text_and_series_models_in_one_line(text_run, series_run, tmp_path,
                                                            capfd):
    """TFLite has no string ops (text) and no dynamic tensor lists (an LSTM's): refused in one
    line, the SavedModel untouched; the converter's own logs do not reach the user."""
    for run_dir, name in ((text_run, "text"), (series_run[1], "series")):
        out = tmp_path / name
        assert exit_code(["export", "--model", str(run_dir), "--out", str(out),
                          "--format", "tflite"]) == 2
        error = capfd.readouterr().err.strip()  # what the process's stderr got, C++'s too
        assert error.startswith("error: TFLite cannot convert this model") and \
            len(error.splitlines()) == 1, error
        assert not out.exists()
