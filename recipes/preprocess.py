"""Split, then fit the preprocessing on the training split only, scikit-learn style.

`fit` learns the statistics with scikit-learn (medians, means and scales, categories and the
most frequent one) and returns a `Preprocessing`: those statistics as a JSON spec, the task and
its classes. The spec becomes Keras layers (recipes/encoding.py) inside the model a run saves;
`encode` runs those very layers, so what the network trains on is what it is served.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

import zoo
from recipes import datasets, encoding, tables
from recipes.errors import UserError

ENCODE_BATCH = 8192  # rows encoded per call: bounded memory for large tables and image sets


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


def split(dataset, *, seed, val_fraction=0.15, test_fraction=0.2):
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
    spec: dict  # recipes.encoding's layers are built from it

    @property
    def input_shape(self):
        """The network's input: the encoded width of a table, or (height, width, channels)."""
        if self.spec["kind"] == "image":
            return tuple(self.spec["shape"])
        return (len(self.spec["numeric"]) + sum(len(c["categories"])
                                                for c in self.spec["categorical"]),)

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
            return zoo.task(self.task).encode(target, self.classes)
        except zoo.ZooError as error:
            raise UserError(str(error)) from None


def fit(dataset, train):
    """The `Preprocessing` learned from the `train` Part of `dataset` only."""
    task = zoo.task(dataset.task)
    classes = sorted(np.unique(np.asarray(train.target).astype(str)).tolist()) \
        if task.classification else []
    if datasets.is_images(dataset):
        images = np.asarray(train.features)
        shape = images.shape[1:] + ((1,) if images.ndim == 3 else ())
        if len(shape) != 3:
            raise UserError(f"expected images (n, height, width[, channels]), got an array of "
                            f"shape {images.shape}")
        spec = {"kind": "image", "raw_shape": list(images.shape[1:]), "shape": list(shape)}
    else:
        spec = table_spec(train.features)
    return Preprocessing(dataset.task, classes, spec)


def table_spec(features):
    """Numbers: median-imputed, standardised. Categories: most-frequent-imputed, one-hot."""
    names = encoding.input_names(features.columns)
    numeric_columns = list(features.select_dtypes(include="number").columns)
    categorical_columns = [c for c in features.columns if c not in numeric_columns]
    inputs = [{"column": str(c), "name": names[c],
               "dtype": "float32" if c in numeric_columns else "string"} for c in features.columns]
    numeric, categorical = [], []
    if numeric_columns:
        values = numbers(features, numeric_columns)
        medians = SimpleImputer(strategy="median").fit(values).statistics_
        # scale_, not the standard deviation: scikit-learn scales a constant column by 1
        scaler = StandardScaler().fit(np.where(np.isnan(values), medians, values))
        numeric = [{"name": names[c], "median": float(m), "mean": float(mean), "scale": float(s)}
                   for c, m, mean, s in zip(numeric_columns, medians, scaler.mean_, scaler.scale_)]
    for column in categorical_columns:
        values = categories(features[column])
        present = values[values != encoding.MISSING_CATEGORY]
        if present.empty:
            raise UserError(f"column {column!r} has no values in the training split")
        counts = present.astype(str).value_counts()
        filler = min(counts.index[counts == counts.max()])  # ties: the first, as SimpleImputer
        categorical.append({"name": names[column], "categories": sorted(counts.index),
                            "filler": filler})
    return {"kind": "table", "inputs": inputs, "numeric": numeric, "categorical": categorical}


def numbers(features, columns):
    """The columns as float64, NaN for missing; text in a number column is a `UserError`."""
    out = np.empty((len(features), len(columns)))
    for i, column in enumerate(columns):
        values = pd.to_numeric(features[column], errors="coerce")
        not_numbers = features[column][values.isna() & features[column].notna()]
        if len(not_numbers):
            raise UserError(f"column {column!r} should hold numbers but holds "
                            f"{not_numbers.iloc[0]!r} (row {not_numbers.index[0]})")
        out[:, i] = values.to_numpy(dtype="float64")
    return out


def categories(column):
    """A column's values as strings, "" for missing: the same strings at fit and serve time."""
    return column.astype(object).map(lambda v: encoding.MISSING_CATEGORY if pd.isna(v) else str(v))


def table_feed(features, spec):
    """One array per raw input: float32 numbers (NaN missing) or strings ("" missing)."""
    missing = [c["column"] for c in spec["inputs"] if c["column"] not in map(str, features.columns)]
    if missing:
        raise UserError(f"missing feature column(s): {', '.join(missing)}; the model needs: "
                        f"{', '.join(c['column'] for c in spec['inputs'])}"
                        f"{tables.delimiter_hint(features)}")
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
