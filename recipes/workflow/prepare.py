"""A recipe made concrete, nothing trained yet: what was decided (`Plan`) and what was loaded
(`Loaded`), and the network built from the two (`build_network`).

    plan, loaded = prepare("iris", RunOptions())
    network = build_network(plan, loaded)

`prepare` checks the options (recipes/workflow/rules.py) before anything is read, loads the data,
splits it (seeded, stratified), fits the preprocessing on the training split only, encodes each
part as a training data source, and chooses the model and how to train it. Both halves are
frozen: a command that changes one (a fold, a retrain, a benchmark's other model) derives a new
one with `dataclasses.replace`. `run`, `tune` and `grid` all start here.
"""

from dataclasses import dataclass, replace

import keras
import tensorflow as tf

import zoo
from recipes.data import columns, images, loaders
from recipes.features import parts, preprocess
from recipes.sources import arrays, stream
from recipes.training import devices
from recipes.workflow import rules
from recipes.catalog import EPOCH_STEPS, MODEL_FOR_TASK, RECIPES, Recipe, table_batch_size
from recipes.data.dataset import Dataset
from recipes.errors import UserError
from recipes.training.pipeline import TrainConfig


@dataclass(frozen=True)
class Plan:
    """What was decided: the recipe, its task, the model, its hyperparameters and how to train
    it. No data: the same plan trains on a fold, or on train + validation."""

    recipe: Recipe
    task: zoo.Task
    model_name: str
    hyperparameters: dict  # the builder's arguments, "api" among them
    config: TrainConfig
    anneal: bool = False  # decay_steps spans config.epochs over whatever rows are trained on


@dataclass(frozen=True)
class Loaded:
    """What was loaded: the data set, its split, the preprocessing fitted on `splits.train`
    only, and the network's encoded examples of each part."""

    dataset: Dataset
    splits: parts.Splits  # a streamed file's: samples of each part
    preprocessing: preprocess.Preprocessing
    sources: dict  # "train" | "val" | "test" -> a training data source (pipeline.DataSource):
    # arrays.Arrays in memory, or a stream.TableStream where the file is read in batches
    na_values: tuple = ()  # the missing-value markers the data was read with (DataOptions')


def recipe(name):
    if name not in RECIPES:
        raise UserError(f"unknown recipe {name!r}; valid: {', '.join(RECIPES)}, all")
    return RECIPES[name]


def prepare(name, options, command=rules.RUN, extra=None):
    """(Plan, Loaded) of recipe `name` under `options` (run.RunOptions, as `command` trains
    with them; `extra`: its own, tune's TuneOptions or grid's GridOptions), once every rule of
    `command` holds."""
    entry = recipe(name)
    rules.check(rules.Asked(command, entry, options, extra))
    loaded = load(entry, options)
    if loaded.dataset.columns and not options.quiet:  # what each CSV column was taken for
        print(columns.render(loaded.dataset.columns))
    if loaded.dataset.series and not options.quiet:  # how the series was read: gaps, step
        print("\n".join(loaded.dataset.series.notes))
    plan = decide(entry, options, loaded)
    return annealed(plan, len(loaded.sources["train"])), loaded


def load(entry, options):
    """The recipe's data, split, its preprocessing fitted on the training split only, and each
    part encoded: in memory, or streamed from a file bigger than memory (learning from samples)."""
    fit_options = {"target_transform": options.target_transform or entry.target_transform,
                   "bins": entry.numeric_bins}
    if stream.wanted(entry.dataset, options.data):
        source = stream.survey(options.data, options.seed, quiet=options.quiet)
        sources = source.parts(preprocess.fit(source.dataset, source.splits.train, **fit_options))
        return Loaded(source.dataset, source.splits, sources["train"].preprocessing, sources,
                      options.data.na_values)
    dataset = loaders.load(entry.dataset, options.data)
    splits = preprocess.split(dataset, seed=options.seed)
    preprocessing, sources = fit_preprocessing(
        dataset, splits.train, {"train": splits.train, "val": splits.val, "test": splits.test},
        **fit_options)
    return Loaded(dataset, splits, preprocessing, sources, options.data.na_values)


