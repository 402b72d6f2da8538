"""The one shape every data set is loaded into: a `Dataset` of features, target and task name.

Tabular loaders (recipes/tables.py) return pandas DataFrames whose column dtypes say what each
column is (numbers vs categories); image loaders (recipes/images.py) return uint8 arrays.
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


@dataclass(frozen=True)
class DataOptions:
    """Where data comes from, beyond its name: a CSV file, its target column, a local folder."""

    path: str | None = None
    target: str | None = None
    task: str | None = None  # force the task of a CSV target
    data_dir: str | None = None  # local files (image data sets)
