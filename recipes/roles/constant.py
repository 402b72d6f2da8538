"""Constants: dropped, since one value in every row (or none at all) tells rows nothing.

A single value that is sometimes missing is not a constant: present or missing is kept as a
category (categorical.one_value_or_missing).
"""

from recipes.roles.role import Found, Role, example


def one_value_or_none(facts):
    if facts.levels == 0:
        return Found("constant", "dropped: no values at all")
    if facts.levels == 1 and not facts.missing:
        return Found("constant", f"dropped: {example(facts.counts)!r} in every row")
    return None


ROLE = Role("constant")
