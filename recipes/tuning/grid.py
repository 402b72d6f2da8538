"""`python -m recipes grid NAME`: the classic `KerasClassifier` + `GridSearchCV` example, as a
command over a recipe's data.

    python -m recipes grid breast-cancer --param dropout=0,0.3 --param 'hidden_units=(16,),(64,)'

1. The recipe is prepared exactly as `run` prepares it (recipes/workflow/prepare.py: the data,
   its seeded split, the model and its hyperparameters); the test split stays out of the search.
2. Every point of the grid is built once, so a value the builder refuses fails before anything
   is written.
3. scikit-learn's `GridSearchCV` scores each point by K-fold cross-validation over train +
   validation (preprocess.folds: seeded, stratified for classifiers, the folds `tune --folds`
   cuts), by the task's headline (accuracy, or MAE), each fit training the recipe's epochs
   without early stopping. What it cross-validates is a `Pipeline` of the recipe's own
   preprocessing (`Encoder`, fitted with the options of the preprocessing the saved model
   carries: the same encoding is chosen and shipped) and the zoo's estimator (zoo/sklearn.py).
   The pipeline takes raw rows, so the preprocessing is fitted again on each fold's training rows
   and never sees the rows it is scored on: "fit on train only" holds inside every fold. (The
   encoded arrays `run` trains on would not do: their preprocessing saw the whole training
   split, each fold's scoring rows included. A scikit-learn ColumnTransformer would do, but
   would be a second preprocessing beside the one the saved model carries.)
4. cv_results.csv (every point: its parameters, each fold's score, mean, std, rank, seconds),
   grid.png (mean +- std per point) and best_parameters.json are written.
5. The best point is retrained as `tune` retrains (tuning/select.py's `retrain`: train +
   validation, the point's epochs, no early stopping, as in the search) and tested, and `run`'s
   model.keras, model_card.json, metrics.json and plots are written (recipes/workflow/save.py), so
   `predict` and `export` take the folder as they take a run's.

The folder is checked, staged and promoted by recipes/runs/rundir.py like a run's.
"""

import itertools
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.metrics import make_scorer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

import zoo.sklearn
from recipes.evaluation import baselines, evaluate, plots  # noqa: F401
from recipes.features import parts, preprocess
from recipes.runs import artifacts, rundir
from recipes.serving import export
from recipes.workflow import rules, save
from recipes.workflow.prepare import build_network, kind_name, prepare, same_kind
from recipes.errors import UserError
from recipes.tuning import select

import matplotlib.pyplot as plt  # noqa: E402  (after recipes.evaluation.plots has chosen the backend: Agg)

GRID_DIR = Path("reports/grid")
CV_RESULTS_FILE = "cv_results.csv"
PLOT_FILE = "grid.png"
BEST_FILE = "best_parameters.json"
ENTRIES = (CV_RESULTS_FILE, PLOT_FILE, BEST_FILE, *rundir.RUN_ENTRIES)  # metrics.json last
TRAINING = ("epochs", "batch_size")  # grid parameters that are not the builder's
STEP = "net"  # the estimator's name in the pipeline: its parameters are "net__NAME"


@dataclass(frozen=True)
class GridOptions:
    """What `grid` adds to `run`'s options."""

    params: tuple = ()  # (NAME, [values]) pairs: --param NAME=V1,V2,...
    cv: int = 3


class Encoder(TransformerMixin, BaseEstimator):
    """The recipe's preprocessing as a pipeline step (recipes/features/preprocess.py, fitted on
    the rows `fit` gets): raw rows or images in, the network's float32 arrays out.

    `dataset`: the recipe's `Dataset` without its rows (its task, its columns' roles);
    `options`: preprocess.fit's (`Preprocessing.options` of the run's, such as the numbers'
    bins), so that every fold is encoded as the saved model encodes."""

    def __init__(self, dataset=None, options=None):
        self.dataset, self.options = dataset, options

    def fit(self, X, y=None):
        rows = replace(self.dataset, features=X, target=y)
        self.preprocessing_ = preprocess.fit(rows, parts.Part(X, y), **(self.options or {}))
        return self

    def transform(self, X):
        return self.preprocessing_.encode(X)


