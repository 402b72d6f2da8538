"""Training curves and the `run all` summary page."""

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402

from recipes.artifacts import save_figure  # noqa: E402

METRIC_TITLES = {"loss": "Loss", "accuracy": "Accuracy", "mae": "Mean absolute error"}


def plot_history(history, metric, path, title):
    """Train and validation curves of one metric over epochs."""
    figure, axes = plt.subplots(figsize=(6, 4))
    epochs = range(1, len(history[metric]) + 1)
    axes.plot(epochs, history[metric], label="train")
    if f"val_{metric}" in history:
        axes.plot(epochs, history[f"val_{metric}"], label="validation")
    axes.set(title=f"{title}: {METRIC_TITLES.get(metric, metric)}", xlabel="epoch",
             ylabel=metric)
    axes.grid(alpha=0.3)
    axes.legend()
    save_figure(figure, path)
    plt.close(figure)