def decide(entry, options, loaded):
    """The plan: the model (the recipe's, tuned for it, or --model), its hyperparameters, and
    the training configuration."""
    task = zoo.task(loaded.dataset.task)
    recipe_model, task_defaults = recipes_model(entry, task)
    model_name = options.model or recipe_model
    if task.name not in zoo.entry(model_name).tasks:
        raise UserError(f"model {model_name!r} does not do {task.name}; models that do: "
                        f"{', '.join(zoo.names(task.name))}")
    # the recipe's defaults are tuned for its own model
    defaults = {**entry.hyperparameters, **task_defaults} if model_name == recipe_model else {}
    hyperparameters = {**defaults, **checked_kinds(model_name, options.hyperparameters),
                       "api": options.api}
    augment = entry.augment if options.augment is None else options.augment
    # A recipe's own choice only where the machine computes faster in low precision; asked for
    # with --mixed-precision, rules.py has already refused it elsewhere.
    mixed_precision = (entry.mixed_precision and devices.fast_mixed_policy() is not None
                       if options.mixed_precision is None else options.mixed_precision)
    config = TrainConfig(epochs=options.epochs or entry.epochs,
                         batch_size=options.batch_size or entry.batch_size
                         or table_batch_size(len(loaded.sources["train"]), EPOCH_STEPS[task.name]),
                         patience=entry.patience, seed=options.seed, quiet=options.quiet,
                         loop=options.loop or entry.loop, mixed_precision=mixed_precision,
                         jit=options.jit, deterministic=options.deterministic,
                         resumable=options.resume,
                         augment=(images.RandomShiftRotate(seed=options.seed, name="augmentation")
                                  if augment else None),
                         class_weight=class_weight(task, options.class_weight, loaded))
    # Cosine-decay the step size over the whole run, however many epochs --epochs asks for,
    # unless --set decay_steps pins it.
    anneal = entry.anneal and model_name == recipe_model and "decay_steps" not in hyperparameters
    return Plan(entry, task, model_name, hyperparameters, config, anneal)


def recipes_model(entry, task):
    """(The model recipe `entry` trains for `task` where --model does not name another, what it
    adds to the recipe's hyperparameters for that task)."""
    return MODEL_FOR_TASK[task.name] if entry.model == "auto" else (entry.model, {})


def class_weight(task, asked, loaded):
    """--class-weight's weights per class index (None without it): a stream's from its sample."""
    if not asked:
        return None
    try:
        return task.balanced_weights(loaded.preprocessing.encode_target(loaded.splits.train.target))
    except zoo.ZooError as error:
        raise UserError(f"--class-weight {asked}: {error}") from None


def annealed(plan, rows):
    """`plan` to train on `rows` rows: where it anneals, its learning rate decays over
    config.epochs epochs of them, so a retrain on train + validation, or on a fold, follows
    the same schedule per epoch as the run on train alone."""
    if not plan.anneal:
        return plan
    steps = zoo.annealing_steps(rows, plan.config.batch_size, plan.config.epochs)
    return replace(plan, hyperparameters={**plan.hyperparameters, "decay_steps": steps})


def fit_preprocessing(dataset, train_part, named_parts, **fit_options):
    """The preprocessing fitted on `train_part` only (`fit_options`: preprocess.fit's), and
    `named_parts` (name -> parts.Part) encoded by it, as the network's arrays in memory."""
    preprocessing = preprocess.fit(dataset, train_part, **fit_options)
    return preprocessing, {name: arrays.encoded(preprocessing, part)
                           for name, part in named_parts.items()}


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


def build_network(plan, loaded, policy=None):
    """The plan's zoo network for the loaded data's encoding, built inside the device strategy's
    scope. `policy` names a Keras dtype policy; by default float32, or with
    `config.mixed_precision` the device's mixed policy."""
    config = plan.config
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:  # process-wide, like the seed
        tf.config.experimental.enable_op_determinism()
    if policy is None:
        policy = devices.mixed_precision_policy() if config.mixed_precision else "float32"
    arguments = plan.hyperparameters
    bias = plan.task.output_bias(  # a stream's: its training sample's
        loaded.preprocessing.encode_target(loaded.splits.train.target))
    # What the data decides (the output bias, a text's vocabulary size), for a builder that
    # takes it and where --set does not give it
    decided = {"output_bias": bias, **loaded.preprocessing.network_arguments}
    takes = zoo.hyperparameters(plan.model_name)
    arguments = {**{k: v for k, v in decided.items() if k in takes and v is not None},
                 **arguments}
    with devices.strategy().scope(), devices.dtype_policy(policy):
        network = zoo.build(plan.model_name, loaded.preprocessing.input_shape,
                            loaded.preprocessing.num_outputs, **arguments)
    if config.jit is not None:
        network.jit_compile = config.jit  # both loops read it: fit and the tape loop's step
    return network
