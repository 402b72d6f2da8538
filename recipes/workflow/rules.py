"""Which options combine: every rule of `run`, `tune` and `grid` in one table (`RULES`), checked
by `check` before anything is loaded or written.

A rule is a row: the commands it holds for, when it refuses, and the one line that says why (the
CLI prints it and exits 2). The rules read an `Asked`: the options as the command trains with
them, with the recipe's defaults where a flag is not given, and only what is known before any
data is read. What the data itself can refuse (a task the model does not do, a class too rare to
split, weights for classes a regression has not) is said where it is read.
"""

from dataclasses import dataclass

from recipes.data import images, series
from recipes.sources import stream
from recipes.training import devices
from recipes.catalog import MODEL_FOR_TASK, Recipe
from recipes.choices import LOOPS, SCRATCH_MODELS, STREAM_MB, TUNERS
from recipes.errors import UserError

RUN, TUNE, GRID = "run", "tune", "grid"
EVERY = (RUN, TUNE, GRID)  # tune and grid train as run does: its rules hold for them too


@dataclass(frozen=True)
class Asked:
    """What a command was asked: what every rule reads."""

    command: str  # RUN, TUNE or GRID
    recipe: Recipe
    options: object  # run.RunOptions, as the command trains with them
    extra: object = None  # the command's own: tuning.TuneOptions, grid.GridOptions

    @property
    def loop(self):
        return self.options.loop or self.recipe.loop

    @property
    def augment(self):
        return self.recipe.augment if self.options.augment is None else self.options.augment

    @property
    def images(self):
        return self.recipe.dataset in images.LOADERS

    @property
    def series(self):
        return self.recipe.dataset in series.LOADERS

    @property
    def series_flags(self):
        """The series flags given: --time, --features, --window, --horizon."""
        data = self.options.data
        given = {"--time": data.time, "--features": data.series_features,
                 "--window": data.window, "--horizon": data.horizon}
        return [flag for flag, value in given.items() if value not in (None, ())]

    @property
    def streamed(self):
        return stream.wanted(self.recipe.dataset, self.options.data)

    @property
    def models(self):
        """The model that will train, or those that may: a recipe whose model follows the data's
        task (the csv recipe's "auto") has one per task, until --task names it."""
        if self.options.model or self.recipe.model != "auto":
            return (self.options.model or self.recipe.model,)
        tasks = [self.options.data.task] if self.options.data.task else list(MODEL_FOR_TASK)
        return tuple(MODEL_FOR_TASK[task][0] for task in tasks)


@dataclass(frozen=True)
class Rule:
    commands: tuple  # the commands it holds for
    refuses: object  # Asked -> bool
    says: object  # Asked -> the one line; None where `refuses` raises the UserError of the
    # layer that words it


