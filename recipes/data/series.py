"""Time series: a CSV of a time column and value columns, read into time order with gaps filled.

    dataset = series.series_csv(DataOptions(path="daily.csv", time="Date", target="Temp"))
    dataset.features          # the value columns, target first, float64, one row per step
    dataset.series            # SeriesFacts: times, step ("D", "MS", ... or None), window, notes

The rules, the same for training (`from_frame`) and for the rows `predict` is given
(`series_values`, through recipes/serving/series_rows.py's `last_window`):

- Times: the date formats the date role reads (recipes/roles/date.py, with its day/month tie
  break), else ISO 8601 (also "1749-01", "1990", "2020-01-31T10:00+01:00"); times with an offset
  are converted to UTC. Rows without a time are dropped; rows are sorted; a time given twice is
  a `UserError` (aggregating is the user's call: sum or mean?).
- A regular step (`regular_step`): found when the times lie on one step's grid and fill most of
  it; the missing steps are inserted. Without one the rows stay as they are.
- Values: numbers as the numeric role reads them (`parse_numbers`); missing ones interpolated in
  time, leading and trailing ones take the nearest present value.
"""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_datetime64_any_dtype
from pandas.tseries.frequencies import to_offset
from statsmodels.datasets import co2 as statsmodels_co2

from recipes.data import columns, reading
from recipes.data.dataset import Dataset, SeriesFacts
from recipes.errors import UserError
from recipes.roles import date, numeric

DEFAULT_HORIZON = 1
# At least this share of a step's grid must be present for the step to be regular: a series that
# misses more than half its steps is events at times, and filling it would invent most of it.
MIN_PRESENT = 0.5
MONTH_STEPS = (12, 6, 3, 1)  # calendar steps in months, tried coarsest first

# The default window reads one calendar cycle of the step, the shortest of CYCLES holding at
# least MIN_CYCLE_STEPS steps: a day of hours, an hour of minutes, a year of days, weeks or
# months. The calendar knows the season a step most likely has without looking at the values, so
# nothing of the validation or test part can choose it. Steps with no such cycle (quarters,
# years) or no regular step (the median interval counts) read FALLBACK_WINDOW steps; every
# default is at most MAX_WINDOW, and at most a WINDOW_SHARE of the rows, so the default leaves
# nine tenths of the series to forecast, in train, validation and test.
CYCLES = (pd.Timedelta(hours=1), pd.Timedelta(days=1), pd.Timedelta(weeks=1),
          pd.Timedelta(days=365.25))
MIN_CYCLE_STEPS = 12
FALLBACK_WINDOW = 8
MAX_WINDOW = 400
WINDOW_SHARE = 0.1
CO2_TIME, CO2_VALUE = "date", "co2"


# --- the data sets ---------------------------------------------------------------------------

def series_csv(options):
    """The CSV file `options.path` as a series: `options.time`, `options.target` and
    `options.series_features` name its columns (recipes/data/dataset.py's DataOptions)."""
    if not (options.path and options.time and options.target):
        raise UserError("the series data set needs --data PATH, --time COLUMN (each row's time) "
                        "and --target COLUMN (the value to forecast)")
    return from_frame(reading.read_csv(options.path, options.na_values), options,
                      Path(options.path).stem, options.path)


def co2(options):
    """Weekly Mauna Loa CO2 (statsmodels' bundled copy, offline), with its missing weeks: the
    same path as a CSV of a date column and a value column."""
    data = statsmodels_co2.load_pandas().data
    frame = pd.DataFrame({CO2_TIME: data.index.strftime("%Y-%m-%d"),
                          CO2_VALUE: data[CO2_VALUE].to_numpy()})
    options = replace(options, time=options.time or CO2_TIME, target=options.target or CO2_VALUE)
    return from_frame(frame, options, "co2", "the co2 data set")


def from_frame(frame, options, name, source):
    """A `Dataset` of kind "series" from the table `frame` (values as text or numbers, NaN
    missing); `source` names where it came from in messages."""
    value_names = [options.target, *options.series_features]
    check_columns(frame.columns, options, source)
    horizon = checked_length(options.horizon, "--horizon", DEFAULT_HORIZON)
    values, times, step, notes = series_values(frame, options.time, value_names, source)
    window = checked_length(options.window, "--window", default_window(times))
    facts = SeriesFacts(time=options.time, times=times, step=step, window=window,
                        horizon=horizon, notes=tuple(notes))
    return Dataset(name=name, task="regression", features=values,
                   target=values[options.target].copy(), kind="series", series=facts)


