"""Column roles: what each column of a table is, one module per role, and this registry.

    found = roles.detect(facts)                  # the first rule that claims the column
    spec[role.spec_key] = role.fit(...)          # for each of roles.kept(), in ROLES' order

ROLES lists every role; the kept ones' blocks stand in the encoded matrix in this order (numeric,
categorical, date, text: the order models were saved with), and each one with a `given` is a
command-line override (--numeric COL, ...). DETECTION lists the rules in the order they are
tried, each from its role's module: a role may have two, at two places (an identifier by its
name comes before numbers, by its uniqueness after dates and text). Adding a role is one module
(recipes/roles/role.py says what it fills in) and an entry in each tuple here, plus, for a
--NAME flag, its name and help in recipes/choices.py's COLUMN_OVERRIDES.

Why the flags' names are also there: the role modules import Keras, for their encodings, and
the command line must not (`list` and `--help` answer at once without TensorFlow); so
choices.py keeps the names, and tests/test_roles.py checks they are these roles' own.
"""

from recipes.roles import categorical, constant, date, identifier, numeric, text

ROLES = {role.name: role for role in (numeric.ROLE, categorical.ROLE, date.ROLE, text.ROLE,
                                      identifier.ROLE, constant.ROLE)}

DETECTION = (constant.one_value_or_none, categorical.one_value_or_missing, identifier.id_named,
             numeric.numbers_found, date.dates_found, text.free_text, identifier.unique_per_row,
             categorical.anything_else)


def detect(facts):
    """The `Found` of the first rule in DETECTION that claims the column of `facts`."""
    return next(found for rule in DETECTION if (found := rule(facts)) is not None)


def kept():
    """The roles a model keeps, in the order of their blocks in the encoded matrix."""
    return [role for role in ROLES.values() if role.kept]


def overridable():
    """The roles a user may give a column (--NAME COL)."""
    return [role.name for role in ROLES.values() if role.given]
