"""Recipes end to end: each learns beyond chance, `run` writes every artifact, predict round trip."""

import json

import keras
import numpy as np
import pandas as pd
import pytest

from recipes.data import loaders
from recipes.runs import rundir
from recipes.catalog import RECIPES
from recipes.data.dataset import DataOptions
from recipes.serving.predict import predict
from recipes.workflow.run import RunOptions, prepare, run

TABULAR = ["iris", "wine", "breast-cancer", "diabetes", "boston-housing", "auto-mpg",
           "linear-synthetic"]


def chance(prepared):
    """What a model that ignores the features scores on test: majority class or train mean."""
    test_target = np.asarray(prepared.splits.test.target)
    if prepared.dataset.task == "regression":
        train_mean = np.mean(prepared.splits.train.target)
        return "mae", float(np.mean(np.abs(test_target - train_mean)))
    majority = pd.Series(prepared.splits.train.target).mode()[0]
    return "accuracy", float(np.mean(test_target.astype(str) == str(majority)))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every tabular recipe, 3 epochs, trained once for the tests below."""
    root = tmp_path_factory.mktemp("runs")
    return {name: (root / name, run(name, RunOptions(epochs=3, quiet=True, out=root / name)))
            for name in TABULAR}


@pytest.mark.parametrize("name", TABULAR)
def test_recipe_learns_beyond_chance_in_three_epochs(runs, name):
    _, metrics = runs[name]
    key, chance_score = chance(prepare(name, RunOptions()))
    if key == "mae":
        assert metrics["test"]["mae"] < 0.9 * chance_score
    else:
        assert metrics["test"]["accuracy"] > chance_score + 0.15


def test_run_writes_every_artifact(runs):
    out, metrics = runs["breast-cancer"]
    for name in ("metrics.json", "history.csv", "accuracy.png", "loss.png", "model.keras",
                 "model_card.json", "checkpoint.weights.h5"):
        assert (out / name).stat().st_size > 0, name
    assert not [p.name for p in out.iterdir() if p.suffix in rundir.PICKLE_SUFFIXES]
    assert any((out / "logs").rglob("events.out.tfevents.*"))
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["test"] == metrics["test"] and saved["recipe"] == "breast-cancer"
    for key in ("recipe", "dataset", "task", "model", "api", "loop", "seed", "epochs_run",
                "train_seconds", "examples_per_second", "device", "test", "baseline", "versions"):
        assert key in metrics, key
    assert metrics["loop"] == "fit" and metrics["epochs_run"] == 3
    assert set(metrics["test"]) >= {"accuracy", "auc", "loss"}
    assert 0.5 < metrics["baseline"]["accuracy"] <= 1
    history = pd.read_csv(out / "history.csv")
    assert list(history["epoch"]) == [1, 2, 3]
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(history.columns)


def test_regression_runs_plot_mae(runs):
    out, metrics = runs["auto-mpg"]
    assert (out / "mae.png").exists() and not (out / "accuracy.png").exists()
    assert metrics["baseline"]["mae"] > 0


def test_linear_synthetic_recovers_w_and_b(tmp_path):
    metrics = run("linear-synthetic", RunOptions(quiet=True, seed=3, out=tmp_path))
    learned = metrics["learned"]
    np.testing.assert_allclose(learned["w"], [2.0, -3.4], atol=0.02)
    assert learned["b"] == pytest.approx(4.2, abs=0.02)


def test_predict_round_trip_gives_the_run_s_predictions(runs, tmp_path):
    """`predict` on raw rows answers as the training-time pipeline does: the preprocessing
    fitted on the run's training split encodes the rows, the trained network answers."""
    out, metrics = runs["iris"]
    finished = rundir.load(out)
    assert finished.metrics["test"] == metrics["test"]
    rows = loaders.load("iris").features.sample(12, random_state=0)
    rows.to_csv(tmp_path / "new.csv", index=False)
    assert predict(out, tmp_path / "new.csv", tmp_path / "preds.csv") == 12
    written = pd.read_csv(tmp_path / "preds.csv")
    assert list(written.columns) == ["prediction", "probability_setosa",
                                     "probability_versicolor", "probability_virginica"]
    preprocessing = prepare("iris", RunOptions(seed=metrics["seed"])).preprocessing
    network = next(layer for layer in finished.model.layers if isinstance(layer, keras.Model))
    expected = network.predict(preprocessing.encode(rows), verbose=0)
    np.testing.assert_allclose(written.iloc[:, 1:].to_numpy(), expected, rtol=1e-5, atol=1e-6)
    assert set(written["prediction"]) <= {"setosa", "versicolor", "virginica"}


def test_csv_recipe_trains_on_any_file(tmp_path):
    frame = loaders.load("auto-mpg").features.assign(mpg=loaders.load("auto-mpg").target)
    frame.loc[::25, "mpg"] = np.nan  # rows without a target are dropped and counted
    frame.to_csv(tmp_path / "cars.csv", index=False)
    metrics = run("csv", RunOptions(epochs=2, quiet=True, out=tmp_path / "run",
                                    data=DataOptions(path=str(tmp_path / "cars.csv"),
                                                     target="mpg")))
    assert metrics["task"] == "regression" and metrics["model"] == "dense_regressor"
    assert metrics["dropped_rows"] == 16
    assert sum(metrics["examples"].values()) == len(frame) - 16


def test_sequential_api_runs_too(tmp_path):
    metrics = run("iris", RunOptions(epochs=2, quiet=True, api="sequential", out=tmp_path))
    assert metrics["api"] == "sequential"


def test_catalog_covers_the_issue_s_recipes():
    assert set(TABULAR) | {"csv"} <= set(RECIPES)
