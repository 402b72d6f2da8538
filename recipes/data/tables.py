"""Tables by name: scikit-learn's and mlxtend's bundled sets, a synthetic line, and any CSV file.

Each loader takes `DataOptions` and returns a `Dataset` whose DataFrame dtypes say what each
column is (numbers vs categories), so one preprocessing path serves every table.
"""

import functools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from mlxtend.data import autompg_data, boston_housing_data
from pandas.api.types import is_numeric_dtype
from sklearn import datasets as sklearn_datasets

import zoo
from recipes.data import columns, reading
from recipes.data.dataset import Dataset
from recipes.errors import UserError
from recipes.roles import numeric



# --- scikit-learn's bundled tables ---------------------------------------------------------


SKLEARN_TABLES = {  # name -> (scikit-learn loader, task)
    "iris": ("load_iris", "multiclass"),
    "wine": ("load_wine", "multiclass"),
    "breast-cancer": ("load_breast_cancer", "binary"),
    "diabetes": ("load_diabetes", "regression"),
}


def sklearn_table(name, _options):
    function, task = SKLEARN_TABLES[name]
    bunch = getattr(sklearn_datasets, function)(as_frame=True)
    target = bunch.target
    if task != "regression":  # class names read better than codes in predictions and plots
        target = target.map(dict(enumerate(bunch.target_names))).astype(str)
    return Dataset(name, task, bunch.data, target.rename("target"))




# --- mlxtend's bundled tables --------------------------------------------------------------

BOSTON_COLUMNS = ["CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX",
                  "PTRATIO", "B", "LSTAT"]
AUTO_MPG_COLUMNS = ["cylinders", "displacement", "horsepower", "weight", "acceleration",
                    "model_year", "origin"]
AUTO_MPG_ORIGIN = {1: "usa", 2: "europe", 3: "japan"}


def boston_housing(_options):
    x, y = boston_housing_data()
    return Dataset("boston-housing", "regression", pd.DataFrame(x, columns=BOSTON_COLUMNS),
                   pd.Series(y, name="MEDV"))


def auto_mpg(_options):
    x, y = autompg_data()
    # mlxtend leaves the car name column empty (NaN); origin is a region code, not a quantity.
    features = pd.DataFrame(x[:, :7], columns=AUTO_MPG_COLUMNS)
    features["origin"] = features["origin"].astype(int).map(AUTO_MPG_ORIGIN).astype("category")
    return Dataset("auto-mpg", "regression", features, pd.Series(y, name="mpg"))


# --- synthetic ------------------------------------------------------------------------------

TRUE_W = (2.0, -3.4)
TRUE_B = 4.2


def linear_synthetic(_options, examples=1000, noise=0.01):
    """y = Xw + b + noise, the first data set of Dive into Deep Learning (3.3)."""
    rng = np.random.default_rng(0)  # the data set is fixed; --seed varies splits and training
    x = rng.normal(0.0, 1.0, size=(examples, len(TRUE_W)))
    y = x @ np.array(TRUE_W) + TRUE_B + rng.normal(0.0, noise, size=examples)
    return Dataset("linear-synthetic", "regression", pd.DataFrame(x, columns=["x1", "x2"]),
                   pd.Series(y, name="y"))


# --- any CSV file ---------------------------------------------------------------------------

def csv(options):
    """Any CSV file as it comes: its target, the task, and each feature column's role
    (recipes/data/columns.py); identifiers, constants and --ignore'd columns are left out."""
    if not options.path:
        raise UserError("the csv data set needs --data PATH and --target COLUMN")
    frame = reading.read_csv(options.path, options.na_values)
    check_target(frame.columns, options)
    features, found = feature_columns(frame.drop(columns=[options.target]), options)
    target = target_values(frame[options.target])
    missing = target.isna()
    features, target = (part[~missing].reset_index(drop=True) for part in (features, target))
    if target.empty:
        raise UserError(f"target column {options.target!r} in {options.path} has no values")
    target = labelled(target)
    task = check_task(target, options.task or infer_task(target), options.target)
    return Dataset(Path(options.path).stem, task, features, target,
                   dropped_rows=int(missing.sum()), columns=found)


