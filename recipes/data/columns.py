"""What each column of a CSV file is: its role, inferred from its values and name, or given.

    found = columns.infer(frame, options)     # [Column], one per column of `frame`
    print(columns.render(found))              # the one-screen table a run prints

`frame` holds a file's values as the csv loader (recipes/data/tables.py) gives them: numbers as
floats, everything else as text, NaN for missing. Each role's rules live in its module
(recipes/roles/: numeric, categorical, date, text, identifier, constant) and the first rule that
claims a column, in the registry's DETECTION order, gives its role and its line in the table.

Overrides (the command line's --ignore, --categorical, --numeric, --text and --date, fields of
`DataOptions`: choices.COLUMN_OVERRIDES) replace the inferred role; --ignore drops a column
whatever its role.
"""

import difflib
from dataclasses import dataclass

from recipes import roles
from recipes.choices import COLUMN_OVERRIDES
from recipes.errors import UserError
from recipes.roles.numeric import is_numbers
from recipes.roles.role import Facts

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


def closest(name, names):
    """' (did you mean 'X'?)' for the name most like `name` (case aside), else ''."""
    by_lower = {str(n).lower(): str(n) for n in names}
    match = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean {by_lower[match[0]]!r}?)" if match else ""


def chosen_roles(names, overrides):
    """{column: flag} from the COLUMN_OVERRIDES fields of `overrides`; a name the frame lacks, or a
    column given two roles, is a UserError."""
    names = [str(n) for n in names]
    given = {}
    for flag in COLUMN_OVERRIDES:
        for name in getattr(overrides, flag, ()) or ():
            if name not in names:
                raise UserError(f"--{flag} {name!r}: no such feature column{closest(name, names)}"
                                f"; columns: {', '.join(names)}")
            if given.get(name, flag) != flag:
                raise UserError(f"column {name!r} is given two roles: --{given[name]} and --{flag}")
            given[name] = flag
    return given


def column(values, flag):
    """The `Column` for one column's values, `flag` the override given for it (or None)."""
    present = values.dropna()
    counts = (present if is_numbers(values) else present.astype(str)).value_counts()
    facts = Facts(values, counts, int(len(values) - len(present)))
    if flag in (None, "ignore"):
        found = roles.detect(facts)
    else:
        found = roles.ROLES[flag].given(facts)
    kept = roles.ROLES[found.role].kept and flag != "ignore"
    note = "dropped (--ignore)" if flag == "ignore" else found.note
    return Column(facts.name, found.role, facts.missing, facts.levels, note, found.date_format,
                  kept)


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
