"""A run's second stage for a network with linear paths beside its deep one
(zoo.layers.SumOfPaths: the text classifier's bag of words, the forecaster's autoregressive
map): the linear paths alone trained on, the rest frozen, and kept only where they lower the
validation loss.

Why: early stopping ends the joint training when the deep path starts to overfit, often two or
three epochs in. A linear model over 20,000 words needs many more steps than that, so it stops
far from its optimum: on the tweets file the in-graph bag of words alone reached 0.88 validation
accuracy where scikit-learn's logistic regression on the same split reached 0.895. On top of
the frozen deep path the linear paths are a convex problem of their own, trained with a larger
step until validation loss stops falling (docs/text-and-series.md has the numbers).

The frozen deep path's outputs do not change, so they are computed once, in inference mode as
the saved model computes them, and the stage trains a small model of the linear paths beside
those cached outputs: its epochs cost what the linear paths cost, not a forward pass of an LSTM
each. It goes through the one training entry (`train.train`), so `--loop` and the device
strategy hold for it too.
"""

from dataclasses import dataclass, replace

import keras
import numpy as np
from keras import ops

from recipes.sources.arrays import Arrays
from recipes.training import callbacks, devices, train
from zoo.layers import SumOfPaths

# Adam's step for the linear paths alone: 10x the builders' default, as a convex problem with
# nothing else moving takes it. Chosen on validation loss (text conv, seed 0): 3e-3, 1e-2,
# 3e-2, 1e-1 gave 0.2729, 0.2703, 0.2704, 0.2704 on the tweets and 0.3980, 0.3964, 0.3966,
# 0.3994 on the sentiment sentences; SMS spam's refit was not kept at any of them.
LEARNING_RATE = 1e-2
# Epochs without a better validation loss before the stage stops: at most this many, whatever
# the recipe's patience. A convex problem at a large step that has not improved in 3 epochs is
# at its optimum; the series recipe's patience of 10 (meant for the deep path) made a refit that
# did not help cost 11 epochs on the temperatures file.
PATIENCE = 3


@dataclass(frozen=True)
class Refit:
    """What the second stage did, for metrics.json."""

    epochs_run: int
    seconds: float
    val_loss_before: float
    val_loss_after: float
    kept: bool

    def metrics(self):
        return {"epochs_run": self.epochs_run, "seconds": round(self.seconds, 2),
                "val_loss_before": self.val_loss_before, "val_loss_after": self.val_loss_after,
                "kept": self.kept}


def wide_and_deep(network):
    """The network's output layer where it is a SumOfPaths with linear paths that have weights
    (every path after its first, the deep one), else None: the zoo's builders put the sum last,
    straight over the network's inputs."""
    last = network.layers[-1]
    if isinstance(last, SumOfPaths) and any(path.weights for path in last.paths[1:]):
        return last
    return None


def linear_paths(wide):
    """The paths of SumOfPaths `wide` that the stage trains: those with weights after its first."""
    return [path for path in wide.paths[1:] if path.weights]


def refit_linear(network, train_data, val_data, config, task):
    """Train `network`'s linear paths alone on `train_data` (in memory, `Arrays`), with early
    stopping on `val_data`; their weights go back to the first stage's unless the validation
    loss went down. Returns a `Refit`, or None where there is nothing to refit (no linear path,
    or no validation data to tell whether it helped). The network leaves as it came: compiled
    with its own optimizer, all of it trainable."""
    wide = wide_and_deep(network)
    if wide is None or val_data is None:
        return None
    paths, linear = linear_paths(wide), linear_model(network, wide)
    deep = deep_model(network, wide)
    train_cache, val_cache = (beside_deep_outputs(deep, data, config.batch_size)
                              for data in (train_data, val_data))
    with devices.strategy().scope():  # where a new optimizer's variables must live
        linear.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss=network.loss,
                       metrics=task.metrics(), jit_compile=network.jit_compile,
                       steps_per_execution=network.steps_per_execution)
    before = float(linear.evaluate(val_cache.dataset(config.batch_size), verbose=0,
                                   return_dict=True)["loss"])
    first_stage = [path.get_weights() for path in paths]
    refit_config = replace(config, patience=min(config.patience, PATIENCE))
    result = train.train(linear, train_cache, val_cache, refit_config,
                         callbacks=callbacks.make(refit_config, early_stopping=True))
    after = min(result.history["val_loss"])
    kept = after < before
    if not kept:
        for path, weights in zip(paths, first_stage):
            path.set_weights(weights)
    return Refit(result.epochs_run, result.seconds, before, after if kept else before, kept)


def deep_model(network, wide):
    """The network's inputs -> its deep path's outputs (before the sum `wide` and its
    activation)."""
    return keras.Model(network.inputs, wide.paths[0](network.inputs[0]))


def beside_deep_outputs(deep, data, batch_size):
    """`data` with each example's inputs (flattened) followed by the deep path's outputs for
    them, as one row: `Arrays` holds one array of inputs, and `linear_model` splits it again."""
    outputs = deep.predict(data.x, batch_size=batch_size, verbose=0)
    flat = data.x.reshape(len(data.x), -1)
    return Arrays(np.concatenate([flat, outputs.astype(flat.dtype)], axis=1), data.y)


def linear_model(network, wide):
    """A model of the network's other paths over its inputs, plus the cached deep outputs,
    through the sum's activation: the network's own answer, where only the linear paths (the
    same layers, so the same weights) can train."""
    shape = tuple(network.inputs[0].shape[1:])
    width = int(np.prod(shape))
    rows = keras.Input((width + wide.compute_output_shape((None, *shape))[-1],), name="cached")
    inputs = keras.layers.Reshape(shape)(rows[:, :width])
    total = rows[:, width:]
    for path in wide.paths[1:]:  # those without weights too: the forecaster's last value
        total = total + ops.cast(path(inputs), total.dtype)
    return keras.Model(rows, wide.activation(total), name="linear_paths")
