"""Text classification data: any CSV of a text column and a label, and Keras' IMDB and Reuters.

Every loader returns a `Dataset` of kind "text" whose features are a DataFrame of ONE column of
raw strings ("" for missing): the saved model takes raw strings (recipes/features/tokens.py), so
what a client sends is what training read.

    dataset = text_csv(DataOptions(path="reviews.csv", target="stars"))       # column detected
    dataset = text_csv(DataOptions(path="reviews.csv", target="stars", text=("body",)))

Keras' sets ship as word ids; they are decoded back to words with their own word index, and keep
their own test split. Offline, their download fails at once with a one-line `DataUnavailable`.
"""

import socket
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from recipes.data import columns, images, reading, tables
from recipes.data.dataset import Dataset
from recipes.errors import DataUnavailable, UserError
from recipes.roles import numeric
from recipes.roles.role import as_text

TEXT_COLUMN = "text"  # the one feature column of Keras' text sets
# Keras' id layout, load_data's defaults: 0 padding, 1 start of a text, 2 a word outside
# num_words, 3 unused; a word of rank r in get_word_index() is id r + INDEX_FROM.
INDEX_FROM = 3
IMDB_CLASSES = ("negative", "positive")
KERAS_CACHE = "~/.keras/datasets (or $KERAS_HOME/datasets)"  # where Keras' downloads are kept


# --- any CSV of text and labels ---------------------------------------------------------------


def text_csv(options):
    """A CSV file's text column (--text COLUMN, else the one free-text column role detection
    finds) and its target, read and labelled as the csv recipe reads them."""
    if not options.path:
        raise UserError("the text data set needs --data PATH and --target COLUMN (and --text "
                        "COLUMN where the file has several text columns)")
    frame = reading.read_csv(options.path, options.na_values)
    tables.check_target(frame.columns, options)
    name = text_column(frame.drop(columns=[options.target]), options)
    target = tables.target_values(frame[options.target])
    missing = target.isna()
    texts = frame[name][~missing].reset_index(drop=True)
    target = tables.labelled(target[~missing].reset_index(drop=True))
    if target.empty:
        raise UserError(f"target column {options.target!r} in {options.path} has no values")
    check_text(texts, name, options)
    task = tables.check_task(target, options.task or tables.infer_task(target), options.target)
    return Dataset(Path(options.path).stem, task, pd.DataFrame({name: as_text(texts)}), target,
                   dropped_rows=int(missing.sum()), kind="text")


def text_column(features, options):
    """The name of the one column the text recipe learns from, given or detected."""
    given = tuple(options.text)
    names = [str(n) for n in features.columns]
    if len(given) > 1:
        raise UserError(f"the text recipe learns from one text column, but --text names "
                        f"{len(given)}: {', '.join(given)}; pass one --text COLUMN")
    if given:
        if given[0] not in names:
            raise UserError(f"--text {given[0]!r}: no such feature column in {options.path}"
                            f"{columns.closest(given[0], names)}; columns: {', '.join(names)}")
        return given[0]
    return detected_text_column(features, options)


def detected_text_column(features, options):
    """The single column role detection (recipes/roles/) calls free text, as the csv recipe
    types the file; none or several is a UserError naming what was found."""
    typed, _ = tables.typed_features(features, columns.chosen_roles(features.columns, options))
    found = columns.infer(typed, options)
    candidates = [c.name for c in found if c.role == "text" and c.kept]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise UserError(f"{options.path} has {len(candidates)} free-text columns: "
                        f"{', '.join(candidates)}; pass --text COLUMN for the one to learn from")
    roles = "; ".join(f"{c.name}: {c.role}" for c in found)
    raise UserError(f"no free-text column found in {options.path} ({roles or 'no feature columns'}"
                    f"); pass --text COLUMN")


def check_text(texts, name, options):
    """The text column holds words: not only missing or punctuation, and not numbers."""
    if not texts.dropna().astype(str).str.contains(r"\w", regex=True).any():
        raise UserError(f"text column {name!r} in {options.path} has no words in any row")
    _, not_numbers = numeric.parse_numbers(texts)
    if numeric.mostly_numbers(not_numbers, texts):
        raise UserError(f"column {name!r} in {options.path} holds numbers, not text; for numeric "
                        f"features use the csv recipe: run csv --data {options.path} --target "
                        f"{options.target}")


# --- Keras' text sets -------------------------------------------------------------------------


def fetch(name, load, hint):
    """`load()`, a Keras download of data set `name` (cached after the first), bounded by
    images.DOWNLOAD_TIMEOUT; with no network a one-line `DataUnavailable` saying what to do."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(images.DOWNLOAD_TIMEOUT)
    try:
        return load()
    except Exception as error:  # Keras raises a bare Exception for a failed fetch
        raise DataUnavailable(f"{name}: no cached copy and the download failed "
                              f"({images.first_line(error)}); {hint}") from None
    finally:
        socket.setdefaulttimeout(previous)


def keras_text_set(name, module, files):
    """((train ids, labels), (test ids, labels)) and {id: word} of keras.datasets.`module`."""
    hint = f"put Keras' {' and '.join(files)} in {KERAS_CACHE}, or use --data FILE.csv with " \
           f"the text recipe"
    (train, test) = fetch(name, module.load_data, hint)
    index = fetch(name, module.get_word_index, hint)
    return train, test, {rank + INDEX_FROM: word for word, rank in index.items()}


def decoded(sequences, words):
    """Word-id sequences as raw strings; the start and out-of-range markers (ids below
    INDEX_FROM) are not words and are left out."""
    return pd.DataFrame({TEXT_COLUMN: [" ".join(words[i] for i in ids if i in words)
                                       for ids in sequences]})


def with_test_split(name, task, split, words, class_names, target):
    """A text `Dataset` that keeps the set's own test split; labels named by `class_names`."""
    (x_train, y_train), (x_test, y_test) = split

    def labels(codes):
        return pd.Series(np.asarray(class_names)[codes], name=target)

    return Dataset(name, task, decoded(x_train, words), labels(y_train),
                   test=(decoded(x_test, words), labels(y_test)), kind="text")


def imdb(_options):
    """25,000 + 25,000 IMDB movie reviews, negative or positive, as Keras ships them."""
    train, test, words = keras_text_set("imdb", keras.datasets.imdb,
                                        ("imdb.npz", "imdb_word_index.json"))
    return with_test_split("imdb", "binary", (train, test), words, IMDB_CLASSES, "sentiment")


def reuters(_options):
    """11,228 Reuters newswires in 46 topics (Keras' own 80/20 train/test split)."""
    module = keras.datasets.reuters
    train, test, words = keras_text_set("reuters", module,
                                        ("reuters.npz", "reuters_word_index.json"))
    return with_test_split("reuters", "multiclass", (train, test), words,
                           module.get_label_names(), "topic")


LOADERS = {  # name -> loader(options) -> Dataset
    "text": text_csv,
    "imdb": imdb,
    "reuters": reuters,
}