def check_columns(names, options, source):
    """The time, target and feature columns are the file's, each named once."""
    names = [str(n) for n in names]
    for flag, name in [("--time", options.time), ("--target", options.target),
                       *(("--features", n) for n in options.series_features)]:
        if name not in names:
            raise UserError(f"{flag} {name!r}: no such column in {source}"
                            f"{columns.closest(name, names)}; columns: {', '.join(names)}")
    given = [options.time, options.target, *options.series_features]
    repeated = [n for i, n in enumerate(given) if n in given[:i]]
    if repeated:
        raise UserError(f"column {repeated[0]!r} is named twice among --time, --target and "
                        f"--features; give each column one place")


def checked_length(given, flag, default):
    """--window or --horizon: a whole number of steps, at least 1; `default` where not given."""
    if given is None:
        return default
    if int(given) != given or given < 1:
        raise UserError(f"{flag} must be a whole number of steps, at least 1; got {given}")
    return int(given)


def default_window(times):
    """The window when --window is not given (see CYCLES for why)."""
    if len(times) < 2:
        return 1
    interval = pd.Series(times).diff().median()
    steps = [int(round(cycle / interval)) for cycle in CYCLES]
    cycle = next((n for n in steps if n >= MIN_CYCLE_STEPS), FALLBACK_WINDOW)
    return max(1, min(cycle, MAX_WINDOW, int(len(times) * WINDOW_SHARE)))


# --- the rules shared with predict ----------------------------------------------------------

def series_values(frame, time, value_names, source, step=None, find_step=True):
    """(the value columns as float64 in time order, gaps filled, on a RangeIndex; their times, a
    DatetimeIndex; the step; notes on what was done). The step is found (`regular_step`) where
    `find_step`, else `step` is used as given (a trained model's, None for rows as they are)."""
    notes = []
    values = numbers(frame, value_names, notes)
    times = parse_times(frame[time], time, source)
    values, times = in_time_order(values, times, time, source, notes)
    if find_step:
        step = regular_step(times)
    if step is None:
        notes.append("no regular step between the times: rows kept as they are")
    else:
        values, times = on_steps(values, times, step, time, source, notes)
    return interpolated(values.set_axis(times), notes).reset_index(drop=True), times, step, notes


def numbers(frame, value_names, notes):
    """The value columns as float64 (what is not a number read as missing, noted); a column of
    text is a `UserError`."""
    values = {}
    for name in value_names:
        parsed, not_numbers = numeric.parse_numbers(frame[name])
        numeric.check_numbers(frame[name], not_numbers, name)
        if not_numbers.any():
            notes.append(f"{name}: {int(not_numbers.sum())} values that are not numbers (such "
                         f"as {frame[name][not_numbers].iloc[0]!r}) read as missing")
        values[name] = parsed
    return pd.DataFrame(values, index=frame.index)


def parse_times(values, column, source):
    """The time column as a DatetimeIndex (naive; UTC where times carry an offset), NaT where
    missing: the date role's formats first, then ISO 8601. A present value neither reads is a
    `UserError` naming the first."""
    if is_datetime64_any_dtype(values):  # a frame built in code, not read from a file
        given = pd.DatetimeIndex(values)
        return given.tz_convert(None) if given.tz else given
    text = values.where(values.isna(), values.astype(str).str.strip())
    present = text.notna()
    if not present.any():
        return pd.DatetimeIndex([pd.NaT] * len(text))
    date_format, _ = date.find_date_format(text[present].value_counts())
    parsed = None
    for fmt in (date_format, "ISO8601"):
        if fmt is not None:
            parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
            if parsed[present].notna().all():
                break
    failed = present & parsed.isna()
    if failed.any():
        row = int(np.flatnonzero(failed.to_numpy())[0])
        raise UserError(f"time column {column!r} in {source} holds {text.iloc[row]!r} (row "
                        f"{row + 1}), not a date or time; write times as 2024-01-31, "
                        f"2024-01 or 2024-01-31 13:00")
    return pd.DatetimeIndex(parsed).tz_convert(None)


