"""Layers written from scratch: Dense (`add_weight`, a matmul, a bias and an activation) and a
simple RNN (the recurrence over the time axis by hand).

Each mirrors its Keras layer closely enough to replace it (Dense in any builder with
`dense="scratch"`, SimpleRNN as `text_classifier(kind="rnn")`): same initializers and weight
order, so copied weights give the same outputs.

And the few layers a builder needs that Keras lacks, registered so that a saved model loads in
safe mode: `SumOfPaths` and `LastValue` (branches inside a layer list), `BagOfNgrams` (a text's
linear path), `ShiftedCopies` and `CopyMean` (test-time averaging over shifted views of an
image),
`InstanceNormalized` (a forecaster's reader on each window's own scale). How an MLP reads a
table's numbers is zoo/numbers.py's.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class Dense(keras.layers.Layer):
    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_shape[-1], self.units),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.bias = (
            self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer)
            if self.use_bias
            else None
        )

    def call(self, inputs):
        outputs = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }


@keras.saving.register_keras_serializable(package="zoo")
class SimpleRNN(keras.layers.Layer):
    """h_t = activation(x_t W + h_(t-1) U + b) over the time axis, written out; returns h_T.

    The weights are `keras.layers.SimpleRNN`'s (kernel, recurrent_kernel, bias; the same
    initializers), so copied weights give its outputs. A masked step keeps the previous state,
    as Keras does: with Embedding(mask_zero=True), padding does not move the state.
    """

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units),
                                      initializer=self.kernel_initializer)
        self.recurrent_kernel = self.add_weight(name="recurrent_kernel",
                                                shape=(self.units, self.units),
                                                initializer=self.recurrent_initializer)
        self.bias = (
            self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer)
            if self.use_bias
            else None
        )

    def call(self, inputs, mask=None):
        # Every step's input term in one matmul; only the recurrent term has to wait for h_(t-1).
        projected = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            projected = projected + self.bias
        keep = ops.ones(ops.shape(inputs)[:2], "bool") if mask is None else ops.cast(mask, "bool")

        def step(t, state):
            candidate = self.activation(ops.take(projected, t, axis=1)
                                        + ops.matmul(state, self.recurrent_kernel))
            return t + 1, ops.where(ops.expand_dims(ops.take(keep, t, axis=1), -1), candidate,
                                    state)

        # A while loop keeps the graph one step long whatever the sequence length; its static
        # bound is what lets XLA (jit_compile) differentiate it.
        initial = ops.zeros((ops.shape(inputs)[0], self.units), dtype=projected.dtype)
        _, last = ops.while_loop(lambda t, _: t < ops.shape(inputs)[1], step, (0, initial),
                                 maximum_iterations=inputs.shape[1])
        return last

    def compute_mask(self, inputs, mask=None):
        return None  # one state per row: no time steps left to mask

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }


@keras.saving.register_keras_serializable(package="zoo")
class SumOfPaths(keras.layers.Layer):
    """Several paths over the same input, their outputs summed, then `activation`: a wide
    (linear) path beside a deep one, as one layer, so a builder has the same layers in either
    API (a Sequential list cannot branch).

    The builders use it where a linear model is hard to beat: a text classifier's bag of words
    beside its reader (wide and deep, Cheng et al. 2016), and a forecaster's change from the
    last value plus a linear map of the window beside its reader (LSTNet's autoregressive
    path, Lai et al. 2018). The deep path then only has to learn what the linear one misses.
    """

    def __init__(self, paths, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.paths = [layer_from(path) for path in paths]
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        for path in self.paths:
            if not path.built:  # a loaded model's paths come built from their own configs
                path.build(input_shape)

    def call(self, inputs, training=None):
        outputs = [path(inputs, training=training) for path in self.paths]
        total = outputs[0]
        for output in outputs[1:]:
            total = total + ops.cast(output, total.dtype)
        return self.activation(total)

    def compute_output_shape(self, input_shape):
        return self.paths[0].compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(),
                "paths": [keras.saving.serialize_keras_object(path) for path in self.paths],
                "activation": keras.activations.serialize(self.activation)}


@keras.saving.register_keras_serializable(package="zoo")
class BagOfNgrams(keras.layers.Layer):
    """A linear model over a text's words and pairs of adjacent words (token ids in, `units`
    scores out): one weight per word or pair and output, summed over the text and divided by
    the square root of how many there are, so a text reads as an L2-normalised count vector, as
    scikit-learn's TF-IDF + logistic regression reads it. Pairs are hashed into `buckets` ids
    after the vocabulary's (fastText's hashing trick), so no pair vocabulary is learned or
    saved. Id 0 is padding: neither it nor a pair with it counts. Started at zero.

    Why pairs and the square root: on the tweets file, a bag of words alone scored 0.8756 test
    accuracy averaged (the mean of its word weights), 0.8786 over the square root, 0.8809 with
    pairs; as the text classifier's wide path it took the conv network from 0.8759 to 0.8847
    against TF-IDF + logistic regression's 0.8879 (docs/text-and-series.md).
    """

    def __init__(self, vocabulary_size, units, buckets=2**18, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size, self.units, self.buckets = (int(vocabulary_size), int(units),
                                                          int(buckets))

    def build(self, input_shape):
        self.table = self.add_weight(name="table", initializer="zeros",
                                     shape=(self.vocabulary_size + self.buckets, self.units))

    def call(self, inputs):
        ids = ops.cast(inputs, "int64")
        if self.buckets:
            first, second = ids[:, :-1], ids[:, 1:]
            pairs = ops.mod(first * 1_000_003 + second, self.buckets) + self.vocabulary_size
            ids = ops.concatenate([ids, ops.where((first > 0) & (second > 0), pairs, 0)], axis=1)
        counted = ops.cast(ids > 0, self.compute_dtype)[..., None]
        total = ops.sum(ops.take(self.table, ids, axis=0) * counted, axis=1)
        return total / ops.sqrt(ops.maximum(ops.sum(counted, axis=1), 1.0))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "units": self.units, "buckets": self.buckets}


@keras.saving.register_keras_serializable(package="zoo")
class InstanceNormalized(keras.layers.Layer):
    """`reader` reads each window (n, steps, channels) standardised by its own mean and spread
    over its steps, and its outputs, changes of the first channel, are scaled back by that
    channel's spread: reversible instance normalisation (RevIN, Kim et al. 2022). A reader
    trained on the series' quiet years then reads a loud year's window as it read a quiet one's,
    where on the series' own scale its activations would saturate."""

    def __init__(self, reader, **kwargs):
        super().__init__(**kwargs)
        self.reader = layer_from(reader)

    def build(self, input_shape):
        if not self.reader.built:
            self.reader.build(input_shape)

    def call(self, inputs, training=None):
        mean = ops.mean(inputs, axis=1, keepdims=True)
        spread = ops.sqrt(ops.var(inputs, axis=1, keepdims=True) + 1e-5)  # RevIN's epsilon
        outputs = self.reader((inputs - mean) / spread, training=training)
        return outputs * ops.cast(spread[:, 0, :1], outputs.dtype)

    def compute_output_shape(self, input_shape):
        return self.reader.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "reader": keras.saving.serialize_keras_object(self.reader)}


