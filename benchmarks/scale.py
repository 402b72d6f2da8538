"""Tables bigger than memory: `run csv --stream` at 100k, 1M and 5M rows against the in-memory path,
and a streamed Parquet copy of the 1M-row table against its CSV.

    python -m benchmarks.scale            # reports/scale.md and .json (some 10 minutes on 2 cores)
    python -m benchmarks.scale --quick    # 20k and 100k rows: prints only

The table is generated, census-like (numbers, categories with up to 40 levels, "?" for missing,
a noisy binary target), the same rows for every size: a smaller file is a larger one's head.
Each configuration is one `python -m recipes run csv` process, as a user runs it, under GNU
time for its peak memory (TensorFlow included). Seconds per epoch are the median epoch's after
the first, which traces the steps (validation included; metrics.json's `epoch_seconds`), rows
per second the training rows over them; training seconds are `model.fit`'s; the wall time is
the whole command's: reading, the statistics, encoding (in memory, or the streamed passes over
the file) and evaluation included. This machine's CPU is shared and epochs vary by some 30%,
so tables up to 100k rows run three times, the two paths interleaved, and the run of median
throughput is reported.
Nothing is tuned here: the csv recipe's defaults, a fixed number of epochs.
"""

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import common
from recipes.choices import STREAM_MB
from recipes.data import files

GENERATE_ROWS = 100_000  # rows generated (and written) at a time
REPEATS, REPEAT_UP_TO = 3, 100_000  # small tables run 3 times, interleaved: the median is kept
LEVELS = {"workclass": 8, "education": 16, "marital": 7, "occupation": 14, "relationship": 6,
          "race": 5, "sex": 2, "country": 40}


def generated(block, rows):
    """Rows block * GENERATE_ROWS onwards of the census-like table: the same for every size."""
    rng = np.random.default_rng([7, block])
    frame = pd.DataFrame({
        "age": rng.integers(17, 91, rows),
        "fnlwgt": rng.lognormal(12, 0.5, rows).round(0),
        "education_num": rng.integers(1, 17, rows),
        "capital_gain": np.where(rng.random(rows) < 0.08, rng.lognormal(8, 1, rows), 0).round(0),
        "hours_per_week": rng.normal(40, 12, rows).clip(1, 99).round(0),
        **{name: [f"{name[:3]}{level}" for level in rng.integers(0, levels, rows)]
           for name, levels in LEVELS.items()},
    })
    code = {name: frame[name].str[3:].astype(int) for name in ("occupation", "marital", "sex")}
    score = (0.04 * (frame["age"] - 40) + 0.3 * (frame["education_num"] - 10)
             + 0.0004 * frame["capital_gain"] + 0.03 * (frame["hours_per_week"] - 40)
             + 0.25 * np.cos(code["occupation"]) + 0.5 * (code["marital"] == 2)
             + 0.4 * code["sex"] + rng.logistic(0, 0.8, rows) - 1.2)
    frame["income"] = np.where(score > 0, ">50K", "<=50K")
    frame.loc[rng.random(rows) < 0.05, "occupation"] = "?"
    return frame


def write_table(path, rows):
    with path.open("w") as file:
        for block, start in enumerate(range(0, rows, GENERATE_ROWS)):
            generated(block, min(GENERATE_ROWS, rows - start)).to_csv(
                file, index=False, header=block == 0)


def run(path, stream, epochs, out):
    """One `run csv` process: its metrics, wall seconds and peak memory (MB)."""
    wall, peak_mb = common.recipes_command(
        ["run", "csv", "--data", path, "--target", "income", "--epochs", epochs, "--quiet",
         "--stream" if stream else "--no-stream", "--out", out, "--overwrite"], peak_memory=True)
    metrics = json.loads((out / "metrics.json").read_text())
    train = metrics["examples"]["train"]
    kind = "streamed" if stream else "in memory"
    return {"rows": sum(metrics["examples"].values()),
            "path": f"{kind} Parquet" if path.suffix == ".parquet" else kind,
            "epochs": metrics["epochs_run"], "train_rows": train,
            "train_seconds": metrics["train_seconds"],
            # an epoch's steady cost (validation included), apart from what is done once:
            # loading and encoding in memory, the streamed encoding passes, tracing in epoch 1
            "seconds_per_epoch": steady(metrics["epoch_seconds"]),
            "rows_per_second": train / steady(metrics["epoch_seconds"]),
            "wall_seconds": wall, "peak_mb": peak_mb,
            "test_accuracy": metrics["test"]["accuracy"], "test_auc": metrics["test"]["auc"],
            "file_mb": path.stat().st_size / 2**20}


