"""Text as token ids: a vocabulary fitted on the training split, and the layer that carries it.

    spec = tokens.fit(splits.train.features)            # JSON: the words, the sequence length
    encoder = TokenEncoder(spec["vocabulary"], spec["sequence_length"])
    ids = encoder({spec["inputs"][0]["name"]: raw_strings})   # float32 (n, L)

The saved model holds `TokenEncoder`, so predict, the SavedModel and TF Serving take raw strings
and split them into words exactly as training did: lowercased, punctuation turned into spaces
(`words`), then split on whitespace by Keras' TextVectorization; id 0 padding, id 1 a word
outside the vocabulary, the vocabulary's words from id 2 on, most frequent first.
"""

import keras
import numpy as np
import tensorflow as tf

from recipes.errors import UserError
from recipes.features.inputs import input_names
from recipes.roles.role import MISSING, as_text

# The default sequence length: the training texts' LENGTH_PERCENTILE token count, so most texts
# are read whole while a few very long ones do not make every batch that long; at least
# MIN_LENGTH, so short texts still give convolutions and pooling a sequence to slide over, at
# most MAX_LENGTH, which bounds the memory and time of a sequence model per example.
LENGTH_PERCENTILE = 95
MIN_LENGTH, MAX_LENGTH = 8, 512
RESERVED = ("", "[UNK]")  # ids 0 and 1: padding and out-of-vocabulary, in every vocabulary
# Keras' own punctuation (TextVectorization's strip pattern), replaced by a space rather than
# removed: "http://t.co/x" is three words, not "httptcox", "@name" and "#tag" keep their word,
# "e-mail" and "3.5" split as scikit-learn's word pattern splits them. Measured on the three dev
# text sets (benchmarks/text.py, reports/text.md). ASCII only, as Keras': RE2's \w is ASCII,
# so a class of "non-word" characters would cut words written in other scripts.
PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
PUNCTUATION_KINDS = ("space", "strip")  # "strip": Keras' default, as runs before "space" read


def words(texts):
    """Texts (strings) as the words the vocabulary counts: lowercased, punctuation a space."""
    return tf.strings.regex_replace(tf.strings.lower(texts, encoding="utf-8"), PUNCTUATION, " ")


def fit(features, max_tokens=20_000, sequence_length=None):
    """The JSON spec of the training split's one text column (`features`, a DataFrame): its
    input, its vocabulary of at most `max_tokens` ids (the two reserved ones included, as in
    Keras' TextVectorization) and the sequence length (`sequence_length`, or from the texts)."""
    if features.shape[1] != 1:
        raise ValueError(f"tokens.fit takes one text column, not {list(features.columns)}")
    column = features.columns[0]
    texts = as_text(features[column]).to_numpy(dtype=object)
    vectorizer = keras.layers.TextVectorization(max_tokens=max_tokens, output_mode="int",
                                                standardize=None, ragged=True)
    texts = words(texts)  # standardised once: the vocabulary and the length both read them
    vectorizer.adapt(texts)
    vocabulary = [str(word) for word in vectorizer.get_vocabulary()[len(RESERVED):]]
    if not vocabulary:
        raise UserError(f"text column {column!r} has no words in the training split")
    return {"kind": "text",
            "inputs": [{"column": str(column), "name": input_names([column])[column],
                        "dtype": "string"}],
            "vocabulary": vocabulary,
            "sequence_length": int(sequence_length or typical_length(vectorizer, texts)),
            "punctuation": "space"}


def typical_length(vectorizer, texts):
    """The LENGTH_PERCENTILE token count of the training texts (already `words`), within
    [MIN_LENGTH, MAX_LENGTH]."""
    counts = vectorizer(texts).row_lengths().numpy()
    return int(np.clip(np.ceil(np.percentile(counts, LENGTH_PERCENTILE)), MIN_LENGTH, MAX_LENGTH))


def vocabulary_size(spec):
    """The Embedding's input_dim: the vocabulary's words and the two reserved ids."""
    return len(spec["vocabulary"]) + len(RESERVED)


@keras.saving.register_keras_serializable(package="recipes")
class TokenEncoder(keras.layers.Layer):
    """{input name: (n,) raw strings} -> float32 (n, sequence_length) token ids: 0 pads a short
    text, 1 stands for a word outside `vocabulary` (and for an empty text), and a longer text
    is cut. Floats because the
    network's inputs are float32 everywhere; an Embedding casts them back to ids."""

    def __init__(self, vocabulary, sequence_length, punctuation="strip", **kwargs):
        super().__init__(**kwargs)
        self.vocabulary, self.sequence_length = list(vocabulary), int(sequence_length)
        if punctuation not in PUNCTUATION_KINDS:
            raise ValueError(f"punctuation must be one of {PUNCTUATION_KINDS}, not {punctuation!r}")
        self.punctuation = punctuation
        # The attribute names its lookup table in model.keras: kept as it is.
        self.vectorizer = keras.layers.TextVectorization(
            vocabulary=self.vocabulary, output_mode="int",
            standardize=None if punctuation == "space" else "lower_and_strip_punctuation",
            output_sequence_length=self.sequence_length, name="words")

    def build(self, input_shape):
        self.vectorizer.build((None,))

    def call(self, inputs):
        (texts,) = inputs.values()  # one text input: the spec's only one
        ids = self.vectorizer(words(texts) if self.punctuation == "space" else texts)
        # A text with no words reads as one unknown word: a row of padding alone would mask
        # every step, which the cuDNN kernels of LSTM and GRU refuse on a GPU.
        empty = keras.ops.all(ids == 0, axis=1, keepdims=True)
        ids = keras.ops.where(empty & (keras.ops.arange(self.sequence_length) == 0), 1, ids)
        return keras.ops.cast(ids, "float32")

    def compute_output_shape(self, input_shape):
        return (None, self.sequence_length)

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary,
                "sequence_length": self.sequence_length, "punctuation": self.punctuation}


# --- the kind's part of the saved model (recipes/features/encoding.py's KINDS) ---------------

def encoder(spec):
    """The spec's `TokenEncoder`."""
    return TokenEncoder(spec["vocabulary"], spec["sequence_length"],
                        spec.get("punctuation", "strip"), name="encode")


def raw_inputs(spec):
    """The saved model's Keras input: one string per example."""
    return {c["name"]: keras.Input(shape=(), dtype="string", name=c["name"])
            for c in spec["inputs"]}


def card_inputs(spec):
    """What a serving client sends: the raw text, "" for none."""
    return [{"name": c["name"], "column": c["column"], "dtype": "string", "shape": [None],
             "missing": MISSING, "words": len(spec["vocabulary"]),
             "sequence_length": spec["sequence_length"],
             "encoding": "token ids over the training vocabulary"} for c in spec["inputs"]]
