"""Private Keras and TensorFlow APIs: an in-memory weights file, the epoch a fit resumes from,
TensorFlow's registry of custom gradients."""

import io

from keras.src.saving import saving_lib
from tensorflow.python.framework import ops as tf_ops


def weights_h5(model):
    """The bytes of `model.save_weights(path)`'s .weights.h5 file, built in memory.

    Keras' `save_weights` takes only a path; this is its body given an in-memory file, so the
    caller can write it in one atomic write (recipes/runs/artifacts.py)."""
    buffer = io.BytesIO()
    store = saving_lib.H5IOStore(buffer, mode="w")
    saving_lib._save_state(model, store, None, "", set())  # weights, assets, path, visited
    store.close()
    return buffer.getvalue()


def initial_epoch(model):
    """The epoch `fit` starts from after a restored backup (Keras' BackupAndRestore sets it)."""
    return model._initial_epoch


def set_initial_epoch(model, epoch):
    """Make the next `fit` (and our tape loop, which reads `initial_epoch`) start at `epoch`."""
    model._initial_epoch = epoch


def custom_gradient_registry():
    """TensorFlow's registry of `tf.custom_gradient` functions, name -> function ({} if the
    private attribute moves: then nothing is released, and nothing breaks)."""
    return getattr(getattr(tf_ops, "_gradient_registry", None), "_registry", None) or {}
