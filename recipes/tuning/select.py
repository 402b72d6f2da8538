"""After the search: keep its best configuration or the recipe's default, and retrain the kept.

The best trial's score is the best of many noisy ones. `select` scores it again beside the
recipe's default, by the same splits and seeds, and keeps the search's result only if it still
wins, by more than the folds' noise. `retrain` then trains a configuration on train + validation
for the epoch count early stopping chose on validation.
"""

from dataclasses import dataclass, replace

import keras
import numpy as np

from recipes.training import callbacks, train
from recipes.workflow.prepare import annealed, build_network
from recipes.errors import Diverged


@dataclass(frozen=True)
class Selection:
    scores: dict  # "search" | "default" -> ZooHyperModel.score's result, scored again
    gain: float  # the search's best over the default (positive: better)
    margin: float  # what the gain must beat for the search's best to be kept

    @property
    def chosen(self):
        return "search" if self.gain > self.margin else "default"

    def epochs(self, which):
        """What `retrain` trains `which` for: where early stopping found it best, on average."""
        return max(1, round(self.scores[which]["best_epoch"]))


def select(hypermodel, searched, trial_callbacks, seed):
    """Score builder arguments `searched` and the recipe's default ({}) again, the same way."""
    scores = {"search": rescore(hypermodel, searched, trial_callbacks, seed),
              "default": rescore(hypermodel, {}, trial_callbacks, seed)}
    return Selection(scores, *gain_and_margin(scores["search"], scores["default"],
                                              hypermodel.objective))


def rescore(hypermodel, arguments, trial_callbacks, seed):
    """Score builder `arguments` afresh, from the same seed for every configuration."""
    keras.utils.set_random_seed(seed)
    try:
        return hypermodel.score(arguments, trial_callbacks)
    except Diverged as error:
        raise Diverged(f"scored again, {arguments or 'the recipe default'}: {error}") from None


def gain_and_margin(search, default, objective):
    """The search's best's gain over the default when both were scored again (positive: better),
    and the margin it must beat to be kept: with folds, one standard error of the paired per-fold
    gains (the one-standard-error rule of glmnet's lambda.1se), since a gain within it is the luck
    of one initialisation. One split gives no error: 0."""
    sign = 1 if objective.direction == "max" else -1
    gains = sign * np.subtract(search["per_split"], default["per_split"])
    margin = float(gains.std(ddof=1) / np.sqrt(len(gains))) if len(gains) > 1 else 0.0
    return float(gains.mean()), margin


def retrain(plan, loaded, arguments, epochs):
    """Build `arguments` over the plan's and train it on train + validation for `epochs`, a
    fixed number: no data is left to stop on. Returns the plan with `arguments`, the network
    and its `TrainResult`."""
    rows = loaded.sources["train"].joined(loaded.sources["val"])
    plan = annealed(plan, len(rows))  # `arguments` may pin decay_steps
    plan = replace(plan, hyperparameters={**plan.hyperparameters, **arguments})
    network = build_network(plan, loaded)
    result = train.train(network, rows, None, plan.config, epochs=epochs, callbacks=callbacks.make(
        plan.config, progress=not plan.config.quiet, epochs=epochs))
    return plan, network, result
