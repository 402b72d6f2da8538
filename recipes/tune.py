"""Hyperparameter search with keras-tuner, then the best configuration retrained and tested.

The zoo owns what is tunable: each builder registers a search space, `space(hp) -> builder
kwargs`. A search

1. prepares the recipe exactly as `run` does (same split, preprocessing fitted on train only);
2. lets a keras-tuner oracle (random, Hyperband or Bayesian) pick points of that space and trains
   each one on the training split with `run`'s early stopping, scoring it on validation
   (`val_accuracy`; `val_mae` for regressors). The test split is never looked at;
3. writes trials.csv, tuning.png, best_hyperparameters.json and TensorBoard HParams logs (logs/);
4. scores the best configuration and the recipe's default again, from the same seeds, and keeps
   the search's only if it beats the default by more than the folds' noise;
5. retrains the kept configuration and the default the same way (the epoch count chosen by early
   stopping on validation, then training on train + validation), tests both, and writes `run`'s
   metrics.json and plots with `tuned: true` and the default's test metrics beside.

`--set NAME=VALUE` fixes a hyperparameter and `--space NAME=LOW:HIGH[:log]` narrows one. Both are
registered before the zoo's space function runs: keras-tuner hands back an already-registered
name's value when the space declares it again.

A killed search continues with `--resume`: keras-tuner reloads its oracle from `search/`, keeps
the finished trials and runs the interrupted one again. With KERASTUNER_TUNER_ID,
KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT set, the same command is the chief (serves the
oracle, then does steps 3-5) or a worker (runs trials until the oracle has none left).
"""

import contextlib
import functools
import io
import json
import os
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import keras
import keras_tuner
import numpy as np
import pandas as pd
from keras_tuner.engine import hyperparameters as hp_types
from keras_tuner.src import config as keras_tuner_config
from keras_tuner.src.engine.tuner_utils import SaveBestEpoch  # not exported; Tuner.run_trial adds it
from sklearn.exceptions import ConvergenceWarning
from tensorboard.plugins.hparams import api as hparams_api
from tensorflow.python.framework import ops as tf_ops  # for its gradient registry

import zoo
from recipes import artifacts, export, plots, preprocess, run, train  # noqa: F401  (plots: Agg)
from recipes.errors import UserError

import matplotlib.pyplot as plt  # noqa: E402  (after recipes.plots has chosen the backend)
from matplotlib.ticker import MaxNLocator  # noqa: E402

TUNERS = ("random", "hyperband", "bayesian")
# keras-tuner prints a failed trial's whole traceback; ZooSearch prints its last line instead.
keras_tuner_config.DEBUG = False
TUNING_DIR = Path("reports/tuning")
SEARCH_DIR = "search"  # keras-tuner's project: oracle state, one folder per trial
REQUEST_FILE = "search.json"  # what was asked for, so --resume refuses a different search
TRIALS_FILE = "trials.csv"
PLOT_FILE = "tuning.png"
BEST_FILE = "best_hyperparameters.json"
HYPERBAND_FACTOR = 3  # keras-tuner's default: each round keeps the best third, for 3x the epochs
# What keras-tuner logs and checkpoints a trial with: the folds after the first train without
# them, so TensorBoard shows one fold's curves and the trial's checkpoint holds one fold's model.
FIRST_FOLD_CALLBACKS = (keras.callbacks.TensorBoard, hparams_api.KerasCallback, SaveBestEpoch)


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


# --- the search space, narrowed by the user --------------------------------------------------


def declared_space(model_name):
    """The builder's tunable hyperparameters, by name, as its zoo search space declares them."""
    hp = keras_tuner.HyperParameters()
    zoo.search_space(model_name)(hp)
    return {p.name: p for p in hp.space}


