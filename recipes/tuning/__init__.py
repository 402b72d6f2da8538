"""Hyperparameter search with keras-tuner, then the best configuration retrained and tested.

The zoo owns what is tunable: each builder registers a search space, `space(hp) -> builder
kwargs`. A search

1. prepares the recipe exactly as `run` does (recipes/workflow/prepare.py: the same rules, split
   and preprocessing fitted on train only);
2. lets a keras-tuner oracle (random, Hyperband or Bayesian: tuners.py) pick points of that space
   (narrowed by --set and --space: space.py) and trains each one on the training split with
   `run`'s early stopping, scoring it on validation (the task's objective: `val_accuracy`;
   `val_mae` for regressors; hypermodel.py). The test split is never looked at;
3. writes trials.csv, tuning.png (report.py), best_hyperparameters.json and TensorBoard HParams
   logs (logs/);
4. scores the best configuration and the recipe's default again, from the same seeds, and keeps
   the search's only if it beats the default by more than the folds' noise (select.py);
5. retrains the kept configuration and the default the same way (the epoch count chosen by early
   stopping on validation, then training on train + validation), tests both, and writes `run`'s
   model, metrics.json and plots with `tuned: true` and the default's test metrics beside.

`tune` below reads in that order. A killed search continues with `--resume`, and the same
command runs distributed as keras-tuner's chief or a worker (tuners.py). keras-tuner writes only
JSON and weights into the search folder, no pickle.
"""

import contextlib
import functools
import io
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import keras_tuner

from recipes.evaluation import evaluate
from recipes.runs import artifacts, interrupts, lock, rundir
from recipes.serving import export
from recipes.workflow import rules, save
from recipes.workflow.prepare import prepare
from recipes.errors import UserError
from recipes.tuning import report, select, tuners
from recipes.tuning.hypermodel import ZooHyperModel, cross_validation, later_folds, trial_callbacks
from recipes.tuning.space import tidy

TUNING_DIR = Path("reports/tuning")
BEST_FILE = "best_hyperparameters.json"


@dataclass(frozen=True)
class TuneOptions:
    """What `tune` adds to `run`'s options."""

    tuner: str = "random"
    max_trials: int = 10
    executions_per_trial: int = 1
    folds: int = 1  # 1: score on the validation split; K: K-fold cross-validation on train + val
    fixed: dict = field(default_factory=dict)  # --set NAME=VALUE: held at VALUE
    ranges: dict = field(default_factory=dict)  # --space NAME=(LOW, HIGH, "log"|"linear"|None)
    resume: bool = False


def tune(name, options, tune_options, *, after_trial=None):
    """Search, report, retrain the best and the default, test both; returns metrics.json.

    A worker in distributed mode only runs trials and returns {"worker": id, "trials_run": [...]}.
    `after_trial(trial)`, when given, is called at the end of each trial this process runs, once
    trials.csv holds it (benchmarks/tuning.py clocks the search with it).

    One search per folder: the search holds OUT's lock; the workers of a distributed search
    share the chief's folder, as keras-tuner intends. Stopped by Ctrl-C or SIGTERM (or a failed
    write), it says in one line which trial --resume will run again.
    """
    out = Path(options.out or TUNING_DIR / name)
    if tuners.distributed_role() == "worker":
        return search_and_retrain(name, options, tune_options, out, after_trial)
    with lock.locked(out, "tune"):
        try:
            return search_and_retrain(name, options, tune_options, out, after_trial)
        except BaseException as error:
            report = stopped(error, out)
            if report is None:
                raise
            raise report from None


def stopped(error, out):
    """The one line that a search stopped by a signal or a failed write ends with, naming the
    trial it left unfinished (keras-tuner's saved state); None for other errors."""
    failure = artifacts.write_failure(error)
    if not isinstance(error, KeyboardInterrupt) and failure is None:
        return None
    if not (out / rundir.SEARCH_FILE).is_file():  # stopped before the search began
        return interrupts.Interrupted.of(error) if failure is None else UserError(
            artifacts.cannot_write("--out", out, failure))
    state = artifacts.read_json(out / tuners.SEARCH_DIR / "oracle.json") or {}
    running = ", ".join(sorted(state.get("ongoing_trials", {}).values()))
    if failure is None:
        where = f" in trial {running}" if running else ""
        return interrupts.Interrupted.of(error).saying(
            f"interrupted{where}; run the same command with --resume to continue")
    again = f" (trial {running} runs again)" if running else ""
    return UserError(f"{artifacts.cannot_write('--out', out, failure)}; the search so far is "
                     f"kept: run the same command with --resume to continue{again}")


