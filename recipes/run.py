"""Run a recipe end to end: load, split, preprocess, build, train, evaluate, write artifacts.

Everything that can be wrong with the user's input is checked before anything is written, so a
bad run leaves `--out` untouched.
"""

import platform
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import pandas as pd

import zoo
from recipes import artifacts, baselines, datasets, devices, plots, preprocess, train
from recipes.catalog import MODEL_FOR_TASK, RECIPES
from recipes.errors import UserError

MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.csv"
RUNS_DIR = Path("reports/runs")


@dataclass(frozen=True)
class RunOptions:
    """What the command line can change about a recipe; None means the recipe's default."""

    epochs: int | None = None
    batch_size: int | None = None
    seed: int = 0
    api: str = "functional"
    loop: str = "fit"
    model: str | None = None
    hyperparameters: dict = field(default_factory=dict)  # --set NAME=VALUE, over the recipe's
    data: datasets.DataOptions = datasets.DataOptions()
    out: Path | None = None
    quiet: bool = False


@dataclass
class Prepared:
    """A recipe made concrete: data split and encoded, the model chosen, nothing trained yet."""

    recipe: object
    dataset: datasets.Dataset
    splits: preprocess.Splits
    preprocessor: object
    arrays: dict  # "train" | "val" | "test" -> (x, y) as model-ready float32 arrays
    model_name: str
    hyperparameters: dict
    config: train.TrainConfig


def recipe(name):
    if name not in RECIPES:
        raise UserError(f"unknown recipe {name!r}; valid: {', '.join(RECIPES)}, all")
    return RECIPES[name]


def check_options(options):
    if options.epochs is not None and options.epochs < 1:
        raise UserError(f"--epochs must be at least 1, got {options.epochs}")
    if options.batch_size is not None and options.batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {options.batch_size}")
    if options.loop not in train.LOOPS:
        raise UserError(f"unknown loop {options.loop!r}; valid: {', '.join(train.LOOPS)}")


def prepare(name, options):
    """Load and split the data, fit the preprocessor on train only, and pick the model."""
    check_options(options)
    entry = recipe(name)
    dataset = datasets.load(entry.dataset, options.data)
    splits = preprocess.split(dataset, seed=options.seed)
    preprocessor = preprocess.preprocessor_for(dataset).fit(splits.train.features,
                                                             splits.train.target)
    arrays = {part: (preprocessor.transform(getattr(splits, part).features),
                     preprocessor.encode_target(getattr(splits, part).target))
              for part in ("train", "val", "test")}
    recipe_model = MODEL_FOR_TASK[dataset.task] if entry.model == "auto" else entry.model
    model_name = options.model or recipe_model
    if dataset.task not in zoo.entry(model_name).tasks:
        raise UserError(f"model {model_name!r} does not do {dataset.task}; models that do: "
                        f"{', '.join(zoo.names(dataset.task))}")
    defaults = entry.hyperparameters if model_name == recipe_model else {}  # tuned for that model
    hyperparameters = {**defaults, **options.hyperparameters, "api": options.api}
    config = train.TrainConfig(epochs=options.epochs or entry.epochs,
                               batch_size=options.batch_size or entry.batch_size,
                               patience=entry.patience, seed=options.seed, quiet=options.quiet)
    return Prepared(entry, dataset, splits, preprocessor, arrays, model_name, hyperparameters, config)


def build_model(prepared):
    """Build the zoo model inside the device strategy's scope."""
    keras.utils.set_random_seed(prepared.config.seed)
    with devices.strategy().scope():
        return zoo.build(prepared.model_name, prepared.preprocessor.input_shape,
                         prepared.preprocessor.num_outputs, **prepared.hyperparameters)


