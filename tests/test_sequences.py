"""The sequence builders (zoo/sequences.py), every kind in both APIs, and the from-scratch
SimpleRNN (zoo/layers.py) against Keras' own."""

import keras
import numpy as np
import pytest

import zoo
from tests.test_zoo import TINY_INPUTS, TINY_VOCABULARY, layer_shapes, tiny_build, tiny_inputs
from zoo.layers import BagOfNgrams, SimpleRNN
from zoo.sequences import MASKED_TEXT_KINDS, SERIES_KINDS, TEXT_KINDS

HORIZON = 3  # a forecast of several steps, as the recipes ask for
SMALL = {"text_classifier": {"embedding_dim": 4, "units": 4},
         "series_forecaster": {"units": 4, "filters": 4}}  # widths that keep each build quick
KINDS = [("text_classifier", "tokens", kind) for kind in TEXT_KINDS] + \
        [("series_forecaster", "windows", kind) for kind in SERIES_KINDS]


def small_problem(name, inputs, kind, api, rows=4):
    """(x, y, model): a small builder `name` of `kind`, and random data it takes."""
    rng = np.random.default_rng(0)
    x = tiny_inputs(inputs, rows, rng)
    outputs = 1 if name == "text_classifier" else HORIZON
    y = (rng.integers(0, 2, size=(rows, 1)) if outputs == 1 else
         rng.normal(size=(rows, HORIZON))).astype("float32")
    return x, y, tiny_build(name, inputs, outputs, kind=kind, api=api, **SMALL[name])


@pytest.mark.parametrize("api", ["sequential", "functional"])
@pytest.mark.parametrize("name, inputs, kind", KINDS)
def test_every_kind_trains_a_step_and_survives_a_safe_mode_round_trip(name, inputs, kind, api,
                                                                      tmp_path):
    x, y, model = small_problem(name, inputs, kind, api)
    before = model.get_weights()
    assert np.isfinite(model.train_on_batch(x, y, return_dict=True)["loss"])
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    predictions = model.predict(x, verbose=0)
    assert predictions.shape == y.shape
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), predictions)


@pytest.mark.parametrize("name, inputs, kind", KINDS)
def test_every_kind_has_the_same_layers_in_both_apis(name, inputs, kind):
    sequential, functional = (small_problem(name, inputs, kind, api)[2]
                              for api in ("sequential", "functional"))
    assert layer_shapes(sequential) == layer_shapes(functional)
    assert sequential.count_params() == functional.count_params() > 0


@pytest.mark.parametrize("kind", MASKED_TEXT_KINDS)
def test_padding_does_not_count_where_the_reader_is_masked(kind):
    """The same text, padded to 12 or to 20 tokens, by the same weights: the same answer."""
    short = tiny_build("text_classifier", "tokens", 1, kind=kind, **SMALL["text_classifier"])
    long = zoo.build("text_classifier", (20,), 1, kind=kind, vocabulary_size=TINY_VOCABULARY,
                     **SMALL["text_classifier"])
    long.set_weights(short.get_weights())
    words = np.zeros((2, 12), "float32")
    words[0, :5], words[1, :12] = [3, 7, 1, 9, 4], np.arange(2, 14)
    padded = np.pad(words, ((0, 0), (0, 8)))
    np.testing.assert_allclose(long.predict(padded, verbose=0), short.predict(words, verbose=0),
                               rtol=1e-5, atol=1e-6)
    other_words = np.where(words > 0, 19, 0)
    assert not np.allclose(short.predict(other_words, verbose=0),
                           short.predict(words, verbose=0))  # the words do count


def test_one_output_is_a_sigmoid_started_at_the_log_odds_and_more_a_softmax():
    binary = tiny_build("text_classifier", "tokens", 1, output_bias=-1.5, label_smoothing=0.1,
                        wide=False)
    output = binary.get_layer("output")
    assert output.activation is keras.activations.sigmoid
    np.testing.assert_allclose(keras.ops.convert_to_numpy(output.bias), [-1.5])
    assert isinstance(binary.loss, keras.losses.BinaryCrossentropy)
    assert binary.loss.get_config()["label_smoothing"] == pytest.approx(0.1)
    multiclass = tiny_build("text_classifier", "tokens", 3, output_bias=-1.5, wide=False)
    assert multiclass.loss == zoo.task("multiclass").loss
    x = tiny_inputs("tokens", 2, np.random.default_rng(1))
    probabilities = multiclass.predict(x, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), [1.0, 1.0], rtol=1e-5)
    assert np.all(keras.ops.convert_to_numpy(multiclass.get_layer("output").bias) == 0)


