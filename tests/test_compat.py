"""The private Keras, keras-tuner and TensorFlow APIs the project relies on (recipes/compat/),
each checked on the installed versions: an upgrade that moves one fails here, by name."""

import keras
import numpy as np
from keras_tuner.src import config as keras_tuner_config
from keras_tuner.src.engine import tuner_utils

from recipes.compat import keras_private, tuner_private


def tiny_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_weights_h5_is_the_file_save_weights_writes(tmp_path):
    model, other = tiny_model(), tiny_model()
    path = tmp_path / "w.weights.h5"
    path.write_bytes(keras_private.weights_h5(model))
    other.load_weights(path)
    for mine, theirs in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_fit_starts_at_the_initial_epoch_we_set():
    model = tiny_model()
    assert not keras_private.initial_epoch(model)
    keras_private.set_initial_epoch(model, 2)
    assert keras_private.initial_epoch(model) == 2
    history = model.fit(np.zeros((4, 3)), np.zeros((4, 2)), epochs=3, verbose=0)
    assert history.epoch == [2]  # epochs 0 and 1 count as done, as after a restored backup


def test_the_custom_gradient_registry_grows_with_each_traced_training_step():
    before = set(keras_private.custom_gradient_registry())
    model = tiny_model()
    model.fit(np.zeros((4, 3)), np.zeros((4, 2)), epochs=1, verbose=0)
    assert isinstance(keras_private.custom_gradient_registry(), dict)
    assert set(keras_private.custom_gradient_registry()) - before  # what tuning releases


def test_trials_checkpoint_with_the_class_we_install():
    class Mine(tuner_private.SaveBestEpoch):
        pass

    original = tuner_utils.SaveBestEpoch
    try:
        tuner_private.use_save_best_epoch(Mine)
        assert tuner_utils.SaveBestEpoch is Mine  # what Tuner.run_trial instantiates
    finally:
        tuner_utils.SaveBestEpoch = original


def test_failed_trials_are_quiet():
    tuner_private.quiet_failed_trials()
    assert keras_tuner_config.DEBUG is False
