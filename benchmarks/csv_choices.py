"""How the csv recipe's defaults are chosen: candidates on the dev suite's validation splits,
one score over all files, and a leave-one-file-out check of the rule.

    python -m benchmarks.csv_choices            # reports/csv_choices.md and .json (pip install .[bench])
    python -m benchmarks.csv_choices --quick    # 1 seed, 2 files, 3 epochs: prints only
    python -m benchmarks.csv_choices --reuse    # train only candidates the last report lacks

For each dev-suite CSV (benchmarks/csv_suite.py's DEV_SUITE) and each seed's split: every
candidate of CANDIDATES (the recipe with some hyperparameters set, as `--set` sets them) trains
as `python -m recipes run csv` trains it, on train with early stopping on validation, and is
scored on the validation rows through its saved model, as `predict` answers; the peers of
benchmarks/peers.py (and the run's linear baseline) fit on the training rows alone and are
scored on the same validation rows. Nothing here looks at a test score to choose.

The score of a candidate: the geometric mean over files of its validation error (MAE, or 1 -
accuracy) over the best peer's, a number that weighs every file alike whatever its units, and a
gain on one file as much as the same loss on another. The score's pick: the candidate with the
lowest score, unless the recipe's current default is within TIE of it (a change must earn its
place). Leave-one-file-out: for each file F the score's pick is made without F, and the report
says how often it does at least as well as the current default on F's validation rows (and,
only to report, never to choose, on F's test rows). A pick is adopted only where that held for
more than half the files: a few files can move a mean, and what counts is the file nobody has
seen.

`--reuse` takes the runs of each candidate that reports/csv_choices.json already holds with the
same hyperparameters (same files and seeds) and trains only the others: a run is deterministic
on CPU for its seed (measured: the same validation and test errors to the last digit), so a
new candidate costs its own runs alone. Only while the recipe's training code is unchanged since
that report; the peers are always fitted again.
"""

import json
import tempfile
import time
from pathlib import Path

import numpy as np

import zoo
from benchmarks import common, peers
from benchmarks.csv_suite import DEV_SUITE, error, geometric_mean
from recipes.data.dataset import DataOptions
from recipes.evaluation import baselines
from recipes.evaluation.evaluate import sklearn_view
from recipes.runs import rundir
from recipes.serving.predict import predict_frame
from recipes.workflow.prepare import prepare
from recipes.workflow.run import RunOptions, run

CURRENT = "default"  # the recipe as recipes/catalog.py has it
CANDIDATES = {  # name -> the hyperparameters set on top of the recipe's
    CURRENT: {},
    "periodic 0.1": {"numeric_embedding": "periodic", "embedding_scale": 0.1},
    "periodic 1": {"numeric_embedding": "periodic", "embedding_scale": 1.0},
    "members 8": {"members": 8},
    "smooth clip": {"smooth_clip": True},
}
SEEDS = (0, 1, 2)
TIE = 0.005  # scores within this of the current default's do not change it
ERROR_FLOOR = 0.001  # an error rate under 0.1% (a perfect split) counts as 0.1%


def validation_score(out, loaded, task):
    """The saved run's headline on the validation rows, as `predict` answers them."""
    answers = predict_frame(rundir.load(out), loaded.splits.val.features)["prediction"]
    truth = np.asarray(loaded.splits.val.target)
    if task.classification:
        return float(baselines.headline_metric(task)(truth.astype(str),
                                                      np.asarray(answers).astype(str)))
    return float(baselines.headline_metric(task)(truth, np.asarray(answers, dtype="float64")))


def peers_on_validation(plan, loaded, seed):
    """Each peer's validation headline, fitted on the training rows alone; the linear
    baseline's too."""
    found = {peer: peers.fit_and_score(peer, plan, loaded, seed, fit_on=("train",),
                                       score_on="val")[0] for peer in peers.available()}
    linear = baselines.baseline(plan.task, seed, sklearn_view(loaded, "train", plan.task),
                                sklearn_view(loaded, "val", plan.task))
    return {**found, "linear": float(linear[plan.task.headline])}


