"""Data sets by name, each loaded into one shape: a `Dataset` of features, target and task.

Tabular loaders return pandas DataFrames whose column dtypes say what each column is (numbers vs
categories), so one preprocessing path serves every table, CSV files included.
"""

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recipes.errors import UserError

CLASSIFICATION = ("binary", "multiclass")
TASKS = ("regression", *CLASSIFICATION)


@dataclass
class Dataset:
    name: str
    task: str  # "regression" | "binary" | "multiclass"
    features: object  # pandas DataFrame (tables) or uint8 ndarray (images)
    target: object  # pandas Series or ndarray
    test: tuple | None = None  # a fixed (features, target) test split, where the data ships one
    dropped_rows: int = 0  # rows dropped because their target was missing


@dataclass(frozen=True)
class DataOptions:
    """Where data comes from, beyond its name: a CSV file, its target column, a local folder."""

    path: str | None = None
    target: str | None = None
    task: str | None = None  # force the task of a CSV target
    data_dir: str | None = None  # local files (image data sets)


_LOADERS = {}


def loader(name):
    def decorate(fn):
        _LOADERS[name] = fn
        return fn

    return decorate


def loaders():
    """Every data set's loader by name: the tables' below, the images' in recipes/images.py."""
    from recipes import images  # noqa: F401  (here, not above: images imports this module)

    return _LOADERS


def names():
    return sorted(loaders())


def load(name, options=DataOptions()):
    if name not in loaders():
        raise UserError(f"unknown data set {name!r}; valid: {', '.join(names())}")
    return _LOADERS[name](options)


# --- scikit-learn's bundled tables ---------------------------------------------------------


SKLEARN_TABLES = {  # name -> (scikit-learn loader, task)
    "iris": ("load_iris", "multiclass"),
    "wine": ("load_wine", "multiclass"),
    "breast-cancer": ("load_breast_cancer", "binary"),
    "diabetes": ("load_diabetes", "regression"),
}


def sklearn_table(name, _options):
    from sklearn import datasets as sklearn_datasets

    function, task = SKLEARN_TABLES[name]
    bunch = getattr(sklearn_datasets, function)(as_frame=True)
    target = bunch.target
    if task in CLASSIFICATION:  # class names read better than codes in predictions and plots
        target = target.map(dict(enumerate(bunch.target_names))).astype(str)
    return Dataset(name, task, bunch.data, target.rename("target"))


for _name in SKLEARN_TABLES:
    loader(_name)(functools.partial(sklearn_table, _name))


# --- mlxtend's bundled tables --------------------------------------------------------------

BOSTON_COLUMNS = ["CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX",
                  "PTRATIO", "B", "LSTAT"]
AUTO_MPG_COLUMNS = ["cylinders", "displacement", "horsepower", "weight", "acceleration",
                    "model_year", "origin"]
AUTO_MPG_ORIGIN = {1: "usa", 2: "europe", 3: "japan"}


@loader("boston-housing")
def boston_housing(_options):
    from mlxtend.data import boston_housing_data

    x, y = boston_housing_data()
    return Dataset("boston-housing", "regression", pd.DataFrame(x, columns=BOSTON_COLUMNS),
                   pd.Series(y, name="MEDV"))


@loader("auto-mpg")
def auto_mpg(_options):
    from mlxtend.data import autompg_data

    x, y = autompg_data()
    # mlxtend leaves the car name column empty (NaN); origin is a region code, not a quantity.
    features = pd.DataFrame(x[:, :7], columns=AUTO_MPG_COLUMNS)
    features["origin"] = features["origin"].astype(int).map(AUTO_MPG_ORIGIN).astype("category")
    return Dataset("auto-mpg", "regression", features, pd.Series(y, name="mpg"))


# --- synthetic ------------------------------------------------------------------------------

TRUE_W = (2.0, -3.4)
TRUE_B = 4.2


