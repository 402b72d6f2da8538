"""Networks for sequences: a text classifier over token ids and a forecaster over series windows.

- `text_classifier`: token ids (sequence_length,) -> Embedding -> a reader of kind `conv`,
  `lstm`, `gru`, `bag` or `rnn` (zoo.layers.SimpleRNN, from scratch) -> sigmoid or softmax.
- `series_forecaster`: a window (window, channels) -> `lstm`, `gru`, `conv` or `cnn_lstm` ->
  the next `num_outputs` values.

Token ids are float32 (0 = padding, 1 = out of vocabulary, 2.. = words), as a recipe's
TextVectorization gives them; windows are float32, already scaled.
"""

import keras

from zoo import layers as scratch
from zoo.common import (assemble, choose, compile_for, dense_layer, fraction,
                         learning_rate_schedule, non_negative, positive)
from zoo.registry import ZooError, register
from zoo.tabular import REGRESSION_LOSSES, smoothed

TEXT_KINDS = ("conv", "lstm", "gru", "bag", "rnn")
SERIES_KINDS = ("lstm", "gru", "conv", "cnn_lstm")
MASKED_TEXT_KINDS = ("lstm", "gru", "bag", "rnn")  # their readers skip the padding's steps


def text_space(hp):
    """Search space of `text_classifier`: reader, widths, dropout, step size.

    No `rnn`: the scratch RNN is there to be read and compared, and it is the slowest reader
    (`--set kind=rnn` still tunes with it).
    """
    return {
        "kind": hp.Choice("kind", ["conv", "bag", "gru", "lstm"]),
        "embedding_dim": hp.Int("embedding_dim", 16, 128, step=2, sampling="log"),
        "units": hp.Int("units", 16, 128, step=2, sampling="log"),
        "kernel_size": hp.Choice("kernel_size", [3, 5, 7]),
        "dropout": hp.Float("dropout", 0.0, 0.5, step=0.1),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
    }


def text_reader(kind, *, units, kernel_size):
    """The layers that read a text's embedded tokens into one vector."""
    readers = {
        "conv": lambda: [keras.layers.Conv1D(units, kernel_size, activation="relu", name="conv"),
                         keras.layers.GlobalMaxPooling1D(name="max_pool")],
        "lstm": lambda: [keras.layers.Bidirectional(keras.layers.LSTM(units), name="bilstm")],
        "gru": lambda: [keras.layers.GRU(units, name="gru")],
        "bag": lambda: [keras.layers.GlobalAveragePooling1D(name="mean")],
        "rnn": lambda: [scratch.SimpleRNN(units, name="rnn")],
    }
    return readers[kind]()


def check_tokens(input_shape, kind, kernel_size):
    """Token ids (sequence_length,), long enough for the convolution's kernel."""
    if len(input_shape) != 1:
        raise ZooError(f"text_classifier takes token ids (sequence_length,), "
                       f"got input shape {input_shape}")
    if kind == "conv" and input_shape[0] < kernel_size:
        raise ZooError(f"text_classifier: sequences of {input_shape[0]} tokens are shorter than "
                       f"kernel_size={kernel_size}; use kernel_size <= {input_shape[0]} or "
                       f"another kind")


def classifier_head(num_outputs, output_bias, label_smoothing):
    """(task, its activation, the output layer's bias, loss): one sigmoid unit started at
    `output_bias`, or a softmax."""
    positive(num_outputs, "num_outputs")
    if num_outputs == 1:
        return ("binary", "sigmoid", output_bias,
                smoothed(keras.losses.BinaryCrossentropy, label_smoothing))
    return ("multiclass", "softmax", 0.0,
            smoothed(keras.losses.CategoricalCrossentropy, label_smoothing))


def dropped(dropout):
    """A Dropout layer when `dropout` > 0, as the MLPs have one."""
    return [keras.layers.Dropout(dropout, name="dropout")] if fraction(dropout, "dropout") else []


