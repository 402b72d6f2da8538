"""What each column of a CSV file is: its role, inferred from its values and name, or given.

    found = columns.infer(frame, options)     # [Column], one per column of `frame`
    print(columns.render(found))              # the one-screen table a run prints

`frame` holds a file's values as the csv loader (recipes/data/tables.py) gives them: numbers as
floats, everything else as text, NaN for missing. Roles (ROLES):

- numeric: numbers. Integer codes with few levels stay numeric unless --categorical says
  otherwise; the note says so.
- date: text that (nearly) all parses with ONE of DATE_FORMATS.
- text: free text, several words a value and mostly distinct (see `is_text`).
- identifier: unique per row, or an ID-like name (id, *_id, *Id, index, instant, ...) with
  near-unique values. Dropped: it tells rows apart, nothing about them.
- constant: one value in every row, or none at all. Dropped.
- categorical: anything else, however many levels (the encoding bounds its width).

Overrides (the command line's --ignore, --categorical, --numeric, --text and --date, fields of
`DataOptions`) replace the inferred role; --ignore drops a column whatever its role.
"""

import re
from dataclasses import dataclass

import pandas as pd

from recipes.choices import COLUMN_OVERRIDES
from recipes.errors import UserError

ROLES = ("numeric", "categorical", "date", "text", "identifier", "constant")
DROPPED_ROLES = ("identifier", "constant")
NEARLY_ALL = 0.95  # share of a column's values that must be numbers (or dates) for it to be so