def grid(name, options, grid_options):
    """Cross-validate every point, write the report, retrain and test the best, write the run
    into `options.out`; returns metrics.json."""
    # The estimator trains with model.fit on the targets as they are: so does the retraining.
    # (--augment stays as given, for its rule to refuse it.)
    options = replace(options, augment=bool(options.augment), loop="fit", resume=False,
                      target_transform="none")
    plan, loaded = prepare(name, options, rules.GRID, grid_options)
    for point in checked_grid(plan, grid_options.params):
        build(plan, loaded, point)
    rows = parts.joined([loaded.splits.train, loaded.splits.val])
    cv = preprocess.folds(loaded.dataset, rows, grid_options.cv, seed=plan.config.seed)
    out = Path(options.out or GRID_DIR / name)
    request = {**save.run_request(plan, loaded, options), "tuned": True, "tuner": "grid",
               "grid": dict(grid_options.params), "cv": grid_options.cv}
    with rundir.staged(out, request, resume=False, overwrite=options.overwrite,
                       entries=ENTRIES, command="grid") as staging:
        search, seconds = cross_validate(plan, loaded, grid_options.params, rows, cv,
                                         options.quiet)
        best, best_score, candidates = write_report(staging, plan, search, grid_options)
        if not options.quiet:
            print(f"Retraining the best ({best}) on train + validation", flush=True)
        tuned, network, result = select.retrain(*best_configuration(plan, loaded, best))
        metrics = {**evaluate.evaluate(tuned, loaded, network, result),
                   "tuned": True, "tuner": "grid", "cv": grid_options.cv,
                   "grid": dict(grid_options.params), "best_parameters": best,
                   "cv_score": {plan.task.headline: best_score},
                   "candidates": candidates, "search_seconds": round(seconds, 3),
                   "trained_on": "train+val"}
        save.write_run(staging, tuned, loaded, network, result, metrics)
        if options.export:
            export.export(staging)
    return metrics


def checked_grid(plan, params):
    """The grid's points, each {NAME: value}, once every NAME is a parameter of the plan's
    estimator and every value is of its kind; a `UserError` for anything else."""
    defaults = {**zoo.sklearn.builder_arguments(plan.model_name),
                **{name: getattr(plan.config, name) for name in TRAINING}}
    names = [name for name, _ in params]
    for name, values in params:
        if name not in defaults:
            raise UserError(f"--param {name}: {plan.model_name} has no parameter {name}; "
                            f"valid: {', '.join(defaults)}")
        if names.count(name) > 1:
            raise UserError(f"--param {name} is given {names.count(name)} times; give its values "
                            f"once, as --param {name}=V1,V2,...")
        if not values:
            raise UserError(f"--param {name}: no values; give at least one, as "
                            f"--param {name}=V1,V2,...")
        for value in values:
            check_kind(name, value, defaults[name])
    grids = [[(name, value) for value in values] for name, values in params]
    return [dict(point) for point in itertools.product(*grids)]


def check_kind(name, value, default):
    """`value` is of the kind `default` is (prepare.same_kind); epochs and batch sizes are
    counts."""
    if name in TRAINING and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise UserError(f"--param {name}={value!r}: {name} takes whole numbers of at least 1")
    if default is not None and not same_kind(value, default):
        raise UserError(f"--param {name}={value!r}: {name} takes a {kind_name(default)}, like "
                        f"its default {default!r}")


def build(plan, loaded, point):
    """The network of grid `point`: zoo.build refuses a value out of its range (a `ZooError`)."""
    return build_network(replace(plan, hyperparameters={
        **plan.hyperparameters, **{k: v for k, v in point.items() if k not in TRAINING}}), loaded)


def encoder(loaded):
    """The pipeline's preprocessing step: fitted on each fold's rows as the run's preprocessing
    was fitted on the training split, with the same options."""
    without_rows = replace(loaded.dataset, features=None, target=None, test=None)
    return Encoder(without_rows, loaded.preprocessing.options)


