"""Split, then fit the preprocessing on the training split only, scikit-learn style.

`fit` learns the statistics with scikit-learn (medians, means and scales, categories and the
most frequent one) and returns a `Preprocessing`: those statistics as a JSON spec, the task and
its classes. The spec becomes Keras layers (recipes/features/encoding.py) inside the model a run saves;
`encode` runs those very layers, so what the network trains on is what it is served.
"""

from dataclasses import dataclass, field

import keras
import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

import zoo
from recipes.data import loaders, reading
from recipes.features import dates, encoding
from recipes.errors import UserError

ENCODE_BATCH = 8192  # rows encoded per call: bounded memory for large tables and image sets
MAX_LEVELS = 64  # one-hot columns a categorical column may take, "other" included
MAX_TOKENS = 256  # words a text column's TF-IDF encoding keeps
VAL_FRACTION, TEST_FRACTION = 0.15, 0.2  # of all rows, where the data ships no test split


@dataclass
class Part:
    features: object
    target: object

    def __len__(self):
        return len(self.target)


@dataclass
class Splits:
    train: Part
    val: Part
    test: Part


def split(dataset, *, seed, val_fraction=VAL_FRACTION, test_fraction=TEST_FRACTION):
    """Seeded train/validation/test split, stratified by class for classification."""
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
            features, target, test_size=val_fraction / (1 - test_fraction), random_state=seed,
            stratify=target if stratify else None)
    except ValueError as error:  # e.g. a class with a single example cannot be stratified
        raise UserError(f"cannot split {dataset.name}: {error}") from None
    return Splits(Part(train_x, train_y), Part(val_x, val_y), Part(test_x, test_y))


def folds(dataset, parts, k, *, seed):
    """K (train, validation) pairs of Parts over `parts` joined, each row validating once:
    scikit-learn's shuffled KFold, stratified by class for classification."""
    features = join([part.features for part in parts])
    target = join([part.target for part in parts])
    kind = StratifiedKFold if zoo.task(dataset.task).classification else KFold
    try:
        pairs = list(kind(k, shuffle=True, random_state=seed).split(
            np.zeros(len(target)), np.asarray(target).astype(str)))
    except ValueError as error:  # more folds than rows, or than a class has
        raise UserError(f"cannot make {k} folds of {dataset.name}: {error}") from None
    return [(Part(take(features, fit), take(target, fit)), Part(take(features, val), take(target, val)))
            for fit, val in pairs]


def join(pieces):
    """Tables and columns joined by pandas, images by NumPy."""
    return pd.concat(pieces) if isinstance(pieces[0], (pd.DataFrame, pd.Series)) else \
        np.concatenate(pieces)


def take(values, rows):
    return values.iloc[rows] if isinstance(values, (pd.DataFrame, pd.Series)) else values[rows]


@dataclass
class Preprocessing:
    """What was learned from the training split: the encoders' statistics as JSON (`spec`), the
    task and its classes. `encode` and `encode_target` give the network's training arrays;
    `feed` gives the raw-input model's inputs."""

    task: str
    classes: list  # class names, sorted; [] for regression
    spec: dict  # recipes.features.encoding's layers are built from it
    scale: dict = field(default_factory=dict)  # how regression targets are learned (Task.fit_scale)
    options: dict = field(default_factory=dict)  # what `fit` was asked: folds refit with them

    @property
    def input_shape(self):
        """The network's input: the encoded width of a table, or (height, width, channels)."""
        if self.spec["kind"] == "image":
            return tuple(self.spec["shape"])
        return (encoding.table_width(self.spec),)

    @property
    def num_outputs(self):
        return zoo.task(self.task).output_units(self.classes)

    def feed(self, features):
        """Raw rows (or images) as the raw-input model takes them: one array per input name."""
        if self.spec["kind"] == "image":
            return {encoding.IMAGE_INPUT: image_array(features, self.spec["raw_shape"])}
        return table_feed(features, self.spec)

    def encode(self, features):
        """The network's float32 inputs, computed by the encoder layer the saved model holds."""
        layer = encoding.encoder(self.spec)
        feed = self.feed(features)
        chunks = [np.asarray(layer({name: values[i:i + ENCODE_BATCH]
                                    for name, values in feed.items()}))
                  for i in range(0, len(features), ENCODE_BATCH)]
        return np.concatenate(chunks) if chunks else np.zeros((0, *self.input_shape), "float32")

    def encode_target(self, target):
        try:
            return zoo.task(self.task).encode(target, self.classes, self.scale)
        except zoo.ZooError as error:
            raise UserError(str(error)) from None


def fit(dataset, train, target_transform="none", bins=0):
    """The `Preprocessing` learned from the `train` Part of `dataset` only; regression targets
    learned as `target_transform` says (zoo.tasks.Task.fit_scale), numbers with more than `bins`
    levels also encoded piecewise-linearly over `bins` quantile bins (0: not)."""
    task = zoo.task(dataset.task)
    classes = sorted(np.unique(np.asarray(train.target).astype(str)).tolist()) \
        if task.classification else []
    if loaders.is_images(dataset):
        images = np.asarray(train.features)
        shape = images.shape[1:] + ((1,) if images.ndim == 3 else ())
        if len(shape) != 3:
            raise UserError(f"expected images (n, height, width[, channels]), got an array of "
                            f"shape {images.shape}")
        spec = {"kind": "image", "raw_shape": list(images.shape[1:]), "shape": list(shape)}
    else:
        roles = {c.name: c for c in dataset.columns} if dataset.columns else None
        spec = table_spec(train.features, roles, bins)
    try:
        scale = task.fit_scale(train.target, target_transform)
    except zoo.ZooError as error:
        raise UserError(str(error)) from None
    return Preprocessing(dataset.task, classes, spec, scale,
                         {"target_transform": scale.get("transform", "none"), "bins": bins})


