"""Dates as numbers the network can use, computed inside the model from the raw strings.

A date column (recipes/data/columns.py infers it and its format) reaches the model as the strings of
the file, so predict, the SavedModel and TF Serving take it as it is written. `features` parses
it in the TensorFlow graph by the format found at training time and returns DATE_WIDTH columns:

- the days since the earliest training date, standardised (trend),
- the year, standardised,
- month, day of week and day of year, each as a point on a circle (sin, cos), so December sits
  next to January and Sunday next to Monday,
- a 0/1 column for a missing or unreadable date, which otherwise counts as the training median.

A time of day after the date is ignored: the dev suite's hourly table carries the hour as its
own column, and a column of its own is what a user with timestamps would want too.
"""

import math
import re

import numpy as np
import pandas as pd
import tensorflow as tf

DATE_WIDTH = 9  # columns a date becomes (columns.DATE_FORMATS lists the formats read)


def date_part(fmt):
    """The format's date, without a time after it: "%d-%m-%Y %H:%M" -> "%d-%m-%Y"."""
    return fmt[:8]


def pattern(fmt):
    """A regular expression a readable date of `fmt` matches (its time, if any, not checked)."""
    date = re.escape(date_part(fmt)).replace("%Y", r"\d{4}").replace("%m", r"\d{1,2}")
    return r"\s*" + date.replace("%d", r"\d{1,2}") + r"([ T].*)?\s*"


def order(fmt):
    """Where year, month and day stand among the date's three numbers."""
    fields = [fmt.index(f) for f in ("%Y", "%m", "%d")]
    ranks = np.argsort(np.argsort(fields))
    return [int(r) for r in ranks]


def days_since_epoch(year, month, day):
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil), in
    float arithmetic that works on NumPy arrays and tensors alike."""
    floor = np.floor if isinstance(year, np.ndarray) else tf.math.floor
    january_or_february = floor((14 - month) / 12)  # 1 for months 1 and 2, else 0
    year = year - january_or_february
    era = floor(year / 400)
    year_of_era = year - era * 400
    shifted_month = month - 3 + 12 * january_or_february  # March = 0, ..., February = 11
    day_of_year = floor((153 * shifted_month + 2) / 5) + day - 1
    day_of_era = (year_of_era * 365 + floor(year_of_era / 4) - floor(year_of_era / 100)
                  + day_of_year)
    return era * 146097 + day_of_era - 719468


def parse(values, fmt):
    """Training values (a pandas Series of strings) -> (year, month, day) float arrays, NaN where
    missing or unreadable: the rule `features` applies inside the graph."""
    text = values.fillna("").astype(str)
    readable = text.str.fullmatch(pattern(fmt)).to_numpy(dtype=bool)
    parts = np.full((len(values), 3), np.nan)
    if readable.any():
        tokens = text[readable].str.replace(r"[^0-9]+", " ", regex=True).str.strip()
        parts[readable] = tokens.str.split(" ", expand=True).iloc[:, :3].to_numpy(dtype=float)
    year, month, day = (parts[:, i] for i in order(fmt))
    return year, month, day


def fit(values, fmt):
    """The statistics `features` needs, from the training split's values of one date column."""
    year, month, day = parse(values.reset_index(drop=True), fmt)
    days = days_since_epoch(year, month, day)
    known = ~np.isnan(days)
    if not known.any():
        return None
    days, year = days[known], year[known]
    median = float(np.median(days))
    median_date = pd.Timestamp("1970-01-01") + pd.Timedelta(days=median)
    return {"format": fmt, "origin": float(days.min()), "scale": float(days.std() or 1.0),
            "year_mean": float(year.mean()), "year_scale": float(year.std() or 1.0),
            "median": [median_date.year, median_date.month, median_date.day]}


def features(strings, spec):
    """DATE_WIDTH float32 columns from a tensor of date strings (see the module docstring)."""
    readable = tf.strings.regex_full_match(strings, pattern(spec["format"]))
    digits = tf.strings.regex_replace(strings, r"[^0-9]+", " ")
    tokens = tf.strings.split(tf.strings.strip(digits)).to_tensor(default_value="0", shape=[None, 3])
    numbers = tf.strings.to_number(tf.where(readable[:, None], tokens, "0"), tf.float32)
    where = order(spec["format"])
    median = tf.constant(spec["median"], tf.float32)
    year, month, day = (tf.where(readable, numbers[:, where[i]], median[i]) for i in range(3))
    days = days_since_epoch(year, month, day)
    january_first = days_since_epoch(year, tf.ones_like(month), tf.ones_like(day))
    day_of_week = tf.math.floormod(days + 3, 7)  # 1970-01-01 was a Thursday; Monday is 0
    circle = [(month - 1) / 12, day_of_week / 7, (days - january_first) / 365.25]
    angles = [2 * math.pi * c for c in circle]
    columns = [(days - spec["origin"]) / spec["scale"],
               (year - spec["year_mean"]) / spec["year_scale"],
               *[f(a) for a in angles for f in (tf.sin, tf.cos)],
               1 - tf.cast(readable, tf.float32)]
    return tf.stack(columns, axis=-1)
