"""Dive into Deep Learning's models from scratch: `--loop scratch`.

Linear regression (D2L 3.4) and softmax regression (D2L 4.4) written out by hand: the weights
and bias as `tf.Variable`s, the model, its loss and its metric as plain TensorFlow functions, and
minibatch SGD as `param.assign_sub(lr * grad / batch_size)`, each step a `tf.function`. They
train under `fit`'s callbacks like every loop (recipes/training/tape.py's `run_epochs`: early stopping,
the checkpoint, TensorBoard, the progress bar), on the same batches (the data source's, in
`EpochOrder`'s order), and after every epoch hand their w and b to the zoo model's one Dense
layer, so the callbacks, the evaluation and the saved model see what was learned by hand.

    MODELS[builder name] -> its from-scratch `Scratch`: which layer receives w and b, the net,
                            the per-example loss and the per-example metric
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np
import tensorflow as tf

from recipes import choices
from recipes.training.tape import batches, compiled_step, epoch_order, run_epoch, run_epochs


# --- Linear regression (D2L 3.4) -------------------------------------------------------------


def linreg(x, w, b):
    return tf.matmul(x, w) + b


def squared_loss(y_hat, y):
    """Without the book's 1/2: the history then shows the mean squared error, as `fit` does."""
    return tf.reshape((y_hat - tf.reshape(y, tf.shape(y_hat))) ** 2, [-1])


def absolute_error(y_hat, y):
    return tf.reshape(tf.abs(y_hat - tf.reshape(y, tf.shape(y_hat))), [-1])


# --- Softmax regression (D2L 4.4) ------------------------------------------------------------


def log_softmax(logits):
    """log softmax(o)_j = (o_j - max o) - log sum_k exp(o_k - max o).

    The book's softmax, exp(o_j) / sum_k exp(o_k), with the largest logit subtracted first so
    that exp never overflows, and kept as a logarithm so that the cross-entropy never takes the
    log of a probability that underflowed to 0.
    """
    shifted = logits - tf.reduce_max(logits, axis=1, keepdims=True)
    return shifted - tf.math.log(tf.reduce_sum(tf.exp(shifted), axis=1, keepdims=True))


def softmax_regression(x, w, b):
    """Each class's log-probability: images (or rows) flattened, one affine map, log softmax."""
    return log_softmax(tf.matmul(tf.reshape(x, (-1, w.shape[0])), w) + b)


def cross_entropy(log_probabilities, y):
    """-log p(true class): the true class's log-probability picked from each row (y one-hot)."""
    return -tf.gather(log_probabilities, tf.argmax(y, axis=1), axis=1, batch_dims=1)


def correct(log_probabilities, y):
    """1 where the most probable class is the true one, else 0: averaged, the accuracy."""
    return tf.cast(tf.argmax(log_probabilities, axis=1) == tf.argmax(y, axis=1), "float32")


# --- the loop ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scratch:
    layer: str  # the zoo model's Dense layer that receives w and b after every epoch
    net: Callable  # (x, w, b) -> outputs
    loss: Callable  # (outputs, y) -> one loss per example
    metric: str  # the model's compiled headline metric, as the history names it
    score: Callable  # (outputs, y) -> that metric per example


MODELS = {
    "linear_regression": Scratch("linear", linreg, squared_loss, "mae", absolute_error),
    "softmax_regression": Scratch("softmax", softmax_regression, cross_entropy, "accuracy",
                                  correct),
}
assert tuple(MODELS) == choices.SCRATCH_MODELS


def sgd(params, grads, lr, batch_size):
    """Minibatch SGD: the gradients are of the summed loss, hence the division."""
    for param, grad in zip(params, grads):
        param.assign_sub(lr * grad / batch_size)


def fit(model, train_data, val_data, config, callbacks, epochs, initial_epoch):
    """Train zoo `model` (a key of MODELS) by hand: w ~ N(0, 0.01), b = 0, the model's learning
    rate applied by hand, the loss and metric averaged per epoch by `keras.metrics.Mean`."""
    scratch = MODELS[model.name]
    inputs = int(np.prod(model.input_shape[1:]))  # an image's pixels, flattened
    w = tf.Variable(tf.random.normal((inputs, model.output_shape[-1]),
                                     mean=0.0, stddev=0.01), name="w")
    b = tf.Variable(tf.zeros(model.output_shape[-1]), name="b")
    lr = float(model.optimizer.learning_rate.numpy())
    one_device = tf.distribute.get_strategy()  # the default strategy: this loop is not distributed
    metrics = [tf.keras.metrics.Mean(name="loss"), tf.keras.metrics.Mean(name=scratch.metric)]

    def record(outputs, labels, losses):
        metrics[0].update_state(losses)
        metrics[1].update_state(scratch.score(outputs, labels))

    def sgd_step(features, labels):
        with tf.GradientTape() as tape:
            outputs = scratch.net(features, w, b)
            losses = scratch.loss(outputs, labels)
            total = tf.reduce_sum(losses)
        batch_size = tf.cast(tf.shape(features)[0], "float32")
        sgd([w, b], tape.gradient(total, [w, b]), lr, batch_size)
        record(outputs, labels, losses)

    def test_step(features, labels):
        outputs = scratch.net(features, w, b)
        record(outputs, labels, scratch.loss(outputs, labels))

    train_batches = batches(one_device, train_data, config, epoch_order(callbacks))
    train_step = compiled_step(sgd_step, one_device, model.jit_compile)

    def train_epoch():
        logs = run_epoch(train_step, train_batches, metrics, model.steps_per_execution)
        model.get_layer(scratch.layer).set_weights([w.numpy(), b.numpy()])
        return logs

    val_epoch = None
    if val_data is not None:
        val_batches = batches(one_device, val_data, config)
        val_step = compiled_step(test_step, one_device, model.jit_compile)
        val_epoch = lambda: run_epoch(val_step, val_batches, metrics,  # noqa: E731
                                      model.steps_per_execution)
    return run_epochs(model, callbacks, epochs, initial_epoch, examples=len(train_data),
                      train_epoch=train_epoch, val_epoch=val_epoch)