def check_narrowing(model_name, fixed, ranges):
    """--set and --space must name tunable hyperparameters; ranges must suit their kind."""
    declared = declared_space(model_name)
    for name in [*fixed, *ranges]:
        if name not in declared:
            raise UserError(f"{model_name} has no tunable hyperparameter {name!r}; "
                            f"tunable: {', '.join(declared)}")
    for name, (low, high, sampling) in ranges.items():
        kind = declared[name]
        if not isinstance(kind, (hp_types.Int, hp_types.Float)):
            raise UserError(f"--space {name}: {name} is a choice, not a range; fix it with "
                            f"--set {name}=VALUE")
        if isinstance(kind, hp_types.Int) and not (isinstance(low, int) and isinstance(high, int)):
            raise UserError(f"--space {name}: {name} takes whole numbers, got {low}:{high}")
        if not low < high:
            raise UserError(f"--space {name}: LOW must be below HIGH, got {low}:{high}")
        if (sampling or kind.sampling) == "log" and low <= 0:
            raise UserError(f"--space {name}: a log range needs LOW > 0, got {low}")
    return declared


def narrow(hp, declared, fixed, ranges):
    """Register the user's fixed values and ranges before the zoo's space declares them."""
    for name, value in fixed.items():
        hp.Fixed(name, value)
    for name, (low, high, sampling) in ranges.items():
        kind = declared[name]
        sampling = sampling or kind.sampling
        step = kind.step if sampling == kind.sampling else None  # on a log scale a step is a factor
        declare = hp.Int if isinstance(kind, hp_types.Int) else hp.Float
        declare(name, low, high, step=step, sampling=sampling)


class ZooHyperModel(keras_tuner.HyperModel):
    """A point of the builder's search space -> the recipe's model, trained like `run` trains it.

    A configuration is trained and scored on each of `splits`: the recipe's train/validation
    split, or the folds of a cross-validation (`cross_validation`).
    """

    def __init__(self, prepared, objective, fixed, ranges, splits):
        super().__init__(name=prepared.model_name)
        self.prepared, self.objective, self.splits = prepared, objective, splits
        self.fixed, self.ranges = fixed, ranges
        self.declared = check_narrowing(prepared.model_name, fixed, ranges)

    def space_arguments(self, hp):
        """The builder arguments this point of the (narrowed) space stands for."""
        narrow(hp, self.declared, self.fixed, self.ranges)
        return {name: tidy(value)
                for name, value in zoo.search_space(self.prepared.model_name)(hp).items()}

    def build(self, hp):
        """The first split's model (`fit` builds the other folds' own)."""
        return self.build_on(self.splits[0], self.space_arguments(hp))

    def build_on(self, split, arguments):
        # The recipe's fixed arguments (api, ...) under `arguments`, built as `run` builds. The
        # seed comes from the stream ZooSearch seeds per trial: every execution and fold of a
        # trial starts from different weights, and a resumed trial from the same ones.
        config = replace(split.config, seed=int(np.random.randint(2**31 - 1)))
        return run.build_model(replace(split, hyperparameters={**split.hyperparameters, **arguments},
                                       config=config))

    def fit(self, hp, model, *, callbacks, epochs=None, initial_epoch=0):
        """Hyperband passes its own epochs, and a model it may have continued from a checkpoint.
        keras-tuner records what this returns, numbers only."""
        score = self.score(self.space_arguments(hp), callbacks, model=model, epochs=epochs,
                           initial_epoch=initial_epoch)
        return {name: value for name, value in score.items() if name != "per_split"}

    def score(self, arguments, callbacks, *, model=None, epochs=None, initial_epoch=0):
        """Train builder `arguments` on every split: the objective of each, and the objective and
        best epoch averaged."""
        results = []
        for i, split in enumerate(self.splits):
            if i > 0:
                callbacks = [c for c in callbacks if not isinstance(c, FIRST_FOLD_CALLBACKS)]
            if i > 0 or model is None:
                model = self.build_on(split, arguments)
            results.append(fit_and_score(model, split, self.objective, callbacks, epochs,
                                         initial_epoch))
        per_split = [r[self.objective.name] for r in results]
        return {self.objective.name: float(np.mean(per_split)), "per_split": per_split,
                "best_epoch": float(np.mean([r["best_epoch"] for r in results])),
                "epochs": sum(r["epochs"] for r in results),
                "seconds": sum(r["seconds"] for r in results)}


