"""`python -m recipes`: list, run and predict. The CLI only parses arguments and calls.

TensorFlow is imported inside the commands that need it, so `list` and `--help` answer at once.
A user mistake becomes one line on stderr and exit code 2; nothing is written.
"""

import argparse
import ast
import sys
from pathlib import Path

from recipes.catalog import CATALOG, RECIPES
from recipes.errors import UserError, user_errors

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


def add_run_arguments(parser):
    """Options shared by every command that trains (run, and later tune)."""
    parser.add_argument("--epochs", type=int, help="maximum epochs; early stopping may end sooner "
                        "(default: the recipe's)")
    parser.add_argument("--batch-size", type=int, help="examples per step (default: the recipe's)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the split, weight init and shuffling (default: 0)")
    parser.add_argument("--api", choices=["functional", "sequential"], default="functional",
                        help="build the model with the functional or the Sequential API")
    parser.add_argument("--model", help="zoo builder to use instead of the recipe's")
    parser.add_argument("--set", action="append", type=assignment, default=[],
                        metavar="NAME=VALUE", help="override a model hyperparameter, e.g. "
                        "--set dropout=0.3 --set 'hidden_units=(64, 32)' (repeatable)")
    data = parser.add_argument_group("data (the csv recipe and local files)")
    data.add_argument("--data", metavar="PATH", help="CSV file for the csv recipe")
    data.add_argument("--target", metavar="COLUMN", help="target column of --data")
    data.add_argument("--task", choices=["regression", "binary", "multiclass"],
                      help="force the task of --target (default: inferred from its values)")
    data.add_argument("--data-dir", metavar="DIR", help="folder with local data files "
                      "(default: data/)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


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
    run.add_argument("--loop", choices=["fit"], default="fit",
                     help="training loop: Keras model.fit")
    run.add_argument("--out", type=Path, help="output folder (default: reports/runs/NAME; with "
                     "`all`: a folder of runs plus summary.md, default reports/runs and "
                     "reports/summary.md)")

    predict = commands.add_parser("predict", help="apply a trained run to raw CSV rows")
    predict.add_argument("--model", required=True, type=Path, metavar="DIR",
                         help="a run folder written by `run` (holds model.keras)")
    predict.add_argument("--data", required=True, type=Path, metavar="PATH",
                         help="CSV with the same feature columns as the training data")
    predict.add_argument("--output", type=Path, metavar="PATH",
                         help="write predictions here (default: print them)")
    return parser


def list_recipes(_args):
    print(f"{'recipe':<18} {'data set':<18} {'model':<24} task")
    for r in CATALOG:
        print(f"{r.name:<18} {r.dataset:<18} {r.model:<24} {r.task}")
    return 0


def run_options(args, **overrides):
    from recipes.datasets import DataOptions
    from recipes.run import RunOptions

    return RunOptions(
        epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, api=args.api,
        loop=args.loop, model=args.model, hyperparameters=dict(args.set),
        data=DataOptions(path=args.data, target=args.target, task=args.task,
                         data_dir=args.data_dir),
        out=args.out, quiet=args.quiet, **overrides)


def run_recipe(args):
    from recipes.run import headline, run

    if args.name == "all":
        return run_all(args)
    metrics = run(args.name, run_options(args))
    key, value, baseline = headline(metrics)
    print(f"{args.name}: test {key} {value:.4f} (scikit-learn baseline {baseline:.4f}), "
          f"{metrics['epochs_run']} epochs in {metrics['train_seconds']:.1f}s")
    return 0


def run_all(args):
    from recipes.errors import DataUnavailable
    from recipes.run import RUNS_DIR, headline, run, recipe
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
            metrics = run(name, run_options(args, out=root / name))
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

    result = predict_rows(args.model, args.data, args.output)
    if args.output:
        print(f"{len(result)} predictions written to {args.output}")
    else:
        print(result.to_csv(index=False), end="")
    return 0


COMMANDS = {"list": list_recipes, "run": run_recipe, "predict": predict}


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except Exception as error:
        if not isinstance(error, user_errors()):
            raise
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
