"""Multilayer perceptrons for tabular data: a regressor and binary / multiclass classifiers.

Each takes L2 weight decay and dropout as arguments (the classic recipe against overfitting on
small tables), optionally its numeric inputs smoothly clipped and as periodic embeddings in
front (`smooth_clip`, `numeric_embedding="periodic"`: zoo/numbers.py) and an ensemble of
members sharing its hidden layers (`members`: zoo/efficient_ensemble.py), and comes with a
keras-tuner search space beside it.
"""

import keras

from zoo.common import (assemble, choose, compile_for, dense_layer, fraction,
                         learning_rate_schedule, positive)
from zoo.efficient_ensemble import EfficientEnsemble
from zoo.numbers import PeriodicEmbedding, SmoothClip
from zoo.registry import ZooError, register

NUMERIC_EMBEDDINGS = ("none", "periodic")


def mlp_space(hp):
    """Search space shared by the MLP builders: depth, width, dropout, L2, optimizer, step size.

    No plain SGD: over this learning-rate range it diverged in 4 of 10 trials of a boston-housing
    search and won none (`--set optimizer=sgd` still tunes with it).
    """
    return {
        "hidden_units": (hp.Int("units", 16, 256, step=2, sampling="log"),) * hp.Int("layers", 1, 3),
        "dropout": hp.Float("dropout", 0.0, 0.5, step=0.1),
        "l2": hp.Float("l2", 1e-6, 1e-2, sampling="log"),
        "optimizer": hp.Choice("optimizer", ["adam", "rmsprop"]),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-1, sampling="log"),
        "numeric_embedding": hp.Choice("numeric_embedding", list(NUMERIC_EMBEDDINGS)),
        "embedding_scale": hp.Float("embedding_scale", 1e-2, 10.0, sampling="log"),
        "smooth_clip": hp.Boolean("smooth_clip"),
        "members": hp.Choice("members", [1, 8]),
    }


def number_layers(numeric_embedding, numeric_columns, embedding_scale, smooth_clip):
    """[SmoothClip] and [PeriodicEmbedding] of the first `numeric_columns` inputs (all, where
    None), as asked for; none for a table without numbers (`numeric_columns` 0)."""
    choose(numeric_embedding, NUMERIC_EMBEDDINGS, "numeric_embedding")
    if numeric_columns is not None and numeric_columns < 0:
        raise ZooError(f"numeric_columns must be >= 0 or None (all), got {numeric_columns}")
    if numeric_columns == 0:
        return []
    clip = [SmoothClip(numeric_columns, name="smooth_clip")] if smooth_clip else []
    if numeric_embedding == "none":
        return clip
    return [*clip, PeriodicEmbedding(numeric_columns,
                                     scale=positive(embedding_scale, "embedding_scale"),
                                     name="numeric_embedding")]


def mlp_layers(hidden_units, *, activation, dropout, l2, dense):
    """Hidden Dense layers, each followed by dropout when `dropout` > 0."""
    fraction(dropout, "dropout")
    if l2 < 0:
        raise ZooError(f"l2 must be >= 0, got {l2}")
    layers = []
    for i, units in enumerate(hidden_units):
        positive(units, "hidden_units")
        layers.append(dense_layer(units, dense=dense, activation=activation, l2=l2, name=f"hidden_{i}"))
        if dropout:
            layers.append(keras.layers.Dropout(dropout, name=f"dropout_{i}"))
    return layers


REGRESSION_LOSSES = ("mse", "mae", "huber")


def hidden_and_head(hidden, head_units, head_activation, *, members, l2, output_bias, dense):
    """The hidden layers then the output layer; with `members` > 1, an EfficientEnsemble of
    that many members sharing the hidden layers, each with its own head."""
    positive(members, "members")
    if members == 1:
        return [*hidden, dense_layer(head_units, dense=dense, activation=head_activation, l2=l2,
                                     bias=output_bias, name="output")]
    if not hidden:
        raise ZooError(f"members={members} share the hidden layers, and hidden_units is empty")
    # float32, as dense_layer's "output" is: the answers keep 24 bits under mixed precision
    return [EfficientEnsemble(keras.Sequential(hidden, name="shared"), members, head_units,
                              activation=head_activation, bias=output_bias, l2=l2,
                              dtype="float32", name="output")]


def _mlp(task, head_units, head_activation, input_shape, *, name, hidden_units, activation,
         dropout, l2, api, optimizer, learning_rate, dense, output_bias=0.0, loss=None,
         weight_decay=0.0, decay_steps=0, numbers=("none", None, 0.01, False), members=1):
    hidden = mlp_layers(hidden_units, activation=activation, dropout=dropout, l2=l2, dense=dense)
    layers = [*number_layers(*numbers),
              *hidden_and_head(hidden, head_units, head_activation, members=members, l2=l2,
                               output_bias=output_bias, dense=dense)]
    model = assemble(input_shape, layers, api=api, name=name)
    return compile_for(model, task, optimizer=optimizer, loss=loss, weight_decay=weight_decay,
                       learning_rate=learning_rate_schedule(learning_rate, decay_steps))


