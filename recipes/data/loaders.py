"""Every data set by name: the tables' loaders (recipes/data/tables.py), the images' (images.py),
the texts' (text.py) and the time series' (series.py).

    dataset = loaders.load("iris")                                   # a data.Dataset
    dataset = loaders.load("csv", DataOptions(path="my.csv", target="price"))
"""

from recipes.data import images, series, tables, text
from recipes.data.dataset import DataOptions
from recipes.errors import UserError

LOADERS = {**tables.LOADERS, **images.LOADERS, **text.LOADERS, **series.LOADERS}


def names():
    return sorted(LOADERS)


def load(name, options=DataOptions()):
    if name not in LOADERS:
        raise UserError(f"unknown data set {name!r}; valid: {', '.join(names())}")
    return LOADERS[name](options)