RULES = [  # a command's own first: they say what it cannot do at all
    # --- tune's
    Rule((TUNE,), lambda a: a.extra.tuner not in TUNERS,
         lambda a: f"unknown tuner {a.extra.tuner!r}; valid: {', '.join(TUNERS)}"),
    Rule((TUNE,), lambda a: a.extra.max_trials < 1,
         lambda a: f"--max-trials must be at least 1, got {a.extra.max_trials}"),
    Rule((TUNE,), lambda a: a.extra.executions_per_trial < 1,
         lambda a: f"--executions-per-trial must be at least 1, got "
                   f"{a.extra.executions_per_trial}"),
    Rule((TUNE,), lambda a: a.extra.folds < 1,
         lambda a: f"--folds must be at least 1 (1: the validation split), got {a.extra.folds}"),
    Rule((TUNE,), lambda a: a.extra.folds > 1 and a.extra.tuner == "hyperband",
         lambda a: "--folds: Hyperband continues each trial's one model in its next round; "
                   "cross-validation trains one per fold. Use --tuner random or bayesian"),
    Rule((TUNE,), lambda a: a.extra.folds > 1 and a.streamed,
         lambda a: f"--folds refits the preprocessing on each fold in memory; a streamed file "
                   f"(--stream, or over {STREAM_MB} MB) is tuned on its validation split: leave "
                   f"--folds out"),
    # --- grid's
    Rule((GRID,), lambda a: a.extra.cv < 2,
         lambda a: f"--cv must be at least 2 folds, got {a.extra.cv}"),
    Rule((GRID,), lambda a: a.options.augment,
         lambda a: "--augment: grid cross-validates through scikit-learn, which trains on the "
                   "images as they are; leave --augment out"),
    Rule((GRID,), lambda a: a.series,
         lambda a: "grid cross-validates through scikit-learn, which fits the network on the "
                   "targets as they are; a series' forecaster learns them on its inputs' scale: "
                   "use tune --folds K (folds in time order)"),
    Rule((GRID,), lambda a: a.streamed,
         lambda a: f"grid cross-validates through scikit-learn, in memory; this file would be "
                   f"streamed (--stream, or over {STREAM_MB} MB): use tune, or --no-stream"),
    # --- run's, and so tune's and grid's
    Rule(EVERY, lambda a: a.options.epochs is not None and a.options.epochs < 1,
         lambda a: f"--epochs must be at least 1, got {a.options.epochs}"),
    Rule(EVERY, lambda a: a.options.batch_size is not None and a.options.batch_size < 1,
         lambda a: f"--batch-size must be at least 1, got {a.options.batch_size}"),
    Rule(EVERY, lambda a: not 0 <= a.options.seed < 2**32,  # what NumPy's seed accepts
         lambda a: f"--seed must be between 0 and {2**32 - 1}, got {a.options.seed}"),
    Rule(EVERY, lambda a: a.options.loop is not None and a.options.loop not in LOOPS,
         lambda a: f"unknown loop {a.options.loop!r}; valid: {', '.join(LOOPS)}"),
    Rule(EVERY, lambda a: a.options.ensemble < 1,
         lambda a: f"--ensemble must be at least 1 network, got {a.options.ensemble}"),
    Rule(EVERY, lambda a: a.options.ensemble > 1 and a.options.resume,
         lambda a: "--resume continues one network's training; run --ensemble again without "
                   "--resume"),
    # devices' policy, or its UserError where --mixed-precision cannot help (a CPU without AMX)
    Rule(EVERY, lambda a: a.options.mixed_precision and not devices.mixed_precision_policy(),
         None),
    Rule(EVERY, lambda a: a.series_flags and not a.series,
         lambda a: f"{', '.join(a.series_flags)}: for a time series (the series recipe); "
                   f"{a.recipe.name} is not one"),
    Rule(EVERY, lambda a: a.series and a.options.target_transform,
         lambda a: "--target-transform: a series' target is learned on the scale of its own "
                   "past values, which the forecast starts from; leave it out"),
    Rule(EVERY, lambda a: a.options.data.task and a.recipe.task != "infer",
         lambda a: f"--task: {a.recipe.name}'s task is {a.recipe.task}; --task chooses it for "
                   f"a file's target (the csv and text recipes)"),
    Rule(EVERY, lambda a: a.augment and not a.images,
         lambda a: f"--augment shifts and rotates training images; {a.recipe.name} is not an "
                   f"image recipe"),
    Rule(EVERY, lambda a: a.loop == "fit" and devices.multi_worker(),
         lambda a: "Keras 3's model.fit cannot train across workers (TF_CONFIG is set; "
                   "keras-team/keras#20585); use --loop tape"),
    Rule(EVERY, lambda a: a.loop == "scratch" and set(a.models) - set(SCRATCH_MODELS),
         lambda a: f"--loop scratch trains {' and '.join(SCRATCH_MODELS)} only, not "
                   f"{' or '.join(map(repr, a.models))}; use --loop fit or --loop tape"),
    Rule(EVERY, lambda a: a.options.ensemble > 1 and set(a.models) <= set(SCRATCH_MODELS),
         lambda a: f"--ensemble averages networks; the average of {a.models[0]} models is one "
                   f"{a.models[0]}: train it once"),
    Rule(EVERY, lambda a: a.loop == "scratch" and a.options.resume,
         lambda a: "--resume does not apply to --loop scratch (its w and b live outside the "
                   "model, and it trains in seconds); run it again without --resume"),
    Rule(EVERY, lambda a: a.options.class_weight and a.loop != "fit",
         lambda a: f"--class-weight weighs model.fit's loss: use --loop fit, not {a.loop}"),
]


def check(asked):
    """Raise the `UserError` of the first rule of `asked.command` that refuses."""
    for rule in RULES:
        if asked.command in rule.commands and rule.refuses(asked):
            raise UserError(rule.says(asked))