def cross_validation(prepared, folds):
    """The recipe on `folds` folds of train + validation (the test split stays out), each with its
    preprocessing fitted again on the fold's training rows only."""
    splits = prepared.splits
    return [replace(prepared, preprocessor=preprocessor, arrays=arrays)
            for preprocessor, arrays in (
                run.fit_preprocessing(prepared.dataset, fit, {"train": fit, "val": val})
                for fit, val in preprocess.folds(prepared.dataset, [splits.train, splits.val],
                                                 folds, seed=prepared.config.seed))]


def fit_and_score(model, split, objective, callbacks, epochs=None, initial_epoch=0):
    """Train on the split's training rows with early stopping, score on its validation rows."""
    config = split.config
    (x, y), (x_val, y_val) = split.arrays["train"], split.arrays["val"]
    order = train.EpochOrder(config.seed, len(x))
    start = time.perf_counter()
    history = model.fit(
        train.to_dataset(x, y, config.batch_size, order=order, augment=config.augment),
        validation_data=train.to_dataset(x_val, y_val, config.batch_size),
        epochs=epochs or config.epochs, initial_epoch=initial_epoch,
        callbacks=[order, *callbacks], shuffle=False, verbose=0).history  # `order` shuffles
    bad = ~np.isfinite(np.asarray(history["loss"], dtype=float))
    if bad.any() or not np.isfinite(np.asarray(history["val_loss"], dtype=float)).any():
        # as `run` refuses a diverged run, a configuration that diverges fails
        raise keras_tuner.errors.FailedTrialError(
            f"the loss diverged (NaN or infinite in epoch {initial_epoch + int(bad.argmax()) + 1})")
    return {objective.name: best_score(history, objective), "epochs": len(history["loss"]),
            # what early stopping restores, and what the final fit trains for
            "best_epoch": initial_epoch + int(np.nanargmin(history["val_loss"])) + 1,
            "seconds": time.perf_counter() - start}


def objective_for(task):
    """What a trial is judged by: the metric `run` reports, on validation. For regressors that is
    MAE, not the loss, which also holds the L2 penalty and so would favour small `l2`."""
    if task == "regression":
        return keras_tuner.Objective("val_mae", direction="min")
    return keras_tuner.Objective("val_accuracy", direction="max")


def best_score(history, objective):
    scores = np.asarray(history[objective.name], dtype=float)
    return float(np.nanmax(scores) if objective.direction == "max" else np.nanmin(scores))


def trial_callbacks(config, out):
    """`run`'s callbacks without its checkpoint: keras-tuner saves each trial's best epoch itself.

    keras-tuner moves the TensorBoard logs to logs/TRIAL/executionN and adds its HParams callback.
    """
    return [c for c in train.callbacks(config, out)
            if not isinstance(c, keras.callbacks.ModelCheckpoint)]


# --- the tuners -------------------------------------------------------------------------------


class ZooSearch:
    """What our tuners add to keras-tuner's: seeded trials, flat memory, one kept checkpoint, a
    live report.

    keras-tuner clears the Keras session before it builds each trial's model, but that leaves
    every `model.fit`'s traced training step alive (5-9 MB each): `release_training_graphs` frees
    them at the trial's end. Each trial also saves its best epoch's weights, which `prune` deletes
    again unless the trial is the best so far (or Hyperband may still train it further), so disk
    use stays at one checkpoint.
    """

    def __init__(self, *, trial_seed, report, quiet, **kwargs):
        self.trial_seed, self.quiet = trial_seed, quiet
        self.report = report  # trials -> None: rewrites trials.csv and tuning.png
        self.finished = []  # trials this process ran
        super().__init__(**kwargs)

    def on_trial_begin(self, trial):
        self.gradients_before = set(custom_gradients())
        super().on_trial_begin(trial)
        # A trial's initial weights depend on its number only, so a resumed search matches.
        keras.utils.set_random_seed(self.trial_seed + int(trial.trial_id))

    def on_trial_end(self, trial):
        super().on_trial_end(trial)  # the oracle scores the trial and saves its state
        release_training_graphs(self.gradients_before)
        self.finished.append(trial)
        if trial.status != "COMPLETED" and not self.quiet:
            print(f"Trial {trial.trial_id} failed: {failure(trial)}", file=sys.stderr, flush=True)
        self.prune(self.finished)
        if distributed_role() is None:  # workers have no oracle; the chief reports at the end
            self.report(self.oracle.trials.values())

    def prune(self, trials, *, final=False):
        """Delete the checkpoints of these finished trials, except the best one's."""
        best = {t.trial_id for t in self.oracle.get_best_trials(1) if t.status == "COMPLETED"}
        for trial in trials:
            if trial.trial_id not in best and (final or not self.may_continue(trial)):
                Path(self._get_checkpoint_fname(trial.trial_id)).unlink(missing_ok=True)

    def may_continue(self, trial):
        """Whether a later trial starts from this trial's weights."""
        return False


