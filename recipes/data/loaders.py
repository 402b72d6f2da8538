"""Every data set by name: the tables' loaders (recipes/data/tables.py) and the images' (images.py).

    dataset = loaders.load("iris")                                   # a data.Dataset
    dataset = loaders.load("csv", DataOptions(path="my.csv", target="price"))
"""

from recipes.data import images, tables
from recipes.data.dataset import DataOptions
from recipes.errors import UserError

LOADERS = {**tables.LOADERS, **images.LOADERS}


def names():
    return sorted(LOADERS)


def load(name, options=DataOptions()):
    if name not in LOADERS:
        raise UserError(f"unknown data set {name!r}; valid: {', '.join(names())}")
    return LOADERS[name](options)