# Dates: only these, so that the model can parse them in its TensorFlow graph (recipes/features/dates.py).
# The order breaks ties between formats under which the same values parse: year first (ISO),
# then day first, then month first.
DATE_ORDER = ("%Y-%m-%d", "%Y/%m/%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y", "%m-%d-%Y", "%m/%d/%Y")
TIMES = ("", " %H:%M", " %H:%M:%S", "T%H:%M", "T%H:%M:%S")
DATE_FORMATS = tuple(date + time for date in DATE_ORDER for time in TIMES)
DATE_SHAPE = (r"(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})"  # 4-digit years
              r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")

# An identifier's name: "id", "Loan_ID", "customer id", "PassengerId", "index", "instant", ...
ID_WORD = re.compile(r"(?:^|[\W_])(?:id|ids|idx|index|key|uuid|guid|no)$", re.IGNORECASE)
ID_CAMEL = re.compile(r"[a-z0-9](?:Id|ID)$")
ID_NAMES = ("instant", "rownum", "row_number", "serial", "record")
NEAR_UNIQUE = 0.95  # share of distinct values that makes an ID-like name an identifier

# Free text: several words a value on average, and many distinct values (over half of the
# values, or over TEXT_MIN_LEVELS). Category labels are short and repeat: "Not Graduate" is
# two words, "Less than high school" repeats across thousands of rows.
TEXT_MIN_WORDS = 3
TEXT_MIN_LEVELS = 100
INTEGER_CODES = 10  # an integer column with at most this many levels may be coded categories
TABLE_ROWS = 40  # the printed table's limit: one screen
NAME_WIDTH = 28  # longer column names are shortened in the printed table


@dataclass
class Column:
    """One feature column: its role, how many values it misses after the missing-value
    markers, how many distinct values it has, and what is done with it (or why it is dropped).
    `date_format`: the strptime format of a date column. `kept`: False for dropped columns."""

    name: str
    role: str
    missing: int
    levels: int
    note: str
    date_format: str | None = None
    kept: bool = True


def infer(frame, overrides=None):
    """A `Column` for every column of `frame`; `overrides`: DataOptions (or None)."""
    given = chosen_roles(frame.columns, overrides)
    return [column(frame[name], given.get(name)) for name in frame.columns]


def chosen_roles(names, overrides):
    """{column: flag} from the COLUMN_OVERRIDES fields of `overrides`; a name the frame lacks, or a
    column given two roles, is a UserError."""
    names = [str(n) for n in names]
    given = {}
    for flag in COLUMN_OVERRIDES:
        for name in getattr(overrides, flag, ()) or ():
            if name not in names:
                raise UserError(f"--{flag} {name!r}: no such feature column; columns: "
                                f"{', '.join(names)}")
            if given.get(name, flag) != flag:
                raise UserError(f"column {name!r} is given two roles: --{given[name]} and --{flag}")
            given[name] = flag
    return given


def column(values, flag):
    """The `Column` for one column's values, `flag` the override given for it (or None)."""
    present = values.dropna()
    counts = (present if is_numbers(values) else present.astype(str)).value_counts()
    missing, levels = int(len(values) - len(present)), int(len(counts))
    if flag in ("numeric", "categorical", "text"):
        return Column(str(values.name), flag, missing, levels, f"kept as {flag} (--{flag})")
    if flag == "date":
        date_format, note = find_date_format(counts)
        if date_format is None:
            raise UserError(f"--date {values.name!r}: its values (such as {example(counts)!r}) "
                            f"are not dates in one of these formats: {', '.join(DATE_ORDER)}")
        return Column(str(values.name), "date", missing, levels, f"{note} (--date)", date_format)
    role, note, date_format = inferred_role(values, counts, missing)
    kept = role not in DROPPED_ROLES and flag != "ignore"
    if flag == "ignore":
        note = "dropped (--ignore)"
    return Column(str(values.name), role, missing, levels, note, date_format, kept)


def inferred_role(values, counts, missing):
    """(role, note, date format or None) from a column's values and name."""
    name, levels = str(values.name), len(counts)
    if levels == 0:
        return "constant", "dropped: no values at all", None
    if levels == 1 and not missing:
        return "constant", f"dropped: {example(counts)!r} in every row", None
    if levels == 1:  # present or missing is all it says
        return ("categorical", f"kept as a category: {example(counts)!r} or missing (missing "
                "its own level)", None)
    near_unique = levels >= NEAR_UNIQUE * counts.sum()
    if id_like(name) and near_unique:
        return "identifier", f"dropped: an ID-like name, {levels / counts.sum():.0%} distinct", None
    if is_numbers(values):
        return "numeric", numeric_note(counts, name), None
    date_format, note = find_date_format(counts)
    if date_format is not None:
        return "date", note, date_format
    if is_text(counts):
        words = words_per_value(counts)
        return "text", f"kept as free text: {words:.1f} words a value, {levels} distinct", None
    if levels == counts.sum():
        return "identifier", "dropped: unique per row (an identifier)", None
    return "categorical", "kept as categories", None


def example(counts):
    """The most frequent value, as text: '3' or '3.5', never np.float64(3.0)."""
    value = counts.index.tolist()[0]
    return f"{value:g}" if isinstance(value, float) else str(value)


def is_numbers(values):
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def id_like(name):
    return bool(ID_WORD.search(name) or ID_CAMEL.search(name) or name.lower() in ID_NAMES)


def numeric_note(counts, name):
    """Small integers with a few levels (1 to 4, 0 to 6) may be codes for categories: said, not
    acted on, since they are as often counts, ratings or ordered levels."""
    values = counts.index.to_numpy(dtype="float64")
    codes = (2 < len(values) <= INTEGER_CODES and (values == values.round()).all()
             and values.min() >= 0 and values.max() <= 2 * INTEGER_CODES)
    if codes:
        return f"kept as numbers; maybe codes for categories (--categorical {name} to say so)"
    return "kept as numbers"


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
    order = ""
    if date_format.startswith("%d"):
        order = ("; day and month are ambiguous (no value over 12 in either place): read "
                 "day first" if shares.get(swapped) == shares[date_format] else
                 "; day first: values over 12 come first")
    elif date_format.startswith("%m"):
        order = "; month first: values over 12 come second"
    unread = round((1 - shares[date_format]) * count)
    rest = f"; {unread} values not in this format read as missing" if unread else ""
    return f"kept as a date ({date_format}){order}{rest}"


def swap_day_month(date_format):
    return date_format.replace("%d", "%_").replace("%m", "%d").replace("%_", "%m")


def words_per_value(counts):
    words = pd.Series(counts.index.astype(str)).str.split().str.len().to_numpy()
    return float((words * counts.to_numpy()).sum() / counts.sum())


def is_text(counts):
    """Several words a value, and many distinct values: free text, not category labels."""
    distinct = len(counts) > TEXT_MIN_LEVELS or len(counts) > counts.sum() / 2
    return distinct and words_per_value(counts) >= TEXT_MIN_WORDS


def render(columns):
    """The column table a run prints: column, role, levels, missing, what was done."""
    rows = [(c.name, c.role, str(c.levels), str(c.missing), c.note) for c in columns]
    shown = rows[:TABLE_ROWS]
    header = ("column", "role", "levels", "missing", "what was done")
    widths = [min(max(len(r[i]) for r in [header, *shown]), NAME_WIDTH) for i in range(4)]
    lines = [f"{shorten(a, widths[0]):<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}  "
             f"{d:>{widths[3]}}  {e}" for a, b, c, d, e in [header, *shown]]
    if len(rows) > TABLE_ROWS:
        lines.append(f"... and {len(rows) - TABLE_ROWS} more columns (all in metrics.json)")
    kept = sum(c.kept for c in columns)
    lines.append(f"{kept} of {len(columns)} feature columns kept")
    return "\n".join(lines)


def shorten(text, width):
    return text if len(text) <= width else text[:width - 1] + "…"
