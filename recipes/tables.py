"""Tables by name: scikit-learn's and mlxtend's bundled sets, a synthetic line, and any CSV file.

Each loader takes `DataOptions` and returns a `Dataset` whose DataFrame dtypes say what each
column is (numbers vs categories), so one preprocessing path serves every table.
"""

import functools
from pathlib import Path

import numpy as np
import pandas as pd
from mlxtend.data import autompg_data, boston_housing_data
from sklearn import datasets as sklearn_datasets

import zoo
from recipes.data import Dataset
from recipes.errors import UserError



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


def check_task(target, name, column):
    """The task `name`, checked against the target it must learn (zoo.tasks.Task.check_target)."""
    task = zoo.task(name)
    task.check_target(target, column)
    return task.name


LOADERS = {  # name -> loader(options) -> Dataset
    **{name: functools.partial(sklearn_table, name) for name in SKLEARN_TABLES},
    "boston-housing": boston_housing,
    "auto-mpg": auto_mpg,
    "linear-synthetic": linear_synthetic,
    "csv": csv,
}
