"""`python -m recipes`: list, run, predict, export, tune and grid. It parses (recipes/cli/arguments.py)
and calls; nothing else.

TensorFlow is imported inside the commands that need it, so `list` and `--help` answer at once.
A user mistake becomes one line on stderr and exit code 2; nothing is written.
"""

import os
import sys
from dataclasses import replace

from recipes import choices
from recipes.runs import interrupts
from recipes.cli.arguments import EXIT_USER_ERROR, build_parser
from recipes.catalog import CATALOG, FILE_DATASETS, RECIPES
from recipes.errors import DataUnavailable, UserError, silenced_stderr


def list_recipes(_args):
    print(f"{'recipe':<18} {'data set':<18} {'model':<24} {'task':<11} what it is")
    for r in CATALOG:
        print(f"{r.name:<18} {r.dataset:<18} {r.model:<24} {r.task:<11} {r.description}")
    return 0


def run_options(args, **overrides):
    from recipes.data.dataset import DataOptions
    from recipes.workflow.run import RunOptions

    return replace(RunOptions(
        epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, api=args.api,
        loop=args.loop, model=args.model, hyperparameters=dict(args.set),
        data=DataOptions(path=args.data, target=args.target, task=args.task,
                         data_dir=args.data_dir, na_values=tuple(args.na_values),
                         stream=args.stream, time=args.time,
                         series_features=tuple(args.features), window=args.window,
                         horizon=args.horizon,
                         **{flag: tuple(getattr(args, flag)) for flag in choices.COLUMN_OVERRIDES}),
        out=args.out, quiet=args.quiet, augment=args.augment, export=args.export,
        mixed_precision=args.mixed_precision, jit=args.jit, deterministic=args.deterministic,
        target_transform=args.target_transform, class_weight=args.class_weight),
        **overrides)  # run all: each recipe's own --out


def run_recipe(args):
    from recipes.evaluation.evaluate import headline
    from recipes.workflow.run import run

    if args.name == "all":
        return run_all(args)
    metrics = run(args.name, run_options(args, resume=args.resume, overwrite=args.overwrite,
                                         ensemble=args.ensemble))
    key, value, baseline = headline(metrics)
    print(f"{args.name}: test {key} {value:.4f} (scikit-learn baseline {baseline:.4f}), "
          f"{metrics['epochs_run']} epochs in {metrics['train_seconds']:.1f}s")
    return 0


def run_all(args):
    from recipes.evaluation.evaluate import headline
    from recipes.runs.rundir import RUNS_DIR
    from recipes.workflow.prepare import recipe
    from recipes.workflow.run import run
    from recipes.evaluation.summary import write_summary

    root = args.out or RUNS_DIR
    summary = root / "summary.md" if args.out else RUNS_DIR.parent / "summary.md"
    runs, skipped = {}, {}
    for name in RECIPES:
        if recipe(name).dataset in FILE_DATASETS and not args.data:
            skipped[name] = "needs a file: --data PATH --target COLUMN"
            continue
        print(f"== {name}")
        try:
            metrics = run(name, run_options(args, out=root / name, resume=args.resume,
                                            ensemble=args.ensemble,
                                            overwrite=args.overwrite))
        except DataUnavailable as error:
            skipped[name] = str(error)
            print(f"skipped: {error}")
            continue
        runs[name] = (root / name, metrics)
        key, value, baseline = headline(metrics)
        print(f"{name}: test {key} {value:.4f} (baseline {baseline:.4f})")
    write_summary(summary, runs, skipped)
    print(f"summary: {summary}")
    return 0


def predict(args):
    from recipes.serving.predict import predict as predict_rows

    rows = predict_rows(args.model, args.data, args.output, unsafe=args.unsafe)
    if args.output:
        print(f"{rows} predictions written to {args.output}")
    return 0


def export_run(args):
    from recipes.serving.export import export
    from recipes.runs.rundir import EXPORT_DIR

    card = export(args.model, args.out, ["savedmodel", *args.format], unsafe=args.unsafe)
    inputs = ", ".join(f"{i['name']} ({i['dtype']})" for i in card["inputs"])
    print(f"exported {args.model} to {args.out or args.model / EXPORT_DIR}: "
          f"{', '.join(card['files'].values())}, model_card.json")
    print(f"serving_default: {inputs} -> {card['outputs'][0]['name']}")
    return 0


def tune_recipe(args):
    from recipes.evaluation.evaluate import headline
    from recipes.tuning import TUNING_DIR, TuneOptions, tune

    options = replace(run_options(args), hyperparameters={})  # --set fixes a tunable here
    result = tune(args.name, options, TuneOptions(
        tuner=args.tuner, max_trials=args.max_trials,
        executions_per_trial=args.executions_per_trial, folds=args.folds, fixed=dict(args.set),
        ranges=dict(args.space), resume=args.resume))
    if "worker" in result:
        print(f"{result['worker']} ran trial(s) {', '.join(result['trials_run']) or 'none'}")
        return 0
    key, value, _ = headline(result)
    kept = "tuned" if result["chosen"] == "search" else "default kept"
    print(f"{args.name}: best {result['objective']} {result['best_trial_score']:.4f} in "
          f"{result['trials']} {args.tuner} trials; test {key} {value:.4f} {kept} vs "
          f"{result['default']['test'][key]:.4f} default; results in {args.out or TUNING_DIR / args.name}")
    return 0


def grid_search(args):
    from recipes.evaluation.evaluate import headline
    from recipes.tuning.grid import GRID_DIR, GridOptions, grid

    metrics = grid(args.name, run_options(args, overwrite=args.overwrite),
                   GridOptions(params=tuple(args.param), cv=args.cv))
    key, value, baseline = headline(metrics)
    print(f"{args.name}: best {metrics['best_parameters']} ({args.cv}-fold {key} "
          f"{metrics['cv_score'][key]:.4f}); test {key} {value:.4f} (baseline {baseline:.4f}); "
          f"results in {args.out or GRID_DIR / args.name}")
    return 0


COMMANDS = {"list": list_recipes, "run": run_recipe, "predict": predict, "tune": tune_recipe,
            "export": export_run, "grid": grid_search}


def import_tensorflow_quietly():
    """Import TensorFlow and start its runtime with C++ stderr silenced.

    Before absl logging is initialised TensorFlow ignores TF_CPP_MIN_LOG_LEVEL and prints
    start-up notices (oneDNN, CUDA drivers) to stderr; a user error must stay one line.
    Set TF_CPP_MIN_LOG_LEVEL=0 to see them.
    """
    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        return
    with silenced_stderr():
        import tensorflow as tf

        from recipes.training import devices

        devices.strategy()  # first: a multi-worker strategy must exist before the runtime starts
        tf.config.list_logical_devices()  # device discovery prints its own notices


def is_user_error(error):
    """Our `UserError`, or the zoo's `ZooError` (a bad model name, hyperparameter or value).

    Looked up among the loaded modules: a ZooError can only come from an imported zoo, and
    importing it here would import Keras for `list` and `--help`.
    """
    zoo = sys.modules.get("zoo")
    return isinstance(error, UserError) or (zoo is not None and isinstance(error, zoo.ZooError))


@interrupts.exits  # Ctrl-C, SIGTERM: one line saying what was kept, exit 130 or 143
def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        if args.command != "list":
            import_tensorflow_quietly()  # a malformed TF_CONFIG is the user's error, too
        return COMMANDS[args.command](args)
    except Exception as error:
        if not is_user_error(error):
            raise
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
