"""`run` on a small table: the recipe's own network or an alternative (Recipe.alternatives),
whichever does better on the validation split (recipes/workflow/choice.py)."""

import json

import numpy as np
import pandas as pd
import pytest

from recipes.data.dataset import DataOptions
from recipes.runs import rundir
from recipes.serving.predict import predict_frame
from recipes.workflow import choice
from recipes.workflow.prepare import prepare
from recipes.workflow.run import RunOptions
from tests.conftest import exit_code


def wave(rows, seed=0):
    """y = 3 sin(3a) + b + noise: a smooth function of its numbers, as concrete's strength is."""
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(-2, 2, rows), rng.normal(size=rows)
    return pd.DataFrame({"a": a, "b": b, "y": 3 * np.sin(3 * a) + b + rng.normal(0, 0.1, rows)})


def categories(rows, seed=0):
    """Every column a category, as car evaluation's: no number to embed."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.choice(["low", "med", "high"], rows) for name in "pqr"})
    frame["y"] = np.where((frame.p == "high") | (frame.q == "low"), "yes", "no")
    return frame


def trained(frame, tmp_path, *more):
    path, out = tmp_path / "rows.csv", tmp_path / "run"
    frame.to_csv(path, index=False)
    assert exit_code(["run", "csv", "--data", str(path), "--target", "y", "--epochs", "8",
                      "--quiet", "--out", str(out), *more]) == 0
    return path, out, json.loads((out / rundir.METRICS_FILE).read_text())


@pytest.mark.parametrize("frame", [wave(600), categories(400)], ids=["numbers", "categories"])
def test_the_kept_network_is_the_one_that_scored_best_on_validation(frame, tmp_path):
    path, out, metrics = trained(frame, tmp_path)
    made = metrics["choice"]
    assert [c["hyperparameters"] for c in made["candidates"]] == [
        {}, {"numeric_embedding": "periodic", "embedding_scale": 1.0}]
    scores = [c["score"] for c in made["candidates"]]
    best = int(np.argmax(scores) if made["score"] == "val_accuracy" else np.argmin(scores))
    assert made["chosen"] == (best if scores[0] != scores[1] else 0)
    kept = made["candidates"][made["chosen"]]["hyperparameters"]
    assert kept.items() <= metrics["hyperparameters"].items()
    assert metrics["train_seconds"] >= sum(c["seconds"] for c in made["candidates"]) - 0.05

    # the saved model is the kept network: its answers to the raw validation rows score as it did
    _, loaded = prepare("csv", RunOptions(data=DataOptions(path=str(path), target="y"),
                                          quiet=True))
    answers = predict_frame(rundir.load(out), loaded.splits.val.features)["prediction"]
    truth = loaded.splits.val.target
    score = (np.mean(answers.astype(str) == np.asarray(truth).astype(str))
             if made["score"] == "val_accuracy" else np.mean(np.abs(answers - truth)))
    assert score == pytest.approx(scores[made["chosen"]], rel=1e-4, abs=1e-6)


def plan_and_loaded(frame, tmp_path, model=None, **hyperparameters):
    path = tmp_path / "rows.csv"
    frame.to_csv(path, index=False)
    return prepare("csv", RunOptions(data=DataOptions(path=str(path), target="y"), quiet=True,
                                     model=model, hyperparameters=hyperparameters))


@pytest.mark.parametrize("rows, model, asked, tried", [
    (600, None, {}, 1),
    (choice.SMALL_TABLE_ROWS - 1, None, {}, 1),
    (choice.SMALL_TABLE_ROWS, None, {}, 0),  # a large table: the recipe's own alone
    (600, None, {"embedding_scale": 0.1}, 0),  # the user set one of its hyperparameters
    (600, None, {"numeric_embedding": "none"}, 0),
    (600, None, {"dropout": 0.2}, 1),  # others are kept, in the alternative too
    (600, "linear_regression", {}, 0),  # not the recipe's model
])
def test_alternatives_are_tried_on_small_tables_the_user_left_them_to(rows, model, asked, tried,
                                                                      tmp_path):
    plan, loaded = plan_and_loaded(wave(rows), tmp_path, model, **asked)
    alternatives = choice.alternatives(plan, loaded, asked)
    assert len(alternatives) == tried
    for alternative in alternatives:
        assert alternative.hyperparameters == {**plan.hyperparameters,
                                               **plan.recipe.alternatives[0]}


def test_a_streamed_file_trains_one_network(tmp_path):
    path = tmp_path / "rows.csv"
    wave(600).to_csv(path, index=False)
    plan, loaded = prepare("csv", RunOptions(data=DataOptions(path=str(path), target="y",
                                                              stream=True), quiet=True))
    assert choice.alternatives(plan, loaded, {}) == []


def test_recipes_without_alternatives_train_one_network():
    plan, loaded = prepare("iris", RunOptions(quiet=True))
    assert plan.recipe.alternatives == () and choice.alternatives(plan, loaded, {}) == []


def test_a_tie_keeps_the_recipe_s_own(tmp_path):
    plan, loaded = plan_and_loaded(wave(600), tmp_path)
    other = choice.alternatives(plan, loaded, {})[0]
    result = type("Result", (), {"epochs_run": 3, "seconds": 1.0})()
    (kept, *_), made = choice.choose(plan, [(plan, "own", result, 2.0),
                                            (other, "alt", result, 2.0)])
    assert kept is plan and made.chosen == 0
    (kept, *_), made = choice.choose(plan, [(plan, "own", result, 2.0),
                                            (other, "alt", result, 1.9)])
    assert kept is other and made.chosen == 1
