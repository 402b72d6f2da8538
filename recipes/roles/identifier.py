"""Identifiers: dropped, since they tell rows apart and say nothing about them.

Two rules, at two places in the detection order (recipes/roles/__init__.py): an ID-like name
("id", "Loan_ID", "customer id", "PassengerId", "index", "instant", ...) with near-unique values
is an identifier before anything else is tried, numbers included; a column unique per row is one
only once dates and free text had their turn, since unique dates and reviews are worth keeping.
"""

import re

from recipes.roles.role import Found, Role

ID_WORD = re.compile(r"(?:^|[\W_])(?:id|ids|idx|index|key|uuid|guid|no)$", re.IGNORECASE)
ID_CAMEL = re.compile(r"[a-z0-9](?:Id|ID)$")
ID_NAMES = ("instant", "rownum", "row_number", "serial", "record")
NEAR_UNIQUE = 0.95  # share of distinct values that makes an ID-like name an identifier


def id_named(facts):
    if id_like(facts.name) and facts.levels >= NEAR_UNIQUE * facts.present:
        return Found("identifier", f"dropped: an ID-like name, {facts.levels / facts.present:.0%} "
                     "distinct")
    return None


def unique_per_row(facts):
    if facts.levels == facts.present:
        return Found("identifier", "dropped: unique per row (an identifier)")
    return None


def id_like(name):
    return bool(ID_WORD.search(name) or ID_CAMEL.search(name) or name.lower() in ID_NAMES)


ROLE = Role("identifier")
