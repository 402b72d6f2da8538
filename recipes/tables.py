"""Tables by name: scikit-learn's and mlxtend's bundled sets, a synthetic line, and any CSV file.

Each loader takes `DataOptions` and returns a `Dataset` whose DataFrame dtypes say what each
column is (numbers vs categories), so one preprocessing path serves every table.
"""

import codecs
import csv as csv_module
import functools
import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from mlxtend.data import autompg_data, boston_housing_data
from pandas.api.types import is_numeric_dtype
from sklearn import datasets as sklearn_datasets

import zoo
from recipes import columns
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

# Read as missing wherever they stand alone in a cell, compared stripped and lowercased; the
# empty string stands for empty and whitespace-only cells. --na-values adds more.
MISSING_MARKERS = ("", "?", "na", "n/a", "#n/a", "null", "nan", "none", "-")
SEPARATORS = (",", ";", "\t", "|")  # tried in this order; the first that fits the lines wins ties
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")  # utf-8 (with or without a BOM), then Windows'
SNIFF_LINES = 50


def csv(options):
    """Any CSV file as it comes: its target, the task, and each feature column's role
    (recipes/columns.py); identifiers, constants and --ignore'd columns are left out."""
    if not options.path:
        raise UserError("the csv data set needs --data PATH and --target COLUMN")
    frame = read_csv(options.path, options.na_values)
    if not options.target:
        raise UserError(f"--target is required; columns in {options.path}: "
                        f"{', '.join(frame.columns)}")
    if options.target not in frame.columns:
        raise UserError(f"column {options.target!r} not found in {options.path}; columns: "
                        f"{', '.join(frame.columns)}")
    features, found = feature_columns(frame.drop(columns=[options.target]), options)
    target = target_values(frame[options.target])
    missing = target.isna()
    features, target = (part[~missing].reset_index(drop=True) for part in (features, target))
    if target.empty:
        raise UserError(f"target column {options.target!r} in {options.path} has no values")
    if is_numeric_dtype(target) and (target == target.round()).all():
        target = target.astype("int64")  # class labels 0 and 1, not 0.0 and 1.0
    task = check_task(target, options.task or infer_task(target), options.target)
    return Dataset(Path(options.path).stem, task, features, target,
                   dropped_rows=int(missing.sum()), columns=found)


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
        values, not_numbers = parse_numbers(text[name])
        numeric = given.get(name) == "numeric" or (
            given.get(name) in (None, "ignore") and text[name].notna().any()
            and mostly_numbers(not_numbers, text[name]))
        if numeric:
            check_numbers(text[name], not_numbers, name)
            if not_numbers.any():
                notes[name] = (f"; {not_numbers.sum()} values that are not numbers (such as "
                               f"{text[name][not_numbers].iloc[0]!r}) read as missing")
        typed[name] = values if numeric else text[name]
    return pd.DataFrame(typed), notes


def target_values(column):
    """The target as numbers when (nearly) all its values are numbers (the rest read as missing),
    else as the labels it holds."""
    values, not_numbers = parse_numbers(column)
    return values if column.notna().any() and mostly_numbers(not_numbers, column) else column


def read_csv(path, na_values=()):
    """A CSV file as it comes, as text: NaN for the missing-value markers (MISSING_MARKERS and
    `na_values`), surrounding spaces stripped from names and values, a leading unnamed row
    index dropped. `;`-, tab- and `|`-separated files, latin-1 and Windows files are read; what
    cannot be read is a one-line `UserError`."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"CSV file not found: {path}")
    separator, text = sniffed(path, decoded(path))
    try:
        frame = pd.read_csv(io.StringIO(text), sep=separator, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise UserError(f"CSV file is empty: {path}") from None
    except (pd.errors.ParserError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0]
        raise UserError(f"cannot read {path} as CSV: {first_line}") from None
    if frame.empty:
        raise UserError(f"CSV file has a header but no rows: {path}")
    frame = frame.reset_index(drop=True)  # row names, where the header is one field short
    frame.columns = [str(c).strip() for c in frame.columns]
    repeated = frame.columns[frame.columns.duplicated()]
    if len(repeated):
        raise UserError(f"{path} names column {repeated[0]!r} twice; give each column its own name")
    markers = {m.strip().lower() for m in (*MISSING_MARKERS, *na_values)}
    frame = frame.apply(lambda column: without_markers(column, markers))
    return without_row_index(frame)


def decoded(path):
    """The file's text, in the first of ENCODINGS that reads it (UTF-16 if it says so)."""
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    if b"\x00" in data:
        raise UserError(f"cannot read {path} as CSV: it holds binary data, not text")
    for encoding in ENCODINGS[:-1]:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode(ENCODINGS[-1])  # latin-1 reads any bytes


