"""The `grid` command (scikit-learn's GridSearchCV over the zoo's estimator) on dev-suite CSVs,
timed as a user runs it.

    python -m benchmarks.grid_search --data-dir ../shared/datasets/csv   # reports/grid.md, .json
    python -m benchmarks.grid_search --quick   # heart_disease.csv, 3 epochs: prints, writes nothing

For each file, one subprocess runs `python -m recipes grid csv --data FILE --target COLUMN
--param dropout=0,0.2 --param 'hidden_units=(64,),(256,256)' --cv 3 --seed 0 --quiet`, its wall
time measured around it (Python's and TensorFlow's start-up included). `grid` prepares the data
as `run` does (the same seeded split), scores every point of the grid by 3-fold cross-validation
over train + validation (stratified; each fit trains the recipe's epochs, no early stopping), then
retrains the best point on train + validation and tests it: the grid picks on cross-validation
folds of train + validation, never on test. From its folder: cv_results.csv (each point's folds,
mean, std, rank) and metrics.json (best parameters, the retrained model's test metric). For
comparison, one `python -m recipes run csv` on the same seed, same split: the recipe's default
(which is not a point of the grid), trained on train with early stopping on validation.
"""

import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmarks import common

FILES = {"heart_disease.csv": "target", "car_evaluation.csv": "class"}  # file -> target
GRID = {"dropout": "0,0.2", "hidden_units": "(64,),(256,256)"}  # the classic 2 x 2
CV = 3
SEED = 0
QUICK_EPOCHS = 3


def command(name, arguments):
    """`python -m recipes NAME ARGUMENTS --quiet --overwrite` (a kept folder may hold the last
    run's), as a user runs it; its wall seconds."""
    return common.recipes_command([name, *arguments, "--quiet", "--overwrite"])[0]


def benchmark(path, target, epochs, workdir):
    data = ["csv", "--data", str(path), "--target", target, "--seed", str(SEED),
            *(["--epochs", str(epochs)] if epochs else [])]
    grid_out, run_out = workdir / f"grid-{path.stem}", workdir / f"run-{path.stem}"
    load = os.getloadavg()[0]  # other jobs on the machine slow the wall time
    params = [argument for name, values in GRID.items()
              for argument in ("--param", f"{name}={values}")]
    grid_seconds = command("grid", [*data, *params, "--cv", str(CV), "--out", str(grid_out)])
    run_seconds = command("run", [*data, "--out", str(run_out)])
    grid = json.loads((grid_out / "metrics.json").read_text())
    default = json.loads((run_out / "metrics.json").read_text())
    best = json.loads((grid_out / "best_parameters.json").read_text())
    metric = best["metric"]
    table = pd.read_csv(grid_out / "cv_results.csv")
    top = table[table["rank"] == 1].iloc[0]  # GridSearchCV's best_index_: the first ranked 1
    assert abs(top[f"mean_{metric}"] - best["score"]) < 1e-9, (top, best)
    points = [{**{name: row[name] for name in GRID}, "mean": row[f"mean_{metric}"],
               "std": row[f"std_{metric}"], "rank": int(row["rank"]),
               "folds": [row[c] for c in table.columns if c.startswith("fold_")],
               "fit_seconds": row["fit_seconds"]} for _, row in table.iterrows()]
    return {"name": path.name, "target": target, "task": grid["task"], "metric": metric,
            "examples": grid["examples"], "points": len(table), "folds": grid["cv"],
            "epochs": grid["epochs_run"], "batch_size": grid["batch_size"],
            "best_parameters": grid["best_parameters"],
            "cv": [float(top[f"mean_{metric}"]), float(top[f"std_{metric}"])],
            "test": grid["test"][metric], "linear_test": default["baseline"][metric],
            "default_test": default["test"][metric],
            "default_hyperparameters": {k: default["hyperparameters"][k] for k in GRID},
            "default_epochs_run": default["epochs_run"],
            "wall_seconds": round(grid_seconds, 1), "search_seconds": grid["search_seconds"],
            "run_wall_seconds": round(run_seconds, 1), "load_average": round(load, 2),
            "grid_points": points}


def shown(value):
    """A parameter's value as the command line gives it: lists (JSON) as tuples."""
    return str(tuple(value)) if isinstance(value, list) else str(value)


