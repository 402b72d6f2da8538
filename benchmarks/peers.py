"""The tabular peers a user would compare the csv recipe with, fitted on a run's own split.

    score, seconds = fit_and_score("lightgbm", plan, loaded, seed)

scikit-learn's HistGradientBoosting, LightGBM and CatBoost, each with its library's defaults
(the comparison a user makes; none is tuned here), each on the run's raw columns as that library
takes them (`view`): numbers as numbers, categories as its categorical type, dates as year,
month, day and day counts; free text left out. They train on train + validation: none needs a
split for early stopping with its defaults. LightGBM and CatBoost are an optional extra
(`pip install .[bench]`); `available()` names the peers this machine has.
"""

import time

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from recipes.evaluation import baselines
from recipes.roles import date

try:  # the optional `bench` extra: the benchmark runs without them, leaving their columns out
    import catboost
    import lightgbm
except ImportError:
    catboost = lightgbm = None

HGB_MAX_LEVELS = 255  # HistGradientBoosting's limit on a categorical column's levels


def available():
    """The peers this machine has: HistGradientBoosting, and LightGBM and CatBoost when installed."""
    return ["hist_gradient_boosting", *(["lightgbm", "catboost"] if lightgbm and catboost else [])]


def view(loaded, part):
    """A part's raw columns: numbers, categories (the training split's most frequent levels, at
    most HGB_MAX_LEVELS - 1, the rest missing), and dates as year, month, day of week, day of year
    and days since 1970 (parsed by the run's inferred format)."""
    features = getattr(loaded.splits, part).features
    roles = {c.name: c for c in loaded.dataset.columns or []}
    train = loaded.splits.train.features
    out = {}
    for name in features.columns:
        role = roles[name].role if name in roles else (
            "numeric" if pd.api.types.is_numeric_dtype(features[name]) else "categorical")
        if role == "numeric":
            out[name] = np.asarray(pd.to_numeric(features[name], errors="coerce"))
        elif role == "categorical":
            levels = train[name].astype(str).value_counts().index[:HGB_MAX_LEVELS - 1]
            values = features[name].astype(str).where(features[name].astype(str).isin(levels))
            out[name] = pd.Categorical(values, categories=levels)
        elif role == "date":
            year, month, day = date.parse(features[name].reset_index(drop=True),
                                           roles[name].date_format)
            days = date.days_since_epoch(year, month, day)
            out.update({f"{name}_year": year, f"{name}_month": month, f"{name}_days": days,
                        f"{name}_weekday": np.mod(days + 3, 7),
                        f"{name}_yearday": days - date.days_since_epoch(year, 1.0, 1.0)})
    return pd.DataFrame({k: np.asarray(v) if not isinstance(v, pd.Categorical) else v
                         for k, v in out.items()})


def catboost_frame(frame):
    """CatBoost takes categories as strings without gaps: a missing level becomes its own."""
    return frame.apply(lambda c: pd.Series(np.where(c.isna(), "(missing)", c.astype(object)),
                                           index=c.index).astype(str)
                       if isinstance(c.dtype, pd.CategoricalDtype) else c)


def model_for(name, classification, seed, frame):
    """The peer `name` with its library's defaults, seeded, on this machine's cores."""
    if name == "hist_gradient_boosting":
        kind = HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor
        return kind(categorical_features="from_dtype", random_state=seed)
    if name == "lightgbm":
        kind = lightgbm.LGBMClassifier if classification else lightgbm.LGBMRegressor
        return kind(random_state=seed, verbose=-1)
    kind = catboost.CatBoostClassifier if classification else catboost.CatBoostRegressor
    categorical = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    return kind(random_seed=seed, verbose=0, cat_features=categorical, allow_writing_files=False)


def fit_and_score(name, plan, loaded, seed, fit_on=("train", "val"), score_on="test"):
    """(The peer's headline on part `score_on`, its fit seconds), fitted on parts `fit_on` of
    the run's split: train + validation for the test (csv_suite), train alone for validation
    (csv_choices)."""
    task = plan.task
    x = pd.concat([view(loaded, part) for part in fit_on], ignore_index=True)
    scored = view(loaded, score_on)
    # LightGBM refuses some characters in names (a survey's headers hold them): number them
    x.columns = scored.columns = [f"column_{i}" for i in range(x.shape[1])]
    model = model_for(name, task.classification, seed, x)
    if name == "catboost":
        x, scored = catboost_frame(x), catboost_frame(scored)
    y = np.concatenate([np.asarray(getattr(loaded.splits, part).target) for part in fit_on])
    start = time.perf_counter()
    model.fit(x, y.astype(str) if task.classification else y)
    seconds = time.perf_counter() - start
    truth = np.asarray(getattr(loaded.splits, score_on).target)
    predicted = np.asarray(model.predict(scored)).reshape(len(scored))
    score = baselines.headline_metric(task)(truth.astype(str) if task.classification else truth,
                                             predicted.astype(str) if task.classification
                                             else predicted)
    return float(score), seconds