def table_spec(features, roles=None, bins=0):
    """What each raw column becomes, learned from the training rows `features`.

    `roles`: column -> data.Column role and date format (the csv loader's, recipes/data/columns.py);
    without them numbers are numeric and everything else categorical. Numbers: median-imputed,
    standardised, plus a missing flag where training had missing values. Categories: one-hot
    over at most MAX_LEVELS levels. Dates: recipes/features/dates.py's parts. Text: TF-IDF over at most
    MAX_TOKENS words.
    """
    names = encoding.input_names(features.columns)
    role = {c: roles[str(c)].role if roles else
            "numeric" if pd.api.types.is_numeric_dtype(features[c]) else "categorical"
            for c in features.columns}
    inputs = [{"column": str(c), "name": names[c],
               "dtype": "float32" if role[c] == "numeric" else "string"} for c in features.columns]
    by_role = {r: [c for c in features.columns if role[c] == r] for r in set(role.values())}
    spec = {"kind": "table", "inputs": inputs,
            "numeric": numeric_spec(features, by_role.get("numeric", []), names, bins),
            "categorical": [category_spec(features[c], names[c])
                            for c in by_role.get("categorical", [])],
            "dates": [], "texts": [text_spec(features[c], names[c])
                                    for c in by_role.get("text", [])]}
    for column in by_role.get("date", []):
        fitted = dates.fit(features[column], roles[str(column)].date_format)
        if fitted is None:
            raise UserError(f"date column {column!r} has no readable dates in the training split")
        spec["dates"].append({"name": names[column], **fitted})
    return spec


def numeric_spec(features, columns, names, bins=0):
    if not columns:
        return []
    values = numbers(features, columns)
    medians = SimpleImputer(strategy="median", keep_empty_features=True).fit(values).statistics_
    # scale_, not the standard deviation: scikit-learn scales a constant column by 1
    scaler = StandardScaler().fit(np.where(np.isnan(values), medians, values))
    missing = np.isnan(values).any(axis=0)
    specs = [{"name": names[c], "median": float(m), "mean": float(mean), "scale": float(s),
              "indicator": bool(flag)}
             for c, m, mean, s, flag in zip(columns, medians, scaler.mean_, scaler.scale_, missing)]
    for spec, column in zip(specs, values.T):
        edges = quantile_edges(column[~np.isnan(column)], bins)
        if edges:
            spec["edges"] = edges
    return specs


def quantile_edges(values, bins):
    """Up to `bins` + 1 distinct training quantiles, for the piecewise-linear encoding of a
    column with more than `bins` levels; [] for fewer (its levels are few enough as they are)."""
    if bins < 2 or len(np.unique(values)) <= bins:
        return []
    return [float(e) for e in np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)))]


def category_spec(column, name):
    """The levels one-hot encodes: all of them, or the MAX_LEVELS - 1 most frequent and an
    "other" column for the rest (and for levels never seen). Missing is its own level where
    training had missing values; elsewhere a missing value counts as the most frequent level."""
    values = categories(column)
    present = values[values != encoding.MISSING_CATEGORY]
    if present.empty:
        raise UserError(f"column {column.name!r} has no values in the training split")
    counts = present.value_counts()
    counts = counts.iloc[np.lexsort((counts.index.to_numpy(dtype=str), -counts.to_numpy()))]
    other = len(counts) > MAX_LEVELS
    kept = sorted(counts.index[:MAX_LEVELS - 1] if other else counts.index)
    filler = None if len(present) < len(values) else counts.index[0]  # ties: the first by name
    return {"name": name, "categories": kept, "filler": filler, "other": other}


def text_spec(column, name):
    """The training split's MAX_TOKENS most frequent words and their inverse document
    frequencies, as Keras' TextVectorization computes them."""
    texts = categories(column).to_numpy(dtype=object)
    vectorizer = keras.layers.TextVectorization(max_tokens=MAX_TOKENS + 1, output_mode="multi_hot")
    vectorizer.adapt(texts)
    vocabulary = [w for w in vectorizer.get_vocabulary() if w != "[UNK]"]
    if not vocabulary:
        raise UserError(f"text column {column.name!r} has no words in the training split")
    documents = np.asarray(vectorizer(texts))[:, 1:].sum(axis=0)
    idf = np.log(1 + len(texts) / (1 + documents))
    return {"name": name, "vocabulary": vocabulary, "idf": [float(v) for v in idf]}


def numbers(features, columns):
    """The columns as float64, NaN for missing, numbers written as text read by the csv loader's
    rule (reading.as_numbers); a column of text is a `UserError`."""
    out = np.empty((len(features), len(columns)))
    for i, column in enumerate(columns):
        out[:, i] = reading.as_numbers(features[column], column).to_numpy()
    return out


def categories(column):
    """A column's values as strings, "" for missing: the same strings at fit and serve time."""
    return pd.Series(np.where(column.isna(), encoding.MISSING_CATEGORY, column.astype(str)),
                     index=column.index, dtype=object)


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
        feed[column["name"]] = (numbers(features, [by_name[column["column"]]])[:, 0].astype("float32")
                                if column["dtype"] == "float32"
                                else categories(values).to_numpy(dtype=object))
    return feed


def image_array(features, raw_shape):
    images = np.asarray(features)
    if images.shape[1:] != tuple(raw_shape):
        raise UserError(f"the model takes images of shape {tuple(raw_shape)}, got "
                        f"{images.shape[1:]}")
    return images
