"""`python -m recipes`: list, run, predict, export and tune. The CLI only parses and calls.

TensorFlow is imported inside the commands that need it, so `list` and `--help` answer at once.
A user mistake becomes one line on stderr and exit code 2; nothing is written.
"""

import argparse
import ast
import os
import sys
from pathlib import Path

from recipes import choices
from recipes.catalog import CATALOG, RECIPES
from recipes.errors import UserError

EXIT_USER_ERROR = 2


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (no usage dump), like every other user error."""

    def error(self, message):
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message}\n")


def assignment(text):
    """NAME=VALUE with VALUE read as a Python literal when it is one (0.2, (64, 32), True)."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def search_range(text):
    """NAME=LOW:HIGH[:log|:linear] for `tune --space`: the range to search NAME in."""
    name, sep, bounds = text.partition("=")
    parts = bounds.split(":")
    usage = f"expected NAME=LOW:HIGH[:log|:linear], got {text!r}"
    if not sep or not name or len(parts) not in (2, 3) or parts[2:] not in ([], ["log"], ["linear"]):
        raise argparse.ArgumentTypeError(usage)
    try:
        low, high = (ast.literal_eval(part) for part in parts[:2])
    except (ValueError, SyntaxError):
        raise argparse.ArgumentTypeError(usage) from None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)):
        raise argparse.ArgumentTypeError(usage)
    return name, (low, high, parts[2] if len(parts) == 3 else None)


