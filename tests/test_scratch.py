"""recipes/training/scratch.py: softmax regression from scratch (D2L 4.4), the `--loop scratch` of
`softmax_regression` and the `softmax-scratch` recipe.

(Linear regression from scratch: tests/test_tape.py's test_linear_scratch_recovers_w_and_b.)
"""

import dataclasses
import json

import keras
import numpy as np
import pytest

from recipes.runs import rundir
from recipes.training import scratch, train
from recipes.workflow import run
from recipes.workflow.prepare import build_network, prepare
from recipes.catalog import RECIPES
from recipes.sources.arrays import to_dataset

DIGITS_BY_HAND = run.RunOptions(model="softmax_regression", loop="scratch", epochs=20, quiet=True)


@pytest.fixture(scope="module")
def digits_by_hand():
    """scikit-learn's 8x8 digits, the softmax regression trained by hand: the data loaded, and
    the trained network."""
    plan, loaded = prepare("digits-cnn", DIGITS_BY_HAND)
    network = build_network(plan, loaded)
    train.train(network, loaded.sources["train"], loaded.sources["val"], plan.config)
    return loaded, network


def test_the_hand_written_loss_is_keras_categorical_cross_entropy(digits_by_hand):
    loaded, network = digits_by_hand
    w, b = network.get_layer("softmax").get_weights()  # what the loop learned, by hand
    x, y = loaded.sources["test"].x, loaded.sources["test"].y
    log_probabilities = scratch.softmax_regression(x, w, b)
    by_hand = scratch.cross_entropy(log_probabilities, y).numpy()
    by_keras = keras.losses.categorical_crossentropy(y, network.predict(x, verbose=0)).numpy()
    np.testing.assert_allclose(by_hand, by_keras, rtol=0, atol=1e-5)
    scores = network.evaluate(to_dataset(x, y, 32), return_dict=True, verbose=0)
    assert by_hand.mean() == pytest.approx(scores["loss"], abs=1e-5)
    assert scratch.correct(log_probabilities, y).numpy().mean() == \
        pytest.approx(scores["accuracy"], abs=1e-6)


def test_the_softmax_never_overflows():
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]], "float32")
    probabilities = np.exp(scratch.log_softmax(logits).numpy())
    np.testing.assert_allclose(probabilities, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-6)
    loss = scratch.cross_entropy(scratch.log_softmax(logits), np.eye(3, dtype="float32")[[2, 0]])
    assert np.isfinite(loss.numpy()).all() and loss.numpy()[0] == pytest.approx(2000.0)


def test_softmax_by_hand_on_digits_beats_chance_and_writes_a_run(tmp_path):
    metrics = run.run("digits-cnn", dataclasses.replace(DIGITS_BY_HAND, out=tmp_path))
    assert metrics["loop"] == "scratch" and metrics["model"] == "softmax_regression"
    assert metrics["test"]["accuracy"] > 0.8  # chance: 0.1
    history = (tmp_path / rundir.HISTORY_FILE).read_text().splitlines()[0]
    assert history == "epoch,accuracy,loss,val_accuracy,val_loss"
    for name in ("accuracy.png", "loss.png", rundir.MODEL_FILE, rundir.CARD_FILE,
                 rundir.CHECKPOINT_FILE, rundir.CONFUSION_MATRIX_FILE, rundir.MISCLASSIFIED_FILE):
        assert (tmp_path / name).stat().st_size > 0, name
    saved = json.loads((tmp_path / rundir.METRICS_FILE).read_text())
    assert saved["test"] == metrics["test"]


def test_softmax_scratch_is_mnist_softmax_by_hand():
    """The same data set (so the same seeded split), model, learning rate, epochs, batch and
    patience; only the loop differs."""
    by_hand, by_keras = (dataclasses.asdict(RECIPES[name])
                         for name in ("softmax-scratch", "mnist-softmax"))
    differ = {key for key in by_hand if by_hand[key] != by_keras[key]}
    assert differ == {"name", "loop", "description"}
    assert by_hand["loop"] == "scratch"  # full MNIST, by hand: benchmarks/mnist.py

