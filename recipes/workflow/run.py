"""`python -m recipes run NAME`: prepare, build, train, evaluate, write the run.

This module reads top to bottom as a run goes. Everything that can be wrong with the user's input
is checked before anything is written (recipes/workflow/rules.py, then what the data says in
recipes/workflow/prepare.py), and a run trains and writes in a staging folder promoted into
`--out` only once complete (recipes/runs/rundir.py), so a bad, diverged or killed run leaves
`--out` as it was. The model it saves takes raw columns (or uint8 images): the fitted
preprocessing, the trained zoo network and the task's answer in one graph
(recipes/features/encoding.py, written by recipes/workflow/save.py).
"""

from dataclasses import dataclass, field, replace
from pathlib import Path

import zoo
from recipes.evaluation import evaluate
from recipes.runs import rundir
from recipes.serving import export
from recipes.training import callbacks, train
from recipes.workflow import choice
from recipes.workflow.refit import refit_linear
from recipes.data.dataset import DataOptions
from recipes.workflow.prepare import build_network, prepare
from recipes.workflow.save import run_request, write_run


@dataclass(frozen=True)
class RunOptions:
    """What the command line can change about a recipe; None means the recipe's default."""

    epochs: int | None = None
    batch_size: int | None = None
    seed: int = 0
    api: str = "functional"
    loop: str | None = None  # None: the recipe's (fit; scratch for linear- and softmax-scratch)
    model: str | None = None
    hyperparameters: dict = field(default_factory=dict)  # --set NAME=VALUE, over the recipe's
    data: DataOptions = DataOptions()
    out: Path | None = None
    quiet: bool = False
    mixed_precision: bool | None = None  # the device's fast mixed policy; None: the recipe's
    jit: bool | None = None  # XLA on or off; None: Keras' choice (on for one GPU, off on CPU)
    augment: bool | None = None  # random shifts/rotations of training images; None: the recipe's
    export: bool = False  # also export the run for serving, into OUT/export (recipes/serving/export.py)
    deterministic: bool = False  # TensorFlow's op determinism: bit-identical reruns on CPU
    resume: bool = False  # back up every epoch; continue the run interrupted in OUT, if any
    overwrite: bool = False  # replace a different run (or write beside other files) in OUT
    target_transform: str | None = None  # features.targets.fit_scale's; None: the recipe's
    class_weight: str | None = None  # "balanced": weigh each class's loss by its rarity
    ensemble: int = 1  # networks trained from different seeds, their outputs averaged (`ensemble`)


def run(name, options):
    """Train recipe `name` and write its run into `options.out`; returns metrics.json.

    The network trains in OUT/.staging, where the run is written too; it moves into OUT when all
    is written (rundir.staged). A loss that becomes NaN raises `errors.Diverged`.
    """
    plan, loaded = prepare(name, options)
    network = build_network(plan, loaded)  # a wrong hyperparameter fails here, before any writing
    out = Path(options.out or rundir.RUNS_DIR / name)
    with rundir.staged(out, run_request(plan, loaded, options), resume=options.resume,
                       overwrite=options.overwrite, entries=rundir.RUN_ENTRIES) as staging:
        if callbacks.resumed_after(staging) and not options.quiet:
            print(f"{name}: resuming the run in {out} after epoch {callbacks.resumed_after(staging)}")
        result = train.train(network, loaded.sources["train"], loaded.sources["val"],
                             plan.config, callbacks=callbacks.standard(plan.config, staging))
        result = callbacks.whole_run(result, staging, examples=len(loaded.sources["train"]))
        result, refit = refitted(plan, loaded, network, result)
        plan, network, result, made = chosen(plan, loaded, network, result, options)
        if made is not None and made.chosen:
            refit = None  # the first network's, not the kept one's
        members = [(network, result)] + [train_member(plan, loaded, index, options.quiet)
                                         for index in range(1, options.ensemble)]
        if len(members) > 1:
            network = zoo.average([member for member, _ in members])
            result = replace(result, seconds=sum(r.seconds for _, r in members))
        metrics = evaluate.evaluate(plan, loaded, network, result)
        if refit is not None:
            metrics["refit"] = refit.metrics()
        if made is not None:
            metrics["choice"] = made.metrics()
        if len(members) > 1:
            metrics["ensemble"] = {"members": len(members), "seeds": [
                member_seed(plan, i) for i in range(len(members))],
                "epochs_run": [r.epochs_run for _, r in members]}
        write_run(staging, plan, loaded, network, result, metrics)
        if options.export:
            export.export(staging)
    return metrics


def refitted(plan, loaded, network, result):
    """After the training of `result`, the second stage of a network with linear paths
    (recipes/training/refit.py): (`result` with the stage's seconds added, its `Refit` or
    None)."""
    refit = refit_linear(network, loaded.sources["train"], loaded.sources["val"], plan.config,
                         plan.task)
    if refit is None:
        return result, None
    if not plan.config.quiet:
        print(f"refit: the linear paths trained {refit.epochs_run} more epochs alone; validation "
              f"loss {refit.val_loss_before:.4g} -> {refit.val_loss_after:.4g}"
              f"{'' if refit.kept else ' (no better: the first stage kept)'}")
    return replace(result, seconds=result.seconds + refit.seconds), refit


def chosen(plan, loaded, network, result, options):
    """On a small table, the recipe's network (`network`, trained as `result`) or an
    alternative's, whichever scores best on validation (recipes/workflow/choice.py):
    (plan, network, result, `Choice`), the result's seconds those of all the networks trained;
    as they came, with None, where there is no alternative to try."""
    tried = choice.alternatives(plan, loaded, options.hyperparameters)
    if not tried:
        return plan, network, result, None
    trained = [(plan, network, result, choice.validation_score(plan, loaded, network))]
    for alternative in tried:
        if not options.quiet:
            print("choice: a small table, so also training "
                  f"{choice.described(choice.overrides(plan, alternative))}")
        other, other_result = train_again(alternative, loaded)
        trained.append((alternative, other, other_result,
                        choice.validation_score(alternative, loaded, other)))
    (plan, network, kept, _), made = choice.choose(plan, trained)
    if not options.quiet:
        print(made.summary())
    return plan, network, replace(kept, seconds=sum(r.seconds for _, _, r, _ in trained)), made


MEMBER_SEED_STEP = 1000  # --ensemble's network i trains from seed + 1000 i: on the same split


def member_seed(plan, index):
    return plan.config.seed + MEMBER_SEED_STEP * index


def train_member(plan, loaded, index, quiet):
    """Network `index` of a seed ensemble: built and trained from its own seed (initialisation,
    dropout, epoch order) on the run's split, with early stopping; (network, TrainResult).

    A seed ensemble averages away what one initialisation's luck adds: measured on the dev
    suite's validation splits, 5 networks cut bike sharing's MAE 4% and california's 3%, for 5x
    the training time; bank marketing and heart disease gained nothing (docs/your-own-csv.md)."""
    member = replace(plan, config=replace(plan.config, seed=member_seed(plan, index)))
    if not quiet:
        print(f"ensemble: training network {index + 1} (seed {member.config.seed})")
    return train_again(member, loaded)


def train_again(plan, loaded):
    """Another network of the run, from `plan`: built and trained on the run's split with early
    stopping, its linear paths refitted; (network, TrainResult). It keeps no backups: a resumed
    run trains it again."""
    network = build_network(plan, loaded)
    result = train.train(network, loaded.sources["train"], loaded.sources["val"], plan.config,
                         callbacks=callbacks.make(plan.config, early_stopping=True))
    return network, refitted(plan, loaded, network, result)[0]
