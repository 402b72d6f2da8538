"""Training curves, the `run all` summary page, and what an image classifier gets wrong."""

import warnings

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


TEXT_CHARACTERS = 110  # of each misclassified text shown: one line of the figure


def plot_misclassified_texts(texts, true, predicted, path, title, limit=20):
    """The first `limit` wrongly predicted test texts, one line each: "true -> predicted: the
    text", its whitespace collapsed and cut to TEXT_CHARACTERS."""
    texts = np.asarray(texts, dtype=object)
    true, predicted = np.asarray(true), np.asarray(predicted)
    wrong = np.flatnonzero(true != predicted)
    shown = wrong[:limit]
    figure, axes = plt.subplots(figsize=(10, 0.7 + 0.28 * max(1, len(shown))))
    axes.axis("off")
    for line, i in enumerate(shown):
        words = " ".join(str(texts[i]).split())
        words = words if len(words) <= TEXT_CHARACTERS else words[:TEXT_CHARACTERS - 1] + "…"
        # parse_math off: a "$" in a review is a dollar, not mathtext
        axes.text(0, 1 - (line + 0.5) / max(1, len(shown)), f"{true[i]} -> {predicted[i]}: "
                  f"{words}", fontsize=8, va="center", transform=axes.transAxes, parse_math=False)
    axes.set_title(f"{title}: {len(shown)} of {len(wrong)} misclassified test texts "
                   f"(true -> predicted)", fontsize=9, loc="left")
    with warnings.catch_warnings():  # emoji and other scripts the default font lacks: boxes
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        save_figure(figure, path)
    plt.close(figure)


def plot_forecast(times, true, predicted, path, title):
    """The test span over time: the truth, the forecast one step ahead and, with a horizon over
    1, the forecast of its last step, each drawn at the time it forecasts. `times`: each test
    window's first forecast time; `true`, `predicted`: (windows, horizon)."""
    times = np.asarray(times)
    true, predicted = (np.asarray(a, dtype="float64").reshape(len(times), -1)
                       for a in (true, predicted))
    steps = true.shape[1]
    figure, axes = plt.subplots(figsize=(10, 4))
    axes.plot(times, true[:, 0], color="black", linewidth=1, label="truth")
    axes.plot(times, predicted[:, 0], linewidth=1, label="forecast 1 step ahead")
    if 1 < steps <= len(times):
        # window i's last step forecasts the time that window i + steps - 1 forecasts first
        axes.plot(times[steps - 1:], predicted[:len(times) - steps + 1, -1], linewidth=1,
                  label=f"forecast {steps} steps ahead")
    axes.set(title=f"{title}: test forecasts", xlabel="time", ylabel="value")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.autofmt_xdate()
    save_figure(figure, path)
    plt.close(figure)


def plot_horizon_errors(errors, baselines, path, title):
    """Test MAE by horizon step: the network's `errors` and each baseline's that has
    `mae_by_step` (recipes/evaluation/forecasts.py's `baselines`)."""
    steps = np.arange(1, len(errors) + 1)
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(steps, errors, marker="o", linewidth=2, label="network")
    for name, found in baselines.items():
        if "mae_by_step" in found:
            axes.plot(steps, found["mae_by_step"], marker=".", linestyle="--",
                      label=name.replace("_", " "))
    axes.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axes.set(title=f"{title}: test MAE by horizon step", xlabel="steps ahead",
             ylabel="mean absolute error")
    axes.grid(alpha=0.3)
    axes.legend()
    save_figure(figure, path)
    plt.close(figure)