@loader("linear-synthetic")
def linear_synthetic(_options, examples=1000, noise=0.01):
    """y = Xw + b + noise, the first data set of Dive into Deep Learning (3.3)."""
    rng = np.random.default_rng(0)  # the data set is fixed; --seed varies splits and training
    x = rng.normal(0.0, 1.0, size=(examples, len(TRUE_W)))
    y = x @ np.array(TRUE_W) + TRUE_B + rng.normal(0.0, noise, size=examples)
    return Dataset("linear-synthetic", "regression", pd.DataFrame(x, columns=["x1", "x2"]),
                   pd.Series(y, name="y"))


# --- any CSV file ---------------------------------------------------------------------------


@loader("csv")
def csv(options):
    if not options.path:
        raise UserError("the csv data set needs --data PATH and --target COLUMN")
    frame = read_csv(options.path)
    if not options.target:
        raise UserError(f"--target is required; columns in {options.path}: {', '.join(frame.columns)}")
    if options.target not in frame.columns:
        raise UserError(
            f"column {options.target!r} not found in {options.path}; columns: "
            f"{', '.join(map(str, frame.columns))}{delimiter_hint(frame)}"
        )
    check_mixed_types(frame, options.path)
    target = frame[options.target]
    missing = target.isna()
    frame, target = frame[~missing].reset_index(drop=True), target[~missing].reset_index(drop=True)
    if frame.empty:
        raise UserError(f"target column {options.target!r} in {options.path} has no values")
    task = check_task(target, options.task or infer_task(target), options.target)
    features = frame.drop(columns=[options.target])
    if features.shape[1] == 0:
        raise UserError(f"{options.path} has no feature columns besides the target {options.target!r}")
    return Dataset(Path(options.path).stem, task, features, target, dropped_rows=int(missing.sum()))


def read_csv(path):
    """Read a CSV, turning every way it can be unreadable into a one-line `UserError`."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"CSV file not found: {path}")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise UserError(f"CSV file is empty: {path}") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0]
        raise UserError(f"cannot read {path} as CSV: {first_line}") from None
    if frame.empty:
        raise UserError(f"CSV file has a header but no rows: {path}")
    return frame


def delimiter_hint(frame):
    header = ",".join(map(str, frame.columns))
    for sep in (";", "\t", "|"):
        if sep in header:
            return f" (the file looks {sep!r}-separated; this project reads comma-separated files)"
    return ""


def check_mixed_types(frame, path):
    """Refuse a column of numbers with a few words in it ('?', 'unknown', a repeated header line):
    almost always a data error, which would otherwise turn the column into categories."""
    for column in frame.select_dtypes(exclude=["number", "bool"]).columns:
        values = frame[column].dropna()
        words = values[pd.to_numeric(values, errors="coerce").isna()]
        if len(words) and len(words) <= 0.1 * len(values):  # at least 90% numbers
            raise UserError(f"column {column!r} in {path} mixes numbers and text "
                            f"({words.iloc[0]!r} on line {words.index[0] + 2}); leave missing "
                            f"values empty")


def infer_task(target):
    """Numbers with many values are a regression target; anything else names classes."""
    values = target.dropna()
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and (values.nunique() > 10 or not np.allclose(values, np.round(values))):
        return "regression"
    return "binary" if values.nunique() == 2 else "multiclass"


def check_task(target, task, column):
    if task not in TASKS:
        raise UserError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")
    classes = target.nunique()
    if task == "regression" and not pd.api.types.is_numeric_dtype(target):
        raise UserError(
            f"target {column!r} is not numeric, so it cannot be a regression target; "
            f"use --task binary or --task multiclass"
        )
    if task in CLASSIFICATION and classes < 2:
        raise UserError(f"target {column!r} has a single class ({target.iloc[0]!r}); need at least 2")
    if task == "binary" and classes != 2:
        raise UserError(f"target {column!r} has {classes} classes, so it is not binary; use --task multiclass")
    return task
