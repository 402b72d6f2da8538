"""Tabular recipes over several seeds against the best of four scikit-learn models.

    python -m benchmarks.tabular            # 5 seeds, writes reports/tabular.md and .json
    python -m benchmarks.tabular --quick    # 1 seed, 3 epochs: prints only

Each seed fixes one train/validation/test split. The network trains on train (validation for early
stopping); the scikit-learn models train on train + validation, since they need no early stopping.
All are scored on the same test split.
"""

import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import common
from recipes.evaluation import baselines
from recipes.evaluation.evaluate import headline, sklearn_view
from recipes.workflow.prepare import prepare
from recipes.workflow.run import RunOptions, run

RECIPES = ["iris", "wine", "breast-cancer", "boston-housing", "auto-mpg", "diabetes",
           "linear-synthetic"]
# The floors: accuracy at least, MAE at most.
FLOORS = {"iris": 0.95, "wine": 0.97, "breast-cancer": 0.97, "boston-housing": 2.6, "auto-mpg": 2.1}
TRUE_W, TRUE_B = (2.0, -3.4), 4.2


def sklearn_scores(name, seed):
    """Test metric of each reference model trained on train + validation of this seed's split."""
    plan, loaded = prepare(name, RunOptions(seed=seed, quiet=True))
    task = plan.task
    (x_train, y_train), (x_val, y_val) = (sklearn_view(loaded, p, task) for p in ("train", "val"))
    train = (np.vstack([x_train, x_val]), np.concatenate([y_train, y_val]))
    test = sklearn_view(loaded, "test", task)
    return {family: next(iter(baselines.score(model, task, train, test).values()))
            for family, model in baselines.reference_models(task, seed).items()}


def benchmark(name, seeds, epochs, workdir):
    ours, learned, seconds, references = [], [], [], {}
    for seed in seeds:
        metrics = run(name, RunOptions(seed=seed, epochs=epochs, quiet=True,
                                       out=Path(workdir) / f"{name}-{seed}"))
        key, value, _ = headline(metrics)
        ours.append(value)
        seconds.append(metrics["train_seconds"])
        learned.append(metrics.get("learned"))
        for family, score in sklearn_scores(name, seed).items():
            references.setdefault(family, []).append(score)
    lower_is_better = key == "mae"
    best_family = (min if lower_is_better else max)(references, key=lambda f: np.mean(references[f]))
    row = {
        "recipe": name, "metric": key, "mean": float(np.mean(ours)), "std": float(np.std(ours)),
        "seconds": float(np.mean(seconds)),
        "best_sklearn": best_family, "best_sklearn_mean": float(np.mean(references[best_family])),
        "sklearn": {f: float(np.mean(v)) for f, v in references.items()},
    }
    if name in FLOORS:
        row["floor"] = FLOORS[name]
        row["meets_floor"] = row["mean"] <= FLOORS[name] if lower_is_better else row["mean"] >= FLOORS[name]
    if learned[0]:
        w_error = max(abs(l["w"][i] - TRUE_W[i]) for l in learned for i in range(2))
        b_error = max(abs(l["b"] - TRUE_B) for l in learned)
        row["max_w_error"], row["max_b_error"] = w_error, b_error
        row["meets_floor"] = w_error <= 0.02 and b_error <= 0.02
    ahead = row["mean"] <= row["best_sklearn_mean"] if lower_is_better else row["mean"] >= row["best_sklearn_mean"]
    row["matches_best_sklearn"] = bool(ahead)
    return row


def markdown(rows, seeds, total_seconds, ran_on):
    lines = [
        "# Tabular recipes vs scikit-learn",
        "",
        f"Written by {common.written_by(__file__)}: {len(seeds)} seeds ({', '.join(map(str, seeds))}); each "
        "seed is one stratified train/validation/test split (65/15/20). The network trains on train "
        "with early stopping on validation; the scikit-learn models (linear, random forest, gradient "
        "boosting, MLP) train on train + validation. Same test split for all.",
        "",
        "| recipe | metric | ours (mean ± std) | floor | best scikit-learn | its score | ours ≥ best? | s/run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        floor = f"{r['floor']}" if "floor" in r else ("w, b ± 0.02" if "max_w_error" in r else "–")
        met = {True: " ✓", False: " ✗"}.get(r.get("meets_floor"), "")
        lines.append(
            f"| {r['recipe']} | {r['metric']} | {r['mean']:.4f} ± {r['std']:.4f} | {floor}{met} | "
            f"{r['best_sklearn']} | {r['best_sklearn_mean']:.4f} | "
            f"{'yes' if r['matches_best_sklearn'] else 'no'} | {r['seconds']:.1f} |")
    lines += ["", "Every scikit-learn family's mean test score:", "",
              "| recipe | " + " | ".join(rows[0]["sklearn"]) + " |",
              "|---|" + "---|" * len(rows[0]["sklearn"])]
    lines += [f"| {r['recipe']} | " + " | ".join(f"{v:.4f}" for v in r["sklearn"].values()) + " |"
              for r in rows]
    for r in rows:
        if "max_w_error" in r:
            lines += ["", f"`{r['recipe']}` recovers w and b: largest error over seeds "
                      f"|Δw| = {r['max_w_error']:.4f}, |Δb| = {r['max_b_error']:.4f}."]
    lines += ["", common.wall_time_line(total_seconds, ran_on)]
    return "\n".join(lines) + "\n"


def main():
    parser = common.arguments(__file__, __doc__, quick="1 seed, 3 epochs")
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (default 5)")
    args = parser.parse_args()
    seeds = [0] if args.quick else list(range(args.seeds))
    epochs = 3 if args.quick else None
    start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in RECIPES:
            rows.append(benchmark(name, seeds, epochs, workdir))
            r = rows[-1]
            print(f"{name:<17} {r['metric']:<8} {r['mean']:.4f} ± {r['std']:.4f}   "
                  f"best sklearn {r['best_sklearn']:<17} {r['best_sklearn_mean']:.4f}", flush=True)
    report = markdown(rows, seeds, time.perf_counter() - start, common.machine())
    common.finish(args, "tabular", report, {"seeds": seeds, "rows": rows})


if __name__ == "__main__":
    main()
