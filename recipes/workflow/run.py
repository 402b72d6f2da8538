"""Run a recipe end to end: load, split, preprocess, build, train, evaluate, write the run.

This module reads top to bottom as a run goes. Everything that can be wrong with the user's input
is checked before anything is written, and a run trains and writes in a staging folder promoted
into `--out` only once complete (recipes/runs/rundir.py), so a bad, diverged or killed run leaves
`--out` as it was. The model it saves takes raw columns (or uint8 images): the fitted
preprocessing, the trained zoo network and the task's answer in one graph (recipes/features/encoding.py).
"""

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

import zoo
from recipes.data import columns, images, loaders
from recipes.evaluation import evaluate, importance, plots
from recipes.features import encoding, preprocess
from recipes.runs import artifacts, rundir
from recipes.serving import export
from recipes.sources import stream
from recipes.training import callbacks, devices, train
from recipes.catalog import EPOCH_STEPS, MODEL_FOR_TASK, RECIPES, table_batch_size
from recipes.choices import LOOPS, SCRATCH_MODELS
from recipes.data.dataset import DataOptions
from recipes.errors import UserError
from recipes.training.pipeline import TrainConfig, examples


@dataclass(frozen=True)
class RunOptions:
    """What the command line can change about a recipe; None means the recipe's default."""

    epochs: int | None = None
    batch_size: int | None = None
    seed: int = 0
    api: str = "functional"
    loop: str | None = None  # None: the recipe's (fit; scratch for linear- and softmax-scratch)
    model: str | None = None
    hyperparameters: dict = field(default_factory=dict)  # --set NAME=VALUE, over the recipe's
    data: DataOptions = DataOptions()
    out: Path | None = None
    quiet: bool = False
    mixed_precision: bool = False
    jit: bool | None = None  # XLA on or off; None: Keras' choice (on for one GPU, off on CPU)
    augment: bool | None = None  # random shifts/rotations of training images; None: the recipe's
    export: bool = False  # also export the run for serving, into OUT/export (recipes/serving/export.py)
    deterministic: bool = False  # TensorFlow's op determinism: bit-identical reruns on CPU
    resume: bool = False  # back up every epoch; continue the run interrupted in OUT, if any
    overwrite: bool = False  # replace a different run (or write beside other files) in OUT
    target_transform: str | None = None  # none|standard|log|auto (zoo.tasks); None: the recipe's
    class_weight: str | None = None  # "balanced": weigh each class's loss by its rarity
    ensemble: int = 1  # networks trained from different seeds, their outputs averaged (`ensemble`)


@dataclass
class Prepared:
    """A recipe made concrete: data split and encoded, the model chosen, nothing trained yet."""

    recipe: object
    dataset: object  # data.Dataset
    splits: preprocess.Splits
    preprocessing: preprocess.Preprocessing  # fitted on splits.train only
    arrays: dict  # "train" | "val" | "test" -> (x, y), the network's float32 inputs and targets,
    # or a stream.TableStream each where the file is read in batches (then `splits` are samples)
    model_name: str
    hyperparameters: dict
    config: object  # pipeline.TrainConfig
    anneal: bool = False  # decay_steps spans config.epochs over whatever rows are trained on

    @property
    def task(self):
        return zoo.task(self.dataset.task)


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
    if options.ensemble < 1:
        raise UserError(f"--ensemble must be at least 1 network, got {options.ensemble}")
    if options.ensemble > 1 and options.resume:
        raise UserError("--resume continues one network's training; run --ensemble again "
                        "without --resume")
    if options.mixed_precision:
        devices.mixed_precision_policy()  # a UserError where it cannot help


