"""The csv recipe on real files against gradient boosting and a linear model, on the same splits.

    python benchmarks/csv_suite.py --data-dir ../shared/datasets/csv   # reports/csv.md and .json
    python benchmarks/csv_suite.py --data-dir ../shared/datasets/csv --quick   # 1 seed, 3 epochs

For each dev-suite CSV (the folder's README lists targets and quirks) and each offline table, and
each seed: `python -m recipes run csv` as a user runs it (ours), scikit-learn's
HistGradientBoosting with native categorical support, and the run's linear baseline (Ridge or
LogisticRegression on the run's encoded features), all on the run's split. Gradient boosting
trains on train + validation (it needs no early stopping); ours on train, validation for early
stopping. Peak memory is the whole `python -m recipes run csv` process's (TensorFlow included),
measured once per file. The recipe's defaults were chosen on validation splits, never on test.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor  # noqa: E402

from recipes.features import dates  # noqa: E402
from recipes.runs import artifacts
from recipes.data.dataset import DataOptions  # noqa: E402
from recipes.evaluation.evaluate import headline  # noqa: E402
from recipes.workflow.run import RunOptions, prepare, run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEV_SUITE = {  # file -> target (../shared/datasets/csv/README.md)
    "california_housing.csv": "median_house_value", "bank_marketing.csv": "subscribe",
    "loan_approval.csv": "Loan_Status", "bike_sharing_hourly.csv": "cnt",
    "avocado_prices.csv": "AveragePrice", "car_evaluation.csv": "class",
    "heart_disease.csv": "target", "auto_imports.csv": "price",
}
OFFLINE = ["iris", "wine", "breast-cancer", "diabetes", "boston-housing", "auto-mpg"]
TIE = {"accuracy": 0.005, "mae": 0.02}  # the issue's: accuracy within 0.005, MAE within 2%
HGB_MAX_LEVELS = 255  # HistGradientBoosting's limit on a categorical column's levels


def boosting_view(prepared, part):
    """A part's raw columns as HistGradientBoosting takes them: numbers, categories (the most
    frequent levels, past its limit of 255), and dates as year, month, day of week, day of year
    and days since 1970 (parsed by the run's inferred format); free text is left out."""
    features = getattr(prepared.splits, part).features
    roles = {c.name: c for c in prepared.dataset.columns or []}
    train = prepared.splits.train.features
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
            year, month, day = dates.parse(features[name].reset_index(drop=True),
                                           roles[name].date_format)
            days = dates.days_since_epoch(year, month, day)
            out.update({f"{name}_year": year, f"{name}_month": month, f"{name}_days": days,
                        f"{name}_weekday": np.mod(days + 3, 7),
                        f"{name}_yearday": days - dates.days_since_epoch(year, 1.0, 1.0)})
    return pd.DataFrame({k: np.asarray(v) if not isinstance(v, pd.Categorical) else v
                         for k, v in out.items()})


def boosting_score(prepared, seed):
    task = prepared.task
    model = (HistGradientBoostingClassifier if task.classification else
             HistGradientBoostingRegressor)(categorical_features="from_dtype", random_state=seed)
    x = pd.concat([boosting_view(prepared, "train"), boosting_view(prepared, "val")])
    y = np.concatenate([np.asarray(prepared.splits.train.target),
                        np.asarray(prepared.splits.val.target)])
    start = time.perf_counter()
    model.fit(x, y.astype(str) if task.classification else y)
    seconds = time.perf_counter() - start
    truth = np.asarray(prepared.splits.test.target)
    predicted = model.predict(boosting_view(prepared, "test"))
    score = task.reference_metric(truth.astype(str) if task.classification else truth, predicted)
    return float(score), seconds


def peak_memory_mb(arguments):
    """Peak resident memory of one `python -m recipes run ...` process, in MB, as GNU time
    reports it. (This process's own rusage of a child would not do: on Linux a child's maximum
    starts from its parent's size at the fork.)"""
    done = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-m", "recipes", "run",
                           *arguments, "--quiet"], cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"run {' '.join(arguments)} exited {done.returncode}: {done.stderr}")
    return int(done.stderr.strip().splitlines()[-1]) / 1024  # KB


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
        score, fit_seconds = boosting_score(prepare(recipe, options), seed)
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
            "peak_mb": peak_memory_mb(memory_arguments) if memory_arguments else None,
            "target_scale": metrics.get("target_scale"), "columns": metrics.get("columns"),
            "importance": metrics.get("importance")}


def markdown(rows, seeds, total_seconds):
    def cell(pair, key):
        if key == "accuracy":
            return f"{pair[0]:.4f} ± {pair[1]:.4f}"
        decimals = 0 if abs(pair[0]) >= 100 else 2 if abs(pair[0]) >= 1 else 4
        return f"{pair[0]:,.{decimals}f} ± {pair[1]:,.{decimals}f}"

    dev = [r for r in rows if r["name"].endswith(".csv")]
    lines = [
        "# The csv recipe vs gradient boosting and a linear model",
        "",
        f"Written by `benchmarks/csv_suite.py` (its docstring says how each is trained); seeds "
        f"{', '.join(map(str, seeds))}, each one train/validation/test split (65/15/20), "
        f"mean ± std of the test score. Ours: `python -m recipes run csv --data FILE --target "
        f"COLUMN` with the recipe's defaults, chosen on validation splits of the dev suite "
        f"(`recipes/catalog.py` says which and by how much), never on test. Tie: accuracy "
        f"within 0.005, MAE within 2% of the better scikit-learn model. Whole benchmark: "
        f"{total_seconds / 60:.1f} min on this machine.",
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/datasets/csv",
                        help="folder holding the dev-suite CSVs")
    parser.add_argument("--quick", action="store_true", help="1 seed, 3 epochs, no report files")
    parser.add_argument("--reports", type=Path, default=ROOT / "reports", help="report folder")
    args = parser.parse_args()
    seeds = [0] if args.quick else [0, 1, 2, 3, 4]
    epochs = 3 if args.quick else None
    start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for file, target in DEV_SUITE.items():
            path = args.data_dir / file
            data = DataOptions(path=str(path), target=target)
            rows.append(benchmark(file, lambda seed, e, out, d=data: RunOptions(
                data=d, seed=seed, epochs=e, quiet=True, out=out), seeds, epochs, workdir,
                None if args.quick else ["csv", "--data", str(path), "--target", target,
                                         "--out", str(Path(workdir) / f"memory-{file}")]))
            progress(rows[-1])
        for name in OFFLINE:
            rows.append(benchmark(name, lambda seed, e, out: RunOptions(
                seed=seed, epochs=e, quiet=True, out=out), seeds, epochs, workdir,
                None if args.quick else [name, "--out", str(Path(workdir) / f"memory-{name}")]))
            progress(rows[-1])
    report = markdown(rows, seeds, time.perf_counter() - start)
    print(report)
    if not args.quick:
        artifacts.write_text(args.reports / "csv.md", report)
        artifacts.write_json(args.reports / "csv.json", {"seeds": seeds, "rows": rows})


if __name__ == "__main__":
    main()
