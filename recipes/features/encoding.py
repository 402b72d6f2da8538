"""The fitted preprocessing as Keras layers, and the one raw-input model every run saves.

scikit-learn fits the statistics on the training split (recipes/features/preprocess.py); these layers
carry them as plain JSON config, so the model a run saves takes raw inputs and loads in Keras'
safe mode with no pickle anywhere:

- `TableEncoder`: one named input per raw column. Numbers: NaN -> the training median, then
  (x - mean) / scale. Categories: "" (missing) -> the most frequent training category, then one
  column per training category; an unseen category gives all zeros (scikit-learn's
  `handle_unknown="ignore"`).
- `ImageEncoder`: uint8 images (n, height, width[, channels]) -> float32 in [0, 1], channel axis
  added.
- `Answer`: the network's outputs as the task serves them (zoo.tasks.Task.answer).

`raw_model` puts them around a trained zoo network. Training feeds the network the encoded arrays
that the same `encoder` layer computes, so training-time and serving-time preprocessing cannot
drift; predict, export, TF Serving and tune all use the one saved graph.
"""

import re

import keras
import numpy as np

import zoo
from recipes.features import dates
from recipes.data.images import PIXEL_MAX

MISSING_CATEGORY = ""  # how a client sends "no value" for a category
IMAGE_INPUT = "image"


@keras.saving.register_keras_serializable(package="recipes")
class TableEncoder(keras.layers.Layer):
    """Raw columns (a dict of named tensors) -> the float32 matrix the network was trained on.

    One block per kind of column, in this order, each a list of per-column specs:
    `numeric` [{"name", "median", "mean", "scale", "indicator"}], `categorical` [{"name",
    "categories", "filler", "other"}], `dates` [{"name", "format", "median", "origin", "scale",
    "year_mean", "year_scale"}], `texts` [{"name", "vocabulary", "idf"}]. Every column's width is
    bounded (MAX_LEVELS categories, DATE_WIDTH date parts, MAX_TOKENS words), so memory is too.
    """

    def __init__(self, numeric, categorical, dates=(), texts=(), **kwargs):
        super().__init__(**kwargs)
        self.numeric, self.categorical = list(numeric), list(categorical)
        self.dates, self.texts = list(dates), list(texts)
        # Slots [unknown, *categories, missing]; `to_columns` maps them onto the encoded columns.
        # (A string comparison would read more directly, but ONNX cannot convert it.)
        self.lookups = [keras.layers.StringLookup(
            vocabulary=[*c["categories"], MISSING_CATEGORY], num_oov_indices=1,
            output_mode="one_hot", name=f"lookup_{c['name']}") for c in self.categorical]
        self.to_columns = [category_matrix(c) for c in self.categorical]
        self.vectorizers = [keras.layers.TextVectorization(
            vocabulary=c["vocabulary"], idf_weights=c["idf"], output_mode="tf_idf",
            name=f"words_{c['name']}") for c in self.texts]

    def build(self, input_shape):
        for layer in [*self.lookups, *self.vectorizers]:
            layer.build((None,))

    def call(self, inputs):
        blocks = []
        if self.numeric:
            blocks.append(numeric_block(inputs, self.numeric))
        for column, lookup, to_columns in zip(self.categorical, self.lookups, self.to_columns):
            blocks.append(keras.ops.matmul(lookup(inputs[column["name"]]), to_columns))
        blocks += [dates.features(inputs[column["name"]], column) for column in self.dates]
        for column, vectorize in zip(self.texts, self.vectorizers):
            blocks.append(keras.ops.cast(vectorize(inputs[column["name"]]), "float32"))
        return keras.ops.concatenate(blocks, axis=-1) if len(blocks) > 1 else blocks[0]

    def compute_output_shape(self, input_shape):
        return (None, table_width(self.get_config()))

    def get_config(self):
        return {**super().get_config(), "numeric": self.numeric, "categorical": self.categorical,
                "dates": self.dates, "texts": self.texts}


def table_width(spec):
    """Columns of the encoded matrix: what each raw column expands into, summed."""
    return (sum(1 + bool(c.get("indicator")) + max(len(c.get("edges", ())) - 1, 0)
                for c in spec["numeric"])
            + sum(category_matrix(c).shape[1] for c in spec["categorical"])
            + dates.DATE_WIDTH * len(spec.get("dates", ()))
            + sum(len(c["vocabulary"]) + 1 for c in spec.get("texts", ())))  # + the OOV slot


def numeric_block(inputs, columns):
    """NaN -> the training median, then (x - mean) / scale; with `indicator`, one more 0/1
    column saying the value was missing (where training had missing values); with `edges`, the
    value's piecewise-linear encoding over them (`piecewise_linear`)."""
    values = keras.ops.stack([keras.ops.cast(inputs[c["name"]], "float32") for c in columns],
                             axis=-1)
    median, mean, scale = (np.array([c[k] for c in columns], "float32")
                           for k in ("median", "mean", "scale"))
    missing = keras.ops.isnan(values)
    filled = keras.ops.where(missing, median, values)
    blocks = [(filled - mean) / scale]
    flagged = [i for i, c in enumerate(columns) if c.get("indicator")]
    if flagged:
        blocks.append(keras.ops.cast(keras.ops.take(missing, flagged, axis=1), "float32"))
    blocks += [piecewise_linear(filled[:, i], c["edges"]) for i, c in enumerate(columns)
               if c.get("edges")]
    return keras.ops.concatenate(blocks, axis=-1) if len(blocks) > 1 else blocks[0]


