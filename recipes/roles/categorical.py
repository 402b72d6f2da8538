"""Categories: one-hot over the training split's most frequent levels, however many there are.

What no other role claims is a category: short labels that repeat ("Not Graduate", "usa"), and
a column whose one value is either there or missing. The encoding bounds its width: the
MAX_LEVELS - 1 most frequent levels and an "other" column for the rest and for levels never
seen, so a 20,000-level column costs what a 64-level one does.

Inside the model a StringLookup maps each string to a slot [unknown, *categories, missing] and a
fixed 0/1 matrix (`category_matrix`) maps the slots onto the encoded columns. (A string
comparison would read more directly, but ONNX cannot convert it.)
"""

import keras
import numpy as np

from recipes.errors import UserError
from recipes.roles.role import MISSING, Found, Role, as_text, example, kept_as_given

MAX_LEVELS = 64  # one-hot columns a categorical column may take, "other" included


# --- detection ------------------------------------------------------------------------------

def one_value_or_missing(facts):
    """A single value, sometimes missing: present or missing is all it says, and that is kept."""
    if facts.levels == 1 and facts.missing:
        return Found("categorical", f"kept as a category: {example(facts.counts)!r} or missing "
                     "(missing its own level)")
    return None


def anything_else(facts):
    """The last rule: what no other role claimed."""
    return Found("categorical", "kept as categories")


# --- fitted on the training split -------------------------------------------------------------

def fit(features, names, found, options):
    return [levels(features[c], names[c]) for c in features.columns]


def levels(column, name):
    """The levels one-hot encodes: all of them, or the MAX_LEVELS - 1 most frequent and an
    "other" column for the rest (and for levels never seen). Missing is its own level where
    training had missing values; elsewhere a missing value counts as the most frequent level."""
    values = as_text(column)
    present = values[values != MISSING]
    if present.empty:
        raise UserError(f"column {column.name!r} has no values in the training split")
    counts = present.value_counts()
    counts = counts.iloc[np.lexsort((counts.index.to_numpy(dtype=str), -counts.to_numpy()))]
    other = len(counts) > MAX_LEVELS
    kept = sorted(counts.index[:MAX_LEVELS - 1] if other else counts.index)
    filler = None if len(present) < len(values) else counts.index[0]  # ties: the first by name
    return {"name": name, "categories": kept, "filler": filler, "other": other}


# --- inside the model -------------------------------------------------------------------------

def lookups(entries):
    """One StringLookup per column, onto the slots [unknown, *categories, missing]."""
    return [keras.layers.StringLookup(vocabulary=[*c["categories"], MISSING], num_oov_indices=1,
                                      output_mode="one_hot", name=f"lookup_{c['name']}")
            for c in entries]


def encode(inputs, entries, layers):
    return [keras.ops.matmul(lookup(inputs[c["name"]]), category_matrix(c))
            for c, lookup in zip(entries, layers)]


def category_matrix(entry):
    """0/1 rows mapping the lookup's slots [unknown, *categories, missing] onto the encoded
    columns: one per category, then a "missing" column when `filler` is None (missing is its
    own level), then an "other" column when `other` (a level outside the MAX_LEVELS most
    frequent, or never seen). Else missing counts as `filler` and unknown as none."""
    categories, filler = entry["categories"], entry.get("filler")
    columns = len(categories) + (filler is None) + bool(entry.get("other"))
    identity = np.eye(columns, dtype="float32")
    unknown = identity[-1:] if entry.get("other") else np.zeros((1, columns), "float32")
    missing = identity[[len(categories)]] if filler is None else identity[[categories.index(filler)]]
    return np.vstack([unknown, identity[:len(categories)], missing])


def width(entry):
    return category_matrix(entry).shape[1]


def bound(options):
    """MAX_LEVELS columns, "other" included, and one for missing as its own level."""
    return MAX_LEVELS + 1


def card(entry):
    return {"missing": MISSING,
            "missing_becomes": "its own level" if entry.get("filler") is None else entry["filler"],
            "categories": entry["categories"],
            "unknown_category": "the 'other' column" if entry.get("other") else
                                "all-zero one-hot (as scikit-learn's handle_unknown='ignore')"}


ROLE = Role("categorical", given=kept_as_given("categorical"), spec_key="categorical",
            fit=fit, sublayers=("lookups", lookups), encode=encode, width=width, bound=bound,
            card=card)