def one_file(path, candidates, seeds, epochs, workdir, stored=None):
    """Per seed: each candidate's validation and test headline and training seconds, and the
    best peer's validation headline. `stored`: runs to take as they are (`reusable`'s)."""
    target, task_name = DEV_SUITE[path.name]
    data = DataOptions(path=str(path), target=target.strip(), task=task_name)
    seeds_found = []
    for seed in seeds:
        # one split and preprocessing per seed: the candidates' hyperparameters change neither
        plan, loaded = prepare("csv", RunOptions(data=data, seed=seed, quiet=True))
        key, pinned = plan.task.headline, alternatives_pinned(plan)
        found = {"candidates": dict((stored or {}).get((path.name, seed), {}))}
        for name, hyperparameters in candidates.items():
            if name in found["candidates"]:
                continue
            out = Path(workdir) / f"{path.stem}-{seed}-{name.replace(' ', '_')}"
            metrics = run("csv", RunOptions(data=data, seed=seed, epochs=epochs, quiet=True,
                                            out=out,
                                            hyperparameters={**pinned, **hyperparameters}))
            found["candidates"][name] = {
                "val": validation_score(out, loaded, plan.task), "test": metrics["test"][key],
                "seconds": metrics["train_seconds"]}
        found["candidates"] = {name: found["candidates"][name] for name in candidates}
        others = peers_on_validation(plan, loaded, seed)
        found["best_peer_val"] = (max if key == "accuracy" else min)(others.values())
        seeds_found.append(found)
    return {"file": path.name, "metric": key, "seeds": seeds_found}


def alternatives_pinned(plan):
    """The hyperparameters of the recipe's small-table alternatives (recipes/workflow/choice.py)
    at the builder's defaults, as --set pins them: a candidate is one configuration, so no run
    here chooses between two on the validation rows it is scored on."""
    defaults = zoo.hyperparameters(plan.model_name)
    return {key: defaults[key] for alternative in plan.recipe.alternatives for key in alternative}


def reusable(report, candidates):
    """From an earlier report's JSON: {(file, seed): {candidate: its run}} for the candidates of
    `candidates` it ran with the same hyperparameters, and their names."""
    same = [name for name, values in report.get("candidates", {}).items()
            if candidates.get(name) == values]
    return same, {(result["file"], seed): {name: found["candidates"][name] for name in same}
                  for result in report.get("results", [])
                  for seed, found in zip(report["seeds"], result["seeds"])}


def ratios(result, part="val"):
    """Per candidate: its mean error over seeds on `part` over the best peer's mean validation
    error (for `part` "test": over the current default's mean test error). An error rate under
    ERROR_FLOOR counts as ERROR_FLOOR, so that a perfect split does not divide by zero."""
    key = result["metric"]

    def mean_error(values):
        values = [error(key, value) for value in values]
        return max(float(np.mean(values)), ERROR_FLOOR if key == "accuracy" else 0.0)

    def part_error(name, which):
        return mean_error([found["candidates"][name][which] for found in result["seeds"]])

    base = (mean_error([found["best_peer_val"] for found in result["seeds"]]) if part == "val"
            else part_error(CURRENT, "test"))
    return {name: part_error(name, part) / base for name in result["seeds"][0]["candidates"]}


def pick(scores):
    """The rule: the lowest score, unless the current default is within TIE of it."""
    best = min(scores, key=scores.get)
    return CURRENT if scores[CURRENT] <= scores[best] + TIE else best


def study(results):
    """The scores over all files, the pick, and the leave-one-file-out check."""
    val = {r["file"]: ratios(r) for r in results}
    test = {r["file"]: ratios(r, "test") for r in results}
    names = list(next(iter(val.values())))
    scores = {name: geometric_mean([v[name] for v in val.values()]) for name in names}
    held_out = []
    for file in val:
        rest = {name: geometric_mean([v[name] for f, v in val.items() if f != file])
                for name in names}
        chosen = pick(rest)
        held_out.append({"file": file, "chosen": chosen,
                         "val_helped": val[file][chosen] <= val[file][CURRENT],
                         "test_helped": test[file][chosen] <= 1.0,
                         "val_change": val[file][chosen] / val[file][CURRENT] - 1,
                         "test_change": test[file][chosen] - 1})
    chosen = pick(scores)
    helped = sum(h["val_helped"] for h in held_out)
    return {"scores": scores, "chosen": chosen, "val_ratios": val, "test_ratios": test,
            "held_out": held_out, "held_out_helped": helped,
            "adopted": chosen if helped > len(held_out) / 2 else CURRENT}