def prepare(name, options):
    """Load and split the data, fit the preprocessing on train only, and pick the model."""
    check_options(options)
    entry = recipe(name)
    fit_options = {"target_transform": options.target_transform or entry.target_transform,
                   "bins": entry.numeric_bins}
    if stream.wanted(entry.dataset, options.data):  # bigger than memory: learn from samples
        source = stream.survey(options.data, options.seed, quiet=options.quiet)
        dataset, splits = source.dataset, source.splits
        arrays = source.parts(preprocess.fit(dataset, splits.train, **fit_options))
        preprocessing = arrays["train"].preprocessing
    else:
        dataset = loaders.load(entry.dataset, options.data)
        splits = preprocess.split(dataset, seed=options.seed)
        preprocessing, arrays = fit_preprocessing(
            dataset, splits.train, {"train": splits.train, "val": splits.val, "test": splits.test},
            **fit_options)
    if dataset.columns and not options.quiet:  # what each CSV column was taken for
        print(columns.render(dataset.columns))
    recipe_model, task_defaults = MODEL_FOR_TASK[dataset.task] if entry.model == "auto" else \
        (entry.model, {})
    model_name = options.model or recipe_model
    if dataset.task not in zoo.entry(model_name).tasks:
        raise UserError(f"model {model_name!r} does not do {dataset.task}; models that do: "
                        f"{', '.join(zoo.names(dataset.task))}")
    # tuned for that model
    defaults = {**entry.hyperparameters, **task_defaults} if model_name == recipe_model else {}
    hyperparameters = {**defaults, **checked_kinds(model_name, options.hyperparameters),
                       "api": options.api}
    augment = entry.augment if options.augment is None else options.augment
    if augment and not loaders.is_images(dataset):
        raise UserError(f"--augment shifts and rotates training images; {name} is not an image recipe")
    loop = options.loop or entry.loop
    if loop == "fit" and devices.multi_worker():
        raise UserError("Keras 3's model.fit cannot train across workers (TF_CONFIG is set; "
                        "keras-team/keras#20585); use --loop tape")
    if loop == "scratch" and model_name not in SCRATCH_MODELS:
        raise UserError(f"--loop scratch trains {' and '.join(SCRATCH_MODELS)} only, not "
                        f"{model_name!r}; use --loop fit or --loop tape")
    if options.ensemble > 1 and model_name in SCRATCH_MODELS:
        raise UserError(f"--ensemble averages networks; the average of {model_name} models is one "
                        f"{model_name}: train it once")
    if loop == "scratch" and options.resume:
        raise UserError("--resume does not apply to --loop scratch (its w and b live outside the "
                        "model, and it trains in seconds); run it again without --resume")
    if options.class_weight and loop != "fit":
        raise UserError(f"--class-weight weighs model.fit's loss: use --loop fit, not {loop}")
    class_weight = None
    if options.class_weight:
        try:
            class_weight = zoo.task(dataset.task).balanced_weights(
                preprocessing.encode_target(splits.train.target))  # a stream's: its sample's
        except zoo.ZooError as error:
            raise UserError(str(error)) from None
    config = TrainConfig(epochs=options.epochs or entry.epochs,
                         batch_size=options.batch_size or entry.batch_size
                         or table_batch_size(examples(arrays["train"]), EPOCH_STEPS[dataset.task]),
                         patience=entry.patience, seed=options.seed, quiet=options.quiet,
                         loop=loop, mixed_precision=options.mixed_precision, jit=options.jit,
                         deterministic=options.deterministic, resumable=options.resume,
                         augment=images.augmentation(options.seed) if augment else None,
                         class_weight=class_weight)
    # Cosine-decay the step size over the whole run, however many epochs --epochs asks for,
    # unless --set decay_steps pins it.
    anneal = entry.anneal and model_name == recipe_model and "decay_steps" not in hyperparameters
    prepared = Prepared(entry, dataset, splits, preprocessing, arrays, model_name,
                        hyperparameters, config, anneal)
    return annealed(prepared, examples(arrays["train"]))


def annealed(prepared, rows):
    """`prepared` to train on `rows` rows: where it anneals, its learning rate decays over
    config.epochs epochs of them, so a retrain on train + validation, or on a fold, follows
    the same schedule per epoch as the run on train alone."""
    if not prepared.anneal:
        return prepared
    steps = zoo.annealing_steps(rows, prepared.config.batch_size, prepared.config.epochs)
    return replace(prepared, hyperparameters={**prepared.hyperparameters, "decay_steps": steps})


