"""What a column role is: the parts each role module fills in, and what they share.

A role module (numeric.py, categorical.py, ...) ends with one `Role`: its name, how a user's
--NAME COL is taken, and, for the roles a model keeps, how it is fitted on the training split,
encoded inside the model, how wide that gets and what the model card says. Its detection rules
take a column's `Facts` and return a `Found` (the role and the note the column table prints) or
None; the registry (recipes/roles/__init__.py) orders them.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

MISSING = ""  # how a client sends "no value" in a string input: a category, a date, a text
NEARLY_ALL = 0.95  # share of a column's values that must be numbers (or dates) for it to be so


@dataclass(frozen=True)
class Facts:
    """What detection reads of one column: its values as the csv loader types them (float64
    numbers, else text; NaN missing), each distinct present value's count (most frequent first)
    and how many values are missing."""

    values: pd.Series
    counts: pd.Series
    missing: int

    @property
    def name(self):
        return str(self.values.name)

    @property
    def levels(self):
        return len(self.counts)

    @property
    def present(self):
        return int(self.counts.sum())


@dataclass(frozen=True)
class Found:
    """A rule's verdict: the role, what the column table says was done, and, for a date, the
    format its values are read by (fitting and the model need it)."""

    role: str
    note: str
    date_format: str | None = None


@dataclass(frozen=True)
class Role:
    """One column role. `given(facts) -> Found` takes a user's --NAME COL (None: no such flag).
    The rest is None for roles that drop their columns (identifier, constant):

    - `spec_key`: its list in the JSON spec, also TableEncoder's argument and config key;
      `dtype`: the raw input a client sends ("float32" or "string").
    - `fit(features, names, found, options) -> [entry]`: one JSON entry per column, from the
      training rows of this role's columns (`names`: column -> input name; `found`: column ->
      its detection, or None for the bundled tables; `options`: {"bins": ...}).
    - `sublayers`: (attribute, entries -> [Keras layer]) for roles whose encoding holds Keras
      layers; the attribute names their weights in model.keras, so it never changes.
    - `encode(inputs, entries, layers) -> [tensor]`: the float32 blocks, inside the model.
    - `width(entry)`: the columns one entry's block has; `bound(options)`: the most columns one
      raw column of this role can become, whatever the data, so memory is bounded.
    - `card(entry)`: what a serving client must know about the input (the model card).
    """

    name: str
    given: Callable | None = None
    spec_key: str | None = None
    dtype: str = "string"
    fit: Callable | None = None
    sublayers: tuple | None = None
    encode: Callable | None = None
    width: Callable | None = None
    bound: Callable | None = None
    card: Callable | None = None

    @property
    def kept(self):
        return self.fit is not None


def kept_as_given(name):
    """The `given` of a role a user's word is enough for: the column is kept as `name`."""
    return lambda facts: Found(name, f"kept as {name} (--{name})")


def example(counts):
    """The most frequent value, as text: '3' or '3.5', never np.float64(3.0)."""
    value = counts.index.tolist()[0]
    return f"{value:g}" if isinstance(value, float) else str(value)


def as_text(column):
    """A column's values as strings, MISSING for missing: the same strings at fit and serve
    time."""
    return pd.Series(np.where(column.isna(), MISSING, column.astype(str)), index=column.index,
                     dtype=object)