def sniffed(path, text):
    """(separator, text): the separator of SEPARATORS that splits the first lines into the same
    number of fields as the header, most often and into the most fields; or Excel's "sep=;"
    first line, which is then removed."""
    lines = text.splitlines()[:SNIFF_LINES]
    if not lines or not text.strip():
        raise UserError(f"CSV file is empty: {path}")
    if lines[0].startswith("sep=") and len(lines[0]) == 5:
        return lines[0][4], text.split("\n", 1)[1] if "\n" in text else ""
    return max(SEPARATORS, key=lambda s: fit(lines, s)), text  # max keeps the first of equals


def fit(lines, separator):
    """How well `separator` splits `lines`: (the header has several fields, the share of lines
    with as many fields as the header, how many)."""
    widths = [len(row) for row in csv_module.reader(lines, delimiter=separator) if row]
    agreeing = sum(width == widths[0] for width in widths) / len(widths)
    return widths[0] > 1, agreeing, widths[0]


def without_markers(column, markers):
    text = column.str.strip()
    return text.mask(text.str.lower().isin(markers)).astype(object)


def without_row_index(frame):
    """The frame without a leading unnamed column that numbers the rows: 0, 1, 2, ... (or from
    1), perhaps shuffled, or counting again from 0 or 1 where files were joined."""
    first = frame.columns[0]
    if first not in ("", "Unnamed: 0"):
        return frame
    values, not_numbers = parse_numbers(frame[first])
    if not_numbers.any() or values.isna().any() or not (values == values.round()).all():
        return frame
    steps = values.diff().iloc[1:]
    counting = ((steps == 1) | values.iloc[1:].isin((0, 1))).all() and values.iloc[0] in (0, 1)
    return frame.drop(columns=[first]) if values.is_unique or counting else frame


def parse_numbers(series):
    """(float64 values with NaN for missing and for what is not a number, the mask of values
    that are not numbers): "1,234.5", "$1,234", "€ 12", "12%" (12), "(1,234)" (-1234), "1 234",
    "1.234,5" and "12,5" read as numbers. The one rule for numbers written as text, at training
    and when predicting."""
    if is_numeric_dtype(series):
        values = series.astype("float64")
        return values.where(np.isfinite(values)), pd.Series(False, index=series.index)
    distinct = pd.Index(series.dropna().unique())
    numbers = pd.Series(pd.to_numeric(distinct.astype(str), errors="coerce"), index=distinct)
    failed = numbers.isna()
    if failed.any():
        numbers[failed] = pd.to_numeric(number_text(distinct[failed].astype(str)),
                                        errors="coerce").to_numpy()
    numbers = numbers.where(np.isfinite(numbers))
    values = series.map(numbers).astype("float64")
    return values, series.notna() & values.isna()


def number_text(text):
    """Numbers written for people, rewritten as `pd.to_numeric` reads them."""
    text = pd.Series(text).str.strip()
    negative = text.str.fullmatch(r"\(.*\)")
    text = text.str.strip("()").str.replace(r"[\s$€£¥%]", "", regex=True)
    grouped = text.str.fullmatch(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")  # 1,234,567.8
    european = text.str.fullmatch(r"[+-]?\d{1,3}(?:\.\d{3})+,\d*|[+-]?\d{1,3}(?:\.\d{3}){2,}")
    text = text.mask(grouped, text.str.replace(",", ""))
    text = text.mask(european, text.str.replace(".", "").str.replace(",", "."))
    text = text.mask(~grouped & ~european, text.str.replace(r"^([+-]?\d+),(\d+)$", r"\1.\2",
                                                            regex=True))  # 12,5
    return ("-" + text).where(negative, text)


def mostly_numbers(not_numbers, column):
    """Whether (nearly) all of a column's values are numbers (columns.NEARLY_ALL)."""
    return not_numbers.sum() <= (1 - columns.NEARLY_ALL) * column.notna().sum()


def check_numbers(column, not_numbers, name):
    """A column that must hold numbers does, nearly all; else a UserError naming the first value
    that is not a number."""
    if not mostly_numbers(not_numbers, column):
        row = int(np.flatnonzero(not_numbers.to_numpy())[0])
        raise UserError(f"column {name!r} should hold numbers but holds "
                        f"{column.iloc[row]!r} (row {row + 1})")


def as_numbers(column, name):
    """A column that must hold numbers (a numeric input when predicting) as float64: NaN for
    missing, and for the few values that are not numbers, as the training file's were read."""
    values, not_numbers = parse_numbers(column)
    check_numbers(column, not_numbers, name)
    return values


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