@register(tasks=("binary", "multiclass"), inputs=("tokens",), space=text_space)
def text_classifier(input_shape, num_outputs, kind="conv", vocabulary_size=20_000,
                    embedding_dim=64, units=64, kernel_size=5, dropout=0.3, api="functional",
                    optimizer="adam", learning_rate=1e-3, output_bias=0.0, label_smoothing=0.0,
                    weight_decay=0.0, decay_steps=0, wide=True, pair_buckets=2**18):
    """Embedding(vocabulary_size, embedding_dim) -> reader -> dropout -> sigmoid or softmax.

    Readers: `conv` (Conv1D of `units`, `kernel_size`, then the max over the text: which
    phrases occur), `lstm` (bidirectional), `gru`, `bag` (the embeddings' mean: the fast
    baseline), `rnn` (zoo.layers.SimpleRNN). All but conv skip padding (mask_zero): a text
    reads the same however much padding follows it. `vocabulary_size` counts padding and
    out-of-vocabulary ids. One output unit: binary (sigmoid, its bias started at
    `output_bias`, the training log-odds); more: multiclass softmax. `wide`: a bag of words
    and word pairs (zoo.layers.BagOfNgrams, pairs hashed into `pair_buckets` ids; 0: words
    alone) beside the reader (zoo.layers.SumOfPaths says why).
    """
    choose(kind, TEXT_KINDS, "text_classifier kind")
    check_tokens(input_shape, kind, positive(kernel_size, "kernel_size"))
    task, activation, bias, loss = classifier_head(num_outputs, output_bias, label_smoothing)
    layers = [keras.layers.Embedding(positive(vocabulary_size, "vocabulary_size"),
                                     positive(embedding_dim, "embedding_dim"),
                                     mask_zero=kind in MASKED_TEXT_KINDS, name="embedding"),
              *text_reader(kind, units=positive(units, "units"), kernel_size=kernel_size),
              *dropped(dropout),
              dense_layer(num_outputs, activation=None if wide else activation, bias=bias,
                          name="output")]
    if wide:
        layers = [scratch.SumOfPaths([keras.Sequential(layers, name="reader"),
                                      scratch.BagOfNgrams(
                                          vocabulary_size, num_outputs,
                                          buckets=non_negative(pair_buckets, "pair_buckets"),
                                          name="bag_of_words")],
                                     activation=activation, name="wide_and_deep")]
    model = assemble(input_shape, layers, api=api, name="text_classifier")
    return compile_for(model, task, optimizer=optimizer, loss=loss, weight_decay=weight_decay,
                       learning_rate=learning_rate_schedule(learning_rate, decay_steps))


def series_space(hp):
    """Search space of `series_forecaster`: reader, widths, dropout, step size, RevIN.

    No `cnn_lstm`: it needs a window that `sub_windows` divides, which a space cannot know
    (`--set kind=cnn_lstm` still tunes with it).
    """
    return {
        "kind": hp.Choice("kind", ["lstm", "gru", "conv"]),
        "units": hp.Int("units", 16, 128, step=2, sampling="log"),
        "filters": hp.Int("filters", 16, 128, step=2, sampling="log"),
        "kernel_size": hp.Choice("kernel_size", [2, 3, 5]),
        "dropout": hp.Float("dropout", 0.0, 0.3, step=0.1),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
        "instance_norm": hp.Boolean("instance_norm"),
    }


def causal_conv(filters, kernel_size, name):
    # causal: each step sees only itself and the past, so the last step sums up the window
    return keras.layers.Conv1D(filters, kernel_size, activation="relu", padding="causal",
                               name=name)


