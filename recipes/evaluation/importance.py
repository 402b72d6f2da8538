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

# Rows per `predict` call: every shuffled copy of the test rows goes through the model in as few
# calls as this allows. One call per shuffle cost ~0.3 s of tf.data set-up and tracing each, 45 s
# on an 80-column table; memory stays a few hundred MB of raw cells at most.
ROWS_PER_CALL = 200_000


def permutation_importance(model, preprocessing, task, features, target, *, seed, repeats=3):
    """Raw column -> mean loss of the headline over `repeats` shuffles (positive: it matters)."""
    feed = preprocessing.feed(features)
    sign = 1 if task.direction == "max" else -1
    rng = np.random.default_rng(seed)
    names = [column["name"] for column in preprocessing.spec["inputs"]]
    shuffles = [(name, rng.permutation(feed[name])) for name in names for _ in range(repeats)]
    baseline, *scores = scores_of(model, feed, [(None, None), *shuffles], task,
                                  preprocessing.classes, target)
    losses = sign * (baseline - np.asarray(scores).reshape(len(names), repeats))
    return {column["column"]: round(float(np.mean(loss)), 6)
            for column, loss in zip(preprocessing.spec["inputs"], losses)}


def scores_of(model, feed, shuffles, task, classes, target):
    """The headline of the model's answers on `feed` with each (input name, shuffled values)
    in place (None: as it is), the copies stacked into as few `predict` calls as fit."""
    rows = len(target)
    per_call = max(1, ROWS_PER_CALL // rows)
    truth = np.asarray(target).astype(str) if task.classification else np.asarray(target)
    headline = baselines.headline_metric(task)
    scores = []
    for start in range(0, len(shuffles), per_call):
        group = shuffles[start:start + per_call]
        stacked = {key: np.concatenate([shuffled if name == key else values
                                        for name, shuffled in group])
                   for key, values in feed.items()}
        answers = model.predict(stacked, batch_size=4096, verbose=0)
        scores += [headline(truth, task.decode(answers[i * rows:(i + 1) * rows], classes))
                   for i in range(len(group))]
    return scores
