"""Run a recipe end to end: load, split, preprocess, build, train, evaluate, write artifacts.

Everything that can be wrong with the user's input is checked before anything is written, and
a run trains and writes in a staging folder promoted into `--out` only once complete
(recipes/resume.py), so a bad, diverged or killed run leaves `--out` as it was.
"""

import json
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

import zoo
from recipes import (artifacts, baselines, datasets, devices, images, plots, preprocess, resume,
                     tape, train)
from recipes.catalog import MODEL_FOR_TASK, RECIPES
from recipes.errors import UserError

MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.csv"
CONFUSION_MATRIX_FILE = "confusion_matrix.png"
MISCLASSIFIED_FILE = "misclassified.png"
RUNS_DIR = Path("reports/runs")
# Everything a run may write into its folder, metrics.json last (it marks a finished run). A new
# run replaces all of them: an export it does not redo belonged to the model it replaces.
RUN_ENTRIES = (MODEL_FILE, preprocess.PREPROCESSOR_FILE, HISTORY_FILE, "loss.png", "accuracy.png",
               "mae.png", CONFUSION_MATRIX_FILE, MISCLASSIFIED_FILE, train.CHECKPOINT_FILE,
               train.LOG_DIR, "export", METRICS_FILE)  # "export": export.EXPORT_DIR

# The training loops, each `loop(model, train, val, config, out) -> train.TrainResult`.
LOOPS = {"fit": train.fit, "tape": tape.fit, "scratch": tape.scratch}


@dataclass(frozen=True)
class RunOptions:
    """What the command line can change about a recipe; None means the recipe's default."""

    epochs: int | None = None
    batch_size: int | None = None
    seed: int = 0
    api: str = "functional"
    loop: str | None = None  # None: the recipe's (fit; scratch for linear-scratch)
    model: str | None = None
    hyperparameters: dict = field(default_factory=dict)  # --set NAME=VALUE, over the recipe's
    data: datasets.DataOptions = datasets.DataOptions()
    out: Path | None = None
    quiet: bool = False
    mixed_precision: bool = False
    jit: bool | None = None  # XLA on or off; None: Keras' choice (on for one GPU, off on CPU)
    augment: bool | None = None  # random shifts/rotations of training images; None: the recipe's
    export: bool = False  # also export the run for serving, into OUT/export (recipes/export.py)
    deterministic: bool = False  # TensorFlow's op determinism: bit-identical reruns on CPU
    resume: bool = False  # back up every epoch; continue the run interrupted in OUT, if any
    overwrite: bool = False  # replace a different run (or write beside other files) in OUT


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
    if not 0 <= options.seed < 2**32:  # what NumPy's seed accepts
        raise UserError(f"--seed must be between 0 and {2**32 - 1}, got {options.seed}")
    if options.loop is not None and options.loop not in LOOPS:
        raise UserError(f"unknown loop {options.loop!r}; valid: {', '.join(LOOPS)}")
    if options.mixed_precision:
        devices.mixed_precision_policy()  # a UserError where it cannot help


