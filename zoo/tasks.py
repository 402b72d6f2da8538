"""What a task is: everything a model needs to know about regression, binary and multiclass.

A `Task` owns the network's head (units, activation, loss, metrics), how targets become training
arrays and how outputs become answers (values, or one probability column per class), where the
output layer's bias starts, the number a model is judged by (and so the tuning objective) and
whether targets name classes (so splits are stratified). How a regression target is rescaled
before training, and the scikit-learn baseline fitted beside a run, are the recipes' business
(recipes/features/targets.py, recipes/evaluation/baselines.py). Adding a task is adding one
`Task` to `TASKS`.
"""

from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np

from zoo.registry import TASK_NAMES, ZooError


class TargetError(ZooError):
    """A target a task cannot learn; `could` names the tasks that could learn it (maybe none)."""

    def __init__(self, message, could=()):
        super().__init__(message)
        self.could = tuple(could)


@dataclass(frozen=True)
class Task:
    name: str
    loss: str
    activation: str | None  # the output layer's
    metrics: Callable  # () -> fresh keras.metrics, the headline metric first
    headline: str  # the metric a model is judged by: on test, and on validation when tuning
    direction: str  # "min" | "max": which way the headline improves
    classification: bool  # targets name classes: stratified splits, one-hot labels, class names
    answer_name: str  # the serving output: "value" or "probabilities"

    @property
    def objective(self):
        """What a tuning trial is scored by: the headline, on validation. (For regressors MAE, not
        the loss, which also holds the L2 penalty and so would favour small `l2`.)"""
        return f"val_{self.headline}"

    def check_target(self, target, column):
        """A `TargetError` for a target this task cannot learn, naming the tasks that could."""
        values = np.asarray(target)
        classes = len(np.unique(values.astype(str)))
        if not self.classification and not np.issubdtype(values.dtype, np.number):
            raise TargetError(f"target {column!r} is not numeric, so it cannot be a regression "
                              f"target", could=("binary", "multiclass"))
        if self.classification and classes < 2:
            raise TargetError(f"target {column!r} has a single class ({values.tolist()[0]!r}); "
                              f"need at least 2")
        if self.name == "binary" and classes != 2:
            raise TargetError(f"target {column!r} has {classes} classes, so it is not binary",
                              could=("multiclass",))

    def output_units(self, classes):
        """Units of the output layer: one value, one sigmoid, or one softmax unit per class."""
        return len(classes) if self.name == "multiclass" else 1

    def encode(self, target, classes):
        """Targets as the float32 array the loss takes: values (n, 1), or (n, steps) for a
        forecast of several steps, or one-hot class labels (binary: one 0/1 column for the
        second class)."""
        values = np.asarray(target)
        if not self.classification:
            return values.astype("float32").reshape(len(values), -1)
        labels = values.astype(str)
        unseen = sorted(set(labels) - set(classes))
        if unseen:
            raise ZooError(f"label(s) {', '.join(unseen[:5])} were not seen in training; "
                           f"known classes: {', '.join(classes)}")
        index = np.searchsorted(classes, labels)  # `classes` are sorted
        if self.name == "binary":
            return index.astype("float32").reshape(-1, 1)
        return np.eye(len(classes), dtype="float32")[index]

    def balanced_weights(self, encoded):
        """Class index -> n / (classes x its count), from encoded training targets: each class
        then weighs as much in the loss as the others together, however rare it is."""
        if not self.classification:
            raise ZooError("balanced class weights need classes; this target is a regression one")
        index = encoded[:, 0].astype(int) if encoded.shape[1] == 1 else encoded.argmax(axis=1)
        counts = np.bincount(index, minlength=max(2, encoded.shape[1]))
        return {i: round(len(index) / (len(counts) * c), 6) for i, c in enumerate(counts) if c}

    def output_bias(self, encoded):
        """Where the output layer starts: the training targets' mean, or the positives' log-odds,
        so the first epochs don't merely learn where the data sits. None: no single number fits."""
        if self.name == "regression":
            return round(float(np.mean(encoded)), 6)
        if self.name == "binary":
            positives = float(np.clip(np.mean(encoded), 1e-6, 1 - 1e-6))
            return round(float(np.log(positives / (1 - positives))), 6)
        return None

    def answer(self, outputs):
        """The network's outputs as served: values, or probabilities with one column per class
        (binary: the sigmoid as two). float32 even from a mixed-precision network."""
        outputs = keras.ops.cast(outputs, "float32")
        if self.name == "binary":
            return keras.ops.concatenate([1 - outputs, outputs], axis=-1)
        return outputs

    def decode(self, answers, classes):
        """Served answers as predictions: values (one per row, or a row of steps for a
        forecast), or the most probable class's name."""
        answers = np.asarray(answers)
        if self.classification:
            return np.asarray(classes)[answers.argmax(axis=1)]
        return answers[:, 0] if answers.shape[1] == 1 else answers

    def better(self, a, b):
        """Whether headline score `a` beats `b`."""
        return a < b if self.direction == "min" else a > b


TASKS = {task.name: task for task in (
    Task("regression", "mse", None, lambda: [keras.metrics.MeanAbsoluteError(name="mae")],
         headline="mae", direction="min", classification=False, answer_name="value"),
    Task("binary", "binary_crossentropy", "sigmoid",
         lambda: [keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")],
         headline="accuracy", direction="max", classification=True, answer_name="probabilities"),
    Task("multiclass", "categorical_crossentropy", "softmax",
         lambda: [keras.metrics.CategoricalAccuracy(name="accuracy")],
         headline="accuracy", direction="max", classification=True, answer_name="probabilities"),
)}
assert tuple(TASKS) == TASK_NAMES


def task(name):
    """The `Task` called `name`; a `ZooError` listing the valid ones for any other."""
    if name not in TASKS:
        raise ZooError(f"unknown task {name!r}; valid: {', '.join(TASKS)}")
    return TASKS[name]
