"""keras-tuner's three algorithms against each other and against the untuned recipe default.

    python -m benchmarks.tuning            # writes reports/tuning.md, .json and .png
    python -m benchmarks.tuning --quick    # 2 trials of 2 epochs each: a smoke run, prints only

For one tabular and one image recipe, random search, Hyperband and Bayesian optimisation each get
the same budget (trials, epochs per trial, seed) and run exactly as `python -m recipes tune NAME
--tuner T --max-trials N --epochs E [--folds K]` does, one after the other in this process. The
table (boston-housing, 404 rows to search on) is scored by 5-fold cross-validation, except by
Hyperband, which takes no folds; the images by their validation split.

Reported per tuner: the best validation score, when the search first came within 1% of the best
score any tuner found (wall seconds since the command started: Bayesian's model fitting and every
trial's start-up count), which configuration `tune` kept (the search's best, or the default when
the search's did not beat it by more than the folds' noise when both were scored again), search
wall time, epochs trained, the size of the search folder (one
checkpoint is kept) and how much this process grew during the search. Then the test metric of
the kept configuration against the recipe default's: as `tune` retrained them (seed 0), and
averaged over REPEATS retrainings from other initial weights, since one retraining on a test
split of ~100 rows moves by more than the difference between two good configurations.

Hyperband held to a trial budget spends it in its first bracket: many configurations trained
for a few epochs each, so it finishes soonest and judges on short training.
"""

import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

import zoo
from benchmarks import common
from recipes.choices import TUNERS
from recipes.errors import UserError
from recipes.evaluation import evaluate, plots  # noqa: F401  (plots: matplotlib's backend)
from recipes.runs import artifacts
from recipes.tuning import TuneOptions, report, select, tune, tuners
from recipes.workflow import run
from recipes.workflow.prepare import prepare

import matplotlib.pyplot as plt  # noqa: E402  (after recipes.evaluation.plots)

RECIPES = {"boston-housing": {"epochs": 100, "folds": 5},  # per trial
           "digits-cnn": {"epochs": 30, "folds": 1}}
TRIALS = 10
REPEATS = 10  # retrainings of the kept and the default configuration, for their mean test metric
QUICK = {"trials": 2, "epochs": 2, "repeats": 2}
NEAR_BEST = 0.01  # "got there": within 1% of the best validation score any tuner found


def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS"))


def folder_kb(path):
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 1024


def search(name, tuner, trials, epochs, folds, repeats, root):
    """One `tune` run; returns its row, with each trial's end time for the race to the best."""
    out = root / name / tuner
    folds = 1 if tuner == "hyperband" else folds  # Hyperband takes no folds
    ended, memory = [], []  # wall time and resident MB at each trial's end (once reported)

    def clocked(trial):
        ended.append(time.perf_counter() - start)
        memory.append(rss_mb())

    start = time.perf_counter()
    options = run.RunOptions(epochs=epochs, out=out, quiet=True, loop="fit")
    metrics = tune(name, options, TuneOptions(tuner=tuner, max_trials=trials, folds=folds),
                   after_trial=clocked)
    wall = time.perf_counter() - start
    table = pd.read_csv(out / report.TRIALS_FILE)  # trials run one after another: id = end order
    key, tuned, _ = evaluate.headline(metrics)
    direction = zoo.task(metrics["task"]).direction
    scores = table["score"].where(table["status"] == "COMPLETED")
    best_so_far = scores.cummax() if direction == "max" else scores.cummin()
    return {"recipe": name, "tuner": tuner, "objective": metrics["objective"], "metric": key,
            "direction": direction,
            "scored_by": f"{folds}-fold CV" if folds > 1 else "validation split",
            "max_epochs": epochs, "trials": int(scores.notna().sum()),
            "epochs_trained": int(table["epochs"].sum()),
            "best_validation": metrics["best_trial_score"], "kept": metrics["chosen"],
            "rescored_gain": metrics["gain"], "margin": metrics["margin"],
            "tuned_test": tuned, "default_test": metrics["default"]["test"][key],
            **retest(name, options, metrics, key, direction, repeats),
            "tuned_hyperparameters": metrics["hyperparameters"],
            "search_seconds": metrics["search_seconds"], "wall_seconds": round(wall, 1),
            "search_folder_kb": round(folder_kb(out / tuners.SEARCH_DIR), 1),
            # from the first trial's end to the last's
            "memory_growth_mb": round(memory[-1] - memory[0], 1),
            "memory_mb": [round(m, 1) for m in memory],
            "race": [[round(t, 1), s] for t, s in zip(ended, best_so_far)]}


