"""Text classification's data side: any CSV's text column and labels (recipes/data/text.py),
Keras' IMDB and Reuters decoded back to words, the token ids inside the saved model
(recipes/features/tokens.py), the TF-IDF baseline and the misclassified-texts figure."""

import os
import subprocess
import sys
import warnings

import keras
import numpy as np
import pandas as pd
import pytest

from recipes.data import text
from recipes.data.dataset import DataOptions
from recipes.errors import UserError
from recipes.evaluation import baselines, plots
from recipes.features import tokens
from tests.conftest import ROOT

SHARED_TEXT = ROOT.parent / "shared" / "datasets" / "text"
REVIEWS = [
    "A wonderful film with a great cast", "Terrible plot, I walked out after an hour",
    "Great acting and a lovely score", "Boring, slow and far too long",
    "One of the best films this year", "The worst script I have read in years",
]


def write_csv(tmp_path, frame, name="reviews.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


def reviews_frame():
    """24 distinct reviews beside an id, a short category and a label; one label missing, one
    text missing."""
    texts = [f"{review}, {word}" for word in ("truly", "really", "honestly", "frankly")
             for review in REVIEWS]
    labels = ["positive", "negative"] * 12
    labels[5] = None
    texts[2] = None
    return pd.DataFrame({"id": range(len(texts)), "genre": ["drama", "comedy", "drama"] * 8,
                         "review": texts, "label": labels})


def load(path, **options):
    return text.text_csv(DataOptions(path=path, **options))


# --- any CSV -----------------------------------------------------------------------------------


def test_the_one_free_text_column_is_found_without_text(tmp_path):
    path = write_csv(tmp_path, reviews_frame())
    dataset = load(path, target="label")
    assert dataset.kind == "text" and dataset.name == "reviews"
    assert list(dataset.features.columns) == ["review"]
    assert dataset.dropped_rows == 1 and len(dataset.features) == len(dataset.target) == 23
    assert dataset.task == "binary" and set(dataset.target) == {"positive", "negative"}
    values = dataset.features["review"]
    assert all(isinstance(v, str) for v in values) and (values == "").sum() == 1
    assert dataset.test is None


def test_text_picks_one_of_several_text_columns_and_task_overrides(tmp_path):
    frame = reviews_frame().assign(title=[f"{r} indeed, said critic number {i}" for i, r in
                                          enumerate(REVIEWS * 4)],
                                   stars=[1, 2, 3, 4, 5, 3] * 4)
    path = write_csv(tmp_path, frame)
    with pytest.raises(UserError, match=r"2 free-text columns: review, title; pass --text COLUMN"):
        load(path, target="stars")
    dataset = load(path, target="stars", text=("title",))
    assert list(dataset.features.columns) == ["title"] and dataset.task == "multiclass"
    assert dataset.features["title"].iloc[0] == frame["title"].iloc[0]
    assert load(path, target="stars", text=("title",), task="regression").task == "regression"


@pytest.mark.parametrize("options, message", [
    ({"target": "label", "path": None}, "the text data set needs --data PATH and --target COLUMN"),
    ({}, "--target is required; columns in"),
    ({"target": "label", "text": ("reveiw",)}, "--text 'reveiw': no such feature column in .* "
                                               r"\(did you mean 'review'\?\)"),
    ({"target": "label", "text": ("review", "genre")}, "learns from one text column, but --text "
                                                        "names 2: review, genre"),
    ({"target": "label", "text": ("id",)}, "column 'id' in .* holds numbers, not text; for "
                                           "numeric features use the csv recipe"),
])
def test_each_bad_request_is_one_line(tmp_path, options, message):
    path = write_csv(tmp_path, reviews_frame())
    with pytest.raises(UserError, match=message) as error:
        text.text_csv(DataOptions(**{"path": path, **options}))
    assert "\n" not in str(error.value)


def test_a_file_without_free_text_names_what_it_found(tmp_path):
    frame = reviews_frame().drop(columns=["review"])
    with pytest.raises(UserError, match=r"no free-text column found in .*id: .*genre: categorical"
                                        r"\); pass --text COLUMN"):
        load(write_csv(tmp_path, frame), target="label")


@pytest.mark.parametrize("values", [[None] * 24, ["...", "!!", "-- --", "?!"] * 6])
def test_a_text_column_without_words_is_refused(tmp_path, values):
    frame = reviews_frame().assign(review=values)
    with pytest.raises(UserError, match="text column 'review' in .* has no words in any row"):
        load(write_csv(tmp_path, frame), target="label", text=("review",))


@pytest.mark.skipif(not SHARED_TEXT.is_dir(), reason=f"no dev text files at {SHARED_TEXT}")
@pytest.mark.parametrize("name, target, column", [
    ("sentiment_sentences.csv", "sentiment", "sentence"), ("sms_spam.csv", "label", "message"),
    ("cyberbullying_tweets.csv", "oh_label", "Text")])
def test_the_dev_files_text_column_is_detected(name, target, column):
    dataset = load(str(SHARED_TEXT / name), target=target)
    assert list(dataset.features.columns) == [column] and dataset.task == "binary"


# --- Keras' text sets ---------------------------------------------------------------------------


def fake_keras_set(monkeypatch, module, words, labels):
    """`module`'s load_data and get_word_index as Keras lays them out (start id 1, then each
    word's rank + 3), from `words` (texts of known words) and their label codes."""
    index = {word: rank for rank, word in enumerate(sorted({w for t in words for w in t.split()}),
                                                    start=1)}
    ids = np.array([[1] + [index[w] + 3 for w in t.split()] for t in words], dtype=object)
    codes = np.asarray(labels)
    monkeypatch.setattr(module, "load_data", lambda: ((ids[:4], codes[:4]), (ids[4:], codes[4:])))
    monkeypatch.setattr(module, "get_word_index", lambda: index)


def test_imdb_is_decoded_back_to_its_words_with_its_own_test_split(monkeypatch):
    fake_keras_set(monkeypatch, keras.datasets.imdb, [r.lower() for r in REVIEWS],
                   [1, 0, 1, 0, 1, 0])
    dataset = text.imdb(DataOptions())
    assert dataset.kind == "text" and dataset.task == "binary"
    assert dataset.features["text"].iloc[0] == "a wonderful film with a great cast"
    assert list(dataset.target) == ["positive", "negative", "positive", "negative"]
    test_features, test_target = dataset.test
    assert list(test_features["text"]) == [r.lower() for r in REVIEWS[4:]]
    assert list(test_target) == ["positive", "negative"]


def test_reuters_labels_are_its_topic_names(monkeypatch):
    fake_keras_set(monkeypatch, keras.datasets.reuters, REVIEWS, [3, 4, 3, 0, 1, 3])
    dataset = text.reuters(DataOptions())
    names = keras.datasets.reuters.get_label_names()
    assert dataset.task == "multiclass" and list(dataset.target) == [names[3], names[4], names[3],
                                                                      names[0]]
    assert dataset.features["text"].iloc[1] == REVIEWS[1]


OFFLINE_SCRIPT = """
import time
from recipes.data import text
from recipes.errors import DataUnavailable
for loader in (text.imdb, text.reuters):
    start = time.monotonic()
    try:
        loader(None)
    except DataUnavailable as error:
        print(f"failed|{time.monotonic() - start:.1f}|{error}")
"""


def test_imdb_and_reuters_fail_offline_at_once_in_one_line(tmp_path):
    # An empty Keras cache and a proxy on a closed port: the download fails, network or not.
    closed = "http://127.0.0.1:9"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KERAS_HOME": str(tmp_path / "keras"),
           "https_proxy": closed, "HTTPS_PROXY": closed, "no_proxy": "", "NO_PROXY": ""}
    result = subprocess.run([sys.executable, "-c", OFFLINE_SCRIPT], capture_output=True,
                            text=True, env=env, timeout=120, cwd=ROOT)
    lines = [line for line in result.stdout.splitlines() if line.startswith("failed|")]
    assert len(lines) == 2, result.stdout + result.stderr
    for line, name in zip(lines, ("imdb", "reuters")):
        _, seconds, message = line.split("|", 2)
        assert float(seconds) < 10
        assert message.startswith(f"{name}: no cached copy and the download failed")
        assert f"put Keras' {name}.npz and {name}_word_index.json in" in message