def search_and_retrain(name, options, tune_options, out, after_trial):
    role = tuners.distributed_role()
    # --resume here continues the search; trials and final fits never resume a run's epochs.
    # Trials train with model.fit unless a loop is named: keras-tuner drives it.
    options = replace(options, resume=False, loop=options.loop or "fit")
    plan, loaded = prepare(name, options, rules.TUNE, tune_options)
    objective = keras_tuner.Objective(plan.task.objective, direction=plan.task.direction)
    folds = [loaded] if tune_options.folds == 1 else \
        cross_validation(loaded, tune_options.folds, seed=plan.config.seed)
    hypermodel = ZooHyperModel(plan, objective, tune_options.fixed, tune_options.ranges, folds)
    hypermodel.build(keras_tuner.HyperParameters())  # a bad --set value fails here, not in a trial
    if role != "worker":  # workers join the chief's search folder
        request = search_request(name, plan, options, tune_options)
        rundir.check_search_out(out, request, resume=tune_options.resume)
        if tune_options.resume:
            tuners.check_state(out)
        artifacts.write_json(out / rundir.SEARCH_FILE, request)

    names = list(hypermodel.declared)
    write_report = functools.partial(report.write_trials, out, objective, names,
                                     f"{name}: {tune_options.tuner} search")
    tuner, search_seconds = search(hypermodel, out, options, tune_options, write_report,
                                   after_trial)
    if role == "worker":
        return {"worker": tuner.tuner_id, "trials_run": [t.trial_id for t in tuner.finished]}

    trials = list(tuner.oracle.trials.values())
    tuner.prune(trials, final=True)
    write_report(trials)
    best = tuners.best_trial(tuner, out)
    searched = hypermodel.space_arguments(best.hyperparameters.copy())
    artifacts.write_json(out / BEST_FILE, {
        "recipe": name, "model": plan.model_name, "tuner": tune_options.tuner,
        "objective": objective.name, "score": best.score, "trial": int(best.trial_id),
        "hyperparameters": {name: tidy(best.hyperparameters.values[name]) for name in names},
        "builder_arguments": searched,  # usable as `run --set NAME=VALUE`
    })
    search_record = {"tuned": True, "tuner": tune_options.tuner, "objective": objective.name,
                     "folds": tune_options.folds,
                     "trials": int(sum(t.status == "COMPLETED" for t in trials)),
                     "best_trial": int(best.trial_id), "best_trial_score": best.score,
                     "search_seconds": round(search_seconds, 3)}
    tuned, network, result, metrics = select_and_retrain(
        plan, loaded, hypermodel, searched, objective, search_record, out, options)
    save.write_run(out, tuned, loaded, network, result, metrics)
    if options.export:
        export.export(out)
    return metrics


def select_and_retrain(plan, loaded, hypermodel, searched, objective, search_record, out,
                       options):
    """Score the search's best and the default again the same way, keep the better by more than
    the folds' noise, retrain both on train + validation and test them; returns the kept
    (plan, network, train result, metrics.json) with the default's test metrics beside."""
    say("Scoring the best configuration and the recipe's default again, the same way",
        options.quiet)
    selection = select.select(hypermodel, searched,
                              later_folds(trial_callbacks(plan.config, out)), options.seed)
    say("Retraining the recipe's default on train + validation", options.quiet)
    _, default_network, default_result = select.retrain(plan, loaded, {},
                                                        selection.epochs("default"))
    default_metrics = evaluate.evaluate(plan, loaded, default_network, default_result)
    if selection.chosen == "search":
        say("Retraining the best configuration on train + validation", options.quiet)
        tuned, network, result = select.retrain(plan, loaded, searched, selection.epochs("search"))
        metrics = evaluate.evaluate(tuned, loaded, network, result)
    else:
        noise = f" by more than the folds' noise ({selection.margin:.4g})" if selection.margin else ""
        say(f"The search's best did not beat the default{noise}: keeping the default",
            options.quiet)
        tuned, network, result, metrics = plan, default_network, default_result, default_metrics

    scores = selection.scores
    metrics = {**metrics, **search_record,
               "chosen": selection.chosen, "gain": selection.gain, "margin": selection.margin,
               "trained_on": "train+val",
               "validation": {objective.name: scores[selection.chosen][objective.name]},
               "default": {"hyperparameters": default_metrics["hyperparameters"],
                           "epochs_run": default_metrics["epochs_run"],
                           "validation": {objective.name: scores["default"][objective.name]},
                           "test": default_metrics["test"]}}
    return tuned, network, result, metrics


def search_request(name, plan, options, tune_options):
    """What defines a search (--max-trials may grow on --resume), as JSON would hold it."""
    request = {"recipe": name, "model": plan.model_name, "tuner": tune_options.tuner,
               "epochs": plan.config.epochs, "batch_size": plan.config.batch_size,
               "seed": options.seed, "api": options.api, "data": asdict(options.data),
               "executions_per_trial": tune_options.executions_per_trial,
               "folds": tune_options.folds,
               "fixed": tune_options.fixed, "ranges": tune_options.ranges}
    return json.loads(json.dumps(request, default=str))


def search(hypermodel, out, options, tune_options, write_report, after_trial):
    """Run the search in OUT/search (continue it, with --resume); returns the tuner and the
    search's wall seconds."""
    with contextlib.redirect_stdout(io.StringIO()) if options.quiet else contextlib.nullcontext():
        # keras-tuner prints "Reloading Tuner from ..." on --resume
        tuner = tuners.make_tuner(tune_options.tuner, hypermodel, out, options, tune_options,
                                  write_report, after_trial)
    tuner.oracle.verbose = 0 if options.quiet else 1  # keras-tuner's "Running Trial #n" table
    start = time.perf_counter()
    # keras-tuner writes its state in place: a signal waits for the end of the training batch in
    # progress (callbacks.StopOnSignal), leaving that trial unfinished for --resume to run again.
    # The chief only serves the oracle, and stops at once.
    shield = tuners.distributed_role() != "chief"
    with interrupts.shielded() if shield else contextlib.nullcontext():
        tuner.search(callbacks=trial_callbacks(hypermodel.plan.config, out))
    return tuner, time.perf_counter() - start


def say(message, quiet):
    if not quiet:
        print(message, flush=True)
