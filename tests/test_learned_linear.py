"""What a linear model reports it learned (metrics.json's "learned", evaluate.learned_linear):
one weight per encoded column, named, whatever the table's columns are, and weights and
intercept that give back the model's own answers."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from recipes.features import encoding
from recipes.runs import rundir
from recipes.data.dataset import DataOptions
from recipes.workflow.prepare import prepare
from recipes.workflow.run import RunOptions, run


def answers_from_learned(learned, loaded, features):
    """b + sum of w times each column's value: a number's own column's raw value (missing:
    the training median, as the encoder fills it), every other column's encoded value."""
    values = loaded.preprocessing.encode(features).astype("float64")
    for entry in loaded.preprocessing.spec["numeric"]:
        raw = next(c["column"] for c in loaded.preprocessing.spec["inputs"]
                   if c["name"] == entry["name"])
        position = learned["columns"].index(raw)
        values[:, position] = values[:, position] * entry["scale"] + entry["mean"]
    return learned["b"] + values @ np.asarray(learned["w"])


def check_learned(out, name, options):
    """The run in `out`: a weight per encoded column, and its answers on the test rows."""
    learned = rundir.load(out).metrics["learned"]
    _, loaded = prepare(name, options)
    width = encoding.table_width(loaded.preprocessing.spec)
    assert len(learned["w"]) == len(learned["columns"]) == width
    assert len(set(learned["columns"])) == width  # each names one column
    test = loaded.splits.test.features
    served = rundir.load(out).model.predict(loaded.preprocessing.feed(test), verbose=0)[:, 0]
    np.testing.assert_allclose(answers_from_learned(learned, loaded, test), served,
                               rtol=1e-4, atol=1e-3 * np.abs(served).mean())
    return learned


def test_a_table_with_a_category_reports_each_weight(tmp_path):
    """auto-mpg's origin is one-hot: the old report died of a broadcast error."""
    options = RunOptions(model="linear_regression", epochs=2, quiet=True)
    run("auto-mpg", replace(options, out=tmp_path))
    learned = check_learned(tmp_path, "auto-mpg", options)
    assert {"origin = europe", "origin = japan", "origin = usa"} <= set(learned["columns"])
    assert learned["columns"][:2] == ["cylinders", "displacement"]
    assert learned["units"].startswith("the target's")


def table(rows=400, seed=0):
    """A number with missing values, a category with missing values, a date and a text."""
    rng = np.random.default_rng(seed)
    size = rng.normal(50, 20, rows)
    kind = rng.choice(["a", "b", "c"], rows)
    when = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 700, rows), unit="D")
    words = np.array(["red", "round", "small", "old", "new", "big", "flat", "tall"])
    note = [" ".join(rng.choice(words, 3)) for _ in range(rows)]
    y = 3 * size + 40 * (kind == "b") + rng.normal(0, 5, rows)
    frame = pd.DataFrame({"size": size.round(2), "kind": kind, "when": when.strftime("%Y-%m-%d"),
                          "note": note, "y": y.round(2)})
    frame.loc[::13, "size"] = np.nan
    frame.loc[::17, "kind"] = np.nan
    return frame


@pytest.mark.parametrize("transform", ["standard", "none"])
def test_bins_dates_texts_and_missing_values_each_get_their_weight(tmp_path, transform):
    path = tmp_path / "rows.csv"
    table().to_csv(path, index=False)
    options = RunOptions(model="linear_regression", epochs=2, quiet=True,
                         target_transform=transform,
                         data=DataOptions(path=str(path), target="y", date=("when",),
                                          text=("note",)))
    run("csv", replace(options, out=tmp_path / "run"))
    learned = check_learned(tmp_path / "run", "csv", options)
    columns = set(learned["columns"])
    assert {"size", "size is missing", "kind = b", "kind is missing", "note has other words",
            "note has 'red'"} <= columns
    assert any(c.startswith("size fills [") for c in columns)  # the csv recipe's bins
    assert any(c.startswith("when: ") for c in columns)