def run(name, options):
    """Train recipe `name` and write its artifacts into `options.out`; returns metrics.json."""
    prepared = prepare(name, options)
    model = build_model(prepared)  # a wrong hyperparameter fails here, before anything is written
    out = Path(options.out or RUNS_DIR / name)
    out.mkdir(parents=True, exist_ok=True)
    result = train.LOOPS[options.loop](model, prepared.arrays["train"], prepared.arrays["val"],
                                       prepared.config, out)
    metrics = evaluate(prepared, model, result, options)
    write_artifacts(out, prepared, model, result, metrics)
    return metrics


def evaluate(prepared, model, result, options):
    """metrics.json: what ran, how fast, the test metrics, and the scikit-learn baseline."""
    x_test, y_test = prepared.arrays["test"]
    test = model.evaluate(train.to_dataset(x_test, y_test, prepared.config.batch_size),
                          return_dict=True, verbose=0)
    metrics = {
        "recipe": prepared.recipe.name,
        "dataset": prepared.dataset.name,
        "task": prepared.dataset.task,
        "model": prepared.model_name,
        "api": options.api,
        "loop": options.loop,
        "seed": options.seed,
        "hyperparameters": {k: v for k, v in prepared.hyperparameters.items() if k != "api"},
        "batch_size": prepared.config.batch_size,
        "epochs_run": result.epochs_run,
        "train_seconds": round(result.seconds, 3),
        "examples_per_second": round(result.examples_per_second, 1),
        "device": devices.device_name(),
        "examples": {part: len(getattr(prepared.splits, part)) for part in ("train", "val", "test")},
        "dropped_rows": prepared.dataset.dropped_rows,
        "classes": prepared.preprocessor.classes,
        "test": {k: float(v) for k, v in test.items()},
        "baseline": baselines.baseline(prepared.dataset.task, options.seed,
                                       sklearn_view(prepared, "train"), sklearn_view(prepared, "test")),
        "versions": versions(),
    }
    if prepared.model_name == "linear_regression":
        metrics["learned"] = learned_linear(model, prepared.preprocessor)
    return metrics


def sklearn_view(prepared, part):
    """(x, y) for scikit-learn: flat features, class names or values as the target."""
    x, _ = prepared.arrays[part]
    target = np.asarray(getattr(prepared.splits, part).target)
    if prepared.dataset.task != "regression":
        target = target.astype(str)
    return x.reshape(len(x), -1), target


def learned_linear(model, preprocessor):
    """The fitted w and b in the data's own units, undoing the standard scaling of x."""
    kernel, bias = (np.asarray(w) for w in model.get_layer("linear").get_weights())
    scaler = preprocessor.column_transformer.named_transformers_["numeric"]["scale"]
    w = kernel[:, 0] / scaler.scale_
    b = float(bias[0] - np.sum(w * scaler.mean_))
    return {"w": [round(float(v), 4) for v in w], "b": round(b, 4)}


def versions():
    import sklearn
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "scikit-learn": sklearn.__version__,
            "numpy": np.__version__, "pandas": pd.__version__}


def headline(metrics):
    """The one number a recipe is judged by: test accuracy, or test MAE for regressors."""
    key = "mae" if metrics["task"] == "regression" else "accuracy"
    return key, metrics["test"][key], metrics["baseline"][key]


def write_artifacts(out, prepared, model, result, metrics):
    history = pd.DataFrame(result.history)
    history.insert(0, "epoch", range(1, len(history) + 1))
    artifacts.write_csv(out / HISTORY_FILE, history)
    key, _, _ = headline(metrics)
    title = f"{prepared.recipe.name} ({metrics['model']}, {metrics['loop']})"
    for metric in (key, "loss"):
        plots.plot_history(result.history, metric, out / f"{metric}.png", title)
    with artifacts.atomic_path(out / MODEL_FILE) as tmp:
        model.save(tmp)
    with artifacts.atomic_path(out / preprocess.PREPROCESSOR_FILE) as tmp:
        prepared.preprocessor.save(tmp)
    artifacts.write_json(out / METRICS_FILE, metrics)  # last: its presence marks a finished run