class RandomSearch(ZooSearch, keras_tuner.RandomSearch):
    pass


class BayesianOptimization(ZooSearch, keras_tuner.BayesianOptimization):
    def search(self, *args, **kwargs):
        # With a handful of points the Gaussian process's length scales often reach their bounds:
        # expected here, and scikit-learn's warning for each trial would drown the output.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return super().search(*args, **kwargs)


class Hyperband(ZooSearch, keras_tuner.Hyperband):
    def __init__(self, *, max_trials, **kwargs):
        super().__init__(**kwargs)
        # Hyperband sizes its brackets from max_epochs alone; hold it to the same trial budget as
        # the other tuners (its first brackets train many configurations for a few epochs).
        self.oracle.max_trials = max_trials

    def may_continue(self, trial):
        # A trial below the last round of its bracket may be promoted: trained further from its
        # checkpoint in the next round.
        values = trial.hyperparameters.values
        return values["tuner/round"] < values["tuner/bracket"]


def make_tuner(kind, hypermodel, out, options, tune_options, report):
    common = dict(hypermodel=hypermodel, objective=hypermodel.objective,
                  seed=options.seed + 1,  # the oracle's; keras-tuner draws a random one for 0
                  trial_seed=options.seed,
                  executions_per_trial=tune_options.executions_per_trial, directory=str(out),
                  project_name=SEARCH_DIR, overwrite=False, report=report, quiet=options.quiet,
                  # A diverged trial fails (fit_and_score) and the search goes on; one that
                  # finishes nothing ends in tune's own error, not keras-tuner's RuntimeError.
                  max_consecutive_failed_trials=tune_options.max_trials + 1)
    if kind == "hyperband":
        return Hyperband(max_epochs=hypermodel.prepared.config.epochs, factor=HYPERBAND_FACTOR,
                         max_trials=tune_options.max_trials, **common)
    if kind == "bayesian":
        # keras-tuner starts from 3 random points per hyperparameter (18 for the MLP space): more
        # than a small budget, which would make it a random search. A third of the budget instead.
        return BayesianOptimization(max_trials=tune_options.max_trials,
                                    num_initial_points=max(2, tune_options.max_trials // 3),
                                    **common)
    return RandomSearch(max_trials=tune_options.max_trials, **common)


def custom_gradients():
    """TensorFlow's registry of `tf.custom_gradient` functions (private; empty if it moves)."""
    return getattr(getattr(tf_ops, "_gradient_registry", None), "_registry", None) or {}


def release_training_graphs(keep):
    """Free the training steps traced since the registry held `keep`.

    Keras' optimizer sums gradients through a `tf.custom_gradient`, which registers a closure
    under "CustomGradient-N" for every traced step, and the closure holds that step's whole graph.
    Nothing ever removes it, `clear_session` included (tensorflow/tensorflow#97697), so each
    `fit` kept 5-9 MB for good: 6 MB a trial on boston-housing, 9 on digits-cnn.
    """
    registry = custom_gradients()
    for name in [n for n in registry if n.startswith("CustomGradient-") and n not in keep]:
        del registry[name]


def failure(trial):
    """The last line of a failed trial's traceback, which keras-tuner keeps in its trial.json."""
    line = ((trial.message or "").strip().splitlines() or ["no error recorded"])[-1]
    return line.split("FailedTrialError: ", 1)[-1]  # ours say why; other errors keep their kind


def distributed_role():
    """'chief' or 'worker' in keras-tuner's distributed mode, None on one machine."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return None
    missing = [v for v in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID") if v not in os.environ]
    if missing:
        raise UserError(f"KERASTUNER_ORACLE_IP is set, so distributed tuning also needs "
                        f"{' and '.join(missing)} (KERASTUNER_TUNER_ID: chief, tuner0, ...)")
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


# --- results ---------------------------------------------------------------------------------


def tidy(value):
    """keras-tuner's stepped floats as a person writes them: 0.30000000000000004 -> 0.3."""
    return float(f"{value:.12g}") if isinstance(value, float) else value


def trials_frame(trials, names):
    """One row per trial: number, status, score, epochs, seconds, then hyperparameters `names`."""
    rows = []
    for trial in sorted(trials, key=lambda t: int(t.trial_id)):
        metrics = trial.metrics
        rows.append({
            "trial": int(trial.trial_id), "status": trial.status, "score": trial.score,
            # averaged over executions; Hyperband's later rounds count only their own epochs
            **{m: metrics.get_last_value(m) if metrics.exists(m) else None
               for m in ("epochs", "seconds")},
            **{name: tidy(trial.hyperparameters.values.get(name)) for name in names},
        })
    return pd.DataFrame(rows)


def plot_search(frame, objective, path, title):
    """Each finished trial's score, and the best score so far."""
    done = frame[frame["status"] == "COMPLETED"]
    best = done["score"].cummax() if objective.direction == "max" else done["score"].cummin()
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(done["trial"], done["score"], "o", label="trial")
    axes.step(done["trial"], best, where="post", label="best so far")
    axes.set(title=title, xlabel="trial", ylabel=objective.name)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)
    axes.legend()
    artifacts.save_figure(figure, path)
    plt.close(figure)


