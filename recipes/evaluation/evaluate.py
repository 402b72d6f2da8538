"""Evaluate a trained network on the test split, beside the task's scikit-learn reference.

`evaluate` writes what metrics.json holds: what ran, with which hyperparameters, on which device,
how fast, the test metrics, and the baseline fitted on the same split.
"""

from dataclasses import asdict

import numpy as np

import zoo
from recipes.evaluation import baselines
from recipes.runs import rundir
from recipes.training import devices, tape
from recipes.training.pipeline import dataset_of, examples, predictions
from recipes.sources.stream import TableStream


def evaluate(prepared, network, result, options):
    """metrics.json: what ran, how fast, the test metrics, and the scikit-learn baseline."""
    batch_size = prepared.config.batch_size
    if devices.multi_worker():  # model.evaluate fails there like model.fit (keras-team/keras#20585)
        test = tape.evaluate(network, prepared.arrays["test"], prepared.config)
    else:
        test = network.evaluate(dataset_of(prepared.arrays["test"], batch_size), return_dict=True,
                                verbose=0)
    task = prepared.task
    scale = prepared.preprocessing.scale
    if scale or task.name == "binary":  # outputs and targets in order, for arrays or a stream
        outputs, targets = predictions(network, prepared.arrays["test"], batch_size)
    if scale:  # learned in other units: the headline in the target's own, as predict answers
        test[task.headline] = task.reference_metric(
            *(np.asarray(task.answer(values, scale))[:, 0] for values in (targets, outputs)))
    metrics = {
        "recipe": prepared.recipe.name,
        "dataset": prepared.dataset.name,
        "task": task.name,
        "model": prepared.model_name,
        "api": options.api,
        "loop": prepared.config.loop,
        "seed": options.seed,
        "deterministic": options.deterministic,
        "hyperparameters": {k: v for k, v in prepared.hyperparameters.items() if k != "api"},
        "batch_size": prepared.config.batch_size,
        "epochs_run": result.epochs_run,
        "train_seconds": round(result.seconds, 3),
        "examples_per_second": round(result.examples_per_second, 1),
        "epoch_seconds": list(result.epoch_seconds),
        "device": devices.device_name(),
        "precision": network.dtype_policy.name,
        "jit": bool(network.jit_compile),
        "augment": prepared.config.augment is not None,
        "examples": {part: examples(prepared.arrays[part]) for part in ("train", "val", "test")},
        "dropped_rows": prepared.dataset.dropped_rows,
        "classes": prepared.preprocessing.classes,
        "target_scale": scale,
        "na_values": list(options.data.na_values),  # predict reads new files with them too
        "class_weight": prepared.config.class_weight,
        "test": {k: float(v) for k, v in test.items()},
        "baseline": baselines.baseline(task, options.seed, sklearn_view(prepared, "train"),
                                       sklearn_view(prepared, "test")),
        "versions": rundir.versions(),
    }
    if isinstance(prepared.arrays["train"], TableStream):  # read in batches: what this process read
        metrics["stream"] = {"sample_rows": len(prepared.splits.train),
                             "rows_encoded": {part: prepared.arrays[part].rows_encoded()
                                              for part in ("train", "val", "test")}}
    if prepared.dataset.columns:  # a CSV's columns: role, levels, missing, what was done
        metrics["columns"] = [asdict(column) for column in prepared.dataset.columns]
    if task.name == "binary":
        metrics["positive_rate"] = {"test": float(np.mean(targets)),
                                    "predicted": float(np.mean(outputs[:, 0] > 0.5))}
    if prepared.model_name == "linear_regression":
        metrics["learned"] = learned_linear(network, prepared.preprocessing.spec)
    return metrics


def sklearn_view(prepared, part):
    """(x, y) for scikit-learn: flat encoded features, class names or values as the target."""
    split = getattr(prepared.splits, part)
    data = prepared.arrays[part]  # a stream's split is a sample: encoded here
    x = prepared.preprocessing.encode(split.features) if isinstance(data, TableStream) else data[0]
    target = np.asarray(split.target)
    if prepared.task.classification:
        target = target.astype(str)
    return x.reshape(len(x), -1), target


def learned_linear(network, spec):
    """The fitted w and b in the data's own units, undoing the standard scaling of x."""
    kernel, bias = (np.asarray(w) for w in network.get_layer("linear").get_weights())
    mean = np.array([c["mean"] for c in spec["numeric"]])
    scale = np.array([c["scale"] for c in spec["numeric"]])
    w = kernel[:, 0] / scale
    b = float(bias[0] - np.sum(w * mean))
    return {"w": [round(float(v), 4) for v in w], "b": round(b, 4)}


def headline(metrics):
    """The one number a run is judged by (the task's): test accuracy, or test MAE for regressors;
    and its baseline's."""
    key = zoo.task(metrics["task"]).headline
    return key, metrics["test"][key], metrics["baseline"][key]
