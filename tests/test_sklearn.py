"""zoo/sklearn.py: every zoo builder as a scikit-learn estimator, on Keras' `keras.wrappers`.

Parameters round-trip through get_params / set_params / clone; a grid search, a pipeline with a
ColumnTransformer and images work; scikit-learn's own estimator checks pass but the one listed
(CANNOT_PASS).
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import zoo
from zoo.sklearn import ZooClassifier, ZooRegressor, estimator


def test_every_builder_argument_is_a_parameter_and_survives_clone_and_set_params():
    net = estimator("binary_classifier", epochs=3, dropout=0.3, hidden_units=(8, 4))
    params = net.get_params()
    builder = {k: v for k, v in zoo.hyperparameters("binary_classifier").items()
               if k != "output_bias"}  # output_bias: set from the training targets by fit
    assert params == {"model": "binary_classifier", "epochs": 3, "batch_size": 32, "seed": 0,
                      "verbose": 0, "anneal": False, **builder, "dropout": 0.3,
                      "hidden_units": (8, 4)}
    copy = clone(net)
    assert copy is not net and copy.get_params() == params
    copy.set_params(dropout=0.1, learning_rate=0.01, epochs=5)
    assert (copy.get_params()["dropout"], copy.get_params()["learning_rate"], copy.epochs) == \
        (0.1, 0.01, 5)
    assert clone(copy).get_params() == copy.get_params()
    assert net.get_params()["dropout"] == 0.3  # the original untouched


def test_an_unknown_parameter_is_refused_naming_the_valid_ones():
    net = estimator("binary_classifier")
    with pytest.raises(zoo.ZooError, match="has no parameter units; valid: .*hidden_units"):
        net.set_params(units=4)
    kept = clone(ZooClassifier("binary_classifier", units=4))  # kept by clone, refused by fit
    assert kept.get_params()["units"] == 4
    with pytest.raises(zoo.ZooError, match="has no hyperparameter units; valid: hidden_units"):
        kept.fit(np.zeros((4, 2)), [0, 1, 0, 1])


def test_the_estimator_follows_the_builder_s_task():
    assert isinstance(estimator("dense_regressor"), ZooRegressor)
    assert isinstance(estimator("mnist_cnn"), ZooClassifier)
    with pytest.raises(zoo.ZooError, match="'dense_regressor' does regression: use ZooRegressor"):
        ZooClassifier("dense_regressor").fit(np.zeros((4, 2)), [0, 1, 0, 1])


@pytest.fixture(scope="module")
def breast_cancer():
    return load_breast_cancer(return_X_y=True)


@pytest.mark.parametrize("rows", [450, 300])
def test_anneal_decays_the_learning_rate_over_every_step_of_each_fit(breast_cancer, rows):
    """As a run anneals over its training rows, each of a search's fits anneals over its own."""
    x, y = breast_cancer
    net = estimator("binary_classifier", epochs=3, batch_size=100, learning_rate=0.01,
                    anneal=True).fit(StandardScaler().fit_transform(x[:rows]), y[:rows])
    optimizer = net.model_.optimizer
    assert int(optimizer.iterations) == 3 * -(-rows // 100)
    assert float(optimizer.learning_rate) == pytest.approx(0.01 * 0.01)  # the cosine's floor
    constant = estimator("binary_classifier", epochs=1, learning_rate=0.01).fit(x[:rows], y[:rows])
    assert float(constant.model_.optimizer.learning_rate) == pytest.approx(0.01)


def test_a_grid_search_beats_the_majority_class_by_a_wide_margin(breast_cancer):
    x, y = breast_cancer
    pipeline = Pipeline([("scale", StandardScaler()),
                         ("net", estimator("binary_classifier", epochs=5))])
    search = GridSearchCV(pipeline, {"net__dropout": [0.0, 0.2],
                                     "net__hidden_units": [(8,), (32, 16)]}, cv=3)
    search.fit(x, y)
    majority = max(np.mean(y), 1 - np.mean(y))  # 0.63
    assert len(search.cv_results_["params"]) == 4
    assert search.best_score_ > majority + 0.25, search.cv_results_["mean_test_score"]
    probabilities = search.predict_proba(x[:5])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-6)
    assert set(search.predict(x)) == {0, 1}  # scikit-learn's labels, not the network's 0/1 column


def test_the_same_seed_fits_the_same_model(breast_cancer):
    x, y = breast_cancer
    x = StandardScaler().fit_transform(x)
    first, second, other = (estimator("binary_classifier", epochs=2, seed=s).fit(x, y)
                            for s in (1, 1, 2))
    np.testing.assert_array_equal(first.predict_proba(x), second.predict_proba(x))
    assert not np.array_equal(first.predict_proba(x), other.predict_proba(x))


def test_a_pipeline_with_a_column_transformer_reads_a_csv_with_a_category(tmp_path):
    rng = np.random.default_rng(0)
    colour = rng.choice(["red", "green", "blue"], size=300)
    size = rng.normal(size=300)
    label = np.where(colour == "red", "stop", np.where(size > 0, "big", "small"))
    pd.DataFrame({"size": size, "colour": colour, "label": label}).to_csv(
        tmp_path / "signs.csv", index=False)
    table = pd.read_csv(tmp_path / "signs.csv")
    features, target = table[["size", "colour"]], table["label"]
    pipeline = Pipeline([
        ("columns", ColumnTransformer([("numbers", StandardScaler(), ["size"]),
                                       ("categories", OneHotEncoder(), ["colour"])])),
        ("net", estimator("multiclass_classifier", epochs=30, learning_rate=0.01))])
    scores = cross_val_score(pipeline, features, target, cv=3)
    assert scores.mean() > 0.85, scores  # chance: 1/3
    fitted = pipeline.fit(features, target)
    assert list(fitted.classes_) == ["big", "small", "stop"]
    assert set(fitted.predict(features.head(20))) <= {"big", "small", "stop"}


def test_image_builders_take_images():
    digits = load_digits()
    images = (digits.images / 16.0)[..., np.newaxis].astype("float32")  # (n, 8, 8, 1)
    x_train, x_test, y_train, y_test = train_test_split(images, digits.target, random_state=0)
    net = estimator("softmax_regression", epochs=10, learning_rate=0.1).fit(x_train, y_train)
    assert net.score(x_test, y_test) > 0.8  # chance: 0.1


# scikit-learn's checks, each its own test. The classifier's that cannot pass, and why:
CANNOT_PASS = {
    "check_fit2d_1sample": "a single example is a single class, and the zoo's Task says so in "
                           "its own words ('target 'y' has a single class (1); need at least "
                           "2'), not in one of the phrasings this check looks for",
    # Seen with scikit-learn 1.9.1 at rtol 1e-7: 3 of 60 values differed by 2.4e-7 (1 float32 ULP)
    "check_methods_sample_order_invariance": "float32 matrix products (oneDNN) may round a row "
                                             "1 ULP differently at another place in its batch; "
                                             "the check allows a relative 1e-7",
}


@parametrize_with_checks([ZooClassifier(epochs=1)],
                         expected_failed_checks=lambda estimator_: CANNOT_PASS)
def test_scikit_learn_s_estimator_checks(estimator, check):
    check(estimator)


# The regressor shares all but the targets with the classifier: the checks scikit-learn keeps
# beyond its legacy set (parameters, cloning, fitting, unfitted use) suffice, and save a minute.
@parametrize_with_checks([ZooRegressor(epochs=1)], legacy=False)
def test_scikit_learn_s_estimator_checks_for_the_regressor(estimator, check):
    check(estimator)