def markdown(rows, seconds, ran_on):
    grid = " x ".join(f"{name} {{{GRID[name].replace('),(', '), (')}}}" for name in GRID)
    first = rows[0]
    lines = [
        "# grid: scikit-learn's GridSearchCV over the csv recipe",
        "",
        f"Written by {common.written_by(__file__)} (its docstring says how). Each file: "
        f"`python -m recipes grid csv --data FILE --target COLUMN --param "
        f"dropout={GRID['dropout']} --param 'hidden_units={GRID['hidden_units']}' --cv {CV} "
        f"--seed {SEED}`, one process, timed around it (\"grid wall\", start-up included; "
        f"\"search\": GridSearchCV's fit alone). The grid ({grid}) picks on {CV}-fold "
        f"cross-validation of train + validation (stratified; the preprocessing fitted again on "
        f"each fold's training rows; every fit trains {first['epochs']} epochs, no early "
        f"stopping), **never on test**: the test split is scored once, by the best point "
        f"retrained on train + validation. \"Default\": `python -m recipes run csv` on the same "
        f"seed and split, the recipe's defaults (not a point of the grid), trained on train "
        f"with early stopping on validation. \"Linear\": the run's scikit-learn baseline "
        f"(LogisticRegression on the encoded training split).",
        "",
        "| data | task | train + val / test rows | metric | points x folds | best parameters "
        "| CV mean ± std | test: grid's best | test: default | test: linear | grid wall (s) "
        "| search (s) | default wall (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        rows_used = r["examples"]["train"] + r["examples"]["val"]
        best = ", ".join(f"{k}={shown(v)}" for k, v in r["best_parameters"].items())
        lines.append(
            f"| {r['name']} | {r['task']} | {rows_used} / {r['examples']['test']} | "
            f"{r['metric']} | {r['points']} x {r['folds']} | {best} | {r['cv'][0]:.4f} ± "
            f"{r['cv'][1]:.4f} | {r['test']:.4f} | {r['default_test']:.4f} | "
            f"{r['linear_test']:.4f} | {r['wall_seconds']:.0f} | {r['search_seconds']:.0f} | "
            f"{r['run_wall_seconds']:.0f} |")
    for r in rows:
        lines += ["", f"### {r['name']}: every point ({r['folds']}-fold {r['metric']})", "",
                  "| " + " | ".join(GRID) + " | folds | mean ± std | rank | s per fit |",
                  "|" + "---|" * (len(GRID) + 4)]
        for p in r["grid_points"]:
            folds = ", ".join(f"{f:.3f}" for f in p["folds"])
            lines.append("| " + " | ".join(str(p[name]) for name in GRID) +
                         f" | {folds} | {p['mean']:.4f} ± {p['std']:.4f} | {p['rank']} | "
                         f"{p['fit_seconds']:.1f} |")
    loads = ", ".join(f"{r['load_average']:.1f}" for r in rows)
    lines += ["", common.wall_time_line(seconds, ran_on) + " One run per file on a machine "
              f"other jobs may share: seconds are indicative (1-minute load average before each "
              f"file's grid: {loads}). The test splits are small (see the rows column): one test score "
              "moves by a few points from seed to seed."]
    return "\n".join(lines) + "\n"


def main():
    parser = common.arguments(__file__, __doc__,
                              quick=f"heart_disease.csv only, {QUICK_EPOCHS} epochs")
    common.add_dev_suite(parser)
    parser.add_argument("--keep", type=Path, default=None,
                        help="write each grid's and run's folder here (default: a temporary "
                        "folder, removed at the end)")
    args = parser.parse_args()
    files = dict(list(FILES.items())[:1]) if args.quick else FILES
    paths = common.dev_suite(args.data_dir, files)
    start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        workdir = args.keep or Path(temporary)
        for path, target in zip(paths, files.values()):
            print(f"{path.name}: grid of {len(GRID)} parameters, {CV} folds", flush=True)
            rows.append(benchmark(path, target, QUICK_EPOCHS if args.quick else None, workdir))
            r = rows[-1]
            print(f"{path.name}: best {r['best_parameters']} CV {r['cv'][0]:.4f} ± "
                  f"{r['cv'][1]:.4f}, test {r['test']:.4f} (default {r['default_test']:.4f}) in "
                  f"{r['wall_seconds']:.0f} s", flush=True)
    total = time.perf_counter() - start
    ran_on = common.machine()  # after the grids: it starts TensorFlow's runtime here
    common.finish(args, "grid", markdown(rows, total, ran_on), {
        "grid": GRID, "cv": CV, "seed": SEED, "total_seconds": round(total, 1),
        "machine": ran_on, "rows": rows})


if __name__ == "__main__":
    main()
