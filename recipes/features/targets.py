"""How a regression target is learned: as it is, standardised, or as standardised log(1 + y).

`fit_scale` chooses the scale on the training targets only; `learned` gives the training arrays
in it (the task's encoding, zoo.tasks.Task.encode, of the rescaled values), and `served` gives
the network's answers back in the target's own units, inside the saved model's `Answer` layer
(recipes/features/encoding.py). A scale is plain JSON, {"transform", "mean", "scale"}, or {} for
targets learned as they are (every classifier's), so a saved model carries it in its config.
"""

import keras
import numpy as np

from recipes.choices import TARGET_TRANSFORMS
from recipes.errors import UserError


def fit_scale(task, target, transform):
    """How `task`'s training `target` is learned: as it is ("none"), standardised ("standard"),
    or as standardised log(1 + y) ("log", for right-skewed positive targets such as prices).
    "auto" picks "log" when log(1 + y) is markedly less skewed, else "standard". Returns
    {"transform", "mean", "scale"}, or {} for "none" and for classification."""
    if transform not in TARGET_TRANSFORMS:
        raise UserError(f"unknown target transform {transform!r}; valid: "
                        f"{', '.join(TARGET_TRANSFORMS)}")
    if task.classification or transform == "none":
        return {}
    values = np.asarray(target, dtype="float64")
    if transform == "auto":
        transform = "log" if values.min() >= 0 and skew(values) > 1 and \
            abs(skew(np.log1p(values))) < skew(values) / 2 else "standard"
    if transform == "log" and values.min() <= -1:
        raise UserError(f"a log target transform needs values above -1; the target's least is "
                        f"{values.min():g}")
    learned_values = np.log1p(values) if transform == "log" else values
    mean, spread = float(learned_values.mean()), float(learned_values.std() or 1.0)
    return {"transform": transform, "mean": mean, "scale": spread,
            # the training targets' range, standardised: where `served` bounds a log's answers
            "low": (float(learned_values.min()) - mean) / spread,
            "high": (float(learned_values.max()) - mean) / spread}


def learned(task, target, classes, scale):
    """The training arrays `task`'s loss takes (Task.encode), the values moved into `scale`."""
    if scale:  # rescaled in float64, then cast by the task: as precise as the target itself
        values = np.asarray(target, dtype="float64")
        values = np.log1p(values) if scale["transform"] == "log" else values
        target = (values - scale["mean"]) / scale["scale"]
    return task.encode(target, classes)


def served(task, outputs, scale):
    """The network's outputs as served (Task.answer), values back in the target's own units.

    An answer learned as a log is bounded by the training targets' range first: exp turns a
    network's linear extrapolation (a ReLU network's, for an input far outside what it was
    trained on) into an exponential one. Unbounded, a salary survey's validation rows got
    answers past float32's largest number, infinite. Trees never answer outside their training
    targets' range either. (A scale saved before the bounds were kept has none.)"""
    answers = task.answer(outputs)
    if scale and scale["transform"] == "log" and "low" in scale:
        answers = keras.ops.clip(answers, scale["low"], scale["high"])
    return restored(answers, scale)


def restored(values, scale):
    """Values of the learned scale (standardised, or standardised logs) back in the target's
    own units; as they are where `scale` is {}."""
    if not scale:
        return values
    values = values * scale["scale"] + scale["mean"]
    return keras.ops.expm1(values) if scale["transform"] == "log" else values


def skew(values):
    """Sample skewness: how far the values' tail reaches right (> 0) or left (< 0)."""
    centred = values - values.mean()
    spread = centred.std()
    return float(np.mean(centred ** 3) / spread ** 3) if spread else 0.0
