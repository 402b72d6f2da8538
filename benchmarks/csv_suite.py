"""The csv recipe on real files against gradient boosting and a linear model, on the same splits.

    python -m benchmarks.csv_suite --data-dir ../shared/datasets/csv   # reports/csv.md and .json
    python -m benchmarks.csv_suite --data-dir ../shared/datasets/csv --quick   # 1 seed, 3 epochs

For each dev-suite CSV (the folder's README lists targets and quirks) and each offline table, and
each seed: `python -m recipes run csv` as a user runs it (ours), scikit-learn's
HistGradientBoosting with native categorical support, and the run's linear baseline (Ridge or
LogisticRegression on the run's encoded features), all on the run's split. Gradient boosting
trains on train + validation (it needs no early stopping); ours on train, validation for early
stopping. Peak memory is the whole `python -m recipes run csv` process's (TensorFlow included),
measured once per file. The recipe's defaults were chosen on validation splits, never on test.
"""

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from benchmarks import common
from recipes.data.dataset import DataOptions
from recipes.evaluation import baselines
from recipes.evaluation.evaluate import headline
from recipes.roles import date
from recipes.workflow.prepare import prepare
from recipes.workflow.run import RunOptions, run

DEV_SUITE = {  # file -> target (../shared/datasets/csv/README.md)
    "california_housing.csv": "median_house_value", "bank_marketing.csv": "subscribe",
    "loan_approval.csv": "Loan_Status", "bike_sharing_hourly.csv": "cnt",
    "avocado_prices.csv": "AveragePrice", "car_evaluation.csv": "class",
    "heart_disease.csv": "target", "auto_imports.csv": "price",
}
OFFLINE = ["iris", "wine", "breast-cancer", "diabetes", "boston-housing", "auto-mpg"]
TIE = {"accuracy": 0.005, "mae": 0.02}  # the issue's: accuracy within 0.005, MAE within 2%
HGB_MAX_LEVELS = 255  # HistGradientBoosting's limit on a categorical column's levels


def boosting_view(loaded, part):
    """A part's raw columns as HistGradientBoosting takes them: numbers, categories (the most
    frequent levels, past its limit of 255), and dates as year, month, day of week, day of year
    and days since 1970 (parsed by the run's inferred format); free text is left out."""
    features = getattr(loaded.splits, part).features
    roles = {c.name: c for c in loaded.dataset.columns or []}
    train = loaded.splits.train.features
    out = {}
    for name in features.columns:
        role = roles[name].role if name in roles else (
            "numeric" if pd.api.types.is_numeric_dtype(features[name]) else "categorical")
        if role == "numeric":
            out[name] = pd.to_numeric(features[name], errors="coerce")
        elif role == "categorical":
            levels = train[name].astype(str).value_counts().index[:HGB_MAX_LEVELS - 1]
            values = features[name].astype(str).where(features[name].astype(str).isin(levels))
            out[name] = pd.Categorical(values, categories=levels)
        elif role == "date":
            year, month, day = date.parse(features[name].reset_index(drop=True),
                                           roles[name].date_format)
            days = date.days_since_epoch(year, month, day)
            out.update({f"{name}_year": year, f"{name}_month": month, f"{name}_days": days,
                        f"{name}_weekday": np.mod(days + 3, 7),
                        f"{name}_yearday": days - date.days_since_epoch(year, 1.0, 1.0)})
    return pd.DataFrame({k: np.asarray(v) if not isinstance(v, pd.Categorical) else v
                         for k, v in out.items()})


def boosting_score(plan, loaded, seed):
    task = plan.task
    model = (HistGradientBoostingClassifier if task.classification else
             HistGradientBoostingRegressor)(categorical_features="from_dtype", random_state=seed)
    x = pd.concat([boosting_view(loaded, "train"), boosting_view(loaded, "val")])
    y = np.concatenate([np.asarray(loaded.splits.train.target),
                        np.asarray(loaded.splits.val.target)])
    start = time.perf_counter()
    model.fit(x, y.astype(str) if task.classification else y)
    seconds = time.perf_counter() - start
    truth = np.asarray(loaded.splits.test.target)
    predicted = model.predict(boosting_view(loaded, "test"))
    score = baselines.headline_metric(task)(truth.astype(str) if task.classification else truth,
                                             predicted)
    return float(score), seconds


def peak_mb(arguments):
    """Peak memory of one `python -m recipes run ARGUMENTS --quiet` process, TensorFlow included."""
    return common.recipes_command(["run", *arguments, "--quiet"], peak_memory=True)[1]