def fit_preprocessing(dataset, train_part, parts, **fit_options):
    """The preprocessing fitted on `train_part` only (`fit_options`: preprocess.fit's), and
    `parts` (name -> preprocess.Part) encoded by it as the network's (x, y) arrays."""
    preprocessing = preprocess.fit(dataset, train_part, **fit_options)
    return preprocessing, {name: (preprocessing.encode(part.features),
                                  preprocessing.encode_target(part.target))
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


def build_network(prepared):
    """Build the zoo network inside the device strategy's scope, in the precision asked for."""
    config = prepared.config
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:  # process-wide, like the seed
        tf.config.experimental.enable_op_determinism()
    policy = devices.mixed_precision_policy() if config.mixed_precision else "float32"
    arguments = prepared.hyperparameters
    bias = prepared.task.output_bias(  # a stream's: its training sample's
        prepared.preprocessing.encode_target(prepared.splits.train.target))
    if "output_bias" in zoo.hyperparameters(prepared.model_name) and "output_bias" not in arguments:
        arguments = {**arguments, "output_bias": bias}
    with devices.strategy().scope(), devices.dtype_policy(policy):
        network = zoo.build(prepared.model_name, prepared.preprocessing.input_shape,
                            prepared.preprocessing.num_outputs, **arguments)
    if config.jit is not None:
        network.jit_compile = config.jit  # both loops read it: fit and the tape loop's step
    return network


def run(name, options):
    """Train recipe `name` and write its run into `options.out`; returns metrics.json.

    The network trains in OUT/.staging, where the run is written too; it moves into OUT when all
    is written (rundir.staged). A loss that becomes NaN raises `errors.Diverged`.
    """
    prepared = prepare(name, options)
    network = build_network(prepared)  # a wrong hyperparameter fails here, before any writing
    out = Path(options.out or rundir.RUNS_DIR / name)
    with rundir.staged(out, run_request(prepared, options), resume=options.resume,
                       overwrite=options.overwrite, entries=rundir.RUN_ENTRIES) as staging:
        if callbacks.resumed_after(staging) and not options.quiet:
            print(f"{name}: resuming the run in {out} after epoch {callbacks.resumed_after(staging)}")
        result = train.train(network, prepared.arrays["train"], prepared.arrays["val"],
                             prepared.config, callbacks=callbacks.standard(prepared.config, staging))
        result = callbacks.whole_run(result, staging, examples=examples(prepared.arrays["train"]))
        members = [(network, result)] + [train_member(prepared, index, options.quiet)
                                         for index in range(1, options.ensemble)]
        if len(members) > 1:
            network = zoo.average([member for member, _ in members])
            result = replace(result, seconds=sum(r.seconds for _, r in members))
        metrics = evaluate.evaluate(prepared, network, result, options)
        if len(members) > 1:
            metrics["ensemble"] = {"members": len(members), "seeds": [
                member_seed(prepared, i) for i in range(len(members))],
                "epochs_run": [r.epochs_run for _, r in members]}
        write_run(staging, prepared, network, result, metrics)
        if options.export:
            export.export(staging)
    return metrics


MEMBER_SEED_STEP = 1000  # --ensemble's network i trains from seed + 1000 i: on the same split


def member_seed(prepared, index):
    return prepared.config.seed + MEMBER_SEED_STEP * index


def train_member(prepared, index, quiet):
    """Network `index` of a seed ensemble: built and trained from its own seed (initialisation,
    dropout, epoch order) on the run's split, with early stopping; (network, TrainResult).

    A seed ensemble averages away what one initialisation's luck adds: measured on the dev
    suite's validation splits, 5 networks cut bike sharing's MAE 4% and california's 3%, for 5x
    the training time; bank marketing and heart disease gained nothing (see the README)."""
    member = replace(prepared, config=replace(prepared.config, seed=member_seed(prepared, index)))
    network = build_network(member)
    if not quiet:
        print(f"ensemble: training network {index + 1} (seed {member.config.seed})")
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=member.config.patience,
                                         restore_best_weights=True)
    return network, train.train(network, member.arrays["train"], member.arrays["val"],
                                member.config, callbacks=[stop])


def run_request(prepared, options):
    """What this run was asked to do, as JSON holds it: --resume continues only the same run."""
    config = prepared.config
    request = {"recipe": prepared.recipe.name, "dataset": prepared.dataset.name,
               "task": prepared.dataset.task, "model": prepared.model_name,
               "hyperparameters": prepared.hyperparameters, "seed": options.seed,
               "loop": config.loop, "epochs": config.epochs, "batch_size": config.batch_size,
               "data": asdict(options.data), "augment": config.augment is not None, "jit": options.jit,
               "mixed_precision": options.mixed_precision, "deterministic": options.deterministic,
               "class_weight": options.class_weight, "ensemble": options.ensemble}
    return json.loads(json.dumps(request, default=str))


def write_run(out, prepared, network, result, metrics):
    """Everything a finished run holds (rundir.RUN_ENTRIES), metrics.json last."""
    history = pd.DataFrame(result.history)
    history.insert(0, "epoch", range(1, len(history) + 1))
    artifacts.write_csv(out / rundir.HISTORY_FILE, history)
    title = f"{prepared.recipe.name} ({metrics['model']}, {metrics['loop']})"
    for metric in (prepared.task.headline, "loss"):
        plots.plot_history(result.history, metric, out / f"{metric}.png", title)
    model = encoding.raw_model(prepared.preprocessing.spec, prepared.dataset.task, network,
                               prepared.preprocessing.scale)
    if loaders.is_images(prepared.dataset):
        plot_test_errors(out, prepared, model, title)
    else:  # which raw columns the model uses: into metrics.json and importance.png
        test = prepared.splits.test
        metrics["importance"] = importance.permutation_importance(
            model, prepared.preprocessing, prepared.task, test.features, test.target,
            seed=prepared.config.seed)
        plots.plot_importance(metrics["importance"], prepared.task.headline,
                              out / rundir.IMPORTANCE_FILE, title)
    with artifacts.atomic_path(out / rundir.MODEL_FILE) as tmp:
        model.save(tmp)
    artifacts.write_json(out / rundir.CARD_FILE, rundir.model_card(
        metrics, prepared.preprocessing.spec, prepared.preprocessing.classes,
        prepared.task.answer_name))
    artifacts.write_json(out / rundir.METRICS_FILE, metrics)  # last: it marks a finished run


def plot_test_errors(out, prepared, model, title):
    """Image recipes: which classes the test split confuses, and what those images look like."""
    test = prepared.splits.test
    answers = model.predict(prepared.preprocessing.feed(test.features),
                            batch_size=prepared.config.batch_size, verbose=0)
    predicted = prepared.task.decode(answers, prepared.preprocessing.classes)
    true = np.asarray(test.target).astype(str)
    plots.plot_confusion_matrix(true, predicted, prepared.preprocessing.classes,
                                out / rundir.CONFUSION_MATRIX_FILE, title)
    plots.plot_misclassified(test.features, true, predicted, out / rundir.MISCLASSIFIED_FILE, title)
