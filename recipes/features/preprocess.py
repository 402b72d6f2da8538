"""Split, then fit the preprocessing on the training split only, scikit-learn style.

`fit` learns the statistics, each column as its role says (recipes/roles/: medians, means and
scales, categories and the most frequent one, date parts, vocabularies), and returns a
`Preprocessing`: those statistics as a JSON spec, the task and its classes. The spec becomes
Keras layers (recipes/features/encoding.py) inside the model a run saves; `encode` runs those
very layers, so what the network trains on is what it is served.
"""

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit, train_test_split

import zoo
from recipes import roles
from recipes.features import encoding, targets, tokens, windows
from recipes.errors import UserError
from recipes.features.inputs import input_names
from recipes.features.parts import TEST_FRACTION, VAL_FRACTION, Part, Splits, val_rows
from recipes.roles import numeric
from recipes.roles.role import as_text

ENCODE_BATCH = 8192  # rows encoded per call: bounded memory for large tables and image sets


def split(dataset, *, seed, val_fraction=VAL_FRACTION, test_fraction=TEST_FRACTION):
    """Seeded train/validation/test split, stratified by class for classification, validation
    at most parts.VAL_MAX_ROWS rows; a series' in time order (windows.split): the future is
    never trained on."""
    if dataset.kind == "series":
        return windows.split(dataset, val_fraction=val_fraction, test_fraction=test_fraction)
    stratify = zoo.task(dataset.task).classification
    features, target = dataset.features, dataset.target
    try:
        if dataset.test is None:
            features, test_x, target, test_y = train_test_split(
                features, target, test_size=test_fraction, random_state=seed,
                stratify=target if stratify else None)
        else:
            test_x, test_y = dataset.test
        train_x, val_x, train_y, val_y = train_test_split(
            features, target, test_size=val_rows(len(target), val_fraction, test_fraction),
            random_state=seed,
            stratify=target if stratify else None)
    except ValueError as error:  # e.g. a class with a single example cannot be stratified
        raise UserError(f"cannot split {dataset.name}: {error}") from None
    return Splits(Part(train_x, train_y), Part(val_x, val_y), Part(test_x, test_y))


def folds(dataset, rows, k, *, seed):
    """K (fitting, validating) pairs of row positions in the Part `rows`, each row validating
    once: scikit-learn's KFold, shuffled by `seed`, stratified by class for classification. The
    one way `tune --folds` and `grid` cut train + validation. A series' windows (in time order)
    by TimeSeriesSplit: each fold validates on the windows after the ones it fits, so no fold
    learns from its own future (the first k-th validates none)."""
    target = np.asarray(rows.target).astype(str)
    if dataset.kind == "series":
        cut = TimeSeriesSplit(k)
    else:
        kind = StratifiedKFold if zoo.task(dataset.task).classification else KFold
        cut = kind(k, shuffle=True, random_state=seed)
    try:
        return list(cut.split(np.zeros(len(target)), target if target.ndim == 1 else None))
    except ValueError as error:  # more folds than rows, or than a class has
        raise UserError(f"cannot make {k} folds of {dataset.name}: {error}") from None


@dataclass
class Preprocessing:
    """What was learned from the training split: the encoders' statistics as JSON (`spec`), the
    task and its classes. `encode` and `encode_target` give the network's training arrays;
    `feed` gives the raw-input model's inputs."""

    task: str
    classes: list  # class names, sorted; [] for regression
    spec: dict  # recipes.features.encoding's layers are built from it
    scale: dict = field(default_factory=dict)  # how regression targets are learned (targets.py)
    options: dict = field(default_factory=dict)  # what `fit` was asked: folds refit with them

    @property
    def input_shape(self):
        """The network's input: the encoded width of a table, (height, width, channels), a
        text's token ids (sequence length,) or a series' window (steps, value columns)."""
        kind = self.spec["kind"]
        if kind == "image":
            return tuple(self.spec["shape"])
        if kind == "text":
            return (self.spec["sequence_length"],)
        if kind == "series":
            return (self.spec["window"], len(self.spec["inputs"]))
        return (encoding.table_width(self.spec),)

    @property
    def num_outputs(self):
        """The output layer's units: the task's, or one per step a series forecasts."""
        if self.spec["kind"] == "series":
            return self.spec["horizon"]
        return zoo.task(self.task).output_units(self.classes)

    @property
    def network_arguments(self):
        """Builder arguments the data decides: a text network's vocabulary size; where a
        series' forecast starts (its target is learned standardised as its first input
        channel: windows.target_scale); how many of a table's encoded columns are its numbers
        (the numeric role's block comes first, each number's standardised value first in it:
        what an MLP's numeric_embedding embeds)."""
        if self.spec["kind"] == "text":
            return {"vocabulary_size": tokens.vocabulary_size(self.spec)}
        if self.spec["kind"] == "series":  # 0: no change from the last value, or the mean
            return {"output_bias": 0.0}
        if self.spec["kind"] == "table":
            return {"numeric_columns": len(self.spec.get("numeric", ()))}
        return {}

    def feed(self, features):
        """Raw rows, texts, windows or images as the raw-input model takes them: one array per
        input name."""
        if self.spec["kind"] == "image":
            return {encoding.IMAGE_INPUT: image_array(features, self.spec["raw_shape"])}
        if self.spec["kind"] == "series":
            return windows.feed(features, self.spec)
        return table_feed(features, self.spec)  # a text's one column is a table's string column

    def encode(self, features):
        """The network's float32 inputs, computed by the encoder layer the saved model holds."""
        return self.encode_feed(self.feed(features))

    @cached_property
    def encoder(self):
        """The encoder layer the saved model holds, built once: building its lookups costs more
        than encoding a few thousand rows, and importance encodes dozens of copies."""
        return encoding.encoder(self.spec)

    def encode_feed(self, feed):
        """`encode` of what `feed` returned: the raw inputs by name."""
        layer = self.encoder
        rows = len(next(iter(feed.values())))
        chunks = [np.asarray(layer({name: values[i:i + ENCODE_BATCH]
                                    for name, values in feed.items()}))
                  for i in range(0, rows, ENCODE_BATCH)]
        return np.concatenate(chunks) if chunks else np.zeros((0, *self.input_shape), "float32")

    def encode_target(self, target):
        try:
            return targets.learned(zoo.task(self.task), target, self.classes, self.scale)
        except zoo.ZooError as error:
            raise UserError(str(error)) from None


