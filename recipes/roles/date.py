"""Dates: found by their format, parsed inside the model from the strings of the file.

A column is a date when (nearly) all its text parses with ONE of DATE_FORMATS, the formats the
model can parse in its TensorFlow graph, so predict, the SavedModel and TF Serving take dates as
they are written. Where day and month could be either way round, DATE_ORDER breaks the tie: year
first (ISO), then day first, then month first; the note says which was read and why.

Inside the model a date becomes DATE_WIDTH columns (`features`):

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

from recipes.errors import UserError
from recipes.roles.role import MISSING, NEARLY_ALL, Found, Role, example

DATE_ORDER = ("%Y-%m-%d", "%Y/%m/%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y", "%m-%d-%Y", "%m/%d/%Y")
TIMES = ("", " %H:%M", " %H:%M:%S", "T%H:%M", "T%H:%M:%S")
DATE_FORMATS = tuple(date + time for date in DATE_ORDER for time in TIMES)
DATE_SHAPE = (r"(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})"  # 4-digit years
              r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")
DATE_WIDTH = 9  # columns a date becomes


# --- detection ------------------------------------------------------------------------------

def dates_found(facts):
    date_format, note = find_date_format(facts.counts)
    return Found("date", note, date_format) if date_format else None


def given(facts):
    """--date COL: the column's values must be dates in one of the formats."""
    date_format, note = find_date_format(facts.counts)
    if date_format is None:
        raise UserError(f"--date {facts.name!r}: its values (such as {example(facts.counts)!r}) "
                        f"are not dates in one of these formats: {', '.join(DATE_ORDER)}")
    return Found("date", f"{note} (--date)", date_format)


def find_date_format(counts):
    """(format, note) of the one DATE_FORMATS format under which (nearly) all of a text column's
    values parse, or (None, None); `counts`: each distinct value's count."""
    text = pd.Series(counts.index.astype(str), index=counts.index)
    shaped = text.str.fullmatch(DATE_SHAPE)
    if counts[shaped.to_numpy()].sum() < NEARLY_ALL * counts.sum():
        return None, None
    shares = {}
    for fmt in DATE_FORMATS:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
        share = counts[(parsed.notna() & shaped).to_numpy()].sum() / counts.sum()
        if share >= NEARLY_ALL:
            shares[fmt] = share
    if not shares:
        return None, None
    best = max(shares.values())
    date_format = next(fmt for fmt in DATE_FORMATS if shares.get(fmt) == best)  # DATE_ORDER's
    return date_format, date_note(date_format, shares, counts.sum())


def date_note(date_format, shares, count):
    """What was read, why this day/month order, and how many values did not parse."""
    swapped = swap_day_month(date_format)
    order_said = ""
    if date_format.startswith("%d"):
        order_said = ("; day and month are ambiguous (no value over 12 in either place): read "
                      "day first" if shares.get(swapped) == shares[date_format] else
                      "; day first: values over 12 come first")
    elif date_format.startswith("%m"):
        order_said = "; month first: values over 12 come second"
    unread = round((1 - shares[date_format]) * count)
    rest = f"; {unread} values not in this format read as missing" if unread else ""
    return f"kept as a date ({date_format}){order_said}{rest}"


def swap_day_month(date_format):
    return date_format.replace("%d", "%_").replace("%m", "%d").replace("%_", "%m")


# --- parsing, the same in NumPy and in the graph ---------------------------------------------

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


# --- fitted on the training split -------------------------------------------------------------

def fit(features, names, found, options):
    """Each column's statistics (`statistics`), read by the format its detection found."""
    entries = []
    for column in features.columns:
        fitted = statistics(features[column], found[str(column)].date_format)
        if fitted is None:
            raise UserError(f"date column {column!r} has no readable dates in the training split")
        entries.append({"name": names[column], **fitted})
    return entries


def statistics(values, fmt):
    """What `features` needs, from the training split's values of one date column; None when
    none of them is a readable date."""
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


# --- inside the model -------------------------------------------------------------------------

def features(strings, entry):
    """DATE_WIDTH float32 columns from a tensor of date strings (see the module docstring)."""
    readable = tf.strings.regex_full_match(strings, pattern(entry["format"]))
    digits = tf.strings.regex_replace(strings, r"[^0-9]+", " ")
    tokens = tf.strings.split(tf.strings.strip(digits)).to_tensor(default_value="0", shape=[None, 3])
    numbers = tf.strings.to_number(tf.where(readable[:, None], tokens, "0"), tf.float32)
    where = order(entry["format"])
    median = tf.constant(entry["median"], tf.float32)
    year, month, day = (tf.where(readable, numbers[:, where[i]], median[i]) for i in range(3))
    days = days_since_epoch(year, month, day)
    january_first = days_since_epoch(year, tf.ones_like(month), tf.ones_like(day))
    day_of_week = tf.math.floormod(days + 3, 7)  # 1970-01-01 was a Thursday; Monday is 0
    circle = [(month - 1) / 12, day_of_week / 7, (days - january_first) / 365.25]
    angles = [2 * math.pi * c for c in circle]
    columns = [(days - entry["origin"]) / entry["scale"],
               (year - entry["year_mean"]) / entry["year_scale"],
               *[f(a) for a in angles for f in (tf.sin, tf.cos)],
               1 - tf.cast(readable, tf.float32)]
    return tf.stack(columns, axis=-1)


def encode(inputs, entries, _layers):
    return [features(inputs[c["name"]], c) for c in entries]


def width(_entry):
    return DATE_WIDTH


def bound(_options):
    return DATE_WIDTH


def card(entry):
    return {"format": entry["format"], "missing": MISSING,
            "missing_becomes": "the training median date, flagged as missing"}


ROLE = Role("date", given=given, spec_key="dates", fit=fit, encode=encode, width=width,
            bound=bound, card=card)
