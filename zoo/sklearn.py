"""scikit-learn estimators for every zoo builder, on Keras' own `keras.wrappers`.

    from zoo.sklearn import estimator
    net = estimator("binary_classifier", epochs=20, dropout=0.2)
    GridSearchCV(net, {"dropout": [0.0, 0.2], "hidden_units": [(32,), (64, 32)]}, cv=3)

`estimator(name, **params)` gives a `ZooClassifier` or a `ZooRegressor`, by the builder's task.
Its parameters are the builder's hyperparameters (with the builder's defaults) plus `epochs`,
`batch_size`, `seed`, `verbose` and `anneal` (True: the builder's `decay_steps` cover every
optimizer step of each fit, whatever its rows, epochs and batch size), all plain estimator
parameters: `get_params`, `set_params`, `clone`, the searches, `cross_val_score` and `Pipeline`
see every one of them. What the data
decides is not a parameter: the input shape, the output units and, where the builder takes one,
the output layer's starting bias (the task's, as a run sets it). Targets are encoded and answers
decoded by the builder's `zoo.tasks.Task`, so a binary classifier has its one sigmoid unit here
too. A fit starts from `keras.utils.set_random_seed(seed)`: the same seed, the same model.

Keras' wrappers are built for one model passed in, so three of their parts are replaced here:
the parameters (theirs are `model`, `model_kwargs`, `fit_kwargs`), `clone` (theirs rebuilds the
wrapper from those three and drops the rest) and the input check (theirs takes 2-D arrays only;
the image builders take (n, height, width, channels)).
"""

import keras
import numpy as np
from keras.wrappers import SKLearnClassifier, SKLearnRegressor
from sklearn.base import BaseEstimator, is_classifier
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from zoo import registry, tasks
from zoo.common import annealing_steps

OUTPUT_BIAS = "output_bias"  # set by a fit from the training targets, where a builder takes it


def builder_arguments(model):
    """The hyperparameters of builder `model` an estimator exposes, with their defaults.

    {} for a name the zoo lacks: `get_params` must not raise (repr, clone and set_params call
    it), and `fit` names the mistake."""
    if not isinstance(model, str) or model not in registry.names():
        return {}
    return {name: default for name, default in registry.hyperparameters(model).items()
            if name != OUTPUT_BIAS}


def builder_task(model):
    """The `Task` builder `model` serves; a `ZooError` for a name the zoo lacks."""
    return tasks.task(registry.entry(model).tasks[0])