def in_time_order(values, times, column, source, notes):
    """The rows with a time, sorted by it; a time given twice is a `UserError`."""
    known = ~times.isna()
    if not known.any():
        raise UserError(f"time column {column!r} in {source} has no times")
    if not known.all():
        notes.append(f"{int((~known).sum())} rows without a time dropped")
        values, times = values[known], times[known]
    if not times.is_monotonic_increasing:
        order = np.argsort(times, kind="stable")
        values, times = values.iloc[order], times[order]
        notes.append("rows sorted by time")
    repeated = times[times.duplicated()]
    if len(repeated):
        count = int((times == repeated[0]).sum())
        raise UserError(f"time column {column!r} in {source} gives {shown(repeated[0])} {count} "
                        f"times ({repeated.nunique()} times repeat); a series needs one row per "
                        f"time: sum or average the repeated rows first")
    return values.reset_index(drop=True), times


def regular_step(times):
    """The step the sorted, distinct `times` are regular in, as a pandas offset alias ("D",
    "h", "MS", "3MS", "B", "7D", ...), or None. Regular: every time lies on the step's grid
    from the first time, and at least MIN_PRESENT of the grid is there (gaps are then filled)."""
    if len(times) < 3:
        return None
    with pd.option_context("future.infer_freq_returns_offset", True):
        found = pd.infer_freq(times)  # no gaps at all: pandas names the step
    if found is not None:
        return found.freqstr
    return next((step for step, shortest in candidate_steps(times)
                 if fills_grid(times, step, shortest)), None)


def candidate_steps(times):
    """(step, its shortest length) to try, coarsest first: whole months (from month starts or
    month ends), business days, then the median interval."""
    months = [(f"{k if k > 1 else ''}{anchor}", k * pd.Timedelta(days=28))
              for anchor in ("MS", "ME") for k in MONTH_STEPS]
    interval = pd.Series(times).diff().median()
    if interval % pd.Timedelta(days=1) == pd.Timedelta(0):  # "D", not pandas' "24h"
        fixed = "D" if interval.days == 1 else f"{interval.days}D"
    else:
        fixed = to_offset(interval).freqstr
    return [*months, ("B", pd.Timedelta(days=1)), (fixed, interval)]


def fills_grid(times, step, shortest):
    """Whether every time lies on `step`'s grid from the first time, and MIN_PRESENT of the
    grid is there. A grid too big for that is never built (seconds over years would fill
    memory): `shortest` bounds its length."""
    if (times[-1] - times[0]) / shortest + 1 > len(times) / MIN_PRESENT:
        return False
    grid = pd.date_range(times[0], times[-1], freq=step)
    return len(times) >= MIN_PRESENT * len(grid) and times.isin(grid).all()


def on_steps(values, times, step, column, source, notes):
    """The rows on every step of the grid from the first time to the last, the missing steps
    inserted (their values missing, then interpolated). A time off the grid (rows given to a
    trained model of another step) is a `UserError`."""
    grid = pd.date_range(times[0], times[-1], freq=step)
    off = ~times.isin(grid)
    if off.any():
        raise UserError(f"time column {column!r} in {source} gives {shown(times[off][0])}, which "
                        f"is not on the series' step {step!r} from {shown(times[0])}; give rows "
                        f"one step apart")
    inserted = grid.difference(times)
    if len(inserted):
        notes.append(f"regular step {step!r}: {len(inserted)} missing steps inserted (first "
                     f"{shown(inserted[0])})")
    else:
        notes.append(f"regular step {step!r}")
    return values.set_axis(times).reindex(grid).reset_index(drop=True), grid


def interpolated(values, notes):
    """Missing values interpolated in time (leading and trailing ones take the nearest present
    value), each column's count noted; `values` is indexed by time. A column with no value at
    all is a `UserError`."""
    missing = values.isna().sum()
    empty = missing.index[missing == len(values)]
    if len(empty):
        raise UserError(f"column {empty[0]!r} has no values at rows with a time; a series needs "
                        f"numbers to forecast")
    for name, count in missing[missing > 0].items():
        notes.append(f"{name}: {int(count)} missing values interpolated in time")
    return values.interpolate(method="time", limit_direction="both") if missing.any() else values


def shown(time):
    """A time as a message shows it: the date alone at midnight."""
    return str(time.date()) if time == time.normalize() else str(time)


LOADERS = {"series": series_csv, "co2": co2}  # name -> loader(options) -> Dataset
