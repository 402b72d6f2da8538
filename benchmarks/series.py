"""The series recipe on real series against the classic forecasts, on the same windows.

    python -m benchmarks.series                  # reports/series.md and .json
    python -m benchmarks.series --quick          # 1 seed, 2 epochs, one series: prints only

For each dev series (../shared/datasets/series: its README says what they are), each horizon
(1 and 7 steps) and each seed: `recipes.workflow.run.run("series", ...)`, as `python -m recipes
run series` runs it, with each reader kind of `series_forecaster`, beside the baselines every
series run carries in metrics.json (persistence, seasonal naive, ridge on the lagged window,
Holt-Winters), all on the run's chronological split. The default kind is chosen on validation
(the mean over series and horizons of its validation MAE divided by the best baseline's on the
same validation windows), never on test: the validation columns say how.
"""

import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmarks import common
from recipes.data.dataset import DataOptions
from recipes.evaluation import forecasts
from recipes.workflow.prepare import prepare
from recipes.workflow.run import RunOptions, run

SERIES_DIR = common.ROOT.parent / "shared" / "datasets" / "series"
SERIES = {  # file -> (time column, target), as the folder's README lists them
    "daily_min_temperatures.csv": ("Date", "Temp"),
    "monthly_sunspots.csv": ("Month", "Sunspots"),
}
HORIZONS = (1, 7)
KINDS = ("lstm", "gru", "conv")
SEEDS = (0, 1, 2)
TIE = 0.005  # validation ratios this close are noise (their seeds' spread is wider)


def options(path, horizon, kind, seed, out, epochs=None):
    time_column, target = SERIES[path.name]
    return RunOptions(seed=seed, quiet=True, epochs=epochs, out=out, overwrite=True,
                      hyperparameters={"kind": kind},
                      data=DataOptions(path=str(path), time=time_column, target=target,
                                       horizon=horizon))


