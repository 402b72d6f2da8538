"""The one shape every data set is loaded into: a `Dataset` of features, target and task name.

Tabular loaders (recipes/data/tables.py) return pandas DataFrames whose column dtypes say what each
column is (numbers vs the rest); a CSV's columns also carry their roles (recipes/data/columns.py).
Image loaders (recipes/data/images.py) return uint8 arrays.
"""

from dataclasses import dataclass


@dataclass
class Dataset:
    name: str
    task: str  # "regression" | "binary" | "multiclass"
    features: object  # pandas DataFrame (tables) or uint8 ndarray (images)
    target: object  # pandas Series or ndarray
    test: tuple | None = None  # a fixed (features, target) test split, where the data ships one
    dropped_rows: int = 0  # rows dropped because their target was missing
    columns: list | None = None  # a CSV's columns.Column per feature column, dropped ones too


@dataclass(frozen=True)
class DataOptions:
    """Where data comes from, beyond its name: a CSV file, its target column, how to read it,
    roles for its columns (recipes/data/columns.py's OVERRIDES), a local folder."""

    path: str | None = None
    target: str | None = None
    task: str | None = None  # force the task of a CSV target
    data_dir: str | None = None  # local files (image data sets)
    na_values: tuple = ()  # missing-value markers beyond reading.MISSING_MARKERS
    ignore: tuple = ()  # column names to leave out
    categorical: tuple = ()  # ... to treat as categories, numeric, text or dates
    numeric: tuple = ()
    text: tuple = ()
    date: tuple = ()
    stream: bool | None = None  # read the CSV in batches (recipes/sources/stream.py); None: if it is big
