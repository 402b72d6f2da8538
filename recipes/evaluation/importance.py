"""Which raw columns a trained model uses: permutation importance on the test split.

Each raw column's test values are shuffled in turn (the others left as they are) and the served
model, the one `predict` uses, answers again; the importance is how much the task's headline
(accuracy, or MAE) gets worse. A column the model ignores scores about 0; a leaking column (an
ID that encodes the answer, a value recorded after the fact) stands out far above the rest.
This is scikit-learn's `permutation_importance` idea, written over the raw-input model so that
one-hot and date columns count as the one column the user knows.
"""

import numpy as np

from recipes.evaluation import baselines


def permutation_importance(model, preprocessing, task, features, target, *, seed, repeats=3):
    """Raw column -> mean loss of the headline over `repeats` shuffles (positive: it matters)."""
    feed = preprocessing.feed(features)
    sign = 1 if task.direction == "max" else -1
    baseline = score(model, feed, task, preprocessing.classes, target)
    rng = np.random.default_rng(seed)
    importance = {}
    for column in preprocessing.spec["inputs"]:
        losses = []
        for _ in range(repeats):
            shuffled = {**feed, column["name"]: rng.permutation(feed[column["name"]])}
            losses.append(sign * (baseline - score(model, shuffled, task, preprocessing.classes,
                                                   target)))
        importance[column["column"]] = round(float(np.mean(losses)), 6)
    return importance


def score(model, feed, task, classes, target):
    answers = model.predict(feed, batch_size=1024, verbose=0)
    truth = np.asarray(target).astype(str) if task.classification else np.asarray(target)
    return baselines.headline_metric(task)(truth, task.decode(answers, classes))