class ZooEstimator:
    """What the zoo's classifier and regressor share: parameters, fitting and answers."""

    def __init__(self, model, *, epochs=10, batch_size=32, seed=0, verbose=0, anneal=False,
                 **hyperparameters):
        self.model = model
        self.epochs = epochs
        self.batch_size = batch_size
        self.seed = seed
        self.verbose = verbose
        self.anneal = anneal
        # The builder's hyperparameters as given, kept even when wrong: clone keeps them, fit
        # refuses them (zoo.build lists the valid ones).
        self._hyperparameters = hyperparameters

    def get_params(self, deep=True):
        return {**super().get_params(deep=deep), **builder_arguments(self.model),
                **self._hyperparameters}

    def set_params(self, **params):
        valid = self.get_params(deep=False)
        unknown = sorted(name for name in params if name not in valid)
        if unknown:
            raise registry.ZooError(f"{type(self).__name__}({self.model!r}) has no parameter "
                                    f"{', '.join(unknown)}; valid: {', '.join(sorted(valid))}")
        own = self._get_param_names()
        self._hyperparameters.update({k: v for k, v in params.items() if k not in own})
        return super().set_params(**{k: v for k, v in params.items() if k in own})

    __sklearn_clone__ = BaseEstimator.__sklearn_clone__  # every parameter, not Keras' three

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False  # seeded: the same seed fits the same model (on a CPU)
        return tags

    def task(self):
        """The builder's `Task`; a `ZooError` for an unknown builder or the wrong estimator."""
        task = builder_task(self.model)
        if task.classification != is_classifier(self):
            kind = "ZooClassifier" if task.classification else "ZooRegressor"
            raise registry.ZooError(f"{self.model!r} does {task.name}: use {kind}, or "
                                    f"zoo.sklearn.estimator({self.model!r})")
        return task

    def fit(self, X, y):
        """Build the builder's network for X's shape and y's classes, and train it `epochs`."""
        task = self.task()
        X, y = validate_data(self, X, y, allow_nd=True, y_numeric=not task.classification)
        targets = self._encode(task, y)
        arguments = {name: value for name, value in self.get_params(deep=False).items()
                     if name not in self._get_param_names()}  # the builder's
        if OUTPUT_BIAS in registry.hyperparameters(self.model):
            arguments.setdefault(OUTPUT_BIAS, task.output_bias(targets))
        if self.anneal:  # a builder without decay_steps refuses it, naming the valid ones
            arguments["decay_steps"] = annealing_steps(len(X), self.batch_size, self.epochs)
        keras.utils.set_random_seed(self.seed)
        self.model_ = registry.build(self.model, X.shape[1:], task.output_units(self._names),
                                     **arguments)
        self.history_ = self.model_.fit(X, targets, epochs=self.epochs,
                                        batch_size=self.batch_size, verbose=self.verbose).history
        return self

    def answers(self, X):
        """The network's outputs as its task serves them: one probability per class, in the
        network's class order, or one value."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, allow_nd=True)
        outputs = self.model_.predict(X, batch_size=self.batch_size, verbose=self.verbose)
        return keras.ops.convert_to_numpy(self.task().answer(outputs))

    def predict(self, X):
        """Class labels (of `classes_`), or values."""
        task = self.task()
        return task.decode(self.answers(X), self.classes_[self._order] if task.classification
                           else [])

    def _encode(self, task, y):
        """The training targets as the task's loss takes them (zoo.tasks.Task.encode). The
        network's classes are the class names sorted as text, as in every run; `classes_` are
        scikit-learn's, sorted as they are; `_order` maps the first onto the second."""
        self._names = []
        if task.classification:
            check_classification_targets(y)  # scikit-learn's message for continuous targets
            task.check_target(y, "y")
            self.classes_ = np.unique(y)
            self._order = np.argsort(self.classes_.astype(str))
            self._names = [str(c) for c in self.classes_[self._order]]
        return task.encode(y, self._names)


class ZooClassifier(ZooEstimator, SKLearnClassifier):
    """A zoo classifier as a scikit-learn classifier: `predict` gives class labels,
    `predict_proba` one column per class of `classes_`."""

    def __init__(self, model="multiclass_classifier", *, epochs=10, batch_size=32, seed=0,
                 verbose=0, anneal=False, **hyperparameters):
        super().__init__(model, epochs=epochs, batch_size=batch_size, seed=seed, verbose=verbose,
                         anneal=anneal, **hyperparameters)

    def predict_proba(self, X):
        return self.answers(X)[:, np.argsort(self._order)]

    def decision_function(self, X):
        """scikit-learn's scores: the log-probabilities, or for two classes the second's
        log-odds (positive: predicted)."""
        log_probabilities = np.log(np.maximum(self.predict_proba(X), np.finfo("float32").tiny))
        if len(self.classes_) == 2:
            return log_probabilities[:, 1] - log_probabilities[:, 0]
        return log_probabilities


class ZooRegressor(ZooEstimator, SKLearnRegressor):
    """A zoo regressor as a scikit-learn regressor: `predict` gives one value per example."""

    def __init__(self, model="dense_regressor", *, epochs=10, batch_size=32, seed=0, verbose=0,
                 anneal=False, **hyperparameters):
        super().__init__(model, epochs=epochs, batch_size=batch_size, seed=seed, verbose=verbose,
                         anneal=anneal, **hyperparameters)


def estimator(model, **params):
    """The scikit-learn estimator of builder `model`: a classifier or a regressor, by its task."""
    kind = ZooClassifier if builder_task(model).classification else ZooRegressor
    return kind(model, **params)
