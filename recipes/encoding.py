"""The fitted preprocessing as Keras layers, and the one raw-input model every run saves.

scikit-learn fits the statistics on the training split (recipes/preprocess.py); these layers
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
from recipes.images import PIXEL_MAX

MISSING_CATEGORY = ""  # how a client sends "no value" for a category
IMAGE_INPUT = "image"


@keras.saving.register_keras_serializable(package="recipes")
class TableEncoder(keras.layers.Layer):
    """Raw columns (a dict of named tensors) -> the float32 matrix the network was trained on.

    `numeric`: [{"name", "median", "mean", "scale"}]; `categorical`: [{"name", "categories",
    "filler"}], each block in this order.
    """

    def __init__(self, numeric, categorical, **kwargs):
        super().__init__(**kwargs)
        self.numeric, self.categorical = numeric, categorical
        # Slots [unknown, *categories, missing]; `to_columns` maps them onto the encoded columns.
        # (A string comparison would read more directly, but ONNX cannot convert it.)
        self.lookups = [keras.layers.StringLookup(
            vocabulary=[*c["categories"], MISSING_CATEGORY], num_oov_indices=1,
            output_mode="one_hot", name=f"lookup_{c['name']}") for c in categorical]
        self.to_columns = [category_matrix(c["categories"], c["filler"]) for c in categorical]

    def build(self, input_shape):
        for lookup in self.lookups:
            lookup.build((None,))

    def call(self, inputs):
        blocks = []
        if self.numeric:
            values = keras.ops.stack([keras.ops.cast(inputs[c["name"]], "float32")
                                      for c in self.numeric], axis=-1)
            median, mean, scale = (np.array([c[k] for c in self.numeric], "float32")
                                   for k in ("median", "mean", "scale"))
            values = keras.ops.where(keras.ops.isnan(values), median, values)
            blocks.append((values - mean) / scale)
        for column, lookup, to_columns in zip(self.categorical, self.lookups, self.to_columns):
            blocks.append(keras.ops.matmul(lookup(inputs[column["name"]]), to_columns))
        return keras.ops.concatenate(blocks, axis=-1) if len(blocks) > 1 else blocks[0]

    def compute_output_shape(self, input_shape):
        width = len(self.numeric) + sum(len(c["categories"]) for c in self.categorical)
        return (None, width)

    def get_config(self):
        return {**super().get_config(), "numeric": self.numeric, "categorical": self.categorical}


def category_matrix(categories, filler):
    """0/1 rows mapping the lookup's slots [unknown, *categories, missing] onto one column per
    category: unknown -> none, missing -> the filler's."""
    identity = np.eye(len(categories), dtype="float32")
    return np.vstack([np.zeros_like(identity[:1]), identity, identity[[categories.index(filler)]]])


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
    """The network's outputs as task `task` serves them: values, or one probability per class."""

    def __init__(self, task, **kwargs):
        super().__init__(**kwargs)
        self.task = task

    def call(self, outputs):
        return zoo.task(self.task).answer(outputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2 if self.task == "binary" else input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "task": self.task}


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
    return TableEncoder(spec["numeric"], spec["categorical"], name="encode")


def raw_model(spec, task, network):
    """Raw inputs -> the fitted preprocessing -> the trained `network` -> the task's answer.

    The network stays one nested layer, in the API (Sequential or functional) it was built with.
    """
    inputs = raw_inputs(spec)
    features = encoder(spec)(inputs)
    answer = Answer(task, name=zoo.task(task).answer_name)(network(features))
    return keras.Model(inputs, answer, name=f"{network.name}_on_raw_inputs")


def card_inputs(spec):
    """What a serving client must send: each input's name, dtype, shape and missing-value rule."""
    if spec["kind"] == "image":
        return [{"name": IMAGE_INPUT, "dtype": "uint8", "shape": [None, *spec["raw_shape"]],
                 "range": [0, PIXEL_MAX]}]
    numeric = {c["name"]: c for c in spec["numeric"]}
    categorical = {c["name"]: c for c in spec["categorical"]}
    cards = []
    for column in spec["inputs"]:
        name = column["name"]
        card = {"name": name, "column": column["column"], "dtype": column["dtype"],
                "shape": [None]}
        if name in numeric:
            card.update(missing="NaN", missing_becomes=numeric[name]["median"])
        else:
            card.update(missing=MISSING_CATEGORY, missing_becomes=categorical[name]["filler"],
                        categories=categorical[name]["categories"],
                        unknown_category="all-zero one-hot (as scikit-learn's "
                                         "handle_unknown='ignore')")
        cards.append(card)
    return cards
