"""Evaluate a trained network on the test split, beside the task's scikit-learn reference.

`evaluate` writes what metrics.json holds: what ran, with which hyperparameters, on which device,
how fast, the test metrics, and the baseline fitted on the same split; for a linear model, what
it learned (`learned_linear`). It reads the data only through training's `pipeline.DataSource`,
whether the examples are in memory or streamed from a file.
"""

from dataclasses import asdict

import numpy as np

import zoo
from recipes.evaluation import baselines, forecasts
from recipes.features import encoding
from recipes.features.targets import restored, served
from recipes.runs import rundir
from recipes.training import devices, tape

PARTS = ("train", "val", "test")


def evaluate(plan, loaded, network, result):
    """metrics.json: what ran (`plan`, on `loaded`: recipes/workflow/prepare.py's), how fast,
    the test metrics, and the scikit-learn baseline."""
    task, config, sources = plan.task, plan.config, loaded.sources
    test, outputs, targets = test_metrics(plan, loaded, network)
    scale = loaded.preprocessing.scale
    metrics = {
        "recipe": plan.recipe.name,
        "dataset": loaded.dataset.name,
        "task": task.name,
        "model": plan.model_name,
        "api": plan.hyperparameters["api"],
        "loop": config.loop,
        "seed": config.seed,
        "deterministic": config.deterministic,
        "hyperparameters": {k: v for k, v in plan.hyperparameters.items() if k != "api"},
        "batch_size": config.batch_size,
        "epochs_run": result.epochs_run,
        "train_seconds": round(result.seconds, 3),
        "examples_per_second": round(result.examples_per_second, 1),
        "epoch_seconds": list(result.epoch_seconds),
        "device": devices.device_name(),
        "precision": network.dtype_policy.name,
        "jit": bool(network.jit_compile),
        "augment": config.augment is not None,
        "examples": {part: len(sources[part]) for part in PARTS},
        "dropped_rows": loaded.dataset.dropped_rows,
        "classes": loaded.preprocessing.classes,
        "target_scale": scale,
        "na_values": list(loaded.na_values),  # predict reads new files with them too
        "class_weight": config.class_weight,
        "test": {k: float(v) for k, v in test.items()},
        "baseline": reference(task, loaded, config.seed),
        "versions": rundir.versions(),
    }
    if loaded.dataset.series:  # the forecast's own baselines, and its error by step
        metrics["series"] = series_metrics(loaded, outputs, targets)
    encoded = {part: sources[part].rows_encoded() for part in PARTS}
    if encoded["train"] is not None:  # read from a file in batches: what this process read
        metrics["stream"] = {"sample_rows": len(loaded.splits.train), "rows_encoded": encoded}
    if loaded.dataset.columns:  # a CSV's columns: role, levels, missing, what was done
        metrics["columns"] = [asdict(column) for column in loaded.dataset.columns]
    if task.name == "binary":
        metrics["positive_rate"] = {"test": float(np.mean(targets)),
                                    "predicted": float(np.mean(outputs[:, 0] > 0.5))}
    if plan.model_name == "linear_regression":
        metrics["learned"] = learned_linear(network, loaded.preprocessing.spec, scale)
    return metrics


def test_metrics(plan, loaded, network):
    """The network's test metrics, the headline in the target's own units; and the test
    outputs and targets, in order, where they are needed (else None, None)."""
    task, config, test_data = plan.task, plan.config, loaded.sources["test"]
    if devices.multi_worker():  # model.evaluate fails there like model.fit (keras-team/keras#20585)
        test = tape.evaluate(network, test_data, config)
    else:
        test = network.evaluate(test_data.dataset(config.batch_size), return_dict=True, verbose=0)
    scale = loaded.preprocessing.scale
    if not (scale or task.name == "binary" or loaded.dataset.series):
        return test, None, None
    outputs, targets = test_data.predictions(network, config.batch_size)
    if scale:  # learned in other units: the headline in the target's own, as predict answers
        outputs, targets = np.asarray(served(task, outputs, scale)), np.asarray(restored(
            targets, scale))  # the truth unbounded: a test target may lie past the training's
        test[task.headline] = baselines.headline_metric(task)(targets.ravel(), outputs.ravel())
    return test, outputs, targets


def served_headline(task, preprocessing, outputs, truth):
    """The task's headline of a network's `outputs` as predict serves them (values in the
    target's own units, or the most probable class's name) against the raw `truth`."""
    answers = np.asarray(served(task, outputs, preprocessing.scale))
    truth = np.asarray(truth).astype(str) if task.classification else np.asarray(truth)
    return baselines.headline_metric(task)(truth, task.decode(answers, preprocessing.classes))


def reference(task, loaded, seed):
    """The scikit-learn reference on the same split: TF-IDF and logistic regression on a text's
    raw strings; else the task's model on the encoded features (for a series: ridge regression
    on the lagged window)."""
    if loaded.dataset.kind == "text":
        return baselines.text_baseline(*(texts(loaded, part) for part in ("train", "test")), seed)
    return baselines.baseline(task, seed, sklearn_view(loaded, "train", task),
                              sklearn_view(loaded, "test", task))