def median_run(runs):
    """The run of median throughput among repeats of one configuration, with their count."""
    ranked = sorted(runs, key=lambda r: r["rows_per_second"])
    return {**ranked[len(ranked) // 2], "runs": len(runs)}


def steady(epoch_seconds):
    """The median epoch after the first (which traces the steps), or the only one."""
    return float(np.median(epoch_seconds[1:] or epoch_seconds))


def markdown(results, ran_on):
    lines = ["# Tables bigger than memory: `run csv --stream`", "",
             f"Written by {common.written_by(__file__)} on {common.machine_line(ran_on)}. A "
             "generated census-like table (5 numbers, 8 categories, `?` for missing, a noisy binary target); "
             "each row is one `python -m recipes run csv` process; peak memory is the whole "
             "process's (GNU time, TensorFlow included). s/epoch: the median epoch after the "
             "first, validation included; train s: `model.fit`'s; wall s: the whole command, "
             "reading the file, learning the statistics and encoding (in memory, or the streamed "
             "passes) included. Tables up to 100k rows: the median of 3 runs, the paths "
             "interleaved (the CPU is shared). Defaults are the csv recipe's, chosen on "
             "validation splits (reports/csv.md); nothing here was chosen on test.", "",
             "| rows | file MB | path | epochs | s/epoch | rows/s | train s | wall s | peak MB | "
             "test accuracy | test AUC |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['rows']:,} | {r['file_mb']:.0f} | {r['path']} | {r['epochs']} | "
                     f"{r['seconds_per_epoch']:.1f} | {r['rows_per_second']:,.0f} | "
                     f"{r['train_seconds']:.0f} | {r['wall_seconds']:.0f} | {r['peak_mb']:,.0f} | {r['test_accuracy']:.4f} | "
                     f"{r['test_auc']:.4f} |")
    streamed = {r["rows"]: r for r in results if r["path"] == "streamed"}
    memory = {r["rows"]: r for r in results if r["path"] == "in memory"}
    if len(streamed) > 1:
        base = streamed[100_000] if 100_000 in streamed else streamed[min(streamed)]
        last = streamed[max(streamed)]
        lines += ["", f"- Peak memory, streamed: {last['peak_mb']:,.0f} MB at {last['rows']:,} rows "
                  f"vs {base['peak_mb']:,.0f} MB at {base['rows']:,} "
                  f"({last['peak_mb'] / base['peak_mb']:.2f}x; goal <= 1.5x)."]
    parquet = {r["rows"]: r for r in results if r["path"] == "streamed Parquet"}
    for rows in sorted(set(parquet) & set(streamed)):
        p, s = parquet[rows], streamed[rows]
        lines.append(f"- {rows:,} rows streamed from Parquet vs the same rows' CSV: peak "
                     f"{p['peak_mb']:,.0f} vs {s['peak_mb']:,.0f} MB "
                     f"({p['peak_mb'] / s['peak_mb']:.2f}x; goal <= 1.5x), "
                     f"{p['wall_seconds']:.0f} vs {s['wall_seconds']:.0f} s for the whole command, "
                     f"test accuracy {p['test_accuracy']:.4f} vs {s['test_accuracy']:.4f} (the same "
                     f"rows in the same parts: the split hashes row numbers).")
    lines.append(f"- The default: files over {STREAM_MB} MB stream (recipes/choices.py), smaller ones "
                 f"stay in memory, where an epoch is faster for small tables and `grid` and "
                 f"`tune --folds` work; `--stream`/`--no-stream` decide otherwise.")
    for rows in sorted(set(streamed) & set(memory)):
        s, m = streamed[rows], memory[rows]
        lines.append(f"- {rows:,} rows, streamed vs in memory: {s['rows_per_second']:,.0f} vs "
                     f"{m['rows_per_second']:,.0f} rows/s per epoch "
                     f"({s['rows_per_second'] / m['rows_per_second']:.2f}x; goal >= 0.8x), "
                     f"{s['wall_seconds']:.0f} vs {m['wall_seconds']:.0f} s for the whole command, "
                     f"{s['peak_mb']:,.0f} vs {m['peak_mb']:,.0f} MB, test accuracy "
                     f"{s['test_accuracy']:.4f} vs {m['test_accuracy']:.4f} (the paths split rows "
                     f"differently: a per-row hash vs scikit-learn's stratified split).")
    return "\n".join(lines) + "\n"


def main():
    parser = common.arguments(__file__, __doc__, quick="20k and 100k rows")
    args = parser.parse_args()
    # (rows, stream, epochs); "parquet": streamed from a Parquet copy of the same rows
    plan = ([(20_000, False, 3), (20_000, True, 3), (20_000, "parquet", 3), (100_000, True, 1)]
            if args.quick else
            [(10_000, False, 6), (10_000, True, 6), (100_000, False, 6), (100_000, True, 6),
             (1_000_000, False, 2), (1_000_000, True, 2), (1_000_000, "parquet", 2),
             (5_000_000, True, 1)])
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for rows in sorted({rows for rows, _, _ in plan}):
            path = Path(folder) / f"census-{rows}.csv"
            write_table(path, rows)
            if any(size == rows and stream == "parquet" for size, stream, _ in plan):
                # the CSV again as Parquet, a row group per GENERATE_ROWS rows, typed by pandas
                files.write_parquet(path.with_suffix(".parquet"),
                                    pd.read_csv(path, chunksize=GENERATE_ROWS))
            configs = [(stream, epochs) for size, stream, epochs in plan if size == rows]
            repeats = REPEATS if rows <= REPEAT_UP_TO and not args.quick else 1
            runs = {config: [] for config in configs}
            for _ in range(repeats):  # interleaved: a busy spell of the machine hits both paths
                for stream, epochs in configs:
                    data = path.with_suffix(".parquet") if stream == "parquet" else path
                    runs[stream, epochs].append(run(data, bool(stream), epochs,
                                                    Path(folder) / "run"))
            for config in configs:
                results.append(median_run(runs[config]))
                r = results[-1]
                print(f"{r['rows']:>9,} {r['path']:<10} {r['seconds_per_epoch']:7.1f} s/epoch "
                      f"{r['rows_per_second']:>9,.0f} rows/s {r['peak_mb']:7,.0f} MB "
                      f"acc {r['test_accuracy']:.4f} ({r['runs']} runs)", flush=True)
            path.unlink()
            path.with_suffix(".parquet").unlink(missing_ok=True)
    # after the runs: asking for the device starts TensorFlow's runtime in this process
    common.finish(args, "scale", markdown(results, common.machine()), results)


if __name__ == "__main__":
    main()
