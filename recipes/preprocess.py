"""Split, then fit the preprocessing on the training split only, scikit-learn style.

`TabularPreprocessor` holds everything needed to turn raw rows into model inputs and model
outputs back into answers. It is saved beside the model and reused at prediction and export time.
"""

from dataclasses import dataclass

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelBinarizer, OneHotEncoder, StandardScaler

from recipes.datasets import CLASSIFICATION, delimiter_hint
from recipes.errors import UserError

PREPROCESSOR_FILE = "preprocessor.joblib"


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
    stratify = dataset.task in CLASSIFICATION
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
    kind = StratifiedKFold if dataset.task in CLASSIFICATION else KFold
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


class TargetEncoder:
    """Regression targets as a float column; class labels one-hot (binary: one 0/1 column)."""

    def __init__(self, task):
        self.task = task
        self.classes = None

    def fit(self, target):
        if self.task in CLASSIFICATION:
            self._binarizer = LabelBinarizer().fit(np.asarray(target).astype(str))
            self.classes = [str(c) for c in self._binarizer.classes_]
        return self

    @property
    def num_outputs(self):
        return 1 if self.task != "multiclass" else len(self.classes)

    def encode(self, target):
        values = np.asarray(target)
        if self.task == "regression":
            return values.astype("float32").reshape(-1, 1)
        labels = values.astype(str)
        unseen = sorted(set(labels) - set(self.classes))
        if unseen:
            raise UserError(f"label(s) {', '.join(unseen[:5])} were not seen in training; "
                            f"known classes: {', '.join(self.classes)}")
        return self._binarizer.transform(labels).astype("float32")

    def probabilities(self, outputs):
        """Model outputs as one probability column per class (binary: sigmoid -> two columns)."""
        outputs = np.asarray(outputs)
        return np.hstack([1 - outputs, outputs]) if self.task == "binary" else outputs

    def decode(self, outputs):
        """Class names for classifiers, values for regressors."""
        if self.task == "regression":
            return np.asarray(outputs)[:, 0]
        return np.asarray(self.classes)[self.probabilities(outputs).argmax(axis=1)]


class Preprocessor:
    """What every preprocessor shares: the task's target encoding, and saving with joblib.

    A subclass's `fit(features, target)` learns from the training split (and fits the target
    encoder) and sets `input_shape`; its `transform(features)` returns model-ready float32 arrays.
    """

    def __init__(self, task):
        self.task = task
        self.target_encoder = TargetEncoder(task)

    @property
    def classes(self):
        return self.target_encoder.classes

    @property
    def num_outputs(self):
        return self.target_encoder.num_outputs

    def encode_target(self, target):
        return self.target_encoder.encode(target)

    def decode(self, outputs):
        return self.target_encoder.decode(outputs)

    def save(self, path):
        joblib.dump(self, path)


class TabularPreprocessor(Preprocessor):
    """Numbers: median-imputed, standardised. Categories: most-frequent-imputed, one-hot."""

    def fit(self, features, target):
        self.numeric_columns = list(features.select_dtypes(include="number").columns)
        self.categorical_columns = [c for c in features.columns if c not in self.numeric_columns]
        self.columns = list(features.columns)
        numeric = Pipeline([("impute", SimpleImputer(strategy="median")),
                            ("scale", StandardScaler())])
        categorical = Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                                ("one_hot", OneHotEncoder(handle_unknown="ignore",
                                                          sparse_output=False))])
        self.column_transformer = ColumnTransformer(
            [("numeric", numeric, self.numeric_columns),
             ("categorical", categorical, self.categorical_columns)],
            sparse_threshold=0.0,
        ).fit(self._typed(features))
        self.input_shape = (len(self.column_transformer.get_feature_names_out()),)
        self.target_encoder.fit(target)
        return self

    def transform(self, features):
        missing = [c for c in self.columns if c not in features.columns]
        if missing:
            raise UserError(f"missing feature column(s): {', '.join(map(str, missing))}; "
                            f"the model needs: {', '.join(map(str, self.columns))}"
                            f"{delimiter_hint(features)}")
        return self.column_transformer.transform(self._typed(features[self.columns])).astype("float32")

    def _typed(self, features):
        """Numbers as float, categories as strings: the same types at fit and transform time."""
        features = features.copy()
        for column in self.numeric_columns:
            values = pd.to_numeric(features[column], errors="coerce")
            not_numbers = features[column][values.isna() & features[column].notna()]
            if len(not_numbers):
                raise UserError(f"column {column!r} should hold numbers but holds "
                                f"{not_numbers.iloc[0]!r} (row {not_numbers.index[0]})")
            features[column] = values.astype("float64")
        for column in self.categorical_columns:
            features[column] = features[column].map(lambda v: np.nan if pd.isna(v) else str(v)).astype(object)
        return features


def preprocessor_for(dataset):
    """The preprocessor that fits this kind of data (tables: a ColumnTransformer; images: scaling)."""
    from recipes import images  # here, not at the top: images imports this module

    if images.is_images(dataset):
        return images.ImagePreprocessor(dataset.task)
    return TabularPreprocessor(dataset.task)


def load_preprocessor(path):
    return joblib.load(path)