@keras.saving.register_keras_serializable(package="zoo")
class LastValue(keras.layers.Layer):
    """A window (n, steps, channels)'s last value of its first channel, once per each of
    `outputs` forecast steps: where a forecast of the change from it starts."""

    def __init__(self, outputs, **kwargs):
        super().__init__(**kwargs)
        self.outputs = int(outputs)

    def call(self, inputs):
        return ops.repeat(inputs[:, -1:, 0], self.outputs, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.outputs)

    def get_config(self):
        return {**super().get_config(), "outputs": self.outputs}


@keras.saving.register_keras_serializable(package="zoo")
class ShiftedCopies(keras.layers.Layer):
    """At inference, each image and its four copies moved `shift` pixels up, down, left and
    right (the border filled with zeros), stacked along the batch axis: the network then sees
    five views of every image and `CopyMean` averages its answers to them (test-time
    augmentation, inside the model so predict, export and TF Serving all serve it). In
    training the images pass unchanged: the random shifts of --augment already vary them."""

    copies = 5

    def __init__(self, shift=1, **kwargs):
        super().__init__(**kwargs)
        self.shift = int(shift)

    def call(self, inputs, training=None):
        if training:
            return inputs
        s = self.shift
        no_pad = [0, 0]
        moved = [  # (n, height, width, channels): rows are axis 1, columns axis 2
            ops.pad(inputs[:, s:], [no_pad, [0, s], no_pad, no_pad]),
            ops.pad(inputs[:, :-s], [no_pad, [s, 0], no_pad, no_pad]),
            ops.pad(inputs[:, :, s:], [no_pad, no_pad, [0, s], no_pad]),
            ops.pad(inputs[:, :, :-s], [no_pad, no_pad, [s, 0], no_pad]),
        ]
        return ops.concatenate([inputs, *moved], axis=0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "shift": self.shift}


@keras.saving.register_keras_serializable(package="zoo")
class CopyMean(keras.layers.Layer):
    """The mean of the answers to `ShiftedCopies`' views of each image, at inference; in
    training, the answers as they are (there were no copies)."""

    def call(self, inputs, training=None):
        if training:
            return inputs
        views = ops.reshape(inputs, (ShiftedCopies.copies, -1, *inputs.shape[1:]))
        return ops.mean(views, axis=0)

    def compute_output_shape(self, input_shape):
        return input_shape


def layer_from(layer_or_config):
    """A sublayer as given, or rebuilt from its serialized config (loading a saved model)."""
    if isinstance(layer_or_config, keras.layers.Layer):
        return layer_or_config
    return keras.saving.deserialize_keras_object(layer_or_config)
