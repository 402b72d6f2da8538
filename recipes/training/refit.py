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

It goes through the one training entry (`train.train`), so `--loop` and the device strategy
hold for it too.
"""

from dataclasses import dataclass

import keras

from recipes.training import callbacks, devices, train
from zoo.layers import SumOfPaths

# Adam's step for the linear paths alone: 10x the builders' default, as a convex problem with
# nothing else moving takes it (0.01 was the first value tried, on one seed, not searched)
LEARNING_RATE = 1e-2


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


def linear_paths(network):
    """The linear paths with weights of `network`'s SumOfPaths layers: every path after a
    sum's first (its deep one)."""
    return [path for layer in network.layers if isinstance(layer, SumOfPaths)
            for path in layer.paths[1:] if path.weights]


def frozen_parts(network):
    """What the second stage holds still: every other layer with weights, and each sum's deep
    path."""
    return [part for layer in network.layers if layer.weights
            for part in (layer.paths[:1] if isinstance(layer, SumOfPaths) else [layer])]


def refit_linear(network, train_data, val_data, config, task):
    """Train `network`'s linear paths alone on `train_data`, with early stopping on `val_data`;
    their weights go back to the first stage's unless the validation loss went down. Returns a
    `Refit`, or None where there is nothing to refit (no linear path, or no validation data to
    tell whether it helped). The network leaves compiled as it came, all of it trainable."""
    paths = linear_paths(network)
    if not paths or val_data is None:
        return None
    before = validation_loss(network, val_data, config)
    first_stage = [path.get_weights() for path in paths]
    optimizer, frozen = network.optimizer, frozen_parts(network)
    set_trainable(frozen, False)
    recompile(network, keras.optimizers.Adam(LEARNING_RATE), task)
    try:
        result = train.train(network, train_data, val_data, config,
                             callbacks=callbacks.make(config, early_stopping=True))
    finally:
        set_trainable(frozen, True)
        recompile(network, optimizer, task)
    after = min(result.history["val_loss"])
    kept = after < before
    if not kept:
        for path, weights in zip(paths, first_stage):
            path.set_weights(weights)
    return Refit(result.epochs_run, result.seconds, before, after if kept else before, kept)


def validation_loss(network, val_data, config):
    return float(network.evaluate(val_data.dataset(config.batch_size), verbose=0,
                                  return_dict=True)["loss"])


def set_trainable(layers, trainable):
    for layer in layers:
        layer.trainable = trainable


def recompile(network, optimizer, task):
    """Compile again, as Keras needs after a change of what trains, with the same loss and the
    task's metrics; inside the device strategy's scope, where a new optimizer's variables
    must live, and with the XLA choice the run made (compile would reset it)."""
    jit, loss = network.jit_compile, network.loss
    with devices.strategy().scope():
        network.compile(optimizer=optimizer, loss=loss, metrics=task.metrics(), jit_compile=jit)
