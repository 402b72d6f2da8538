"""How an MLP reads a table's numbers: the first columns of its input, the standardised values
of a table's numeric columns (a recipe passes their count as `numeric_columns`).

- `SmoothClip`: x / sqrt(1 + (x / limit)^2), about x near 0 and never past the limit, so that
  one outlier of a hundred standard deviations does not drive a hidden unit that far.
- `PeriodicEmbedding`: each number as learned sine waves, so that an MLP can follow a target
  that jumps and wiggles along it.
"""

import math

import keras
from keras import ops


def split_columns(inputs, columns):
    """(the input's first `columns` columns, the rest); all and none, where `columns` is None."""
    count = inputs.shape[-1] if columns is None else min(columns, inputs.shape[-1])
    return inputs[:, :count], inputs[:, count:]


@keras.saving.register_keras_serializable(package="zoo")
class SmoothClip(keras.layers.Layer):
    """x / sqrt(1 + (x / `limit`)^2) on the input's first `columns` columns (all, where None);
    the other columns pass as they are. RealMLP-TD's smooth clipping of standardised numbers
    (Holzmueller et al. 2024, limit 3): the identity within a standard deviation or so, a
    number ten deviations out becomes 2.9, a hundred 3.0; unlike a hard clip, the order of the
    outliers survives."""

    def __init__(self, columns=None, limit=3.0, **kwargs):
        super().__init__(**kwargs)
        self.columns = None if columns is None else int(columns)
        self.limit = float(limit)

    def call(self, inputs):
        numbers, rest = split_columns(inputs, self.columns)
        clipped = numbers / ops.sqrt(1.0 + ops.square(numbers / self.limit))
        return ops.concatenate([clipped, rest], axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "columns": self.columns, "limit": self.limit}


@keras.saving.register_keras_serializable(package="zoo")
class PeriodicEmbedding(keras.layers.Layer):
    """Periodic embeddings of numbers, "PLR" (Gorishniy et al. 2022, "On Embeddings for
    Numerical Features in Tabular Deep Learning"): each of the input's first `columns` columns
    (all, where None) becomes cos and sin of 2 pi c x for its own `frequencies` learned c
    (started from N(0, `scale`)), then its own Dense(`width`) and ReLU; the other columns pass
    as they are, after the embeddings. An MLP over sine waves of a number can follow a target
    that jumps and wiggles along it, where over the number alone it draws smooth curves: the
    paper's MLP-PLR closes most of the gap to gradient boosting. Defaults: rtdl_num_embeddings'
    (48 frequencies, scale 0.01, width 24)."""

    def __init__(self, columns=None, frequencies=48, width=24, scale=0.01, **kwargs):
        super().__init__(**kwargs)
        if columns is not None and columns < 1:  # a builder leaves the layer out instead
            raise ValueError(f"PeriodicEmbedding embeds at least one column, got {columns}")
        self.columns = None if columns is None else int(columns)
        self.frequencies, self.width, self.scale = int(frequencies), int(width), float(scale)

    def embedded_count(self, features):
        """How many of `features` input columns are embedded."""
        return features if self.columns is None else min(self.columns, features)

    def build(self, input_shape):
        self.embedded = self.embedded_count(input_shape[-1])
        n, k = self.embedded, self.frequencies
        self.frequency = self.add_weight(  # a truncated normal, as rtdl_num_embeddings starts
            name="frequency", shape=(n, k),  # them (Keras cuts at 2 sigma, rtdl at 3)
            initializer=keras.initializers.TruncatedNormal(stddev=self.scale))
        # each column's own linear map of its 2k waves, started as nn.Linear is
        limit = (2 * k) ** -0.5
        uniform = keras.initializers.RandomUniform(-limit, limit)
        self.kernel = self.add_weight(name="kernel", shape=(n, 2 * k, self.width),
                                      initializer=uniform)
        self.bias = self.add_weight(name="bias", shape=(n, self.width), initializer=uniform)

    def call(self, inputs):
        numbers, rest = split_columns(inputs, self.embedded)
        angles = 2 * math.pi * numbers[:, :, None] * self.frequency  # (batch, n, k)
        waves = ops.concatenate([ops.cos(angles), ops.sin(angles)], axis=-1)
        embedded = ops.relu(ops.einsum("bnf,nfw->bnw", waves, self.kernel) + self.bias)
        return ops.concatenate([ops.reshape(embedded, (-1, self.embedded * self.width)), rest],
                               axis=-1)

    def compute_output_shape(self, input_shape):
        features = input_shape[-1]
        return (input_shape[0], features + self.embedded_count(features) * (self.width - 1))

    def get_config(self):
        return {**super().get_config(), "columns": self.columns,
                "frequencies": self.frequencies, "width": self.width, "scale": self.scale}