def piecewise_linear(values, edges):
    """Gorishniy et al.'s piecewise-linear encoding (2022): for bins between training quantiles
    `edges`, how far the value has filled each, from 0 (below it) to 1 (above it). A plain MLP
    then bends as sharply at each quantile as gradient boosting splits there."""
    low, high = np.array(edges[:-1], "float32"), np.array(edges[1:], "float32")
    filled = (values[:, None] - low) / np.maximum(high - low, 1e-12)
    return keras.ops.clip(filled, 0.0, 1.0)


def category_matrix(column):
    """0/1 rows mapping the lookup's slots [unknown, *categories, missing] onto the encoded
    columns: one per category, then a "missing" column when `filler` is None (missing is its
    own level), then an "other" column when `other` (a level outside the MAX_LEVELS most
    frequent, or never seen). Else missing counts as `filler` and unknown as none."""
    categories, filler = column["categories"], column.get("filler")
    width = len(categories) + (filler is None) + bool(column.get("other"))
    identity = np.eye(width, dtype="float32")
    unknown = identity[-1:] if column.get("other") else np.zeros((1, width), "float32")
    missing = identity[[len(categories)]] if filler is None else identity[[categories.index(filler)]]
    return np.vstack([unknown, identity[:len(categories)], missing])


@keras.saving.register_keras_serializable(package="recipes")
class ImageEncoder(keras.layers.Layer):
    """{"image": uint8 pixels} -> float32 in [0, 1] of shape `shape` (height, width, channels)."""

    def __init__(self, shape, **kwargs):
        super().__init__(**kwargs)
        self.shape = tuple(shape)

    def call(self, inputs):
        pixels = keras.ops.cast(inputs[IMAGE_INPUT], "float32") / PIXEL_MAX
        return keras.ops.reshape(pixels, (-1, *self.shape))

    def compute_output_shape(self, input_shape):
        return (None, *self.shape)

    def get_config(self):
        return {**super().get_config(), "shape": list(self.shape)}


@keras.saving.register_keras_serializable(package="recipes")
class Answer(keras.layers.Layer):
    """The network's outputs as task `task` serves them: values in the target's units (undoing
    the target `scale` training used, zoo.tasks.Task.fit_scale), or one probability per class."""

    def __init__(self, task, scale=None, **kwargs):
        super().__init__(**kwargs)
        self.task, self.scale = task, scale or {}

    def call(self, outputs):
        return zoo.task(self.task).answer(outputs, self.scale)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2 if self.task == "binary" else input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "task": self.task, "scale": self.scale}


def input_names(columns):
    """Signature-safe, unique input names: "sepal length (cm)" -> "sepal_length_cm".

    Keras names the inputs itself otherwise, and a column called "stack" or "where" must not
    clash with an op's name in the SavedModel.
    """
    names = {}
    for column in columns:
        base = re.sub(r"[^0-9A-Za-z]+", "_", str(column)).strip("_") or "column"
        base = f"x_{base}" if base[0].isdigit() else base
        name, n = base, 2
        while name in names.values():
            name, n = f"{base}_{n}", n + 1
        names[column] = name
    return names


def raw_inputs(spec):
    """The Keras inputs of a preprocessing spec (preprocess.Preprocessing.spec), by input name."""
    if spec["kind"] == "image":
        return {IMAGE_INPUT: keras.Input(shape=tuple(spec["raw_shape"]), dtype="uint8",
                                         name=IMAGE_INPUT)}
    return {column["name"]: keras.Input(shape=(), dtype=column["dtype"], name=column["name"])
            for column in spec["inputs"]}


def encoder(spec):
    """The layer that turns raw inputs into the network's features."""
    if spec["kind"] == "image":
        return ImageEncoder(spec["shape"], name="encode")
    return TableEncoder(spec["numeric"], spec["categorical"], spec.get("dates", ()),
                        spec.get("texts", ()), name="encode")


def raw_model(spec, task, network, scale=None):
    """Raw inputs -> the fitted preprocessing -> the trained `network` -> the task's answer.

    The network stays one nested layer, in the API (Sequential or functional) it was built with.
    """
    inputs = raw_inputs(spec)
    features = encoder(spec)(inputs)
    answer = Answer(task, scale, name=zoo.task(task).answer_name)(network(features))
    return keras.Model(inputs, answer, name=f"{network.name}_on_raw_inputs")


def card_inputs(spec):
    """What a serving client must send: each input's name, dtype, shape and missing-value rule."""
    if spec["kind"] == "image":
        return [{"name": IMAGE_INPUT, "dtype": "uint8", "shape": [None, *spec["raw_shape"]],
                 "range": [0, PIXEL_MAX]}]
    rules = {c["name"]: {"missing": "NaN", "missing_becomes": c["median"]}
             for c in spec["numeric"]}
    for c in spec["categorical"]:
        rules[c["name"]] = {
            "missing": MISSING_CATEGORY,
            "missing_becomes": "its own level" if c.get("filler") is None else c["filler"],
            "categories": c["categories"],
            "unknown_category": "the 'other' column" if c.get("other") else
                                "all-zero one-hot (as scikit-learn's handle_unknown='ignore')"}
    for c in spec.get("dates", ()):
        rules[c["name"]] = {"format": c["format"], "missing": MISSING_CATEGORY,
                            "missing_becomes": "the training median date, flagged as missing"}
    for c in spec.get("texts", ()):
        rules[c["name"]] = {"missing": MISSING_CATEGORY, "words": len(c["vocabulary"]),
                            "encoding": "TF-IDF over the training vocabulary"}
    return [{"name": column["name"], "column": column["column"], "dtype": column["dtype"],
             "shape": [None], **rules[column["name"]]} for column in spec["inputs"]]