def texts(loaded, part):
    """(raw strings, class names) of a text data set's `part`."""
    split = getattr(loaded.splits, part)
    return split.features.iloc[:, 0].to_numpy(dtype=object), np.asarray(split.target).astype(str)


def series_metrics(loaded, outputs, targets):
    """What a forecast adds to metrics.json: how the series was read, the test MAE of each
    horizon step, and the classic baselines on the same test windows (persistence, the value
    a season ago, ridge on the lagged window, exponential smoothing)."""
    facts, splits = loaded.dataset.series, loaded.splits
    history = forecasts.target_history(splits.train)
    season = forecasts.season_length(history, max_lag=len(history) // 2)
    return {"time": facts.time, "step": facts.step, "window": facts.window,
            "horizon": facts.horizon, "season": season, "notes": list(facts.notes),
            "mae_by_step": forecasts.errors_by_step(targets, outputs),
            "baselines": forecasts.baselines(splits.train, splits.test, season)}


def sklearn_view(loaded, part, task):
    """(x, y) for scikit-learn: flat encoded features, class names or values as the target."""
    split = getattr(loaded.splits, part)
    x = loaded.sources[part].sample_features()  # a streamed part's: its split, a sample
    target = np.asarray(split.target)
    if task.classification:
        target = target.astype(str)
    return x.reshape(len(x), -1), target


def learned_linear(network, spec, target_scale):
    """What a linear model learned: one weight in `w` per encoded column, which `columns` names,
    and the intercept `b`. A number's own column is weighed per unit of the raw number (its
    standard scaling undone, into `b`); every other column per unit of its encoded value (a
    one-hot level, a missing flag, a bin's fill from 0 to 1, a date part, a word's TF-IDF). `b`
    is the answer where all of them are 0. Both are in the target's units where it is learned
    linearly (as it is, or standardised); a log-learned target's are in the standardised
    log(1 + target) the network learns, as `units` says."""
    kernel, bias = (np.asarray(v, "float64") for v in network.get_layer("linear").get_weights())
    w, b = kernel[:, 0].copy(), float(bias[0])
    labels, numbers = encoded_columns(spec)
    for position, entry in numbers:
        w[position] /= entry["scale"]
        b -= w[position] * entry["mean"]
    units = "the target's"
    if target_scale.get("transform") == "log":
        units = "the standardised log(1 + target)'s"
    elif target_scale:
        w, b = w * target_scale["scale"], b * target_scale["scale"] + target_scale["mean"]
    # Significant digits, not decimals: a weight per gram or per dollar is a small number
    return {"w": [float(f"{v:.6g}") for v in w], "b": float(f"{b:.6g}"), "columns": labels,
            "units": f"{units} per unit of each raw number, and of each other encoded column"}


def encoded_columns(spec):
    """A name for each column of a table's encoded matrix, and the positions of the numbers'
    own (standardised) columns with their spec entries. The blocks stand in the spec's order of
    roles, the encoder's (preprocess.table_spec writes them in the role registry's); a role
    without names of its own here (a date's parts) names its columns by position."""
    raw = {c["name"]: c["column"] for c in spec["inputs"]}
    labels, numbers = [], []
    for key, entries in spec.items():
        if key in ("kind", "inputs"):
            continue
        if key == "numeric":
            numbers = [(len(labels) + i, entry) for i, entry in enumerate(entries)]
        labels += BLOCK_LABELS.get(key, by_position)(key, entries, raw)
    return labels, numbers


def numeric_labels(_key, entries, raw):
    """Each number, standardised; then the missing flags; then the piecewise-linear bins."""
    named = [(raw[c["name"]], c) for c in entries]
    return ([name for name, _ in named]
            + [f"{name} is missing" for name, c in named if c.get("indicator")]
            + [f"{name} fills [{low:.4g}, {high:.4g}]" for name, c in named
               for low, high in zip(c.get("edges", [])[:-1], c.get("edges", [])[1:])])


def category_labels(_key, entries, raw):
    """Each column's levels one-hot; then its "missing" level, its "other" level, if any."""
    labels = []
    for c in entries:
        name = raw[c["name"]]
        labels += [f"{name} = {level}" for level in c["categories"]]
        labels += [f"{name} is missing"] * (c.get("filler") is None)
        labels += [f"{name} = another level"] * bool(c.get("other"))
    return labels


def text_labels(_key, entries, raw):
    """Each column's TF-IDF of the words outside its vocabulary, then of each word in it."""
    labels = []
    for c in entries:
        name = raw[c["name"]]
        labels += [f"{name} has other words",
                   *(f"{name} has {str(word)!r}" for word in c["vocabulary"])]
    return labels


def by_position(key, entries, raw):
    """Each column's block, by position: "when: dates column 3 of 9"."""
    labels = []
    for c in entries:
        width = encoding.table_width({key: [c]})
        labels += [f"{raw[c['name']]}: {key} column {i + 1} of {width}" for i in range(width)]
    return labels


BLOCK_LABELS = {"numeric": numeric_labels, "categorical": category_labels, "texts": text_labels}


def headline(metrics):
    """The one number a run is judged by (the task's): test accuracy, or test MAE for regressors;
    and its baseline's."""
    key = zoo.task(metrics["task"]).headline
    return key, metrics["test"][key], metrics["baseline"][key]
