"""`reports/summary.md`: one row per recipe of `run all`, then each run's plots."""

import os
from pathlib import Path

from recipes.runs import artifacts
from recipes.evaluation.evaluate import headline


def write_summary(path, runs, skipped):
    """`runs`: {name: (out_dir, metrics)}; `skipped`: {name: reason}."""
    path = Path(path)
    lines = ["# Recipes: summary of `python -m recipes run all`", "",
             "| recipe | data set | model | test metric | scikit-learn baseline | epochs | seconds |",
             "|---|---|---|---|---|---|---|"]
    for name, (_, metrics) in runs.items():
        key, value, baseline = headline(metrics)
        lines.append(f"| {name} | {metrics['dataset']} | {metrics['model']} | {key} {value:.4f} | "
                     f"{key} {baseline:.4f} | {metrics['epochs_run']} | {metrics['train_seconds']:.1f} |")
    if skipped:
        lines += ["", "## Skipped", "", "| recipe | reason |", "|---|---|"]
        lines += [f"| {name} | {reason} |" for name, reason in skipped.items()]
    lines += ["", "## Training curves", ""]
    for name, (out, metrics) in runs.items():
        key, _, _ = headline(metrics)
        rel = Path(os.path.relpath(out, path.parent))
        lines.append(f"### {name}\n\n![{name} {key}]({rel / f'{key}.png'}) ![{name} loss]({rel / 'loss.png'})\n")
    artifacts.write_text(path, "\n".join(lines) + "\n")
