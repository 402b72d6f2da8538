"""The second stage of a network with linear paths (recipes/training/refit.py): only the linear
paths move, and they move only when validation loss goes down."""

from dataclasses import replace

import numpy as np
import pytest

import zoo
from recipes.sources.arrays import Arrays
from recipes.training import train
from recipes.training.pipeline import TrainConfig
from recipes.workflow.refit import PATIENCE, linear_paths, refit_linear, wide_and_deep

CONFIG = TrainConfig(epochs=8, batch_size=64, patience=2, seed=0, quiet=True)
VOCABULARY = 200


def word_ids(rows, seed):
    """Texts of 20 word ids; the label is whether word 7 occurs: a job for the bag of words."""
    rng = np.random.default_rng(seed)
    x = rng.integers(2, VOCABULARY, size=(rows, 20)).astype("float32")
    y = (x == 7).any(axis=1, keepdims=True).astype("float32")
    return Arrays(x, y)


def network(**arguments):
    return zoo.build("text_classifier", (20,), 1, vocabulary_size=VOCABULARY, embedding_dim=8,
                     units=8, kernel_size=3, **arguments)


def deep_weights(model):
    return [w.copy() for w in model.get_layer("wide_and_deep").paths[0].get_weights()]


def test_the_linear_paths_alone_move_and_lower_the_validation_loss():
    model, training, validation = network(), word_ids(2000, 0), word_ids(500, 1)
    train.train(model, training, validation, replace(CONFIG, epochs=1))
    optimizer, deep = model.optimizer, deep_weights(model)
    refit = refit_linear(model, training, validation, CONFIG, zoo.task("binary"))
    assert refit.kept and refit.val_loss_after < refit.val_loss_before
    loss = model.evaluate(validation.dataset(64), verbose=0, return_dict=True)["loss"]
    np.testing.assert_allclose(loss, refit.val_loss_after, rtol=1e-4)
    for before, after in zip(deep, deep_weights(model)):  # the reader held still
        np.testing.assert_array_equal(before, after)
    # the network leaves as it came: all of it trainable, its own optimizer
    assert model.optimizer is optimizer and all(w.trainable for w in model.weights)


def test_a_refit_that_does_not_help_leaves_the_weights_as_they_were():
    # Validation labels that are noise, and an untrained network that answers about 1/2: what
    # the bag of words learns from the training labels only adds to the validation loss
    model, training = network(), word_ids(2000, 0)
    noise = Arrays(word_ids(500, 1).x,
                   np.random.default_rng(2).integers(0, 2, (500, 1)).astype("float32"))
    bag = linear_paths(wide_and_deep(model))[0]
    before = [w.copy() for w in bag.get_weights()]
    # the recipe's patience (10) is the deep path's: the stage stops after at most PATIENCE
    refit = refit_linear(model, training, noise, replace(CONFIG, epochs=20, patience=10),
                         zoo.task("binary"))
    assert not refit.kept and refit.val_loss_after == refit.val_loss_before
    assert refit.epochs_run == PATIENCE + 1
    for old, new in zip(before, bag.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_a_network_without_linear_paths_or_without_validation_has_no_refit():
    training = word_ids(200, 0)
    assert refit_linear(network(wide=False), training, word_ids(50, 1), CONFIG,
                        zoo.task("binary")) is None
    assert refit_linear(network(), training, None, CONFIG, zoo.task("binary")) is None


def windows(rows, seed):
    """Windows of 12 steps of an AR(2) series; the target, the next 2 steps: a linear map."""
    rng = np.random.default_rng(seed)
    values = np.zeros(rows + 14, "float32")
    for t in range(2, len(values)):
        values[t] = 0.6 * values[t - 1] - 0.3 * values[t - 2] + rng.normal()
    x = np.stack([values[i:i + 12] for i in range(rows)])[..., None]
    y = np.stack([values[i + 12:i + 14] for i in range(rows)])
    return Arrays(x, y)


@pytest.mark.parametrize("api", ["functional", "sequential"])
def test_the_forecaster_refit_answers_as_the_network_does(api):
    # Its sum holds a path without weights (the last value): the stage's model of the cached
    # deep outputs must add it too, or the loss it keeps would not be the network's
    model = zoo.build("series_forecaster", (12, 1), 2, kind="conv", filters=4, api=api)
    training, validation = windows(1500, 0), windows(400, 1)
    train.train(model, training, validation, replace(CONFIG, epochs=1))
    refit = refit_linear(model, training, validation, CONFIG, zoo.task("regression"))
    loss = model.evaluate(validation.dataset(64), verbose=0, return_dict=True)["loss"]
    np.testing.assert_allclose(loss, refit.val_loss_after, rtol=1e-4)
    assert refit.kept