def test_the_forecast_starts_at_the_output_bias_with_the_loss_asked_for():
    model = zoo.build("series_forecaster", TINY_INPUTS["windows"], HORIZON, output_bias=0.7,
                      loss="huber", from_last_value=False, autoregressive=False)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model.get_layer("output").bias),
                               [0.7] * HORIZON)
    assert model.loss == "huber"


@pytest.mark.parametrize("api", ["sequential", "functional"])
def test_the_forecast_is_the_last_value_plus_the_readers_change_plus_a_linear_map(api):
    """zoo.layers.SumOfPaths: reader(x) + autoregressive(flat x) + x[last step, first channel]."""
    x = np.random.default_rng(0).normal(size=(5, *TINY_INPUTS["windows"])).astype("float32")
    model = zoo.build("series_forecaster", TINY_INPUTS["windows"], HORIZON, api=api)
    reader, linear, last = model.get_layer("forecast").paths
    assert not np.any(linear.get_weights()[0])  # the linear path starts at zero
    linear.set_weights([np.random.default_rng(1).normal(size=w.shape).astype("float32")
                        for w in linear.get_weights()])
    expected = (np.asarray(reader(x)) + x.reshape(len(x), -1) @ linear.get_weights()[0]
                + linear.get_weights()[1] + x[:, -1:, 0])
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(last(x)), np.repeat(x[:, -1:, 0], HORIZON, axis=1))


@pytest.mark.parametrize("api", ["sequential", "functional"])
def test_a_wide_text_classifier_adds_a_bag_of_words_to_the_readers_logits(api):
    ids = np.array([[2, 3, 0, 0], [4, 4, 5, 0]], dtype="float32")
    model = zoo.build("text_classifier", (4,), 1, vocabulary_size=6, kind="bag", api=api,
                      pair_buckets=0)
    reader, wide = model.get_layer("wide_and_deep").paths
    weights = np.arange(6, dtype="float32").reshape(6, 1) / 10
    wide.set_weights([weights])
    # the words' weights summed over the square root of their count, padding left out
    bag = np.array([[(0.2 + 0.3) / np.sqrt(2)], [(0.4 + 0.4 + 0.5) / np.sqrt(3)]])
    logits = np.asarray(reader(ids)) + bag
    np.testing.assert_allclose(model.predict(ids, verbose=0), 1 / (1 + np.exp(-logits)),
                               rtol=1e-5, atol=1e-6)


def test_the_bag_counts_word_pairs_so_word_order_matters_and_padding_counts_nothing():
    bag = BagOfNgrams(vocabulary_size=6, units=1, buckets=8)
    ids = np.array([[2, 3, 0, 0], [3, 2, 0, 0], [2, 3, 0, 0], [0, 0, 0, 0]], dtype="float32")
    bag.build(ids.shape)
    bag.set_weights([np.arange(14, dtype="float32").reshape(14, 1)])
    scores = np.asarray(bag(ids))[:, 0]
    # two words and one pair, each pair's weight one of the 8 after the vocabulary's 6
    pair_weights = scores[:3] * np.sqrt(3) - (2 + 3)
    assert all(6 <= weight < 14 for weight in pair_weights)
    assert scores[0] == scores[2] and scores[0] != scores[1]  # "2 3" is not "3 2"
    assert scores[3] == 0  # nothing but padding: no word, no pair
    words_only = BagOfNgrams(vocabulary_size=6, units=1, buckets=0)
    words_only.build(ids.shape)
    words_only.set_weights([np.arange(6, dtype="float32").reshape(6, 1)])
    np.testing.assert_allclose(np.asarray(words_only(ids))[:2, 0], [5 / np.sqrt(2)] * 2,
                               rtol=1e-6)