def series_reader(kind, input_shape, *, units, filters, kernel_size, sub_windows):
    """The layers that read a window (window, channels) into one vector."""
    if kind == "lstm":
        return [keras.layers.LSTM(units, name="lstm")]
    if kind == "gru":
        return [keras.layers.GRU(units, name="gru")]
    if kind == "conv":
        # Flatten, not pooling: where in the window a pattern sits matters to what comes next
        return [causal_conv(filters, kernel_size, "conv1"),
                causal_conv(filters, kernel_size, "conv2"),
                keras.layers.Flatten(name="flatten")]
    window, channels = input_shape
    return [keras.layers.Reshape((sub_windows, window // sub_windows, channels),
                                 name="sub_windows"),
            keras.layers.TimeDistributed(causal_conv(filters, kernel_size, "conv"),
                                         name="sub_window_conv"),
            keras.layers.TimeDistributed(keras.layers.GlobalMaxPooling1D(),
                                         name="sub_window_max"),
            keras.layers.LSTM(units, name="lstm")]


def check_window(input_shape, kind, sub_windows):
    """A window (window, channels); for cnn_lstm, one that `sub_windows` divides."""
    if len(input_shape) != 2:
        raise ZooError(f"series_forecaster takes windows (window, channels), "
                       f"got input shape {input_shape}")
    window = input_shape[0]
    if kind == "cnn_lstm" and window % positive(sub_windows, "sub_windows"):
        raise ZooError(f"series_forecaster: cnn_lstm cuts a window into sub_windows={sub_windows} "
                       f"equal parts, and {window} steps do not divide; windows that work: "
                       f"multiples of {sub_windows} ({sub_windows}, {2 * sub_windows}, ...)")


@register(tasks=("regression",), inputs=("windows",), space=series_space)
def series_forecaster(input_shape, num_outputs, kind="lstm", units=64, filters=64,
                      kernel_size=3, sub_windows=2, dropout=0.0, api="functional",
                      optimizer="adam", learning_rate=1e-3, loss="mae", output_bias=0.0,
                      weight_decay=0.0, decay_steps=0, from_last_value=True,
                      autoregressive=True, instance_norm=False):
    """A window (window, channels) -> reader -> [dropout] -> the next `num_outputs` values.

    Readers: `lstm`, `gru` (`units`), `conv` (two causal Conv1D of `filters`, `kernel_size`,
    flattened), `cnn_lstm` (the window cut into `sub_windows` parts, each convolved and
    max-pooled, then an LSTM over the parts). `loss` "mae" (the median's, robust to spikes),
    "mse" or "huber". `from_last_value`: forecast the change from the window's last value of
    its first channel (the channel must be the target, on the target's scale);
    `autoregressive`: add a linear map of the whole window, started at zero (both:
    zoo.layers.SumOfPaths says why). `output_bias` starts the reader's outputs.
    `instance_norm`: the reader sees each window standardised by its own mean and spread, its
    change scaled back (RevIN: zoo.layers.InstanceNormalized).
    """
    choose(kind, SERIES_KINDS, "series_forecaster kind")
    check_window(input_shape, kind, sub_windows)
    layers = [*series_reader(kind, input_shape, units=positive(units, "units"),
                             filters=positive(filters, "filters"),
                             kernel_size=positive(kernel_size, "kernel_size"),
                             sub_windows=sub_windows),
              *dropped(dropout),
              dense_layer(positive(num_outputs, "num_outputs"), bias=output_bias, name="output")]
    if instance_norm:
        layers = [scratch.InstanceNormalized(keras.Sequential(layers, name="reader"),
                                             name="instance_normalized")]
    linear = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(
        num_outputs, kernel_initializer="zeros")], name="autoregressive")
    extra = [linear] * autoregressive + [scratch.LastValue(num_outputs, name="last_value")] * \
        from_last_value
    if extra:  # zoo.layers.SumOfPaths says why
        layers = [scratch.SumOfPaths([keras.Sequential(layers, name="reader"), *extra],
                                     name="forecast")]
    model = assemble(input_shape, layers, api=api, name="series_forecaster")
    return compile_for(model, "regression", optimizer=optimizer,
                       loss=choose(loss, REGRESSION_LOSSES, "loss"), weight_decay=weight_decay,
                       learning_rate=learning_rate_schedule(learning_rate, decay_steps))
