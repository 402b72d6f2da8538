"""The one shape every data set is loaded into: a `Dataset` of features, target and task name.

Tabular loaders (recipes/data/tables.py) return pandas DataFrames whose column dtypes say what each
column is (numbers vs the rest); a CSV's columns also carry their roles (recipes/data/columns.py).
Image loaders (recipes/data/images.py) return uint8 arrays. Text loaders (recipes/data/text.py)
return a DataFrame of one column of raw strings; series loaders (recipes/data/series.py) the
value columns in time order, with `SeriesFacts` saying how they were read.
"""

from dataclasses import dataclass, field, make_dataclass

from recipes.choices import COLUMN_OVERRIDES


KINDS = ("table", "images", "text", "series")  # what a data set's features are


@dataclass(frozen=True)
class SeriesFacts:
    """How a time series was read: its time column, each row's time (sorted, regular where a
    step was found: missing steps filled), the step, the window and horizon the network
    sees, and notes on what was filled or interpolated (printed by a run, kept in metrics)."""

    time: str  # the time column's name
    times: object  # pandas DatetimeIndex, one per row of Dataset.features
    step: str | None  # the regular step as a pandas offset alias ("D", "MS", ...), None if irregular
    window: int  # past rows a forecast reads
    horizon: int  # future target values it gives
    notes: tuple = ()


@dataclass
class Dataset:
    name: str
    task: str  # "regression" | "binary" | "multiclass"
    features: object  # pandas DataFrame (tables) or uint8 ndarray (images)
    target: object  # pandas Series or ndarray
    test: tuple | None = None  # a fixed (features, target) test split, where the data ships one
    dropped_rows: int = 0  # rows dropped because their target was missing
    columns: list | None = None  # a CSV's columns.Column per feature column, dropped ones too
    kind: str = ""  # one of KINDS; "": a table when features is a DataFrame, else images
    series: SeriesFacts | None = None  # kind "series": the time axis, window and horizon

    def __post_init__(self):
        if not self.kind:
            self.kind = "table" if hasattr(self.features, "columns") else "images"

    @property
    def is_images(self):
        """Images come as arrays (n, height, width); tables as DataFrames."""
        return self.kind == "images"


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
    time: str | None = None  # a series' time column (--time)
    series_features: tuple = ()  # a series' value columns besides its target (--features)
    window: int | None = None  # past steps a forecast reads (--window); None: the recipe's
    horizon: int | None = None  # future steps it forecasts (--horizon); None: the recipe's


# A tuple of column names for each override (--ignore COL, --categorical COL, ...: the roles of
# recipes/roles/ a user may give), made from the flags' list so that a new role's flag is a field
# here without an edit.
DataOptions = make_dataclass(
    "DataOptions", [(flag, tuple, field(default=())) for flag in COLUMN_OVERRIDES],
    bases=(ReadingOptions,), frozen=True,
    namespace={"__doc__": ReadingOptions.__doc__, "__module__": __name__})
