"""What a finished run folder holds, written the same way by `run`, `tune` and `grid`: history,
plots, the raw-input model, its card and metrics.json (`write_run`); and what the run was asked
(`run_request`), which --resume compares.
"""

import json
from dataclasses import asdict

import numpy as np
import pandas as pd

from recipes.evaluation import evaluate, importance, plots
from recipes.features import encoding
from recipes.runs import artifacts, rundir


def run_request(plan, loaded, options):
    """What this run was asked to do, as JSON holds it: --resume continues only the same run."""
    config = plan.config
    request = {"recipe": plan.recipe.name, "dataset": loaded.dataset.name,
               "task": plan.task.name, "model": plan.model_name,
               "hyperparameters": plan.hyperparameters, "seed": options.seed,
               "loop": config.loop, "epochs": config.epochs, "batch_size": config.batch_size,
               "data": asdict(options.data), "augment": config.augment is not None, "jit": options.jit,
               "mixed_precision": config.mixed_precision, "deterministic": options.deterministic,
               "class_weight": options.class_weight, "ensemble": options.ensemble}
    return json.loads(json.dumps(request, default=str))


def write_run(out, plan, loaded, network, result, metrics):
    """Everything a finished run holds (rundir.RUN_ENTRIES), metrics.json last."""
    history = pd.DataFrame(result.history)
    history.insert(0, "epoch", range(1, len(history) + 1))
    artifacts.write_csv(out / rundir.HISTORY_FILE, history)
    title = f"{plan.recipe.name} ({metrics['model']}, {metrics['loop']})"
    for metric in (plan.task.headline, "loss"):
        plots.plot_history(result.history, metric, out / f"{metric}.png", title)
    preprocessing = loaded.preprocessing
    model = encoding.raw_model(preprocessing.spec, plan.task.name, network, preprocessing.scale)
    kind = loaded.dataset.kind
    if kind in ("images", "text"):
        plot_test_errors(out, plan, loaded, model, title)
    if kind == "series":
        plot_forecast(out, plan, loaded, model, metrics, title)
    if kind in ("table", "series"):  # which raw columns the model uses: metrics, importance.png
        test = loaded.splits.test
        metrics["importance"] = importance.permutation_importance(
            network, preprocessing, plan.task, test.features, test.target, seed=plan.config.seed)
        plots.plot_importance(metrics["importance"], plan.task.headline,
                              out / rundir.IMPORTANCE_FILE, title)
    with artifacts.atomic_path(out / rundir.MODEL_FILE) as tmp:
        model.save(tmp)
    artifacts.write_json(out / rundir.CARD_FILE, rundir.model_card(
        metrics, preprocessing.spec, preprocessing.classes, plan.task.answer_name))
    artifacts.write_json(out / rundir.METRICS_FILE, metrics)  # last: it marks a finished run


def plot_test_errors(out, plan, loaded, model, title):
    """Image and text recipes: which classes the test split confuses, and what those images
    look like, or those texts say."""
    test, classes = loaded.splits.test, loaded.preprocessing.classes
    predicted = plan.task.decode(served_answers(plan, loaded, model, test), classes)
    true = np.asarray(test.target).astype(str)
    plots.plot_confusion_matrix(true, predicted, classes, out / rundir.CONFUSION_MATRIX_FILE, title)
    if loaded.dataset.kind == "text":
        texts, _ = evaluate.texts(loaded, "test")
        plots.plot_misclassified_texts(texts, true, predicted, out / rundir.MISCLASSIFIED_FILE,
                                       title)
    else:
        plots.plot_misclassified(test.features, true, predicted, out / rundir.MISCLASSIFIED_FILE,
                                 title)


def plot_forecast(out, plan, loaded, model, metrics, title):
    """Series recipes: the test span over time, truth and forecast; the error by horizon step
    beside the baselines'."""
    test = loaded.splits.test
    forecast = served_answers(plan, loaded, model, test)
    plots.plot_forecast(test.times, np.asarray(test.target), forecast,
                        out / rundir.FORECAST_FILE, title)
    plots.plot_horizon_errors(metrics["series"]["mae_by_step"], metrics["series"]["baselines"],
                              out / rundir.HORIZON_ERRORS_FILE, title)


def served_answers(plan, loaded, model, part):
    """The saved model's answers to the raw inputs of `part`, as predict gets them."""
    return model.predict(loaded.preprocessing.feed(part.features),
                         batch_size=plan.config.batch_size, verbose=0)
