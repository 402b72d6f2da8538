"""The one shape every data set is loaded into: a `Dataset` of features, target and task name.

Tabular loaders (recipes/data/tables.py) return pandas DataFrames whose column dtypes say what each
column is (numbers vs the rest); a CSV's columns also carry their roles (recipes/data/columns.py).
Image loaders (recipes/data/images.py) return uint8 arrays.
"""

from dataclasses import dataclass, field, make_dataclass

from recipes.choices import COLUMN_OVERRIDES


@dataclass
class Dataset:
    name: str
    task: str  # "regression" | "binary" | "multiclass"
    features: object  # pandas DataFrame (tables) or uint8 ndarray (images)
    target: object  # pandas Series or ndarray
    test: tuple | None = None  # a fixed (features, target) test split, where the data ships one
    dropped_rows: int = 0  # rows dropped because their target was missing
    columns: list | None = None  # a CSV's columns.Column per feature column, dropped ones too

    @property
    def is_images(self):
        """Images come as arrays (n, height, width); tables as DataFrames."""
        return not hasattr(self.features, "columns")


@dataclass(frozen=True)
class ReadingOptions:
    """Where data comes from, beyond its name: a CSV file, its target column, how to read it,
    a local folder; and, in `DataOptions`, the columns each of choices.COLUMN_OVERRIDES names."""

    path: str | None = None
    target: str | None = None
    task: str | None = None  # force the task of a CSV target
    data_dir: str | None = None  # local files (image data sets)
    na_values: tuple = ()  # missing-value markers beyond reading.MISSING_MARKERS
    stream: bool | None = None  # read the CSV in batches (recipes/sources/stream.py); None: if it is big


# A tuple of column names for each override (--ignore COL, --categorical COL, ...: the roles of
# recipes/roles/ a user may give), made from the flags' list so that a new role's flag is a field
# here without an edit.
DataOptions = make_dataclass(
    "DataOptions", [(flag, tuple, field(default=())) for flag in COLUMN_OVERRIDES],
    bases=(ReadingOptions,), frozen=True,
    namespace={"__doc__": ReadingOptions.__doc__, "__module__": __name__})