def write_trials(out, objective, names, title, trials):
    frame = trials_frame(trials, names)
    artifacts.write_csv(out / TRIALS_FILE, frame)
    plot_search(frame, objective, out / PLOT_FILE, title)


def fit_on_train_and_val(model, prepared, epochs):
    """Train on train + validation for a fixed number of epochs: no data is left to stop on."""
    config = prepared.config
    (x_train, y_train), (x_val, y_val) = prepared.arrays["train"], prepared.arrays["val"]
    x, y = np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val])
    order = train.EpochOrder(config.seed, len(x))
    progress = [] if config.quiet else [train.EpochProgbar(epochs)]
    start = time.perf_counter()
    history = model.fit(train.to_dataset(x, y, config.batch_size, order=order,
                                         augment=config.augment),
                        epochs=epochs, callbacks=[order, train.TerminateOnNaN(), *progress],
                        shuffle=False, verbose=0)  # `order` shuffles
    return train.TrainResult.from_history(history.history, len(x), time.perf_counter() - start)


def rescore(hypermodel, arguments, callbacks, seed):
    """Score builder `arguments` afresh, from the same seed for every configuration."""
    keras.utils.set_random_seed(seed)
    try:
        return hypermodel.score(arguments, callbacks)
    except keras_tuner.errors.FailedTrialError as error:
        raise train.Diverged(f"scored again, {arguments or 'the recipe default'}: {error}") from None


def retrain(prepared, arguments, epochs):
    """Build `arguments` over the recipe's and train it on train + validation."""
    prepared = replace(prepared, hyperparameters={**prepared.hyperparameters, **arguments})
    model = run.build_model(prepared)
    return prepared, model, fit_on_train_and_val(model, prepared, epochs)