def smoothed(loss_class, label_smoothing):
    """The task's cross-entropy, with labels pulled `label_smoothing` towards uniform: a
    classifier that stops short of certainty generalises better on noisy tables."""
    fraction(label_smoothing, "label_smoothing")
    return loss_class(label_smoothing=label_smoothing) if label_smoothing else None


@register(tasks=("regression",), inputs=("table",), space=mlp_space)
def dense_regressor(input_shape, num_outputs=1, hidden_units=(64, 64), activation="relu",
                    dropout=0.0, l2=0.0, api="functional", optimizer="adam",
                    learning_rate=1e-3, dense="keras", output_bias=0.0, loss="mse",
                    weight_decay=0.0, decay_steps=0, numeric_embedding="none",
                    numeric_columns=None, embedding_scale=0.01, smooth_clip=False,
                    members=1):
    """Linear output, mean absolute error metric; `loss` "mse", "mae" (what MAE is judged by:
    the median's loss) or "huber".

    `output_bias`: start the output at the training targets' mean. `weight_decay`: decoupled
    (AdamW-style) weight decay; `decay_steps` > 0: cosine-decay the learning rate over them.
    `numeric_embedding="periodic"`: the first `numeric_columns` inputs (all, where None; a
    recipe passes its numbers' count) as PeriodicEmbedding's waves, their frequencies started
    at `embedding_scale`; `smooth_clip`: those inputs through SmoothClip first (RealMLP's x /
    sqrt(1 + (x/3)^2)). `members` > 1: that many networks sharing the hidden layers, each with
    its own input scaling and head, their answers averaged (TabM-mini:
    zoo.efficient_ensemble.EfficientEnsemble). These five arguments are in every MLP builder.
    """
    return _mlp("regression", num_outputs, None, input_shape, name="dense_regressor",
                hidden_units=hidden_units, activation=activation, dropout=dropout, l2=l2,
                api=api, optimizer=optimizer, learning_rate=learning_rate, dense=dense,
                output_bias=output_bias, loss=choose(loss, REGRESSION_LOSSES, "loss"),
                weight_decay=weight_decay, decay_steps=decay_steps,
                numbers=(numeric_embedding, numeric_columns, embedding_scale, smooth_clip),
                members=members)


@register(tasks=("binary",), inputs=("table",), space=mlp_space)
def binary_classifier(input_shape, num_outputs=1, hidden_units=(32,), activation="relu",
                      dropout=0.2, l2=1e-4, api="functional", optimizer="adam",
                      learning_rate=1e-3, dense="keras", output_bias=0.0, label_smoothing=0.0,
                      weight_decay=0.0, decay_steps=0, numeric_embedding="none",
                      numeric_columns=None, embedding_scale=0.01, smooth_clip=False,
                      members=1):
    """One sigmoid unit, binary cross-entropy, accuracy and AUC.

    `output_bias`: start at the training classes' log-odds, log(positives / negatives).
    """
    if num_outputs != 1:
        raise ZooError(f"binary_classifier has one output unit, got num_outputs={num_outputs}")
    return _mlp("binary", 1, "sigmoid", input_shape, name="binary_classifier",
                hidden_units=hidden_units, activation=activation, dropout=dropout, l2=l2,
                api=api, optimizer=optimizer, learning_rate=learning_rate, dense=dense,
                output_bias=output_bias, weight_decay=weight_decay, decay_steps=decay_steps,
                loss=smoothed(keras.losses.BinaryCrossentropy, label_smoothing),
                numbers=(numeric_embedding, numeric_columns, embedding_scale, smooth_clip),
                members=members)


@register(tasks=("multiclass",), inputs=("table",), space=mlp_space)
def multiclass_classifier(input_shape, num_outputs, hidden_units=(32,), activation="relu",
                          dropout=0.2, l2=1e-4, api="functional", optimizer="adam",
                          learning_rate=1e-3, dense="keras", label_smoothing=0.0,
                          weight_decay=0.0, decay_steps=0, numeric_embedding="none",
                          numeric_columns=None, embedding_scale=0.01, smooth_clip=False,
                          members=1):
    """Softmax over `num_outputs` classes, categorical cross-entropy on one-hot labels."""
    return _mlp("multiclass", num_outputs, "softmax", input_shape, name="multiclass_classifier",
                hidden_units=hidden_units, activation=activation, dropout=dropout, l2=l2,
                api=api, optimizer=optimizer, learning_rate=learning_rate, dense=dense,
                weight_decay=weight_decay, decay_steps=decay_steps,
                loss=smoothed(keras.losses.CategoricalCrossentropy, label_smoothing),
                numbers=(numeric_embedding, numeric_columns, embedding_scale, smooth_clip),
                members=members)
