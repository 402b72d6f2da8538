"""On a small table, the recipe's own hyperparameters or an alternative set
(`Recipe.alternatives`), whichever does better on the file's validation rows.

Why: the dev suite's validation study (benchmarks/csv_choices.py) found no change of default
that helps on most files, but some that help a lot on a few: periodic embeddings of the numbers
cut concrete's validation error by 27% and lost 15% on loan approval. Which kind of table a
user's file is, the file itself can say. On a small table a network trains in seconds, so `run`
trains the recipe's network and each alternative on the same split and keeps the one whose
served answers score best on the validation split, the rows early stopping already watches
(the first in the recipe's order on a tie). The test split plays no part. On a large table each
network costs minutes, and one set of defaults is what the study chose.

An alternative is tried only where the user left its hyperparameters alone (no --set of any of
them) and the run trains the recipe's own model (no --model naming another).
"""

from dataclasses import dataclass, replace

from recipes.evaluation import evaluate
from recipes.sources.arrays import Arrays
from recipes.workflow.prepare import recipes_model

# Rows of the whole table (train + validation + test) under which the alternatives are tried:
# the "small table", where the dev suite's networks trained in 2-7 s each.
SMALL_TABLE_ROWS = 2_000


@dataclass(frozen=True)
class Choice:
    """What was tried and kept, for metrics.json."""

    headline: str  # the validation score's name: val_accuracy, val_mae
    candidates: list  # per candidate: its hyperparameters over the recipe's, score, epochs, seconds
    chosen: int  # index into candidates; 0: the recipe's own

    def metrics(self):
        return {"score": self.headline, "candidates": self.candidates, "chosen": self.chosen}

    def summary(self):
        """One line for the terminal: each candidate's score, and which was kept."""
        scores = "; ".join(f"{described(c['hyperparameters'])}: {c['score']:.4g}"
                           for c in self.candidates)
        return (f"choice: {self.headline} of {scores}; kept "
                f"{described(self.candidates[self.chosen]['hyperparameters'])}")


def overrides(plan, tried):
    """The hyperparameters of plan `tried` that differ from `plan`'s."""
    return {k: v for k, v in tried.hyperparameters.items() if plan.hyperparameters.get(k) != v}


def described(overrides):
    return ", ".join(f"{k}={v}" for k, v in overrides.items()) or "the recipe's own"


def alternatives(plan, loaded, asked):
    """The plans `run` tries beside `plan` (from the recipe's `alternatives`): none on a table of
    SMALL_TABLE_ROWS rows or more, on another model than the recipe's, or where `asked` (the
    user's --set values) sets any of an alternative's hyperparameters. None on a streamed file
    either: its splits in memory are samples, so its validation rows could not be scored."""
    rows = sum(len(loaded.sources[part]) for part in evaluate.PARTS)
    if (rows >= SMALL_TABLE_ROWS or not isinstance(loaded.sources["val"], Arrays)
            or plan.model_name != recipes_model(plan.recipe, plan.task)[0]):
        return []
    return [replace(plan, hyperparameters={**plan.hyperparameters, **alternative})
            for alternative in plan.recipe.alternatives if not alternative.keys() & asked.keys()]


def validation_score(plan, loaded, network):
    """The task's headline of `network`'s served answers on the validation split."""
    val = loaded.sources["val"]
    outputs, _ = val.predictions(network, plan.config.batch_size)
    return float(evaluate.served_headline(plan.task, loaded.preprocessing, outputs,
                                          loaded.splits.val.target))


def choose(plan, trained):
    """`trained`: [(plan, network, TrainResult, score)], the recipe's own first. Returns the
    best by score (the first on a tie) and a `Choice` that records them all."""
    best = 0
    for index, (_, _, _, score) in enumerate(trained):
        if plan.task.better(score, trained[best][3]):
            best = index
    candidates = [{"hyperparameters": overrides(plan, tried),
                   "score": round(score, 6), "epochs_run": result.epochs_run,
                   "seconds": round(result.seconds, 2)}
                  for tried, _, result, score in trained]
    return trained[best], Choice(f"val_{plan.task.headline}", candidates, best)