def add_run_arguments(parser):
    """Options shared by every command that trains (run, and later tune)."""
    parser.add_argument("--epochs", type=int, help="maximum epochs; early stopping may end sooner "
                        "(default: the recipe's)")
    parser.add_argument("--batch-size", type=int, help="examples per step (default: the recipe's)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the split, weight init and shuffling (default: 0)")
    parser.add_argument("--deterministic", action="store_true",
                        help="also make TensorFlow's ops deterministic: the same seed then gives "
                        "bit-identical results on the same machine (CPU)")
    parser.add_argument("--api", choices=choices.APIS, default="functional",
                        help="build the model with the functional or the Sequential API")
    parser.add_argument("--model", help="zoo builder to use instead of the recipe's")
    parser.add_argument("--set", action="append", type=assignment, default=[],
                        metavar="NAME=VALUE", help="override a model hyperparameter, e.g. "
                        "--set dropout=0.3 --set 'hidden_units=(64, 32)' (repeatable)")
    data = parser.add_argument_group("data (the csv recipe and local files)")
    data.add_argument("--data", metavar="PATH", help="CSV file for the csv recipe")
    data.add_argument("--target", metavar="COLUMN", help="target column of --data")
    data.add_argument("--task", choices=choices.TASKS,
                      help="force the task of --target (default: inferred from its values)")
    data.add_argument("--data-dir", metavar="DIR", help="folder with local data files "
                      "(default: data/)")
    parser.add_argument("--augment", action=argparse.BooleanOptionalAction, help="image recipes: "
                        "train on randomly shifted (up to 10%%) and rotated (up to ~11 degrees) "
                        "images (default: the recipe's)")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="float16 compute with loss scaling (GPU only)")
    parser.add_argument("--jit", action=argparse.BooleanOptionalAction,
                        help="XLA-compile the training step (default: on with one GPU, off on "
                        "CPU, where it trained slower)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


UNSAFE_HELP = ("load a model.keras that holds Python code (a Lambda layer), which Keras' safe "
               "mode refuses: only for models you trust")


def build_parser():
    parser = Parser(prog="python -m recipes",
                    description="Train, evaluate and use classic Keras models from the zoo.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    commands.add_parser("list", help="list every recipe: name, data set, model, task")

    run = commands.add_parser("run", help="train a recipe and write metrics, plots and the model",
                              description="Fit with early stopping (best weights restored), a "
                              "checkpoint and TensorBoard logs, then evaluate on the test split.")
    run.add_argument("name", help="recipe name (see `list`), or `all` for every recipe")
    add_run_arguments(run)
    run.add_argument("--loop", choices=choices.LOOPS,
                     help="training loop: fit (Keras model.fit), tape (a tf.GradientTape step "
                     "under the device strategy; also across machines with TF_CONFIG) or scratch "
                     "(linear regression by hand); default: the recipe's, fit for all but "
                     "linear-scratch")
    run.add_argument("--out", type=Path, help="output folder (default: reports/runs/NAME; with "
                     "`all`: a folder of runs plus summary.md, default reports/runs and "
                     "reports/summary.md)")
    run.add_argument("--export", action="store_true",
                     help="also export the trained run for serving into OUT/export (see `export`)")
    run.add_argument("--resume", action="store_true",
                     help="back up the training state after every epoch, and continue the run "
                     "that was interrupted in --out, if any, from its last finished epoch")
    run.add_argument("--overwrite", action="store_true",
                     help="replace a different run in --out (another recipe, data set or model; "
                     "the same recipe's run is replaced without it), or write beside other files")

    predict = commands.add_parser("predict", help="apply a trained run to raw CSV rows")
    predict.add_argument("--model", required=True, type=Path, metavar="DIR",
                         help="a run folder written by `run` (holds model.keras)")
    predict.add_argument("--data", required=True, type=Path, metavar="PATH",
                         help="CSV with the same feature columns as the training data")
    predict.add_argument("--output", type=Path, metavar="PATH",
                         help="write predictions here (default: print them)")
    predict.add_argument("--unsafe", action="store_true", help=UNSAFE_HELP)

    export = commands.add_parser(
        "export", help="export a trained run as a SavedModel that takes raw inputs",
        description="Writes saved_model/ (serving_default takes one named tensor per CSV column, "
        "or uint8 images, with the fitted preprocessing inside), model.keras and "
        "model_card.json into a temporary folder that then replaces --out.")
    export.add_argument("--model", required=True, type=Path, metavar="RUN_DIR",
                        help="a run folder written by `run` or `tune`")
    export.add_argument("--out", type=Path, metavar="DIR",
                        help="output folder, replaced whole (default: RUN_DIR/export)")
    export.add_argument("--format", action="append", default=[],
                        choices=choices.FORMATS,
                        help="also convert the SavedModel (always written) to ONNX (tf2onnx) or "
                        "TFLite (repeatable)")
    export.add_argument("--unsafe", action="store_true", help=UNSAFE_HELP)

    tune = commands.add_parser(
        "tune", help="search a recipe's hyperparameters with keras-tuner, retrain and test the best",
        description="Each trial trains on the training split with early stopping and is scored on "
        "validation (val_accuracy; val_mae for regressors), or on K folds of train + validation "
        "with --folds K. The best configuration and the recipe's default are then scored again "
        "the same way; the better one, and the default, are retrained on train + validation and "
        "tested. Here --set "
        "NAME=VALUE fixes a tunable hyperparameter. Distributed: run the same command with "
        "KERASTUNER_TUNER_ID=chief (or tuner0, tuner1, ...), KERASTUNER_ORACLE_IP and "
        "KERASTUNER_ORACLE_PORT set.")
    tune.add_argument("name", help="recipe name (see `list`)")
    add_run_arguments(tune)
    tune.add_argument("--tuner", choices=choices.TUNERS, default="random",
                      help="keras-tuner search algorithm (default: random)")
    tune.add_argument("--max-trials", type=int, default=10,
                      help="configurations to try (default: 10)")
    tune.add_argument("--executions-per-trial", type=int, default=1,
                      help="trainings per configuration from different initial weights, "
                      "averaged (default: 1)")
    tune.add_argument("--folds", type=int, default=1,
                      help="score each configuration by K-fold cross-validation on train + "
                      "validation instead of on the validation split: K times the training, a "
                      "steadier score on small data (default: 1, the validation split; not with "
                      "hyperband)")
    tune.add_argument("--space", action="append", type=search_range, default=[],
                      metavar="NAME=LOW:HIGH[:log]", help="search NAME in [LOW, HIGH] (sampling: "
                      "the zoo's unless :log or :linear is given; repeatable)")
    tune.add_argument("--out", type=Path, help="output folder (default: reports/tuning/NAME)")
    tune.add_argument("--resume", action="store_true",
                      help="continue the search in --out; finished trials are not run again")
    tune.add_argument("--export", action="store_true", help="export the retrained best model")
    tune.set_defaults(loop="fit")  # trials train with model.fit: keras-tuner drives it
    return parser


def list_recipes(_args):
    print(f"{'recipe':<18} {'data set':<18} {'model':<24} task")
    for r in CATALOG:
        print(f"{r.name:<18} {r.dataset:<18} {r.model:<24} {r.task}")
    return 0


def run_options(args, **overrides):
    from dataclasses import replace

    from recipes.data import DataOptions
    from recipes.run import RunOptions

    return replace(RunOptions(
        epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, api=args.api,
        loop=args.loop, model=args.model, hyperparameters=dict(args.set),
        data=DataOptions(path=args.data, target=args.target, task=args.task,
                         data_dir=args.data_dir),
        out=args.out, quiet=args.quiet, augment=args.augment, export=args.export,
        mixed_precision=args.mixed_precision, jit=args.jit, deterministic=args.deterministic),
        **overrides)  # run all: each recipe's own --out


def run_recipe(args):
    from recipes.evaluate import headline
    from recipes.run import run

    if args.name == "all":
        return run_all(args)
    metrics = run(args.name, run_options(args, resume=args.resume, overwrite=args.overwrite))
    key, value, baseline = headline(metrics)
    print(f"{args.name}: test {key} {value:.4f} (scikit-learn baseline {baseline:.4f}), "
          f"{metrics['epochs_run']} epochs in {metrics['train_seconds']:.1f}s")
    return 0


def run_all(args):
    from recipes.errors import DataUnavailable
    from recipes.evaluate import headline
    from recipes.rundir import RUNS_DIR
    from recipes.run import recipe, run
    from recipes.summary import write_summary

    root = args.out or RUNS_DIR
    summary = root / "summary.md" if args.out else RUNS_DIR.parent / "summary.md"
    runs, skipped = {}, {}
    for name in RECIPES:
        if recipe(name).dataset == "csv" and not args.data:
            skipped[name] = "needs a file: --data PATH --target COLUMN"
            continue
        print(f"== {name}")
        try:
            metrics = run(name, run_options(args, out=root / name, resume=args.resume,
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
    from recipes.predict import predict as predict_rows

    result = predict_rows(args.model, args.data, args.output, unsafe=args.unsafe)
    if args.output:
        print(f"{len(result)} predictions written to {args.output}")
    else:
        print(result.to_csv(index=False), end="")
    return 0


def export_run(args):
    from recipes.export import export
    from recipes.rundir import EXPORT_DIR

    card = export(args.model, args.out, ["savedmodel", *args.format], unsafe=args.unsafe)
    inputs = ", ".join(f"{i['name']} ({i['dtype']})" for i in card["inputs"])
    print(f"exported {args.model} to {args.out or args.model / EXPORT_DIR}: "
          f"{', '.join(card['files'].values())}, model_card.json")
    print(f"serving_default: {inputs} -> {card['outputs'][0]['name']}")
    return 0


def tune_recipe(args):
    from dataclasses import replace

    from recipes.evaluate import headline
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


COMMANDS = {"list": list_recipes, "run": run_recipe, "predict": predict, "tune": tune_recipe,
            "export": export_run}


def import_tensorflow_quietly():
    """Import TensorFlow and start its runtime with C++ stderr silenced.

    Before absl logging is initialised TensorFlow ignores TF_CPP_MIN_LOG_LEVEL and prints
    start-up notices (oneDNN, CUDA drivers) to stderr; a user error must stay one line.
    Set TF_CPP_MIN_LOG_LEVEL=0 to see them.
    """
    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow as tf

        from recipes import devices

        devices.strategy()  # first: a multi-worker strategy must exist before the runtime starts
        tf.config.list_logical_devices()  # device discovery prints its own notices
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def is_user_error(error):
    """Our `UserError`, or the zoo's `ZooError` (a bad model name, hyperparameter or value).

    Looked up among the loaded modules: a ZooError can only come from an imported zoo, and
    importing it here would import Keras for `list` and `--help`.
    """
    zoo = sys.modules.get("zoo")
    return isinstance(error, UserError) or (zoo is not None and isinstance(error, zoo.ZooError))


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command != "list":
        import_tensorflow_quietly()
    try:
        return COMMANDS[args.command](args)
    except Exception as error:
        if not is_user_error(error):
            raise
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