def cross_validate(plan, loaded, params, rows, cv, quiet):
    """scikit-learn's GridSearchCV of the recipe's preprocessing and estimator over `rows` (a
    parts.Part) cut into the folds `cv`, scored by the task's headline; returns it, fitted,
    and its seconds."""
    task, config = plan.task, plan.config
    # Where the run anneals, each fold's fit anneals over its own rows (and the point's epochs
    # and batch size), as the run does over the training split; unless the grid sets decay_steps.
    anneal = plan.anneal and "decay_steps" not in dict(params)
    hyperparameters = {k: v for k, v in plan.hyperparameters.items()
                       if not (anneal and k == "decay_steps")}
    estimator = zoo.sklearn.estimator(
        plan.model_name, epochs=config.epochs, batch_size=config.batch_size, seed=config.seed,
        anneal=anneal, **hyperparameters)
    pipeline = Pipeline([("encode", encoder(loaded)), (STEP, estimator)])
    scorer = make_scorer(baselines.headline_metric(task),
                         greater_is_better=task.direction == "max")
    search = GridSearchCV(pipeline, {f"{STEP}__{name}": list(values) for name, values in params},
                          scoring=scorer, cv=cv, refit=False, error_score="raise",
                          verbose=0 if quiet else 3)  # 3: each fit's score and time
    start = time.perf_counter()
    search.fit(rows.features, rows.target)
    return search, time.perf_counter() - start


def write_report(out, plan, search, grid_options):
    """cv_results.csv, grid.png and best_parameters.json; returns the best point, its mean
    score and how many points there were."""
    table = results_table(search, plan.task)
    artifacts.write_csv(out / CV_RESULTS_FILE, table)
    name, metric = plan.recipe.name, plan.task.headline
    plot_grid(table, [param for param, _ in grid_options.params], metric, out / PLOT_FILE,
              f"{name} ({plan.model_name}): {grid_options.cv}-fold cross-validation")
    best = {key.removeprefix(f"{STEP}__"): value for key, value in search.best_params_.items()}
    score = float(table[f"mean_{metric}"].iloc[search.best_index_])
    artifacts.write_json(out / BEST_FILE, {
        "recipe": name, "model": plan.model_name, "cv": grid_options.cv, "metric": metric,
        "score": score, "parameters": best})
    return best, score, len(table)


def results_table(search, task):
    """cv_results.csv: one row per point, its parameters, each fold's score, their mean and
    standard deviation and rank (in the headline's own units: MAE positive), and seconds."""
    results = search.cv_results_
    sign = 1 if task.direction == "max" else -1  # scikit-learn maximises: MAE comes negated
    folds = sorted(k for k in results if k.startswith("split") and k.endswith("_test_score"))
    frame = pd.DataFrame([{key.removeprefix(f"{STEP}__"): value for key, value in point.items()}
                          for point in results["params"]])
    for i, key in enumerate(folds):
        frame[f"fold_{i + 1}"] = sign * results[key]
    frame[f"mean_{task.headline}"] = sign * results["mean_test_score"]
    frame[f"std_{task.headline}"] = results["std_test_score"]
    frame["rank"] = results["rank_test_score"]
    frame["fit_seconds"] = np.round(results["mean_fit_time"], 3)
    return frame


def plot_grid(table, params, metric, path, title):
    """Each point's mean score across the folds, +- one standard deviation; the best in orange.
    `params`: the names of the grid's parameters (columns of `table`)."""
    names = [", ".join(f"{name}={row[name]}" for name in params) for _, row in table.iterrows()]
    figure, axes = plt.subplots(figsize=(7, 1.2 + 0.35 * len(names)))
    rows, best = np.arange(len(names)), table["rank"].to_numpy() == 1
    axes.errorbar(table[f"mean_{metric}"], rows, xerr=table[f"std_{metric}"], fmt="o",
                  color="tab:blue", capsize=3)
    axes.plot(table[f"mean_{metric}"][best], rows[best], "o", color="tab:orange", zorder=3,
              label="best")
    axes.set_yticks(rows, names)
    axes.invert_yaxis()  # the grid's first point on top
    axes.set(title=title, xlabel=f"{metric} (mean ± std over the folds)")
    axes.grid(alpha=0.3)
    axes.legend()
    artifacts.save_figure(figure, path)
    plt.close(figure)


def best_configuration(plan, loaded, best):
    """select.retrain's arguments for the best point: the plan with the point's epochs and batch
    size, the loaded data, the point's builder arguments, and its epochs."""
    config = replace(plan.config, **{k: v for k, v in best.items() if k in TRAINING})
    return (replace(plan, config=config), loaded,
            {k: v for k, v in best.items() if k not in TRAINING}, config.epochs)