def markdown(results, found, seeds, seconds, ran_on, reused=()):
    names = list(found["scores"])
    changed = [h for h in found["held_out"] if h["chosen"] != CURRENT]
    lines = [
        "# How the csv recipe's defaults are chosen: validation splits, leave-one-file-out",
        "",
        f"Written by {common.written_by(__file__)} (its docstring says how); seeds "
        f"{', '.join(map(str, seeds))}; {len(results)} dev files; {seconds / 60:.1f} min on "
        f"{common.machine_line(ran_on)}" + (
            f" (the runs of {', '.join(reused)} were taken from the previous report, "
            f"`--reuse`; the minutes count the rest)." if reused else "."),
        "",
        "Each cell: a candidate's validation error (mean over seeds) over the best peer's "
        "(the best of HistGradientBoosting, LightGBM, CatBoost and linear on each seed's split, "
        "fitted on its training rows alone; mean over seeds); lower "
        "is better, under 1 beats every peer. The score is the geometric mean over files. Test errors "
        "chose nothing; the last columns report them, over the current default's.",
        "",
        "| file | metric | " + " | ".join(f"{n} (val)" for n in names) + " | " +
        " | ".join(f"{n} (test / default's)" for n in names if n != CURRENT) + " |",
        "|---|---|" + "---|" * (2 * len(names) - 1),
    ]
    for r in results:
        v, t = found["val_ratios"][r["file"]], found["test_ratios"][r["file"]]
        lines.append(f"| {r['file']} | {r['metric']} | " +
                     " | ".join(f"{v[n]:.3f}" for n in names) + " | " +
                     " | ".join(f"{t[n]:.3f}" for n in names if n != CURRENT) + " |")
    lines += [f"| **score** | | " + " | ".join(f"**{found['scores'][n]:.4f}**" for n in names) +
              " | " + " | ".join("" for n in names if n != CURRENT) + " |", "",
              f"The score picks **{found['chosen']}** (the current default stays unless a "
              f"candidate's score is lower by more than {TIE}). Held out one at a time, the "
              f"pick made without the file did at least as well as the current default on its "
              f"validation rows for {found['held_out_helped']} of {len(results)} files: "
              f"**adopted: {found['adopted']}** (a pick is adopted where that holds for more "
              f"than half).", "",
              "## Leave-one-file-out", "",
              f"With each file held out, the score on the other {len(results) - 1} picked a "
              f"change from the current default for {len(changed)} of {len(results)} files; "
              f"of those, it did at least as well as the default on the held-out file's "
              f"validation rows for {sum(h['val_helped'] for h in changed)} and on its test "
              f"rows for {sum(h['test_helped'] for h in changed)}.", "",
              "| held-out file | picked without it | validation error change | test error change |",
              "|---|---|---|---|"]
    for h in found["held_out"]:
        lines.append(f"| {h['file']} | {h['chosen']} | {h['val_change']:+.1%} | "
                     f"{h['test_change']:+.1%} |")
    mean_seconds = {n: np.mean([s["candidates"][n]["seconds"] for r in results
                                for s in r["seeds"]]) for n in names}
    lines += ["", "Mean training seconds per run: " +
              ", ".join(f"{n} {mean_seconds[n]:.1f}" for n in names) + "."]
    return "\n".join(lines) + "\n"


def main():
    parser = common.arguments(__file__, __doc__, quick="1 seed, 2 files, 3 epochs")
    common.add_dev_suite(parser)
    parser.add_argument("--files", type=lambda text: text.split(","), default=list(DEV_SUITE),
                        help="comma-separated dev-suite files (default: all sixteen)")
    parser.add_argument("--reuse", action="store_true",
                        help="take the runs of candidates unchanged since the last report "
                        "(REPORTS/csv_choices.json) and train only the others")
    args = parser.parse_args()
    if args.reuse and args.quick:
        parser.error("--reuse takes a report's full runs; --quick trains 3 epochs")
    reports_json = args.reports / "csv_choices.json"
    reused, stored = (reusable(json.loads(reports_json.read_text()), CANDIDATES)
                      if args.reuse and reports_json.is_file() else ([], {}))
    files = ["heart_disease.csv", "concrete_strength.csv"] if args.quick else args.files
    paths = common.dev_suite(args.data_dir, files)
    seeds, epochs = (SEEDS[:1], 3) if args.quick else (SEEDS, None)
    start = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        for path in paths:
            results.append(one_file(path, CANDIDATES, seeds, epochs, workdir, stored))
            print(path.name, {k: round(v, 3) for k, v in ratios(results[-1]).items()},
                  flush=True)
    found = study(results)
    seconds, ran_on = time.perf_counter() - start, common.machine()
    common.finish(args, "csv_choices",
                  markdown(results, found, seeds, seconds, ran_on, reused),
                  {"seeds": list(seeds), "seconds": seconds, "machine": ran_on,
                   "candidates": CANDIDATES, "reused": reused, "results": results, **found})


if __name__ == "__main__":
    main()
