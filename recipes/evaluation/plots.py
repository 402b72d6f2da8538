"""Training curves, the `run all` summary page, and what an image classifier gets wrong."""

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay  # noqa: E402

from recipes.runs.artifacts import save_figure  # noqa: E402

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


def plot_confusion_matrix(true, predicted, classes, path, title):
    """Test examples counted by (true class, predicted class): the diagonal is right."""
    size = 2 + 0.45 * len(classes)
    figure, axes = plt.subplots(figsize=(size, size))
    ConfusionMatrixDisplay.from_predictions(true, predicted, labels=classes, ax=axes, cmap="Blues",
                                            colorbar=False, xticks_rotation="vertical")
    axes.set_title(f"{title}: confusion matrix (test)")
    save_figure(figure, path)
    plt.close(figure)


def plot_misclassified(images, true, predicted, path, title, limit=36, columns=6):
    """The first `limit` wrongly predicted test images, each titled "true -> predicted"."""
    wrong = np.flatnonzero(np.asarray(true) != np.asarray(predicted))
    shown = wrong[:limit]
    rows = max(1, -(-len(shown) // columns))
    figure, grid = plt.subplots(rows, columns, figsize=(1.5 * columns, 1.7 * rows), squeeze=False)
    for axes in grid.flat:
        axes.axis("off")
    for axes, i in zip(grid.flat, shown):
        axes.imshow(np.squeeze(images[i]), cmap="gray_r")
        axes.set_title(f"{true[i]} -> {predicted[i]}", fontsize=8)
    figure.suptitle(f"{title}: {len(shown)} of {len(wrong)} misclassified test images "
                    f"(true -> predicted)", fontsize=9)
    figure.tight_layout()
    save_figure(figure, path)
    plt.close(figure)


def plot_importance(importance, metric, path, title):
    """How much the test score drops when each raw column's values are shuffled, largest first."""
    names = sorted(importance, key=importance.get)
    figure, axes = plt.subplots(figsize=(6, 1 + 0.3 * len(names)))
    axes.barh(names, [importance[n] for n in names], color="tab:blue")
    axes.axvline(0, color="gray", linewidth=1)
    axes.set(title=f"{title}: permutation importance (test)",
             xlabel=f"{metric} lost when the column is shuffled")
    axes.grid(alpha=0.3, axis="x")
    save_figure(figure, path)
    plt.close(figure)
