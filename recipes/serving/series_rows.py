"""A series run's forecast from a user's file: its last window, found as training read the
series (recipes/data/series.py: times parsed and sorted, gaps filled on the training step), and
the times of the steps forecast."""

import pandas as pd
from pandas.api.types import is_datetime64_any_dtype, is_numeric_dtype

from recipes.data import reading, series
from recipes.errors import UserError
from recipes.features import windows

PREDICT_SOURCE = "the rows to forecast from"  # how messages name a file given to predict


def last_window(frame, spec, na_values=()):
    """(the model's inputs for the series in `frame` (text as reading.read_csv gives it): its
    last `window` rows, each input (1, W); the `horizon` forecast times after its last time, or
    None where the series has no regular step). The time column is parsed, the rows sorted and
    filled on the training step as the loader does (recipes/data/series.py); `na_values`: more
    missing-value markers."""
    columns = [c["column"] for c in spec["inputs"]]
    needed = [spec["time"], *columns]
    missing = [name for name in needed if name not in frame.columns]
    if missing:
        raise UserError(f"missing column(s): {', '.join(missing)}; the model needs: "
                        f"{', '.join(needed)}")
    values, times, step, _ = series.series_values(marked(frame[needed], na_values), spec["time"],
                                                  columns, PREDICT_SOURCE, step=spec["step"],
                                                  find_step=False)
    window, horizon = spec["window"], spec["horizon"]
    if len(values) < window:
        raise UserError(f"the model forecasts from the last {window} steps of a series; "
                        f"{PREDICT_SOURCE} give {len(values)}")
    last = values.to_numpy(dtype="float32")[-window:][None]
    future = None if step is None else \
        pd.date_range(times[-1], periods=horizon + 1, freq=step)[1:].to_numpy()
    return windows.feed(last, spec), future


def marked(frame, na_values):
    """`frame` with reading's missing-value markers and `na_values` as NaN in its text columns."""
    markers = {m.strip().lower() for m in (*reading.MISSING_MARKERS, *na_values)}
    return frame.apply(lambda column: column if is_numeric_dtype(column)
                       or is_datetime64_any_dtype(column)
                       else reading.without_markers(column, markers))
