"""Recipes end to end: each learns beyond chance, `run` writes every artifact, predict round trip;
every catalog entry names a real loader, builder and task."""

import json

import keras
import numpy as np
import pandas as pd
import pytest

import zoo
from recipes import choices
from recipes.catalog import CATALOG, MODEL_FOR_TASK, RECIPES
from recipes.data import images, loaders, series, tables, text
from recipes.data.dataset import DataOptions
from recipes.errors import UserError
from recipes.evaluation import baselines
from recipes.runs import rundir
from recipes.serving.predict import predict
from recipes.workflow.prepare import prepare
from recipes.workflow.run import RunOptions, run

# Every table recipe that trains with `fit` on data it ships (csv needs --data: tested below).
TABULAR = [recipe.name for recipe in CATALOG if recipe.dataset in tables.LOADERS
           and recipe.dataset != "csv" and recipe.loop == "fit"]


def chance(loaded):
    """What a model that ignores the features scores on test: majority class or train mean."""
    test_target = np.asarray(loaded.splits.test.target)
    if loaded.dataset.task == "regression":
        train_mean = np.mean(loaded.splits.train.target)
        return "mae", float(np.mean(np.abs(test_target - train_mean)))
    majority = pd.Series(loaded.splits.train.target).mode()[0]
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
    key, chance_score = chance(prepare(name, RunOptions())[1])
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
    preprocessing = prepare("iris", RunOptions(seed=metrics["seed"]))[1].preprocessing
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
    issue_s = {"iris", "wine", "breast-cancer", "diabetes", "boston-housing", "auto-mpg",
               "linear-synthetic"}
    assert issue_s | {"csv"} <= set(RECIPES) and issue_s <= set(TABULAR)


def builders_of(recipe):
    """Task -> (builder, hyperparameters) a recipe may train: its own builder, or for "auto" the
    one catalog.MODEL_FOR_TASK picks for each task it may turn out to be (with its additions)."""
    if recipe.model != "auto":  # "infer": any of the tasks its builder does, as the data says
        tasks = zoo.entry(recipe.model).tasks if recipe.task == "infer" else [recipe.task]
        return {task: (recipe.model, recipe.hyperparameters) for task in tasks}
    tasks = zoo.TASKS if recipe.task == "infer" else [recipe.task]
    return {task: (MODEL_FOR_TASK[task][0], {**recipe.hyperparameters, **MODEL_FOR_TASK[task][1]})
            for task in tasks}


@pytest.mark.parametrize("recipe", CATALOG, ids=lambda recipe: recipe.name)
def test_every_recipe_names_a_real_loader_builder_and_task(recipe):
    assert RECIPES[recipe.name] is recipe
    assert recipe.dataset in loaders.names()
    assert recipe.task in (*zoo.TASKS, "infer")
    assert recipe.model in (*zoo.names(), "auto")
    kind = ("images" if recipe.dataset in images.LOADERS else "tokens"
            if recipe.dataset in text.LOADERS else "windows" if recipe.dataset in series.LOADERS
            else "table")  # the zoo's input kind its data becomes
    for task, (builder, hyperparameters) in builders_of(recipe).items():
        assert builder in zoo.names(task), (builder, task)
        assert kind in zoo.entry(builder).inputs, (builder, kind)
        assert set(hyperparameters) <= set(zoo.hyperparameters(builder)), builder
    assert recipe.loop in choices.LOOPS and recipe.target_transform in choices.TARGET_TRANSFORMS
    assert recipe.loop != "scratch" or recipe.model in choices.SCRATCH_MODELS
    assert not recipe.augment or kind == "images"


def test_every_task_has_a_scikit_learn_baseline_scored_by_its_headline():
    for task in zoo.TASKS.values():
        assert hasattr(baselines.reference(task), "fit")
        assert baselines.headline_metric(task)([1, 2], [1, 2]) in (0, 1)


@pytest.mark.parametrize("target, task, message", [
    (["a", "b"], "regression", "target 'y' is not numeric, so it cannot be a regression target; "
                               "use --task binary or --task multiclass$"),
    (["a", "b", "c"], "binary", "has 3 classes, so it is not binary; use --task multiclass$"),
    (["a", "a"], "binary", r"has a single class \('a'\); need at least 2$"),
])
def test_a_target_the_task_cannot_learn_names_the_flag_that_could(target, task, message):
    """The zoo says what is wrong; the recipes, which know the command line, add the flag."""
    with pytest.raises(UserError, match=message):
        tables.check_task(pd.Series(target), task, "y")


def test_class_weights_for_a_regression_target_name_the_flag():
    with pytest.raises(UserError, match="--class-weight balanced: balanced class weights need "
                                        "classes; this target is a regression one"):
        prepare("diabetes", RunOptions(class_weight="balanced", quiet=True))