def check_target(names, options):
    """--target is given and names one of the file's columns `names`."""
    if not options.target:
        raise UserError(f"--target is required; columns in {options.path}: {', '.join(names)}")
    if options.target not in names:
        raise UserError(f"column {options.target!r} not found in {options.path}"
                        f"{columns.closest(options.target, names)}; columns: {', '.join(names)}")


def feature_columns(text, options):
    """(the kept feature columns: numbers as float64, the rest as text; a `columns.Column` for
    every feature column, dropped ones too)."""
    if text.shape[1] == 0:
        raise UserError(f"{options.path} has no feature columns besides the target "
                        f"{options.target!r}")
    typed, notes = typed_features(text, columns.chosen_roles(text.columns, options))
    found = [replace(c, note=c.note + notes[c.name]) if c.name in notes else c
             for c in columns.infer(typed, options)]
    if not any(c.kept for c in found):
        raise UserError(f"{options.path} has no feature column to learn from: "
                        f"{'; '.join(f'{c.name}: {c.note}' for c in found)}; keep one with "
                        f"--numeric, --categorical or --text")
    features = pd.DataFrame({c.name: typed[c.name] if c.role == "numeric" else text[c.name]
                             for c in found if c.kept})
    return features, found


def typed_features(text, given):
    """The feature columns with numbers as float64 where (nearly) all values are numbers or
    --numeric says so, the rest as text; and a note for each column whose few values that are
    not numbers were read as missing. `given`: {column: override flag}."""
    typed, notes = {}, {}
    for name in text.columns:
        values, not_numbers = numeric.parse_numbers(text[name])
        as_numbers = given.get(name) == "numeric" or (
            given.get(name) in (None, "ignore") and text[name].notna().any()
            and numeric.mostly_numbers(not_numbers, text[name]))
        if as_numbers:
            numeric.check_numbers(text[name], not_numbers, name)
            if not_numbers.any():
                notes[name] = (f"; {not_numbers.sum()} values that are not numbers (such as "
                               f"{text[name][not_numbers].iloc[0]!r}) read as missing")
        typed[name] = values if as_numbers else text[name]
    return pd.DataFrame(typed), notes


def target_values(column):
    """The target as numbers when (nearly) all its values are numbers (the rest read as missing),
    else as the labels it holds."""
    values, not_numbers = numeric.parse_numbers(column)
    return values if column.notna().any() and numeric.mostly_numbers(not_numbers, column) else column


def labelled(target):
    """A target's present values, whole numbers as int64: class labels 0 and 1, not 0.0 and 1.0."""
    present = target.dropna()
    if is_numeric_dtype(present) and (present == present.round()).all():
        return present.astype("int64")
    return present


def infer_task(target):
    """Numbers with many values are a regression target; anything else names classes."""
    values = target.dropna()
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and (values.nunique() > 10 or not np.allclose(values, np.round(values))):
        return "regression"
    return "binary" if values.nunique() == 2 else "multiclass"


def check_task(target, name, column):
    """The task `name`, checked against the target it must learn (zoo.tasks.Task.check_target);
    a target it cannot learn names the --task that could."""
    task = zoo.task(name)
    try:
        task.check_target(target, column)
    except zoo.TargetError as error:
        could = " or ".join(f"--task {name}" for name in error.could)
        raise UserError(f"{error}; use {could}" if could else str(error)) from None
    return task.name


LOADERS = {  # name -> loader(options) -> Dataset
    **{name: functools.partial(sklearn_table, name) for name in SKLEARN_TABLES},
    "boston-housing": boston_housing,
    "auto-mpg": auto_mpg,
    "linear-synthetic": linear_synthetic,
    "csv": csv,
}