def validation_baselines(path, horizon):
    """Each baseline's MAE on the validation windows (what a default is chosen against)."""
    _, loaded = prepare("series", options(path, horizon, KINDS[0], 0, None))
    splits = loaded.splits
    history = forecasts.target_history(splits.train)
    season = forecasts.season_length(history, max_lag=len(history) // 2)
    return {name: result["mae"] for name, result in
            forecasts.baselines(splits.train, splits.val, season).items() if "mae" in result}


def one_run(path, horizon, kind, seed, workdir, epochs):
    """Test and validation MAE of one run, its test baselines and its training seconds."""
    out = Path(workdir) / f"{path.stem}_{horizon}_{kind}_{seed}"
    metrics = run("series", options(path, horizon, kind, seed, out, epochs))
    history = pd.read_csv(out / "history.csv")  # the restored best epoch's validation MAE
    val_mae = float(history["val_mae"].min()) * metrics["target_scale"]["scale"]
    return {"series": path.stem, "horizon": horizon, "kind": kind, "seed": seed,
            "test_mae": metrics["test"]["mae"], "val_mae": val_mae,
            "window": metrics["series"]["window"], "epochs_run": metrics["epochs_run"],
            "train_seconds": metrics["train_seconds"],
            "refit_kept": bool(metrics.get("refit", {}).get("kept")),
            "baselines": {name: result["mae"] for name, result in
                          metrics["series"]["baselines"].items() if "mae" in result}}


def summary(runs, val_baselines):
    """Per (series, horizon, kind): mean and std over seeds; the validation ratio to the best
    baseline; and per kind, that ratio's mean over series and horizons (the choice)."""
    rows = []
    frame = pd.DataFrame(runs)
    for (series, horizon, kind), group in frame.groupby(["series", "horizon", "kind"], sort=False):
        best_val = min(val_baselines[(series, horizon)].values())
        tests = group["baselines"].iloc[0]
        rows.append({"series": series, "horizon": int(horizon), "kind": kind,
                     "test_mae": float(group["test_mae"].mean()),
                     "test_std": float(group["test_mae"].std(ddof=0)),
                     "val_mae": float(group["val_mae"].mean()),
                     "val_ratio": float(group["val_mae"].mean() / best_val),
                     "train_seconds": float(group["train_seconds"].mean()),
                     "refits_kept": int(group["refit_kept"].sum()), "seeds": len(group),
                     "window": int(group["window"].iloc[0]), "test_baselines": tests,
                     "beats_every_baseline": bool(group["test_mae"].mean() < min(tests.values()))})
    choice = pd.DataFrame(rows).groupby("kind", sort=False)["val_ratio"].mean().to_dict()
    return rows, choice


def chosen(rows, choice):
    """The default kind: the lowest validation ratio; kinds within TIE of it count as tied, and
    the fastest of those (mean training seconds) wins: no time spent for noise."""
    best = min(choice.values())
    tied = [kind for kind, ratio in choice.items() if ratio <= best + TIE]
    seconds = pd.DataFrame(rows).groupby("kind")["train_seconds"].mean()
    return min(tied, key=seconds.get)


def markdown(rows, choice, seeds, seconds, ran_on):
    default = chosen(rows, choice)
    lines = [f"# Time series: series_forecaster against the classic forecasts",
             "", f"Written by {common.written_by(__file__)}: each dev series, horizons "
             f"{' and '.join(map(str, HORIZONS))}, {len(seeds)} seeds, test MAE (mean ± std "
             f"over seeds) beside each baseline's on the same test windows. The default kind "
             f"is chosen on validation: mean over series and horizons of the validation MAE "
             f"divided by the best baseline's validation MAE.", "",
             "| series | horizon | kind | window | test MAE | persistence | seasonal naive | "
             "lagged ridge | Holt-Winters | beats all | val ratio | train s | refit kept |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        base = row["test_baselines"]
        cells = [f"{base[name]:.3f}" if name in base else "n/a" for name in
                 ("persistence", "seasonal_naive", "lagged_ridge", "exponential_smoothing")]
        lines.append(f"| {row['series']} | {row['horizon']} | {row['kind']} | {row['window']} | "
                     f"{row['test_mae']:.3f} ± {row['test_std']:.3f} | {' | '.join(cells)} | "
                     f"{'yes' if row['beats_every_baseline'] else 'no'} | "
                     f"{row['val_ratio']:.3f} | {row['train_seconds']:.1f} | "
                     f"{row['refits_kept']} of {row['seeds']} |")
    lines += ["", f"Validation ratio by kind (lower is better; within {TIE} of the lowest "
              "counts as tied, and the fastest tied kind is the default): " +
              ", ".join(f"{kind} {ratio:.4f}" for kind, ratio in choice.items()) +
              f": **{default}**.", "",
              "Seasonal naive is n/a where the window does not reach back one season. Train s "
              "includes the second stage (recipes/workflow/refit.py); refit kept: in how many "
              "seeds it lowered the validation loss, so that its linear path was kept. The "
              "validation ratio is the first stage's.", "",
              common.wall_time_line(seconds, ran_on)]
    return "\n".join(lines) + "\n"


def main():
    parser = common.arguments(__file__, __doc__, "1 seed, 2 epochs, the sunspots only")
    args = parser.parse_args()
    paths = common.dev_suite(SERIES_DIR, ["monthly_sunspots.csv"] if args.quick else SERIES)
    seeds, epochs = (SEEDS[:1], 2) if args.quick else (SEEDS, None)
    start, runs, val_baselines = time.perf_counter(), [], {}
    with tempfile.TemporaryDirectory() as workdir:
        for path in paths:
            for horizon in HORIZONS:
                val_baselines[(path.stem, horizon)] = validation_baselines(path, horizon)
                for kind in KINDS:
                    for seed in seeds:
                        runs.append(one_run(path, horizon, kind, seed, workdir, epochs))
                        print(f"{path.stem} h={horizon} {kind} seed {seed}: test MAE "
                              f"{runs[-1]['test_mae']:.3f}", flush=True)
    seconds = time.perf_counter() - start
    rows, choice = summary(runs, val_baselines)
    ran_on = common.machine()
    common.finish(args, "series", markdown(rows, choice, seeds, seconds, ran_on),
                  {"rows": rows, "validation_ratio": choice, "runs": runs,
                   "validation_baselines": {f"{s} h={h}": v for (s, h), v in val_baselines.items()},
                   "seconds": round(seconds, 1), "machine": ran_on})


if __name__ == "__main__":
    main()
