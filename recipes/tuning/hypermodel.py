"""A point of the search space -> the recipe's network, trained by `train.train` and scored.

Each configuration trains on the training split with `run`'s early stopping and is scored on
validation (the task's headline: `val_accuracy`, `val_mae` for regressors); with --folds K, on
each of K folds of train + validation instead (`cross_validation`: preprocess.folds, as `grid`
cuts them). The test split is never looked at. `ZooHyperModel.fit` is the one place where a
diverged loss (`errors.Diverged`) becomes a failed trial, after which the search goes on.
"""

from dataclasses import replace

import keras
import keras_tuner
import numpy as np
from tensorboard.plugins.hparams import api as hparams_api

import zoo
from recipes.compat import tuner_private
from recipes.features import parts, preprocess
from recipes.training import callbacks as training_callbacks, train
from recipes.workflow.prepare import build_network, fit_preprocessing
from recipes.errors import Diverged
from recipes.tuning.space import check_narrowing, narrow, tidy

# What keras-tuner logs and checkpoints a trial with: the folds after the first train without
# them, so TensorBoard shows one fold's curves and the trial's checkpoint holds one fold's model.
FIRST_FOLD_CALLBACKS = (keras.callbacks.TensorBoard, hparams_api.KerasCallback,
                        tuner_private.SaveBestEpoch)


class ZooHyperModel(keras_tuner.HyperModel):
    """A point of the builder's search space -> the plan's model, trained like `run` trains it.

    A configuration is trained and scored on each of `folds` (recipes/workflow/prepare.py's
    `Loaded`): the recipe's train/validation split alone, or the folds of a cross-validation
    (`cross_validation`).
    """

    def __init__(self, plan, objective, fixed, ranges, folds):
        super().__init__(name=plan.model_name)
        self.plan, self.objective, self.folds = plan, objective, folds
        self.fixed, self.ranges = fixed, ranges
        self.declared = check_narrowing(plan.model_name, fixed, ranges)

    def space_arguments(self, hp):
        """The builder arguments this point of the (narrowed) space stands for."""
        narrow(hp, self.declared, self.fixed, self.ranges)
        return {name: tidy(value)
                for name, value in zoo.search_space(self.plan.model_name)(hp).items()}

    def build(self, hp):
        """The first fold's model (`fit` builds the other folds' own)."""
        return self.build_on(self.folds[0], self.space_arguments(hp))

    def build_on(self, fold, arguments):
        # The plan's fixed arguments (api, ...) under `arguments`, built as `run` builds. The
        # seed comes from the stream ZooSearch seeds per trial: every execution and fold of a
        # trial starts from different weights, and a resumed trial from the same ones.
        config = replace(self.plan.config, seed=int(np.random.randint(2**31 - 1)))
        return build_network(replace(self.plan, config=config, hyperparameters={
            **self.plan.hyperparameters, **arguments}), fold)

    def fit(self, hp, model, *, callbacks, epochs=None, initial_epoch=0):
        """Hyperband passes its own epochs, and a model it may have continued from a checkpoint.
        keras-tuner records what this returns, numbers only."""
        try:
            score = self.score(self.space_arguments(hp), callbacks, model=model, epochs=epochs,
                               initial_epoch=initial_epoch)
        except Diverged as error:  # as `run` refuses a diverged run, a diverged configuration fails
            raise keras_tuner.errors.FailedTrialError(str(error)) from None
        return {name: value for name, value in score.items() if name != "per_split"}

    def score(self, arguments, callbacks, *, model=None, epochs=None, initial_epoch=0):
        """Train builder `arguments` on every fold: the objective of each, and the objective and
        best epoch averaged. Raises `Diverged` for a fold whose loss diverged."""
        results = []
        for i, fold in enumerate(self.folds):
            if i > 0:
                callbacks = later_folds(callbacks)
            if i > 0 or model is None:
                model = self.build_on(fold, arguments)
            results.append(fit_and_score(model, fold, self.plan.config, self.objective,
                                         callbacks, epochs, initial_epoch))
        per_split = [r[self.objective.name] for r in results]
        return {self.objective.name: float(np.mean(per_split)), "per_split": per_split,
                "best_epoch": float(np.mean([r["best_epoch"] for r in results])),
                "epochs": sum(r["epochs"] for r in results),
                "seconds": sum(r["seconds"] for r in results)}


def cross_validation(loaded, k, *, seed):
    """`loaded` as `k` folds of its train + validation rows (preprocess.folds; the test split
    stays out), each a `Loaded` whose preprocessing is fitted again, with the same options, on
    the fold's training rows only."""
    splits, folds = loaded.splits, []
    rows = parts.joined([splits.train, splits.val])
    for fit_rows, val_rows in preprocess.folds(loaded.dataset, rows, k, seed=seed):
        fit, val = rows.take(fit_rows), rows.take(val_rows)
        preprocessing, sources = fit_preprocessing(loaded.dataset, fit, {"train": fit, "val": val},
                                                   **loaded.preprocessing.options)
        folds.append(replace(loaded, splits=parts.Splits(fit, val, splits.test),
                             preprocessing=preprocessing, sources=sources))
    return folds


def fit_and_score(model, fold, config, objective, callbacks, epochs=None, initial_epoch=0):
    """Train on the fold's training rows with early stopping, score on its validation rows."""
    result = train.train(model, fold.sources["train"], fold.sources["val"], config,
                         callbacks=callbacks, epochs=epochs, initial_epoch=initial_epoch)
    history = result.history
    return {objective.name: best_score(history, objective), "epochs": result.epochs_run,
            # what early stopping restores, and what the final fit trains for
            "best_epoch": initial_epoch + int(np.nanargmin(history["val_loss"])) + 1,
            "seconds": result.seconds}


def best_score(history, objective):
    scores = np.asarray(history[objective.name], dtype=float)
    return float(np.nanmax(scores) if objective.direction == "max" else np.nanmin(scores))


def trial_callbacks(config, out):
    """`run`'s callbacks without its checkpoint (keras-tuner saves each trial's best epoch
    itself) and its backup (a search resumes by trials).

    keras-tuner moves the TensorBoard logs to logs/TRIAL/executionN and adds its HParams callback.
    """
    return training_callbacks.make(config, out, early_stopping=True, tensorboard=True,
                                   progress=not config.quiet)


def later_folds(callbacks):
    """`callbacks` as the folds after the first, and the rescoring, get them: without
    keras-tuner's logging and checkpointing (FIRST_FOLD_CALLBACKS)."""
    return [c for c in callbacks if not isinstance(c, FIRST_FOLD_CALLBACKS)]