def benchmark(name, options_for, seeds, epochs, workdir, memory_arguments):
    ours, linear, boosting, seconds, boosting_seconds = [], [], [], [], []
    metrics = None
    for seed in seeds:
        options = options_for(seed, epochs, Path(workdir) / f"{name}-{seed}")
        recipe = "csv" if options.data.path else name
        metrics = run(recipe, options)
        key, value, baseline = headline(metrics)
        ours.append(value)
        linear.append(baseline)
        seconds.append(metrics["train_seconds"])
        score, fit_seconds = boosting_score(*prepare(recipe, options), seed)
        boosting.append(score)
        boosting_seconds.append(fit_seconds)
    better = max if key == "accuracy" else min
    best = better(("gradient boosting", np.mean(boosting)), ("linear", np.mean(linear)),
                  key=lambda pair: pair[1])
    margin = TIE[key] * (best[1] if key == "mae" else 1)
    ties = np.mean(ours) >= best[1] - margin if key == "accuracy" else np.mean(ours) <= best[1] + margin
    return {"name": name, "metric": key, "task": metrics["task"], "rows": sum(metrics["examples"].values()),
            "ours": [float(np.mean(ours)), float(np.std(ours))],
            "boosting": [float(np.mean(boosting)), float(np.std(boosting))],
            "linear": [float(np.mean(linear)), float(np.std(linear))],
            "best": best[0], "ties_or_beats": bool(ties),
            "seconds": float(np.mean(seconds)), "boosting_seconds": float(np.mean(boosting_seconds)),
            "peak_mb": peak_mb(memory_arguments) if memory_arguments else None,
            "target_scale": metrics.get("target_scale"), "columns": metrics.get("columns"),
            "importance": metrics.get("importance")}


def markdown(rows, seeds, total_seconds, ran_on):
    def cell(pair, key):
        if key == "accuracy":
            return f"{pair[0]:.4f} ± {pair[1]:.4f}"
        decimals = 0 if abs(pair[0]) >= 100 else 2 if abs(pair[0]) >= 1 else 4
        return f"{pair[0]:,.{decimals}f} ± {pair[1]:,.{decimals}f}"

    dev = [r for r in rows if r["name"].endswith(".csv")]
    lines = [
        "# The csv recipe vs gradient boosting and a linear model",
        "",
        f"Written by {common.written_by(__file__)} (its docstring says how each is trained); seeds "
        f"{', '.join(map(str, seeds))}, each one train/validation/test split (65/15/20), "
        f"mean ± std of the test score. Ours: `python -m recipes run csv --data FILE --target "
        f"COLUMN` with the recipe's defaults, chosen on validation splits of the dev suite "
        f"(`recipes/catalog.py` says which and by how much), never on test. Tie: accuracy "
        f"within 0.005, MAE within 2% of the better scikit-learn model. Whole benchmark: "
        f"{total_seconds / 60:.1f} min on {common.machine_line(ran_on)}.",
        "",
        f"**Dev suite: ours ties or beats the better scikit-learn model on "
        f"{sum(r['ties_or_beats'] for r in dev)} of {len(dev)} files** (goal: 7 of 8); peak "
        f"memory at most {max((r['peak_mb'] or 0) for r in rows):.0f} MB (goal: under 2 GB).",
        "",
        "| data | rows | metric | ours | gradient boosting | linear | tie or beat | ours s/run "
        "| boosting s/run | peak MB | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        key = r["metric"]
        scale = (r["target_scale"] or {}).get("transform", "") if r["task"] == "regression" else ""
        lines.append(
            f"| {r['name']} | {r['rows']:,} | {key} | {cell(r['ours'], key)} | "
            f"{cell(r['boosting'], key)} | {cell(r['linear'], key)} | "
            f"{'yes' if r['ties_or_beats'] else 'no'} | {r['seconds']:.1f} | "
            f"{r['boosting_seconds']:.1f} | {r['peak_mb'] or 0:.0f} | {scale} |")
    lines += ["", "## Each file's columns (seed 0) and what mattered", ""]
    for r in dev:
        lines += [f"### {r['name']}", "", "| column | role | levels | missing | what was done | "
                  "importance (test, seed 0) |", "|---|---|---|---|---|---|"]
        for c in r["columns"] or []:
            importance = (r["importance"] or {}).get(c["name"])
            lines.append(f"| {c['name']} | {c['role']} | {c['levels']} | {c['missing']} | "
                         f"{c['note']} | {'' if importance is None else f'{importance:.4g}'} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def progress(row):
    print(f"{row['name']:<26} {row['ours'][0]:.4g} vs boosting {row['boosting'][0]:.4g} linear "
          f"{row['linear'][0]:.4g}", flush=True)


def main():
    parser = common.arguments(__file__, __doc__, quick="1 seed, 3 epochs, no peak memory")
    common.add_dev_suite(parser)
    args = parser.parse_args()
    paths = common.dev_suite(args.data_dir, DEV_SUITE)
    seeds = [0] if args.quick else [0, 1, 2, 3, 4]
    epochs = 3 if args.quick else None
    start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for path, target in zip(paths, DEV_SUITE.values()):
            data = DataOptions(path=str(path), target=target)
            rows.append(benchmark(path.name, lambda seed, e, out, d=data: RunOptions(
                data=d, seed=seed, epochs=e, quiet=True, out=out), seeds, epochs, workdir,
                None if args.quick else ["csv", "--data", path, "--target", target,
                                         "--out", Path(workdir) / f"memory-{path.name}"]))
            progress(rows[-1])
        for name in OFFLINE:
            rows.append(benchmark(name, lambda seed, e, out: RunOptions(
                seed=seed, epochs=e, quiet=True, out=out), seeds, epochs, workdir,
                None if args.quick else [name, "--out", Path(workdir) / f"memory-{name}"]))
            progress(rows[-1])
    report = markdown(rows, seeds, time.perf_counter() - start, common.machine())
    common.finish(args, "csv", report, {"seeds": seeds, "rows": rows})


if __name__ == "__main__":
    main()
