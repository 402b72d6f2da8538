"""The fitted preprocessing as Keras layers, and the one raw-input model every run saves.

scikit-learn fits the statistics on the training split (recipes/features/preprocess.py); these layers
carry them as plain JSON config, so the model a run saves takes raw inputs and loads in Keras'
safe mode with no pickle anywhere:

- `TableEncoder`: one named input per raw column, each encoded as its column role says
  (recipes/roles/: numbers standardised, categories one-hot, dates as trend and cycles, free
  text as TF-IDF).
- `ImageEncoder`: uint8 images (n, height, width[, channels]) -> float32 in [0, 1], channel axis
  added.
- a text's raw strings -> token ids (recipes/features/tokens.py), a series' raw windows -> scaled
  steps (recipes/features/windows.py): each of those kinds owns its encoder, its inputs and
  their lines on the model card, in its own module (`KINDS`).
- `Answer`: the network's outputs as the task serves them, in the target's own units
  (recipes/features/targets.py's `served`).

`raw_model` puts them around a trained zoo network. Training feeds the network the encoded arrays
that the same `encoder` layer computes, so training-time and serving-time preprocessing cannot
drift; predict, export, TF Serving and tune all use the one saved graph.
"""

import keras

import zoo
from recipes import roles
from recipes.features import targets, tokens, windows

KINDS = {"text": tokens, "series": windows}  # spec kind -> its module: raw_inputs, encoder, card
IMAGE_INPUT = "image"
PIXEL_MAX = 255  # the images every loader hands over are uint8


@keras.saving.register_keras_serializable(package="recipes")
class TableEncoder(keras.layers.Layer):
    """Raw columns (a dict of named tensors) -> the float32 matrix the network was trained on.

    One keyword argument per kept column role (recipes/roles/), its list of per-column entries
    in the spec: `numeric`, `categorical`, `dates`, `texts` (each role's module says what its
    entries hold and how they are encoded). They are also the layer's config, so models saved
    before the roles had modules load as they were. The blocks stand in the registry's order;
    each role bounds the width of its columns, so memory is bounded too.
    """

    def __init__(self, **kwargs):
        entries = {role.spec_key: list(kwargs.pop(role.spec_key, ())) for role in roles.kept()}
        super().__init__(**kwargs)
        self.entries = entries
        for role in roles.kept():
            if role.sublayers:  # the attribute names their weights in model.keras: kept as it is
                attribute, make = role.sublayers
                setattr(self, attribute, make(entries[role.spec_key]))

    def sublayers(self, role):
        return getattr(self, role.sublayers[0]) if role.sublayers else []

    def build(self, input_shape):
        for role in roles.kept():
            for layer in self.sublayers(role):
                layer.build((None,))

    def call(self, inputs):
        blocks = [block for role in roles.kept() for block in
                  role.encode(inputs, self.entries[role.spec_key], self.sublayers(role))]
        return keras.ops.concatenate(blocks, axis=-1) if len(blocks) > 1 else blocks[0]

    def compute_output_shape(self, input_shape):
        return (None, table_width(self.entries))

    def get_config(self):
        return {**super().get_config(), **{key: list(value) for key, value in self.entries.items()}}


def table_width(spec):
    """Columns of the encoded matrix: what each raw column expands into, summed."""
    return sum(role.width(entry) for role in roles.kept() for entry in spec.get(role.spec_key, ()))


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
    the target `scale` training used, targets.fit_scale), or one probability per class."""

    def __init__(self, task, scale=None, **kwargs):
        super().__init__(**kwargs)
        self.task, self.scale = task, scale or {}

    def call(self, outputs):
        return targets.served(zoo.task(self.task), outputs, self.scale)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2 if self.task == "binary" else input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "task": self.task, "scale": self.scale}


def raw_inputs(spec):
    """The Keras inputs of a preprocessing spec (preprocess.Preprocessing.spec), by input name."""
    if spec["kind"] in KINDS:
        return KINDS[spec["kind"]].raw_inputs(spec)
    if spec["kind"] == "image":
        return {IMAGE_INPUT: keras.Input(shape=tuple(spec["raw_shape"]), dtype="uint8",
                                         name=IMAGE_INPUT)}
    return {column["name"]: keras.Input(shape=(), dtype=column["dtype"], name=column["name"])
            for column in spec["inputs"]}


def encoder(spec):
    """The layer that turns raw inputs into the network's features."""
    if spec["kind"] in KINDS:
        return KINDS[spec["kind"]].encoder(spec)
    if spec["kind"] == "image":
        return ImageEncoder(spec["shape"], name="encode")
    return TableEncoder(**{role.spec_key: spec.get(role.spec_key, []) for role in roles.kept()},
                        name="encode")


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
    if spec["kind"] in KINDS:
        return KINDS[spec["kind"]].card_inputs(spec)
    if spec["kind"] == "image":
        return [{"name": IMAGE_INPUT, "dtype": "uint8", "shape": [None, *spec["raw_shape"]],
                 "range": [0, PIXEL_MAX]}]
    rules = {entry["name"]: role.card(entry) for role in roles.kept()
             for entry in spec.get(role.spec_key, ())}
    return [{"name": column["name"], "column": column["column"], "dtype": column["dtype"],
             "shape": [None], **rules[column["name"]]} for column in spec["inputs"]]
