"""Numbers: median-imputed, standardised, a missing flag, and optionally piecewise-linear bins.

A column is numeric when the csv loader could read (nearly) all its values as numbers, written
as people write them ("$1,234", "12%", "1.234,5": `parse_numbers`, the one rule for that, at
training and when predicting), or when --numeric says so. Small integer codes stay numbers: they
are as often counts, ratings or ordered levels as categories, so the note only says
--categorical is there.

Fitted (scikit-learn, on the training split): each column's median, mean and scale, whether it
had missing values, and with --bins the training quantiles. Inside the model: NaN -> the median,
(x - mean) / scale, a 0/1 "was missing" column, and the quantile bins' piecewise-linear encoding.
"""

import keras
import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler

from recipes.errors import UserError
from recipes.roles.role import NEARLY_ALL, Found, Role, kept_as_given

INTEGER_CODES = 10  # an integer column with at most this many levels may be coded categories


# --- detection ------------------------------------------------------------------------------

def is_numbers(values):
    return is_numeric_dtype(values) and not is_bool_dtype(values)


def numbers_found(facts):
    """Numbers (the csv loader typed the column as float64)."""
    if is_numbers(facts.values):
        return Found("numeric", note(facts.counts, facts.name))
    return None


def note(counts, name):
    """Small integers with a few levels (1 to 4, 0 to 6) may be codes for categories: said, not
    acted on, since they are as often counts, ratings or ordered levels."""
    values = counts.index.to_numpy(dtype="float64")
    codes = (2 < len(values) <= INTEGER_CODES and (values == values.round()).all()
             and values.min() >= 0 and values.max() <= 2 * INTEGER_CODES)
    if codes:
        return f"kept as numbers; maybe codes for categories (--categorical {name} to say so)"
    return "kept as numbers"


# --- numbers written as text ------------------------------------------------------------------

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
    """Whether (nearly) all of a column's values are numbers (NEARLY_ALL)."""
    return not_numbers.sum() <= (1 - NEARLY_ALL) * column.notna().sum()


def check_numbers(column, not_numbers, name):
    """A column that must hold numbers does, nearly all; else a UserError naming the first value
    that is not a number (and its row: the file's, counting the first row after the header as 1,
    where `column` comes from reading.read_chunks)."""
    if not mostly_numbers(not_numbers, column):
        position = int(np.flatnonzero(not_numbers.to_numpy())[0])
        row = column.index[position] if isinstance(column.index, pd.RangeIndex) else position
        raise UserError(f"column {name!r} should hold numbers but holds "
                        f"{column.iloc[position]!r} (row {row + 1})")


def as_numbers(column, name):
    """A column that must hold numbers (a numeric input when predicting) as float64: NaN for
    missing, and for the few values that are not numbers, as the training file's were read."""
    values, not_numbers = parse_numbers(column)
    check_numbers(column, not_numbers, name)
    return values


# --- fitted on the training split -------------------------------------------------------------

def fit(features, names, found, options):
    """Per column: median, mean and scale (scale_, not the standard deviation: scikit-learn
    scales a constant column by 1), whether training had missing values, and the quantile
    `edges` where the column has more than options["bins"] levels."""
    if features.shape[1] == 0:
        return []
    values = np.column_stack([as_numbers(features[c], c).to_numpy() for c in features.columns])
    medians = SimpleImputer(strategy="median", keep_empty_features=True).fit(values).statistics_
    scaler = StandardScaler().fit(np.where(np.isnan(values), medians, values))
    missing = np.isnan(values).any(axis=0)
    entries = [{"name": names[c], "median": float(m), "mean": float(mean), "scale": float(s),
                "indicator": bool(flag)} for c, m, mean, s, flag
               in zip(features.columns, medians, scaler.mean_, scaler.scale_, missing)]
    for entry, column in zip(entries, values.T):
        edges = quantile_edges(column[~np.isnan(column)], options.get("bins", 0))
        if edges:
            entry["edges"] = edges
    return entries


def quantile_edges(values, bins):
    """Up to `bins` + 1 distinct training quantiles, for the piecewise-linear encoding of a
    column with more than `bins` levels; [] for fewer (its levels are few enough as they are)."""
    if bins < 2 or len(np.unique(values)) <= bins:
        return []
    return [float(e) for e in np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)))]


# --- inside the model -------------------------------------------------------------------------

def encode(inputs, entries, _layers):
    """One block for all numeric columns: NaN -> the training median, then (x - mean) / scale;
    then a 0/1 "was missing" column for each column with `indicator`; then each column with
    `edges`' piecewise-linear encoding over them (`piecewise_linear`)."""
    if not entries:
        return []
    values = keras.ops.stack([keras.ops.cast(inputs[c["name"]], "float32") for c in entries],
                             axis=-1)
    median, mean, scale = (np.array([c[k] for c in entries], "float32")
                           for k in ("median", "mean", "scale"))
    missing = keras.ops.isnan(values)
    filled = keras.ops.where(missing, median, values)
    blocks = [(filled - mean) / scale]
    flagged = [i for i, c in enumerate(entries) if c.get("indicator")]
    if flagged:
        blocks.append(keras.ops.cast(keras.ops.take(missing, flagged, axis=1), "float32"))
    blocks += [piecewise_linear(filled[:, i], c["edges"]) for i, c in enumerate(entries)
               if c.get("edges")]
    return [keras.ops.concatenate(blocks, axis=-1) if len(blocks) > 1 else blocks[0]]


def piecewise_linear(values, edges):
    """Gorishniy et al.'s piecewise-linear encoding (2022): for bins between training quantiles
    `edges`, how far the value has filled each, from 0 (below it) to 1 (above it). A plain MLP
    then bends as sharply at each quantile as gradient boosting splits there."""
    low, high = np.array(edges[:-1], "float32"), np.array(edges[1:], "float32")
    filled = (values[:, None] - low) / np.maximum(high - low, 1e-12)
    return keras.ops.clip(filled, 0.0, 1.0)


def width(entry):
    return 1 + bool(entry.get("indicator")) + max(len(entry.get("edges", ())) - 1, 0)


def bound(options):
    """The value, its missing flag, and at most `bins` pieces (quantile_edges)."""
    bins = options.get("bins", 0)
    return 2 + (bins if bins >= 2 else 0)


def card(entry):
    return {"missing": "NaN", "missing_becomes": entry["median"]}


ROLE = Role("numeric", given=kept_as_given("numeric"), spec_key="numeric", dtype="float32",
            fit=fit, encode=encode, width=width, bound=bound, card=card)