@pytest.mark.parametrize("name, shape, bad, message", [
    ("text_classifier", (12,), {"kind": "transformer"},
     "unknown text_classifier kind 'transformer'; valid: conv, lstm, gru, bag, rnn$"),
    ("text_classifier", (12, 1), {}, r"takes token ids \(sequence_length,\), got input shape"),
    ("text_classifier", (4,), {"kind": "conv", "kernel_size": 5},
     "sequences of 4 tokens are shorter than kernel_size=5; use kernel_size <= 4"),
    ("text_classifier", (12,), {"vocabulary_size": 0}, "vocabulary_size must be positive"),
    ("text_classifier", (12,), {"pair_buckets": -1}, "pair_buckets must be 0 or more, got -1"),
    ("series_forecaster", (8, 2), {"kind": "prophet"},
     "unknown series_forecaster kind 'prophet'; valid: lstm, gru, conv, cnn_lstm$"),
    ("series_forecaster", (8,), {}, r"takes windows \(window, channels\), got input shape"),
    ("series_forecaster", (9, 1), {"kind": "cnn_lstm", "sub_windows": 2},
     r"9 steps do not divide; windows that work: multiples of 2 \(2, 4, \.\.\.\)$"),
    ("series_forecaster", (8, 2), {"loss": "quantile"}, "unknown loss 'quantile'; valid: mse"),
])
def test_bad_sequence_settings_are_one_line_errors(name, shape, bad, message):
    with pytest.raises(zoo.ZooError, match=message):
        zoo.build(name, shape, 1, **bad)


# --- the from-scratch SimpleRNN ------------------------------------------------------------------


def rnn_pair(mask_zero):
    """Embedding -> Keras' SimpleRNN, and the same with zoo's, sharing every weight."""
    reference, scratch = (
        keras.Sequential([keras.Input((6,)), keras.layers.Embedding(10, 3, mask_zero=mask_zero),
                          rnn])
        for rnn in (keras.layers.SimpleRNN(5), SimpleRNN(5)))
    scratch.set_weights(reference.get_weights())
    return reference, scratch


@pytest.mark.parametrize("mask_zero", [False, True])
def test_scratch_rnn_equals_keras_simple_rnn_given_the_same_weights(mask_zero):
    reference, scratch = rnn_pair(mask_zero)
    ids = np.random.default_rng(0).integers(1, 10, size=(4, 6)).astype("float32")
    ids[1, 4:], ids[2, 1:] = 0, 0  # padding at the end of some rows
    np.testing.assert_allclose(scratch.predict(ids, verbose=0), reference.predict(ids, verbose=0),
                               atol=1e-5)
    # A masked step keeps the state: row 2, one word then padding, ends in that word's state.
    embeddings, kernel, _, bias = scratch.get_weights()
    one_step = np.tanh(embeddings[int(ids[2, 0])] @ kernel + bias)
    assert np.allclose(scratch.predict(ids[2:3], verbose=0)[0], one_step, atol=1e-5) == mask_zero


def test_scratch_rnn_has_keras_weights_in_keras_order_and_initializers():
    reference, scratch = (layer.layers[-1] for layer in rnn_pair(mask_zero=True))
    assert [(w.name, w.shape) for w in scratch.weights] == \
        [(w.name, w.shape) for w in reference.weights] == \
        [("kernel", (3, 5)), ("recurrent_kernel", (5, 5)), ("bias", (5,))]
    keras_config = reference.cell.get_config()
    for initializer in ("kernel_initializer", "recurrent_initializer", "bias_initializer"):
        assert scratch.get_config()[initializer]["class_name"] == \
            keras_config[initializer]["class_name"]


def test_scratch_rnn_trains_under_jit_compile_as_it_predicts_eagerly():
    """XLA compiles the loop for a static sequence length, and its gradient too."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6, 1)).astype("float32")
    y = x.sum(axis=1)  # a running sum: each step's input must reach the last state
    model = keras.Sequential([keras.Input((6, 1)), SimpleRNN(8), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.02), "mse", jit_compile=True)
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0).history["loss"]
    assert history[-1] < 0.3 * history[0]
    np.testing.assert_allclose(model(x[:4]), model.predict(x[:4], verbose=0), atol=1e-5)


@pytest.mark.parametrize("api", ["sequential", "functional"])
def test_an_instance_normalized_reader_reads_every_window_on_its_own_scale(api, tmp_path):
    """zoo.layers.InstanceNormalized (RevIN): a window shifted and stretched gives the same
    change, stretched: the reader sees the window standardised by its own mean and spread."""
    x = np.random.default_rng(0).normal(size=(5, *TINY_INPUTS["windows"])).astype("float32")
    model = zoo.build("series_forecaster", TINY_INPUTS["windows"], HORIZON, api=api,
                      instance_norm=True, from_last_value=False, autoregressive=False,
                      **SMALL["series_forecaster"])
    assert model.get_layer("instance_normalized")
    change = model.predict(x, verbose=0)
    np.testing.assert_allclose(model.predict(3 * x + 5, verbose=0), 3 * change,
                               rtol=1e-4, atol=1e-5)
    assert np.isfinite(model.train_on_batch(x, np.ones((5, HORIZON), "float32"),
                                            return_dict=True)["loss"])
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
