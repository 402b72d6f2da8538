"""What a task is: everything that differs between regression, binary and multiclass, in one place.

A `Task` owns the network's head (units, activation, loss, metrics), how targets become training
arrays and how outputs become answers (values, or one probability column per class), where the
output layer's bias starts, the number a model is judged by (and so the tuning objective), how
the data is split (stratified or not) and the scikit-learn reference fitted beside every run.
Adding a task is adding one `Task` to `TASKS`.
"""

from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, mean_absolute_error

from zoo.registry import TASK_NAMES, ZooError


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
    reference: Callable  # () -> the scikit-learn baseline estimator
    reference_metric: Callable  # (y_true, y_pred) -> the headline, as scikit-learn computes it

    @property
    def objective(self):
        """What a tuning trial is scored by: the headline, on validation. (For regressors MAE, not
        the loss, which also holds the L2 penalty and so would favour small `l2`.)"""
        return f"val_{self.headline}"

    def check_target(self, target, column):
        """A `ZooError` for a target this task cannot learn, saying which task could."""
        values = np.asarray(target)
        classes = len(np.unique(values.astype(str)))
        if not self.classification and not np.issubdtype(values.dtype, np.number):
            raise ZooError(f"target {column!r} is not numeric, so it cannot be a regression "
                           f"target; use --task binary or --task multiclass")
        if self.classification and classes < 2:
            raise ZooError(f"target {column!r} has a single class ({values.tolist()[0]!r}); need "
                           f"at least 2")
        if self.name == "binary" and classes != 2:
            raise ZooError(f"target {column!r} has {classes} classes, so it is not binary; use "
                           f"--task multiclass")

    def output_units(self, classes):
        """Units of the output layer: one value, one sigmoid, or one softmax unit per class."""
        return len(classes) if self.name == "multiclass" else 1

    def encode(self, target, classes):
        """Targets as the float32 array the loss takes: values (n, 1), or one-hot class labels
        (binary: one 0/1 column for the second class)."""
        values = np.asarray(target)
        if not self.classification:
            return values.astype("float32").reshape(-1, 1)
        labels = values.astype(str)
        unseen = sorted(set(labels) - set(classes))
        if unseen:
            raise ZooError(f"label(s) {', '.join(unseen[:5])} were not seen in training; "
                           f"known classes: {', '.join(classes)}")
        index = np.searchsorted(classes, labels)  # `classes` are sorted
        if self.name == "binary":
            return index.astype("float32").reshape(-1, 1)
        return np.eye(len(classes), dtype="float32")[index]

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
        """Served answers as predictions: values, or the most probable class's name."""
        answers = np.asarray(answers)
        return np.asarray(classes)[answers.argmax(axis=1)] if self.classification else answers[:, 0]

    def better(self, a, b):
        """Whether headline score `a` beats `b`."""
        return a < b if self.direction == "min" else a > b


TASKS = {task.name: task for task in (
    Task("regression", "mse", None, lambda: [keras.metrics.MeanAbsoluteError(name="mae")],
         headline="mae", direction="min", classification=False, answer_name="value",
         reference=Ridge, reference_metric=mean_absolute_error),
    Task("binary", "binary_crossentropy", "sigmoid",
         lambda: [keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")],
         headline="accuracy", direction="max", classification=True, answer_name="probabilities",
         reference=lambda: LogisticRegression(max_iter=2000), reference_metric=accuracy_score),
    Task("multiclass", "categorical_crossentropy", "softmax",
         lambda: [keras.metrics.CategoricalAccuracy(name="accuracy")],
         headline="accuracy", direction="max", classification=True, answer_name="probabilities",
         reference=lambda: LogisticRegression(max_iter=2000), reference_metric=accuracy_score),
)}
assert tuple(TASKS) == TASK_NAMES


def task(name):
    """The `Task` called `name`; a `ZooError` listing the valid ones for any other."""
    if name not in TASKS:
        raise ZooError(f"unknown task {name!r}; valid: {', '.join(TASKS)}")
    return TASKS[name]
