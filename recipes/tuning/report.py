"""What a search reports while it runs and at its end: trials.csv and tuning.png."""

import pandas as pd

from recipes.evaluation import plots  # noqa: F401  (plots: the Agg backend)
from recipes.runs import artifacts
from recipes.tuning.space import tidy

import matplotlib.pyplot as plt  # noqa: E402  (after recipes.evaluation.plots has chosen the backend)
from matplotlib.ticker import MaxNLocator  # noqa: E402

TRIALS_FILE = "trials.csv"
PLOT_FILE = "tuning.png"


def trials_frame(trials, names):
    """One row per trial: number, status, score, epochs, seconds, then hyperparameters `names`."""
    rows = []
    for trial in sorted(trials, key=lambda t: int(t.trial_id)):
        metrics = trial.metrics
        rows.append({
            "trial": int(trial.trial_id), "status": trial.status, "score": trial.score,
            # averaged over executions; Hyperband's later rounds count only their own epochs
            **{m: metrics.get_last_value(m) if metrics.exists(m) else None
               for m in ("epochs", "seconds")},
            **{name: tidy(trial.hyperparameters.values.get(name)) for name in names},
        })
    return pd.DataFrame(rows)


def plot_search(frame, objective, path, title):
    """Each finished trial's score, and the best score so far."""
    done = frame[frame["status"] == "COMPLETED"]
    best = done["score"].cummax() if objective.direction == "max" else done["score"].cummin()
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(done["trial"], done["score"], "o", label="trial")
    axes.step(done["trial"], best, where="post", label="best so far")
    axes.set(title=title, xlabel="trial", ylabel=objective.name)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)
    axes.legend()
    artifacts.save_figure(figure, path)
    plt.close(figure)


def write_trials(out, objective, names, title, trials):
    """trials.csv and tuning.png in `out`, for `trials` (keras-tuner's) so far."""
    frame = trials_frame(trials, names)
    artifacts.write_csv(out / TRIALS_FILE, frame)
    plot_search(frame, objective, out / PLOT_FILE, title)
