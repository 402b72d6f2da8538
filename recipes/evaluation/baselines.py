"""scikit-learn reference models, fitted on the same encoded splits as the network."""

import numpy as np
from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, mean_absolute_error
from sklearn.neural_network import MLPClassifier, MLPRegressor

REFERENCES = {  # zoo task -> () -> its quick baseline, the one every run carries
    "regression": Ridge,
    "binary": lambda: LogisticRegression(max_iter=2000),
    "multiclass": lambda: LogisticRegression(max_iter=2000),
}
HEADLINE_METRICS = {  # a task's headline -> (y_true, y_pred) -> it, as scikit-learn computes it
    "mae": mean_absolute_error,
    "accuracy": accuracy_score,
}


def reference(task):
    """A fresh, unfitted scikit-learn baseline for `task`."""
    return REFERENCES[task.name]()


def headline_metric(task):
    """`task`'s headline (zoo.tasks.Task.headline) as a scikit-learn metric on predictions."""
    return HEADLINE_METRICS[task.headline]


def reference_models(task, seed):
    """The four families the benchmark compares against; the first, the task's own reference
    (`reference`), is the quick baseline every run carries."""
    if task.classification:
        return {
            "linear": reference(task),
            "random_forest": RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=-1),
            "gradient_boosting": GradientBoostingClassifier(random_state=seed),
            "mlp": MLPClassifier(hidden_layer_sizes=(64,), max_iter=2000, early_stopping=True,
                                 random_state=seed),
        }
    return {
        "linear": reference(task),
        "random_forest": RandomForestRegressor(n_estimators=300, random_state=seed, n_jobs=-1),
        "gradient_boosting": GradientBoostingRegressor(random_state=seed),
        "mlp": MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=2000, early_stopping=True,
                            random_state=seed),
    }


def score(model, task, train, test):
    """Fit on (x, y) train, return the task's headline on test: {"accuracy": ...} or {"mae": ...}."""
    (x_train, y_train), (x_test, y_test) = train, test
    model.fit(x_train, y_train)
    predicted = model.predict(x_test)
    return {task.headline: float(headline_metric(task)(y_test, predicted))}


BASELINE_MAX_TRAIN = 5_000  # LogisticRegression on 48,750 MNIST images would take minutes


def baseline(task, seed, train, test):
    """The task's reference model: the baseline every run's metrics.json carries.

    Fitted on a seeded sample of at most BASELINE_MAX_TRAIN training examples, so that large
    image sets cost seconds too; `train_examples` says how many it saw.
    """
    x, y = train
    if len(x) > BASELINE_MAX_TRAIN:
        keep = np.random.default_rng(seed).choice(len(x), BASELINE_MAX_TRAIN, replace=False)
        x, y = x[keep], y[keep]
    return {**score(reference(task), task, (x, y), test), "train_examples": len(x)}