# --- token ids ---------------------------------------------------------------------------------


def fitted(texts=REVIEWS, **options):
    return tokens.fit(pd.DataFrame({"the review": texts}), **options)


def encoder_model(spec):
    name = spec["inputs"][0]["name"]
    inputs = {name: keras.Input(shape=(), dtype="string", name=name)}
    return keras.Model(inputs, tokens.encoder(spec)(inputs)), name


def test_the_spec_is_json_of_the_training_column():
    spec = fitted()
    assert spec["kind"] == "text" and spec["inputs"] == [
        {"column": "the review", "name": "the_review", "dtype": "string"}]
    assert spec["vocabulary"][0] == "a" and "" not in spec["vocabulary"]
    assert "[UNK]" not in spec["vocabulary"] and all(type(w) is str for w in spec["vocabulary"])
    assert tokens.vocabulary_size(spec) == len(spec["vocabulary"]) + 2
    assert spec["sequence_length"] == tokens.MIN_LENGTH  # 9 words at most: the floor
    assert fitted(sequence_length=3)["sequence_length"] == 3
    assert fitted([" ".join(["word"] * 900)] * 3)["sequence_length"] == tokens.MAX_LENGTH
    assert len(fitted(max_tokens=5)["vocabulary"]) == 3  # ids 0 and 1 count in max_tokens