def retest(name, options, metrics, key, direction, repeats):
    """The kept and the default configuration retrained as `tune` retrains them (same split and
    epochs) from `repeats` other initial weights, seed by seed: each one's test metric's mean and
    spread, and the kept one's gain over the default paired by seed (the same seed gives two
    configurations of one architecture the same initial weights), with its standard error."""
    plan, loaded = prepare(name, options)
    found, values = {}, {}
    for which, result in (("tuned", metrics), ("default", metrics["default"])):
        values[which] = retrained(name, plan, loaded, result["hyperparameters"],
                                  result["epochs_run"], key, repeats)
        found[f"{which}_test_mean"] = float(np.mean(values[which]))
        found[f"{which}_test_std"] = float(np.std(values[which]))
    gains = np.subtract(values["tuned"], values["default"]) * (1 if direction == "max" else -1)
    found["test_gain"] = float(gains.mean())
    found["test_gain_se"] = float(gains.std(ddof=1) / np.sqrt(repeats)) if repeats > 1 else 0.0
    return found


RETRAINED = {}  # the default (or a kept default) comes back for every tuner: retrain it once


def retrained(name, plan, loaded, hyperparameters, epochs, key, repeats):
    """Test `key` of `hyperparameters` trained on train + validation for `epochs`, seeds
    1..repeats, scored as `tune` scores its retrained model (evaluate.test_metrics)."""
    config = json.dumps([name, hyperparameters, epochs, repeats], sort_keys=True)
    if config not in RETRAINED:
        RETRAINED[config] = []
        for seed in range(1, repeats + 1):
            seeded = replace(plan, config=replace(plan.config, seed=seed))
            tuned, network, _ = select.retrain(seeded, loaded, hyperparameters, epochs)
            test, _, _ = evaluate.test_metrics(tuned, loaded, network)
            RETRAINED[config].append(test[key])
    return RETRAINED[config]


def race(rows):
    """Each tuner's first time within NEAR_BEST of the best validation score that the other
    tuners scoring the same way found (cross-validated and split scores don't compare); None for
    a tuner that never got there, or that no other tuner scored like."""
    maximise = rows[0]["direction"] == "max"
    for row in rows:
        peers = [r["best_validation"] for r in rows if r["scored_by"] == row["scored_by"]]
        best = (max if maximise else min)(peers)
        target = best * (1 - NEAR_BEST) if maximise else best * (1 + NEAR_BEST)
        row["seconds_to_near_best"] = None if len(peers) == 1 else next(
            (t for t, s in row["race"] if (s >= target if maximise else s <= target)), None)
    finishers = [r for r in rows if r["seconds_to_near_best"] is not None]
    return min(finishers, key=lambda r: r["seconds_to_near_best"])["tuner"]


def beats(row):
    """The kept configuration's mean test metric over the retrainings beats the default's."""
    return row["test_gain"] > 0


def plot(results, path):
    """Best validation score so far against wall time: one panel per recipe, one line per tuner."""
    figure, panels = plt.subplots(1, len(results), figsize=(6 * len(results), 4), squeeze=False)
    for axes, (name, rows) in zip(panels[0], results.items()):
        for row in rows:
            times, scores = zip(*row["race"])
            axes.step(times, scores, where="post", marker="o", label=row["tuner"])
        axes.set(title=name, xlabel="seconds since start", ylabel=rows[0]["objective"])
        axes.grid(alpha=0.3)
        axes.legend()
    artifacts.save_figure(figure, path)
    plt.close(figure)