def fit(dataset, train, target_transform="none", bins=0):
    """The `Preprocessing` learned from the `train` Part of `dataset` only; regression targets
    learned as `target_transform` says (targets.fit_scale), numbers with more than `bins`
    levels also encoded piecewise-linearly over `bins` quantile bins (0: not)."""
    task = zoo.task(dataset.task)
    classes = sorted(np.unique(np.asarray(train.target).astype(str)).tolist()) \
        if task.classification else []
    if dataset.kind == "text":
        spec = tokens.fit(train.features)
    elif dataset.kind == "series":
        spec = windows.fit(dataset, train)
    elif dataset.is_images:
        images = np.asarray(train.features)
        shape = images.shape[1:] + ((1,) if images.ndim == 3 else ())
        if len(shape) != 3:
            raise UserError(f"expected images (n, height, width[, channels]), got an array of "
                            f"shape {images.shape}")
        spec = {"kind": "image", "raw_shape": list(images.shape[1:]), "shape": list(shape)}
    else:
        found = {c.name: c for c in dataset.columns} if dataset.columns else None
        spec = table_spec(train.features, found, bins)
    scale = windows.target_scale(spec) if dataset.kind == "series" else \
        targets.fit_scale(task, train.target, target_transform)
    return Preprocessing(dataset.task, classes, spec, scale,
                         {"target_transform": scale.get("transform", "none"), "bins": bins})


def table_spec(features, found=None, bins=0):
    """What each raw column becomes, learned from the training rows `features`.

    `found`: column -> its data.Column (role, date format), the csv loader's; without them
    numbers are numeric and everything else categorical, as the bundled tables' dtypes say.
    Each kept role (recipes/roles/) fits its own columns: numbers their medians, means and
    scales (and with `bins`, quantile edges), categories their levels, dates their parts'
    statistics, text its vocabulary.
    """
    names = input_names(features.columns)
    role = {c: found[str(c)].role if found else
            "numeric" if pd.api.types.is_numeric_dtype(features[c]) else "categorical"
            for c in features.columns}
    spec = {"kind": "table", "inputs": [{"column": str(c), "name": names[c],
                                         "dtype": roles.ROLES[role[c]].dtype}
                                        for c in features.columns]}
    for kept in roles.kept():
        columns = [c for c in features.columns if role[c] == kept.name]
        spec[kept.spec_key] = kept.fit(features[columns], names, found, {"bins": bins})
    return spec


def table_feed(features, spec):
    """One array per raw input: float32 numbers (NaN missing) or strings ("" missing)."""
    missing = [c["column"] for c in spec["inputs"] if c["column"] not in map(str, features.columns)]
    if missing:
        raise UserError(f"missing feature column(s): {', '.join(missing)}; the model needs: "
                        f"{', '.join(c['column'] for c in spec['inputs'])}")
    by_name = {str(c): c for c in features.columns}
    feed = {}
    for column in spec["inputs"]:
        values = features[by_name[column["column"]]]
        feed[column["name"]] = (
            numeric.as_numbers(values, by_name[column["column"]]).to_numpy(dtype="float32")
            if column["dtype"] == "float32" else as_text(values).to_numpy(dtype=object))
    return feed


def image_array(features, raw_shape):
    images = np.asarray(features)
    if images.shape[1:] != tuple(raw_shape):
        raise UserError(f"the model takes images of shape {tuple(raw_shape)}, got "
                        f"{images.shape[1:]}")
    return images
