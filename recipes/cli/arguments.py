"""The command line's parser: every command and flag of `python -m recipes`, with its help.

Plain argparse and the light name lists of recipes/choices.py, no TensorFlow: `list` and `--help`
answer at once. recipes/cli/__init__.py runs what it parses.
"""

import argparse
import ast
from pathlib import Path

from recipes import choices

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


def grid_values(text):
    """NAME=V1,V2,... for `grid --param`: NAME and its values, each read as `assignment` reads."""
    name, values = assignment(text)
    try:
        return name, list(ast.literal_eval(f"[{text.partition('=')[2]}]"))
    except (ValueError, SyntaxError):  # names among them: split, then each a literal or text
        return name, [assignment(f"{name}={value.strip()}")[1] for value in values.split(",")]


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
    data = parser.add_argument_group("data (the csv, text and series recipes, and local files)")
    data.add_argument("--data", metavar="PATH", help="CSV file for the csv, text or series "
                      "recipe: plain or "
                      "compressed by its suffix (.gz, .bz2, .zip, .xz, .zst), or Parquet "
                      "(.parquet)")
    data.add_argument("--target", metavar="COLUMN", type=column_name,
                      help="target column of --data")
    data.add_argument("--task", choices=choices.TASKS,
                      help="force the task of --target (default: inferred from its values)")
    data.add_argument("--target-transform", choices=choices.TARGET_TRANSFORMS,
                      help="regression: learn the target as it is (none), standardised, or as "
                      "standardised log(1 + y) (log, for right-skewed positive targets such as "
                      "prices); auto picks log when that makes the target markedly less skewed, "
                      "else standard; metrics stay in the target's units (default: the recipe's: "
                      "auto for csv, none for the bundled tables)")
    data.add_argument("--class-weight", choices=choices.CLASS_WEIGHTS,
                      help="classifiers: weigh each class's loss by its rarity (balanced: "
                      "n / (classes x count)), for imbalanced targets; with --loop fit")
    data.add_argument("--data-dir", metavar="DIR", help="folder with local data files "
                      "(default: data/)")
    data.add_argument("--na-values", action="append", default=[], metavar="MARKER",
                      help="also read MARKER as a missing value in --data, besides empty cells, "
                      "?, NA, N/A, #N/A, null, NaN, None and - (any case; repeatable)")
    data.add_argument("--stream", action=argparse.BooleanOptionalAction,
                      help="read --data in batches with tf.data instead of into memory, for files "
                      f"bigger than memory (default: stream files over {choices.STREAM_MB} MB); "
                      "the statistics are learned from a seeded sample of "
                      f"{choices.SAMPLE_ROWS:,} training rows, and rows go to train, validation "
                      "or test by a hash of their line number and --seed")
    series = parser.add_argument_group("time series (the series recipe)")
    series.add_argument("--time", metavar="COLUMN", type=column_name,
                        help="the time column of --data: rows are sorted by it, split in time "
                        "order (the last part is test), missing steps filled")
    series.add_argument("--features", action="append", default=[], metavar="COL",
                        type=column_name, help="a value column the forecaster also reads, "
                        "besides --target's past (repeatable)")
    series.add_argument("--window", type=int, metavar="W", help="past steps each forecast "
                        "reads (default: from the season found in the training part, bounded)")
    series.add_argument("--horizon", type=int, metavar="H",
                        help="future steps of --target each forecast gives (default: 1)")
    for flag, does in choices.COLUMN_OVERRIDES.items():  # a role is inferred unless one is given
        data.add_argument(f"--{flag}", action="append", default=[], metavar="COL",
                          type=column_name, help=f"{does.replace('%', '%%')} (repeatable)")
    parser.add_argument("--augment", action=argparse.BooleanOptionalAction, help="image recipes: "
                        "train on randomly shifted (up to 10%%) and rotated (up to ~11 degrees) "
                        "images (default: the recipe's)")
    parser.add_argument("--mixed-precision", action=argparse.BooleanOptionalAction,
                        help="compute in 16 bits, variables in 32: float16 with loss scaling on "
                        "a GPU, bfloat16 on a CPU with AMX units; refused elsewhere (default: "
                        "the recipe's, on where the machine has them: mnist-cnn)")
    parser.add_argument("--jit", action=argparse.BooleanOptionalAction,
                        help="XLA-compile the training step (default: on with one GPU, off on "
                        "CPU, where it trained slower)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


UNSAFE_HELP = ("load a model.keras that holds Python code (a Lambda layer), which Keras' safe "
               "mode refuses: only for models you trust")


def column_name(text):
    """A column named on the command line, stripped: a file's header names are read stripped
    (recipes/data/reading.py), so "price " copied from the header is the column "price"."""
    return text.strip()


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
                     "(linear or softmax regression by hand, recipes/training/scratch.py); default: the "
                     "recipe's, fit for all but linear-scratch and softmax-scratch")
    run.add_argument("--out", type=Path, help="output folder (default: reports/runs/NAME; with "
                     "`all`: a folder of runs plus summary.md, default reports/runs and "
                     "reports/summary.md)")
    run.add_argument("--export", action="store_true",
                     help="also export the trained run for serving into OUT/export (see `export`)")
    run.add_argument("--ensemble", type=int, default=1, metavar="K",
                     help="train K networks from K seeds on the same split and save their "
                     "averaged outputs as one model (K times the training time; default: 1)")
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
                         help="CSV (plain or compressed) or Parquet file with the same feature "
                         "columns as the training data")
    predict.add_argument("--output", type=Path, metavar="PATH",
                         help="write predictions here as CSV, compressed as the suffix says "
                         "(.gz, .bz2, .zip, .xz, .zst), or as Parquet (.parquet) (default: "
                         "print them as CSV)")
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

    grid = commands.add_parser("grid", help="cross-validate a grid of hyperparameters with "
                               "scikit-learn's GridSearchCV, retrain and test the best")
    grid.add_argument("name", help="recipe name (see `list`)")
    add_run_arguments(grid)
    grid.add_argument("--param", action="append", type=grid_values, required=True,
                      metavar="NAME=V1,V2,...", help="a model hyperparameter, epochs or "
                      "batch_size, and its values, e.g. 'hidden_units=(32,),(64, 32)' "
                      "(repeatable: the grid is every combination)")
    grid.add_argument("--cv", type=int, default=3, help="folds of train + validation (default: 3)")
    grid.add_argument("--out", type=Path, help="output folder (default: reports/grid/NAME)")
    grid.add_argument("--overwrite", action="store_true", help="as for run")
    grid.add_argument("--export", action="store_true", help="export the retrained best model")
    grid.set_defaults(loop="fit")  # the retraining trains as the estimator does: model.fit
    return parser