def test_the_encoder_saved_and_loaded_in_safe_mode_gives_the_same_ids(tmp_path):
    spec = fitted()
    model, name = encoder_model(spec)
    batch = {name: np.array(["A great film", "zebra quokka", "", "great GREAT, great!"],
                            dtype=object)}
    ids = np.asarray(model(batch))
    model.save(tmp_path / "encoder.keras")
    loaded = keras.saving.load_model(tmp_path / "encoder.keras", safe_mode=True)
    np.testing.assert_array_equal(np.asarray(loaded(batch)), ids)
    assert ids.dtype == np.float32 and ids.shape == (4, spec["sequence_length"])
    words = ["", "[UNK]", *spec["vocabulary"]]
    assert [words[int(i)] for i in ids[0][:3]] == ["a", "great", "film"]
    assert list(ids[1][:3]) == [1, 1, 0]  # unseen words are 1, then padding
    # an empty text reads as one unknown word: an all-padding row would mask every step
    assert list(ids[2][:2]) == [1, 0] and not ids[2][1:].any()
    assert list(ids[3][:4]) == [words.index("great")] * 3 + [0]


def test_punctuation_parts_words_and_a_run_from_before_still_strips_it(tmp_path):
    spec = fitted(["See http://t.co/Ab9 now", "e-mail @bob, 3.5 stars", "café naïve"])
    assert spec["punctuation"] == "space"
    assert {"http", "t", "co", "ab9", "e", "mail", "bob", "3", "5", "café", "naïve"} <= set(
        spec["vocabulary"])  # \w would be ASCII in RE2: the accented words stay whole
    model, name = encoder_model(spec)
    words = ["", "[UNK]", *spec["vocabulary"]]
    ids = np.asarray(model({name: np.array(["HTTP://T.CO/AB9!", "CAFÉ"], dtype=object)}))
    assert [words[int(i)] for i in ids[0][:4]] == ["http", "t", "co", "ab9"]
    assert words[int(ids[1][0])] == "café"  # lowercased as UTF-8, not only ASCII
    old_spec = {key: value for key, value in spec.items() if key != "punctuation"}
    old, _ = encoder_model(old_spec)  # a run saved before: its spec and config have no key
    assert list(np.asarray(old({name: np.array(["http://t.co/ab9"], dtype=object)}))[0][:2]) == [
        1, 0]  # one unknown word, "httptcoab9", as it was trained to read
    old.save(tmp_path / "old.keras")
    loaded = keras.saving.load_model(tmp_path / "old.keras", safe_mode=True).get_layer("encode")
    assert loaded.punctuation == "strip"


def test_the_vocabulary_comes_from_the_training_texts_only():
    train, other = REVIEWS[:4], ["Absolutely marvellous cinematography"]
    spec = fitted(train)
    assert "marvellous" not in spec["vocabulary"] and "wonderful" in spec["vocabulary"]
    model, name = encoder_model(spec)
    assert list(np.asarray(model({name: np.array(other, dtype=object)}))[0][:3]) == [1, 1, 1]


def test_a_training_split_without_words_is_one_line():
    with pytest.raises(UserError, match="text column 'the review' has no words in the training"):
        fitted(["", "!!", "..."])


# --- the baseline and the figure ----------------------------------------------------------------


def synthetic_texts(n, seed):
    """Texts of filler words and one class's cue words: a linear model learns it, chance does
    not."""
    rng = np.random.default_rng(seed)
    cues = {"sports": ["match", "goal", "team"], "money": ["bank", "price", "stock"],
            "weather": ["rain", "storm", "sunny"]}
    filler = ["the", "a", "today", "report", "said", "new", "people", "city"]
    labels = rng.choice(list(cues), n)
    texts = [" ".join([*rng.choice(filler, 6), rng.choice(cues[label])]) for label in labels]
    return np.array(texts, dtype=object), labels


def test_the_text_baseline_beats_chance_on_synthetic_texts():
    result = baselines.text_baseline(synthetic_texts(150, 0), synthetic_texts(100, 1), seed=0)
    assert result["model"] == "tfidf_logistic_regression" and result["train_examples"] == 150
    assert result["accuracy"] > 0.9  # chance is a third


@pytest.mark.skipif(not SHARED_TEXT.is_dir(), reason=f"no dev text files at {SHARED_TEXT}")
def test_the_text_baseline_beats_chance_on_real_sentences():
    dataset = load(str(SHARED_TEXT / "sentiment_sentences.csv"), target="sentiment")
    texts, labels = dataset.features["sentence"].to_numpy(), dataset.target.to_numpy()
    rows = np.random.default_rng(0).permutation(len(texts))
    train, test = rows[:2400], rows[2400:]
    result = baselines.text_baseline((texts[train], labels[train]), (texts[test], labels[test]),
                                     seed=0)
    assert result["accuracy"] > 0.7 and result["train_examples"] == 2400  # balanced: chance 0.5


def test_misclassified_texts_are_drawn_without_font_or_math_trouble(tmp_path):
    texts = pd.Series(["It cost $5 and $10 😂", "fine", "a\nlong " * 100, "ok"], index=[9, 4, 2, 0])
    path = tmp_path / "misclassified.png"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plots.plot_misclassified_texts(texts, ["pos", "neg", "pos", "neg"],
                                       ["neg", "neg", "neg", "neg"], path, "demo", limit=1)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
