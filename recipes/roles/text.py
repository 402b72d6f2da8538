"""Free text: TF-IDF over the training split's MAX_TOKENS most frequent words.

A column is free text when its values run to several words on average and most are distinct
(over half of them, or over TEXT_MIN_LEVELS): category labels are short and repeat, "Not
Graduate" is two words and "Less than high school" repeats across thousands of rows. Keras'
TextVectorization learns the vocabulary and computes TF-IDF inside the model, so a served
review is split into words as the training ones were.
"""

import keras
import numpy as np
import pandas as pd

from recipes.errors import UserError
from recipes.roles.role import MISSING, Found, Role, as_text, kept_as_given

TEXT_MIN_WORDS = 3
TEXT_MIN_LEVELS = 100
MAX_TOKENS = 256  # words a text column's TF-IDF encoding keeps


# --- detection ------------------------------------------------------------------------------

def free_text(facts):
    if is_text(facts.counts):
        words = words_per_value(facts.counts)
        return Found("text", f"kept as free text: {words:.1f} words a value, {facts.levels} "
                     "distinct")
    return None


def words_per_value(counts):
    words = pd.Series(counts.index.astype(str)).str.split().str.len().to_numpy()
    return float((words * counts.to_numpy()).sum() / counts.sum())


def is_text(counts):
    """Several words a value, and many distinct values: free text, not category labels."""
    distinct = len(counts) > TEXT_MIN_LEVELS or len(counts) > counts.sum() / 2
    return distinct and words_per_value(counts) >= TEXT_MIN_WORDS


# --- fitted on the training split -------------------------------------------------------------

def fit(features, names, found, options):
    return [vocabulary(features[c], names[c]) for c in features.columns]


def vocabulary(column, name):
    """The training split's MAX_TOKENS most frequent words and their inverse document
    frequencies, as Keras' TextVectorization computes them."""
    texts = as_text(column).to_numpy(dtype=object)
    vectorizer = keras.layers.TextVectorization(max_tokens=MAX_TOKENS + 1, output_mode="multi_hot")
    vectorizer.adapt(texts)
    words = [w for w in vectorizer.get_vocabulary() if w != "[UNK]"]
    if not words:
        raise UserError(f"text column {column.name!r} has no words in the training split")
    documents = np.asarray(vectorizer(texts))[:, 1:].sum(axis=0)
    idf = np.log(1 + len(texts) / (1 + documents))
    return {"name": name, "vocabulary": words, "idf": [float(v) for v in idf]}


# --- inside the model -------------------------------------------------------------------------

def vectorizers(entries):
    return [keras.layers.TextVectorization(vocabulary=c["vocabulary"], idf_weights=c["idf"],
                                           output_mode="tf_idf", name=f"words_{c['name']}")
            for c in entries]


def encode(inputs, entries, layers):
    return [keras.ops.cast(vectorize(inputs[c["name"]]), "float32")
            for c, vectorize in zip(entries, layers)]


def width(entry):
    return len(entry["vocabulary"]) + 1  # + the out-of-vocabulary slot


def bound(options):
    return MAX_TOKENS + 1


def card(entry):
    return {"missing": MISSING, "words": len(entry["vocabulary"]),
            "encoding": "TF-IDF over the training vocabulary"}


ROLE = Role("text", given=kept_as_given("text"), spec_key="texts", fit=fit,
            sublayers=("vectorizers", vectorizers), encode=encode, width=width, bound=bound,
            card=card)