def markdown(results, skipped, seconds, repeats, ran_on):
    lines = ["# Tuning: random search, Hyperband and Bayesian optimisation", "",
             f"Written by {common.written_by(__file__)}. Each tuner ran `python -m recipes tune` with the "
             "same budget per recipe: the trials and epochs per trial below (early stopping on "
             "validation), seed 0, each trial scored as the \"scored by\" column says. `tune` "
             "then scores the search's best configuration and the recipe's default again, the "
             "same way, and keeps the search's only if its gain over the default beats the "
             "margin, one standard error of the paired per-fold gains (0 without folds): "
             "\"kept (gain / margin)\". It retrains both on train + validation and "
             "tests them (\"tune's test\": kept vs default). The \"retrainings\" column retrains "
             f"both {repeats} more times from other initial weights (seeds 1-{repeats}): mean "
             "± std of the test metric, and the kept configuration's gain over the default "
             "paired by seed, ± its standard error (positive: the kept one is better). "
             "\"Near best\": wall seconds until the search first came within "
             f"{NEAR_BEST:.0%} of the best validation score of the tuners scoring the same way "
             "(n/a: no other tuner scored that way).",
             "", "| recipe | tuner | scored by | trials x epochs | epochs trained | "
             "best validation | near best (s) | search (s) | kept (gain / margin) | tune's test | "
             f"test, {repeats} retrainings: kept vs default | gain ± s.e. | search folder (KB) | "
             "memory, first to last trial (MB) |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    winners = {name: race(rows) for name, rows in results.items()}
    for rows in results.values():
        for r in rows:
            near = r["seconds_to_near_best"]
            alone = sum(o["scored_by"] == r["scored_by"] for o in rows) == 1
            near = "n/a" if alone else "never" if near is None else f"{near:.0f}"
            lines.append(
                f"| {r['recipe']} | {r['tuner']} | {r['scored_by']} | "
                f"{r['trials']} x {r['max_epochs']} | {r['epochs_trained']} | "
                f"{r['objective']} {r['best_validation']:.4f} | {near} | "
                f"{r['search_seconds']:.0f} | {r['kept']} ({r['rescored_gain']:+.4f} / "
                f"{r['margin']:.4f}) | {r['metric']} {r['tuned_test']:.4f} "
                f"vs {r['default_test']:.4f} | {r['tuned_test_mean']:.4f} ± "
                f"{r['tuned_test_std']:.4f} vs {r['default_test_mean']:.4f} ± "
                f"{r['default_test_std']:.4f} | {r['test_gain']:+.4f} ± {r['test_gain_se']:.4f} | "
                f"{r['search_folder_kb']:.0f} | "
                f"{r['memory_growth_mb']:.0f} |")
    lines.append("")
    for name, rows in results.items():
        better = [f"{r['tuner']} ({r['test_gain']:+.4f} ± {r['test_gain_se']:.4f})"
                  for r in rows if beats(r)]
        lines.append(f"- **{name}**: fastest to near best: {winners[name]}. The kept "
                     f"configuration beats the default on mean test {rows[0]['metric']} with: "
                     f"{', '.join(better) or 'no tuner'}.")
    for name, reason in skipped.items():
        lines.append(f"- **{name}** skipped: {reason}")
    lines += ["", "![best validation score so far against time](tuning.png)", "",
              common.wall_time_line(seconds, ran_on) + " One run per tuner on a machine other "
              "jobs may share: seconds are indicative. Memory: this process's resident size at the "
              "last trial's end minus at the first's (keras-tuner's and TensorFlow's one-time "
              "start-up is in the first trial).", "", "## grid (scikit-learn GridSearchCV)", "",
              "`python -m recipes grid` on dev-suite CSVs, with its wall time: "
              "[grid.md](grid.md), written by `python -m benchmarks.grid_search`."]
    return "\n".join(lines) + "\n"


def available(name):
    """None if the recipe's data can be had here, else why not."""
    try:
        prepare(name, run.RunOptions(quiet=True, loop="fit"))
    except UserError as error:
        return str(error)
    return None


def main():
    parser = common.arguments(__file__, __doc__, quick=f"{QUICK['trials']} trials of "
                              f"{QUICK['epochs']} epochs, {QUICK['repeats']} retrainings")
    common.add_recipes(parser, RECIPES)
    parser.add_argument("--trials", type=int, default=TRIALS, help=f"per tuner (default: {TRIALS})")
    args = parser.parse_args()
    start = time.perf_counter()
    results, skipped = {}, {}
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.recipes:
            reason = available(name)
            if reason:
                skipped[name] = reason
                print(f"{name}: skipped: {reason}", flush=True)
                continue
            budget = {"epochs": 30, "folds": 1, **RECIPES.get(name, {}), "trials": args.trials,
                      "repeats": REPEATS, **(QUICK if args.quick else {})}
            results[name] = []
            for tuner in TUNERS:
                print(f"{name}: {tuner}, {budget['trials']} trials of at most {budget['epochs']} "
                      "epochs", flush=True)
                results[name].append(search(name, tuner, budget["trials"], budget["epochs"],
                                            budget["folds"], budget["repeats"], Path(workdir)))
    report_text = markdown(results, skipped, time.perf_counter() - start,
                           QUICK["repeats"] if args.quick else REPEATS, common.machine())
    common.finish(args, "tuning", report_text, {"results": results, "skipped": skipped},
                  {"tuning.png": lambda path: plot(results, path)})


if __name__ == "__main__":
    main()
