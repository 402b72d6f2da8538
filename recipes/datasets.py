"""Every data set by name: the tables' loaders (recipes/tables.py) and the images' (images.py).

    dataset = datasets.load("iris")                                   # a data.Dataset
    dataset = datasets.load("csv", DataOptions(path="my.csv", target="price"))
"""

from recipes import images, tables
from recipes.data import DataOptions
from recipes.errors import UserError

LOADERS = {**tables.LOADERS, **images.LOADERS}


def names():
    return sorted(LOADERS)


def load(name, options=DataOptions()):
    if name not in LOADERS:
        raise UserError(f"unknown data set {name!r}; valid: {', '.join(names())}")
    return LOADERS[name](options)


def is_images(dataset):
    """Images come as arrays (n, height, width); tables as DataFrames."""
    return not hasattr(dataset.features, "columns")