def gain_and_margin(search, default, objective):
    """The search's best's gain over the default when both were scored again (positive: better),
    and the margin it must beat to be kept: with folds, one standard error of the paired per-fold
    gains (the one-standard-error rule of glmnet's lambda.1se), since a gain within it is the luck
    of one initialisation. One split gives no error: 0."""
    sign = 1 if objective.direction == "max" else -1
    gains = sign * np.subtract(search["per_split"], default["per_split"])
    margin = float(gains.std(ddof=1) / np.sqrt(len(gains))) if len(gains) > 1 else 0.0
    return float(gains.mean()), margin


# --- the command -----------------------------------------------------------------------------


def check_tune_options(tune_options):
    if tune_options.tuner not in TUNERS:
        raise UserError(f"unknown tuner {tune_options.tuner!r}; valid: {', '.join(TUNERS)}")
    if tune_options.max_trials < 1:
        raise UserError(f"--max-trials must be at least 1, got {tune_options.max_trials}")
    if tune_options.executions_per_trial < 1:
        raise UserError(f"--executions-per-trial must be at least 1, got "
                        f"{tune_options.executions_per_trial}")
    if tune_options.folds < 1:
        raise UserError(f"--folds must be at least 1 (1: the validation split), got "
                        f"{tune_options.folds}")
    if tune_options.folds > 1 and tune_options.tuner == "hyperband":
        raise UserError("--folds: Hyperband continues each trial's one model in its next round; "
                        "cross-validation trains one per fold. Use --tuner random or bayesian")


def search_request(name, prepared, options, tune_options):
    """What defines a search (--max-trials may grow on --resume), as JSON would hold it."""
    request = {"recipe": name, "model": prepared.model_name, "tuner": tune_options.tuner,
               "epochs": prepared.config.epochs, "batch_size": prepared.config.batch_size,
               "seed": options.seed, "api": options.api, "data": asdict(options.data),
               "executions_per_trial": tune_options.executions_per_trial,
               "folds": tune_options.folds,
               "fixed": tune_options.fixed, "ranges": tune_options.ranges}
    return json.loads(json.dumps(request, default=str))


def check_out(out, request, resume):
    """An existing search continues only with --resume, and only as the same search.

    The request file marks a search: workers of a distributed search, which may reach the folder
    before the chief, create keras-tuner's folder but never this file.
    """
    artifacts.check_writable(out, "--out")
    if (out / REQUEST_FILE).is_file() and not resume:
        raise UserError(f"{out} already holds a search; add --resume to continue it, or choose "
                        f"another --out")
    if resume and (out / REQUEST_FILE).is_file():
        started = json.loads((out / REQUEST_FILE).read_text())
        changed = [f"{key} {started.get(key)!r} -> {request[key]!r}" for key in request
                   if started.get(key) != request[key]]
        if changed:
            raise UserError(f"--resume: {out} holds a different search ({'; '.join(changed)}); "
                            f"resume with its options, or choose another --out")


def say(message, quiet):
    if not quiet:
        print(message, flush=True)


