"""`python -m recipes grid`: GridSearchCV over a recipe, its report, and the best retrained as a
run that `predict` and `export` take. Bad grids: tests/test_bad_inputs.py."""

import json

import numpy as np
import pandas as pd
import pytest

from recipes.data import loaders
from recipes.features import encoding, preprocess
from recipes.runs import rundir
from recipes.tuning import grid
from recipes.cli.arguments import grid_values
from recipes.data.dataset import Dataset
from recipes.serving.predict import predict
from tests.conftest import exit_code


@pytest.mark.parametrize("text, values", [
    ("dropout=0,0.3", [0, 0.3]),
    ("hidden_units=(32,),(64, 32)", [(32,), (64, 32)]),
    ("optimizer=adam, rmsprop", ["adam", "rmsprop"]),
    ("dropout=0.1,high", [0.1, "high"]),  # refused by grid, naming the value
    ("dropout=", []),  # likewise
])
def test_param_values_are_python_literals_or_names(text, values):
    assert grid_values(text) == (text.partition("=")[0], values)


@pytest.fixture(scope="module")
def iris_grid(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid") / "iris"
    assert exit_code(["grid", "iris", "--param", "dropout=0,0.2", "--param",
                      "hidden_units=(8,),(16,)", "--cv", "2", "--epochs", "3", "--quiet",
                      "--out", str(out)]) == 0
    return out


def test_grid_writes_its_report_and_a_run(iris_grid):
    table = pd.read_csv(iris_grid / grid.CV_RESULTS_FILE)
    assert list(table.columns) == ["dropout", "hidden_units", "fold_1", "fold_2",
                                   "mean_accuracy", "std_accuracy", "rank", "fit_seconds"]
    assert len(table) == 4 and table["mean_accuracy"].between(0, 1).all()
    np.testing.assert_allclose(table[["fold_1", "fold_2"]].mean(axis=1), table["mean_accuracy"])
    best = json.loads((iris_grid / grid.BEST_FILE).read_text())
    first = table.loc[table["rank"] == 1].iloc[0]
    assert best["score"] == pytest.approx(first["mean_accuracy"])
    assert best["parameters"]["dropout"] == first["dropout"]
    metrics = json.loads((iris_grid / rundir.METRICS_FILE).read_text())
    assert (metrics["tuned"], metrics["tuner"], metrics["cv"], metrics["candidates"]) == \
        (True, "grid", 2, 4)
    assert metrics["best_parameters"] == best["parameters"]
    assert metrics["hyperparameters"]["dropout"] == best["parameters"]["dropout"]
    assert metrics["epochs_run"] == 3 and metrics["trained_on"] == "train+val"
    for name in (grid.PLOT_FILE, "accuracy.png", "loss.png", rundir.HISTORY_FILE,
                 rundir.MODEL_FILE, rundir.CARD_FILE):
        assert (iris_grid / name).stat().st_size > 0, name
    assert not (iris_grid / rundir.STAGING_DIR).exists()


def test_predict_and_export_take_the_grid_s_folder(iris_grid, tmp_path):
    rows = loaders.load("iris").features.head(4)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    assert predict(iris_grid, tmp_path / "rows.csv", tmp_path / "predicted.csv") == 4
    predicted = pd.read_csv(tmp_path / "predicted.csv")
    assert len(predicted) == 4 and set(predicted["prediction"]) <= {"setosa", "versicolor",
                                                                    "virginica"}
    assert exit_code(["export", "--model", str(iris_grid), "--out", str(tmp_path / "export")]) == 0
    assert (tmp_path / "export" / "saved_model" / "saved_model.pb").is_file()


def test_regressors_are_ranked_by_the_smallest_mean_absolute_error(tmp_path):
    assert exit_code(["grid", "diabetes", "--param", "learning_rate=0.0001,0.01", "--cv", "2",
                      "--epochs", "5", "--quiet", "--out", str(tmp_path)]) == 0
    table = pd.read_csv(tmp_path / grid.CV_RESULTS_FILE)
    assert (table["mean_mae"] > 0).all()  # scikit-learn's negated score, turned back
    assert table.loc[table["rank"] == 1, "mean_mae"].iloc[0] == table["mean_mae"].min()
    assert table.loc[table["rank"] == 1, "learning_rate"].iloc[0] == 0.01  # 1e-4 barely moves


def test_the_pipeline_s_preprocessing_is_fitted_on_the_rows_it_is_given_only():
    """What keeps "fit on train only" true inside every fold of the grid's cross-validation."""
    table = pd.DataFrame({"x": [1.0, 2.0, 3.0, 100.0], "kind": ["a", "a", "b", "c"]})
    target = pd.Series(["p", "q", "p", "q"])
    encoder = grid.Encoder(Dataset("fold", "binary", table, target))  # a table, not images
    spec = encoder.fit(table.iloc[:3], target.iloc[:3]).preprocessing_.spec
    assert spec["numeric"][0]["mean"] == pytest.approx(2.0)  # 100.0 is another fold's
    assert spec["categorical"][0]["categories"] == ["a", "b"]  # so is "c"
    np.testing.assert_array_equal(encoder.transform(table)[3, 1:], [0, 0])  # "c": unseen


def test_the_folds_encode_as_the_saved_model_does_and_the_retrain_anneals_over_its_rows(
        tmp_path, monkeypatch):
    """The csv recipe encodes a number with more than 16 levels piecewise over 16 quantile bins:
    each fold's preprocessing is fitted with the run's options (Preprocessing.options), so the
    grid chooses for the encoding it saves, not for one without the bins. The recipe also
    cosine-decays over every step of a run: the retrain on train + validation over its own rows,
    not the training split's."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)  # 300 levels
    path, out = tmp_path / "t.csv", tmp_path / "grid"
    pd.DataFrame({"x": x, "y": np.where(x > 0, "p", "q")}).to_csv(path, index=False)
    fitted, fit = [], preprocess.fit
    monkeypatch.setattr(preprocess, "fit", lambda *args, **kwargs: fitted.append(
        fit(*args, **kwargs)) or fitted[-1])
    assert exit_code(["grid", "csv", "--data", str(path), "--target", "y", "--param",
                      "dropout=0,0.1", "--cv", "2", "--epochs", "2", "--quiet",
                      "--out", str(out)]) == 0
    shipped, *folds = fitted  # the run's, fitted on the training split; then 2 points x 2 folds
    assert len(folds) == 4
    assert len(shipped.spec["numeric"][0]["edges"]) == 17  # 16 bins
    assert encoding.card_inputs(shipped.spec) == rundir.load(out).card["inputs"]
    for fold in folds:
        assert fold.options == shipped.options
        assert len(fold.spec["numeric"][0].get("edges", [])) == 17
        assert encoding.table_width(fold.spec) == encoding.table_width(shipped.spec)
    metrics = json.loads((out / rundir.METRICS_FILE).read_text())
    retrained = metrics["examples"]["train"] + metrics["examples"]["val"]
    assert metrics["hyperparameters"]["decay_steps"] == 2 * -(-retrained // 32)
