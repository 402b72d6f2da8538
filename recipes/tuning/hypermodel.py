"""A point of the search space -> the recipe's network, trained by `train.train` and scored.

Each configuration trains on the training split with `run`'s early stopping and is scored on
validation (the task's headline: `val_accuracy`, `val_mae` for regressors); with --folds K, on
each of K folds of train + validation instead (`cross_validation`). The test split is never
looked at. `ZooHyperModel.fit` is the one place where a diverged loss (`errors.Diverged`)
becomes a failed trial, after which the search goes on.
"""

from dataclasses import replace

import keras
import keras_tuner
import numpy as np
from keras_tuner.src.engine.tuner_utils import SaveBestEpoch  # not exported; Tuner.run_trial adds it
from tensorboard.plugins.hparams import api as hparams_api

import zoo
from recipes.features import preprocess
from recipes.training import callbacks as standard_callbacks, train
from recipes.workflow import run
from recipes.errors import Diverged
from recipes.tuning.space import check_narrowing, narrow, tidy

# What keras-tuner logs and checkpoints a trial with: the folds after the first train without
# them, so TensorBoard shows one fold's curves and the trial's checkpoint holds one fold's model.
FIRST_FOLD_CALLBACKS = (keras.callbacks.TensorBoard, hparams_api.KerasCallback, SaveBestEpoch)


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
        return run.build_network(replace(
            split, hyperparameters={**split.hyperparameters, **arguments}, config=config))

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
        """Train builder `arguments` on every split: the objective of each, and the objective and
        best epoch averaged. Raises `Diverged` for a split whose loss diverged."""
        results = []
        for i, split in enumerate(self.splits):
            if i > 0:
                callbacks = later_folds(callbacks)
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
    return [replace(prepared, preprocessing=preprocessing, arrays=arrays)
            for preprocessing, arrays in (
                run.fit_preprocessing(prepared.dataset, fit, {"train": fit, "val": val},
                                      **prepared.preprocessing.options)
                for fit, val in preprocess.folds(prepared.dataset, [splits.train, splits.val],
                                                 folds, seed=prepared.config.seed))]


def fit_and_score(model, split, objective, callbacks, epochs=None, initial_epoch=0):
    """Train on the split's training rows with early stopping, score on its validation rows."""
    result = train.train(model, split.arrays["train"], split.arrays["val"], split.config,
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
    """`run`'s callbacks without its checkpoint: keras-tuner saves each trial's best epoch itself.

    keras-tuner moves the TensorBoard logs to logs/TRIAL/executionN and adds its HParams callback.
    """
    return standard_callbacks.standard(config, out, checkpoint=False)


def later_folds(callbacks):
    """`callbacks` as the folds after the first, and the rescoring, get them: without
    keras-tuner's logging and checkpointing (FIRST_FOLD_CALLBACKS)."""
    return [c for c in callbacks if not isinstance(c, FIRST_FOLD_CALLBACKS)]