def tune(name, options, tune_options):
    """Search, report, retrain the best and the default, test both; returns metrics.json.

    A worker in distributed mode only runs trials and returns {"worker": id, "trials_run": [...]}.
    """
    check_tune_options(tune_options)
    role = distributed_role()
    # --resume here continues the search; trials and final fits never resume a run's epochs.
    options = replace(options, resume=False)
    prepared = run.prepare(name, options)
    objective = objective_for(prepared.dataset.task)
    splits = [prepared] if tune_options.folds == 1 else cross_validation(prepared, tune_options.folds)
    hypermodel = ZooHyperModel(prepared, objective, tune_options.fixed, tune_options.ranges, splits)
    hypermodel.build(keras_tuner.HyperParameters())  # a bad --set value fails here, not in a trial
    out = Path(options.out or TUNING_DIR / name)
    request = search_request(name, prepared, options, tune_options)
    if role != "worker":  # workers join the chief's search folder
        check_out(out, request, tune_options.resume)
        artifacts.write_json(out / REQUEST_FILE, request)

    title = f"{name}: {tune_options.tuner} search"
    names = list(hypermodel.declared)
    report = functools.partial(write_trials, out, objective, names, title)
    with contextlib.redirect_stdout(io.StringIO()) if options.quiet else contextlib.nullcontext():
        # keras-tuner prints "Reloading Tuner from ..." on --resume
        tuner = make_tuner(tune_options.tuner, hypermodel, out, options, tune_options, report)
    tuner.oracle.verbose = 0 if options.quiet else 1  # keras-tuner's "Running Trial #n" table
    start = time.perf_counter()
    tuner.search(callbacks=trial_callbacks(prepared.config, out))
    search_seconds = time.perf_counter() - start
    if role == "worker":
        return {"worker": tuner.tuner_id, "trials_run": [t.trial_id for t in tuner.finished]}

    trials = list(tuner.oracle.trials.values())
    tuner.prune(trials, final=True)
    report(trials)
    best = tuner.oracle.get_best_trials(1)
    if not best or best[0].status != "COMPLETED":
        last = max(trials, key=lambda t: int(t.trial_id))
        raise UserError(f"no trial of the search in {out} finished (the last: {failure(last)}); "
                        f"all errors are in {out / SEARCH_DIR}/trial_*/trial.json")
    best = best[0]
    searched = hypermodel.space_arguments(best.hyperparameters.copy())
    artifacts.write_json(out / BEST_FILE, {
        "recipe": name, "model": prepared.model_name, "tuner": tune_options.tuner,
        "objective": objective.name, "score": best.score, "trial": int(best.trial_id),
        "hyperparameters": {name: tidy(best.hyperparameters.values[name]) for name in names},
        "builder_arguments": searched,  # usable as `run --set NAME=VALUE`
    })

    # The best trial's score is the best of many noisy ones. Score it again beside the recipe's
    # default, by the same splits and seeds, and keep the search's result only if it still wins,
    # by more than the folds' noise.
    say("Scoring the best configuration and the recipe's default again, the same way",
        options.quiet)
    callbacks = [c for c in trial_callbacks(prepared.config, out)
                 if not isinstance(c, FIRST_FOLD_CALLBACKS)]
    scores = {"search": rescore(hypermodel, searched, callbacks, options.seed),
              "default": rescore(hypermodel, {}, callbacks, options.seed)}
    gain, margin = gain_and_margin(scores["search"], scores["default"], objective)
    chosen = "search" if gain > margin else "default"
    epochs = {key: max(1, round(score["best_epoch"])) for key, score in scores.items()}

    say("Retraining the recipe's default on train + validation", options.quiet)
    _, default_model, default_result = retrain(prepared, {}, epochs["default"])
    default_metrics = run.evaluate(prepared, default_model, default_result, options)
    if chosen == "search":
        say("Retraining the best configuration on train + validation", options.quiet)
        tuned, model, result = retrain(prepared, searched, epochs["search"])
        metrics = run.evaluate(tuned, model, result, options)
    else:
        noise = f" by more than the folds' noise ({margin:.4g})" if margin else ""
        say(f"The search's best did not beat the default{noise}: keeping the default",
            options.quiet)
        tuned, model, result, metrics = prepared, default_model, default_result, default_metrics

    metrics = {**metrics,
               "tuned": True, "tuner": tune_options.tuner, "objective": objective.name,
               "chosen": chosen, "folds": tune_options.folds, "gain": gain, "margin": margin,
               "trials": int(sum(t.status == "COMPLETED" for t in trials)),
               "best_trial": int(best.trial_id), "best_trial_score": best.score,
               "search_seconds": round(search_seconds, 3), "trained_on": "train+val",
               "validation": {objective.name: scores[chosen][objective.name]},
               "default": {"hyperparameters": default_metrics["hyperparameters"],
                           "epochs_run": default_metrics["epochs_run"],
                           "validation": {objective.name: scores["default"][objective.name]},
                           "test": default_metrics["test"]}}
    run.write_artifacts(out, tuned, model, result, metrics)
    if options.export:
        export.export(out)
    return metrics