def prepare(name, options):
    """Load and split the data, fit the preprocessor on train only, and pick the model."""
    check_options(options)
    entry = recipe(name)
    dataset = datasets.load(entry.dataset, options.data)
    splits = preprocess.split(dataset, seed=options.seed)
    preprocessor, arrays = fit_preprocessing(dataset, splits.train, {
        "train": splits.train, "val": splits.val, "test": splits.test})
    recipe_model = MODEL_FOR_TASK[dataset.task] if entry.model == "auto" else entry.model
    model_name = options.model or recipe_model
    if dataset.task not in zoo.entry(model_name).tasks:
        raise UserError(f"model {model_name!r} does not do {dataset.task}; models that do: "
                        f"{', '.join(zoo.names(dataset.task))}")
    defaults = entry.hyperparameters if model_name == recipe_model else {}  # tuned for that model
    hyperparameters = {**defaults, **checked_kinds(model_name, options.hyperparameters),
                       "api": options.api}
    augment = entry.augment if options.augment is None else options.augment
    if augment and not images.is_images(dataset):
        raise UserError(f"--augment shifts and rotates training images; {name} is not an image recipe")
    loop = options.loop or entry.loop
    if loop == "fit" and devices.multi_worker():
        raise UserError("Keras 3's model.fit cannot train across workers (TF_CONFIG is set; "
                        "keras-team/keras#20585); use --loop tape")
    if loop == "scratch" and model_name != "linear_regression":
        raise UserError(f"--loop scratch trains linear_regression only, not {model_name!r}; "
                        f"use --loop fit or --loop tape")
    if loop == "scratch" and options.resume:
        raise UserError("--resume does not apply to --loop scratch (its w and b live outside the "
                        "model, and it trains in seconds); run it again without --resume")
    config = train.TrainConfig(epochs=options.epochs or entry.epochs,
                               batch_size=options.batch_size or entry.batch_size,
                               patience=entry.patience, seed=options.seed, quiet=options.quiet,
                               loop=loop, mixed_precision=options.mixed_precision,
                               jit=options.jit, deterministic=options.deterministic,
                               resumable=options.resume,
                               augment=images.augmentation(options.seed) if augment else None)
    if entry.anneal and model_name == recipe_model:
        # Cosine-decay the step size over the whole run, however many epochs --epochs asks for.
        steps_per_epoch = -(-len(arrays["train"][0]) // config.batch_size)
        hyperparameters.setdefault("decay_steps", config.epochs * steps_per_epoch)
    return Prepared(entry, dataset, splits, preprocessor, arrays, model_name, hyperparameters, config)


def fit_preprocessing(dataset, train, parts):
    """The preprocessor fitted on `train` only, and `parts` (name -> preprocess.Part) encoded by
    it as model-ready (x, y) arrays."""
    preprocessor = preprocess.preprocessor_for(dataset).fit(train.features, train.target)
    return preprocessor, {name: (preprocessor.transform(part.features),
                                 preprocessor.encode_target(part.target))
                          for name, part in parts.items()}


def checked_kinds(model_name, values):
    """--set values, each of the kind its default is (a tuple for a tuple, a number for a number:
    10 becomes 10.0 where the default is a float, as Keras' optimizers want), so that a builder
    never meets a type it cannot use. Unknown names: zoo.build lists the valid ones."""
    defaults = zoo.hyperparameters(model_name)
    for name, value in values.items():
        default = defaults.get(name)
        if default is not None and not same_kind(value, default):
            raise UserError(f"--set {name}={value!r}: {name} takes a {kind_name(default)}, like "
                            f"its default {default!r}")
    return {name: float(value) if isinstance(defaults.get(name), float) else value
            for name, value in values.items()}


def same_kind(value, default):
    if isinstance(value, bool) or isinstance(default, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    if isinstance(default, tuple):
        return isinstance(value, (tuple, list)) and all(same_kind(v, default[0]) for v in value)
    return isinstance(value, type(default))


def kind_name(default):
    if isinstance(default, bool):
        return "True or False"
    if isinstance(default, (int, float)):
        return "number"
    return {tuple: "tuple", str: "name"}.get(type(default), type(default).__name__)


def output_bias(encoded_target, task):
    """Where the output layer starts: the training targets' mean, or the classes' log-odds."""
    if task == "regression":
        return round(float(np.mean(encoded_target)), 6)
    positives = float(np.clip(np.mean(encoded_target), 1e-6, 1 - 1e-6))
    return round(float(np.log(positives / (1 - positives))), 6)


def build_model(prepared):
    """Build the zoo model inside the device strategy's scope, in the precision asked for."""
    config = prepared.config
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:  # process-wide, like the seed
        tf.config.experimental.enable_op_determinism()
    policy = devices.mixed_precision_policy() if config.mixed_precision else "float32"
    arguments = prepared.hyperparameters
    if "output_bias" in zoo.hyperparameters(prepared.model_name) and "output_bias" not in arguments:
        # Start where the training targets are, so the first epochs don't just learn their mean.
        arguments = {**arguments, "output_bias": output_bias(prepared.arrays["train"][1],
                                                            prepared.dataset.task)}
    with devices.strategy().scope(), devices.dtype_policy(policy):
        model = zoo.build(prepared.model_name, prepared.preprocessor.input_shape,
                          prepared.preprocessor.num_outputs, **arguments)
    if config.jit is not None:
        model.jit_compile = config.jit  # both loops read it: fit and the tape loop's step
    return model


def run(name, options):
    """Train recipe `name` and write its artifacts into `options.out`; returns metrics.json.

    The loop trains in OUT/.staging, where the artifacts are written too; they move into OUT
    when all are written (resume.staged). A loss that becomes NaN raises `train.Diverged`.
    """
    prepared = prepare(name, options)
    model = build_model(prepared)  # a wrong hyperparameter fails here, before anything is written
    out = Path(options.out or RUNS_DIR / name)
    with resume.staged(out, run_request(prepared, options), resume=options.resume,
                       overwrite=options.overwrite, entries=RUN_ENTRIES) as staging:
        if resume.resumed_after(staging) and not options.quiet:
            print(f"{name}: resuming the run in {out} after epoch {resume.resumed_after(staging)}")
        result = LOOPS[prepared.config.loop](model, prepared.arrays["train"],
                                             prepared.arrays["val"], prepared.config, staging)
        train.check_finite(result.history, prepared.hyperparameters.get(
            "learning_rate", zoo.hyperparameters(prepared.model_name).get("learning_rate")))
        result = resume.whole_run(result, staging, examples=len(prepared.arrays["train"][0]))
        metrics = evaluate(prepared, model, result, options)
        write_artifacts(staging, prepared, model, result, metrics)
        if options.export:
            from recipes.export import export  # here: export imports predict, which imports this

            export(staging)
    return metrics


def run_request(prepared, options):
    """What this run was asked to do, as JSON holds it: --resume continues only the same run."""
    config = prepared.config
    request = {"recipe": prepared.recipe.name, "dataset": prepared.dataset.name,
               "task": prepared.dataset.task, "model": prepared.model_name,
               "hyperparameters": prepared.hyperparameters, "seed": options.seed,
               "loop": config.loop, "epochs": config.epochs, "batch_size": config.batch_size,
               "data": asdict(options.data), "augment": config.augment is not None, "jit": options.jit,
               "mixed_precision": options.mixed_precision, "deterministic": options.deterministic}
    return json.loads(json.dumps(request, default=str))


def evaluate(prepared, model, result, options):
    """metrics.json: what ran, how fast, the test metrics, and the scikit-learn baseline."""
    x_test, y_test = prepared.arrays["test"]
    if devices.multi_worker():  # model.evaluate fails there like model.fit (keras-team/keras#20585)
        test = tape.evaluate(model, prepared.arrays["test"], prepared.config)
    else:
        test = model.evaluate(train.to_dataset(x_test, y_test, prepared.config.batch_size),
                              return_dict=True, verbose=0)
    metrics = {
        "recipe": prepared.recipe.name,
        "dataset": prepared.dataset.name,
        "task": prepared.dataset.task,
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
        "device": devices.device_name(),
        "precision": model.dtype_policy.name,
        "jit": bool(model.jit_compile),
        "augment": prepared.config.augment is not None,
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
    if images.is_images(prepared.dataset):
        plot_test_errors(out, prepared, model, title)
    with artifacts.atomic_path(out / MODEL_FILE) as tmp:
        model.save(tmp)
    with artifacts.atomic_path(out / preprocess.PREPROCESSOR_FILE) as tmp:
        prepared.preprocessor.save(tmp)
    artifacts.write_json(out / METRICS_FILE, metrics)  # last: its presence marks a finished run


def plot_test_errors(out, prepared, model, title):
    """Image recipes: which classes the test split confuses, and what those images look like."""
    x_test, _ = prepared.arrays["test"]
    outputs = model.predict(x_test, batch_size=prepared.config.batch_size, verbose=0)
    predicted = prepared.preprocessor.decode(outputs)
    true = np.asarray(prepared.splits.test.target).astype(str)
    plots.plot_confusion_matrix(true, predicted, prepared.preprocessor.classes,
                                out / CONFUSION_MATRIX_FILE, title)
    plots.plot_misclassified(prepared.splits.test.features, true, predicted,
                             out / MISCLASSIFIED_FILE, title)
