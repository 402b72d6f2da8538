"""scikit-learn reference models, fitted on the same preprocessed splits as the network."""

import numpy as np
from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, mean_absolute_error
from sklearn.neural_network import MLPClassifier, MLPRegressor


def reference_models(task, seed):
    """The four families the benchmark compares against; the first is the quick baseline."""
    if task == "regression":
        return {
            "linear": Ridge(),
            "random_forest": RandomForestRegressor(n_estimators=300, random_state=seed, n_jobs=-1),
            "gradient_boosting": GradientBoostingRegressor(random_state=seed),
            "mlp": MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=2000, early_stopping=True, random_state=seed),
        }
    return {
        "linear": LogisticRegression(max_iter=2000),
        "random_forest": RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=-1),
        "gradient_boosting": GradientBoostingClassifier(random_state=seed),
        "mlp": MLPClassifier(hidden_layer_sizes=(64,), max_iter=2000, early_stopping=True, random_state=seed),
    }


def score(model, task, train, test):
    """Fit on (x, y) train, return the test metric recipes report: accuracy or MAE."""
    (x_train, y_train), (x_test, y_test) = train, test
    model.fit(x_train, y_train)
    predicted = model.predict(x_test)
    if task == "regression":
        return {"mae": float(mean_absolute_error(y_test, predicted))}
    return {"accuracy": float(accuracy_score(y_test, predicted))}


BASELINE_MAX_TRAIN = 5_000  # LogisticRegression on 48,750 MNIST images would take minutes


def baseline(task, seed, train, test):
    """LogisticRegression or Ridge: the reference every run's metrics.json carries.

    Fitted on a seeded sample of at most BASELINE_MAX_TRAIN training examples, so that large
    image sets cost seconds too; `train_examples` says how many it saw.
    """
    x, y = train
    if len(x) > BASELINE_MAX_TRAIN:
        keep = np.random.default_rng(seed).choice(len(x), BASELINE_MAX_TRAIN, replace=False)
        x, y = x[keep], y[keep]
    return {**score(reference_models(task, seed)["linear"], task, (x, y), test),
            "train_examples": len(x)}
