"""What a forecaster must beat: the season of the training target, and four baselines scored
on the same test windows as the network, in the target's own units.

    season = forecasts.season_length(training_target, max_lag=...)
    found = forecasts.baselines(splits.train, splits.test, season)
    found["persistence"]  # {"mae": ..., "mae_by_step": [...]}, or {"skipped": "why"}

Parts are recipes/features/windows.py's: `features` (n, window, columns) of raw values, the target
column first, `target` (n, horizon); consecutive windows, one step apart. Arrays only: this
module reads no data set.
"""

import warnings

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.holtwinters import ExponentialSmoothing
from statsmodels.tsa.stattools import acf

# A season is the lag of the highest autocorrelation peak (past lag 1) of the linearly detrended
# training target that reaches SEASON_MIN_ACF, and NOISE_BANDS standard errors of white noise's
# autocorrelation (1/sqrt(n)) so that short series need clearer peaks; and that rises at least
# SEASON_MIN_RISE above the lowest correlation before it, so the wiggles of a slowly decaying
# correlation (a random walk, weather from day to day) are not seasons.
SEASON_MIN_ACF = 0.2
NOISE_BANDS = 4
SEASON_MIN_RISE = 0.1
MIN_SMOOTHING_ROWS = 10  # statsmodels' heuristic start needs 10 values, and two seasons more


class Skipped(Exception):
    """A baseline that cannot be computed here; its message says why."""


def season_length(values, max_lag):
    """The season of `values` (the TRAINING target, in time order) in steps, at most `max_lag`
    (and half the series), or None when there is none: see SEASON_MIN_ACF."""
    values = np.asarray(values, dtype="float64")
    max_lag = min(int(max_lag), len(values) // 2 - 1)
    if max_lag < 2:
        return None
    steps = np.arange(len(values))
    detrended = values - np.polyval(np.polyfit(steps, values, 1), steps)  # a trend correlates
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = acf(detrended, nlags=max_lag + 1, fft=True)
    if not np.isfinite(correlation).all():  # a constant or a straight line: no season
        return None
    lags = np.arange(2, max_lag + 1)
    peaks = lags[(correlation[lags] >= correlation[lags - 1])
                 & (correlation[lags] > correlation[lags + 1])]
    threshold = max(SEASON_MIN_ACF, NOISE_BANDS / np.sqrt(len(values)))
    seasons = [lag for lag in peaks if correlation[lag] >= threshold
               and correlation[lag] - correlation[1:lag].min() >= SEASON_MIN_RISE]
    return int(max(seasons, key=lambda lag: correlation[lag])) if seasons else None


def baselines(train, test, season):
    """Each baseline's test MAE over all horizon steps and per step, or why it was skipped:
    "persistence", "seasonal_naive", "lagged_ridge", "exponential_smoothing"."""
    truth = np.asarray(test.target, dtype="float64")
    makers = {"persistence": lambda: persistence(test),
              "seasonal_naive": lambda: seasonal_naive(test, season),
              "lagged_ridge": lambda: lagged_ridge(train, test),
              "exponential_smoothing": lambda: exponential_smoothing(train, test, season)}
    found = {}
    for name, make in makers.items():
        try:
            found[name] = scored(truth, make())
        except Skipped as skipped:
            found[name] = {"skipped": str(skipped)}
    return found


def scored(truth, predicted):
    by_step = errors_by_step(truth, predicted)
    return {"mae": float(np.mean(by_step)), "mae_by_step": by_step}


def errors_by_step(true, predicted):
    """The mean absolute error of each horizon step, over the windows: [step 1, step 2, ...]."""
    true, predicted = (np.asarray(a, dtype="float64").reshape(len(true), -1)
                       for a in (true, predicted))
    return [float(e) for e in np.mean(np.abs(true - predicted), axis=0)]


def horizon(part):
    return np.asarray(part.target).shape[1]


def persistence(test):
    """The window's last target value, for every step."""
    last = np.asarray(test.features)[:, -1, 0]
    return np.repeat(last[:, None], horizon(test), axis=1)


def seasonal_naive(test, season):
    """The value one season before each target step, from the last season the window saw (a
    step more than a season ahead takes the same phase of that season)."""
    if season is None:
        raise Skipped("no season found in the training target")
    window = np.asarray(test.features).shape[1]
    if window < season:
        raise Skipped(f"the window ({window} steps) does not reach back one season "
                      f"({season} steps)")
    positions = window - season + np.arange(horizon(test)) % season
    return np.asarray(test.features)[:, positions, 0]


def lagged_ridge(train, test):
    """Ridge regression (scikit-learn's default penalty, on standardised lags) of the next
    horizon values on the flattened raw window, fitted on the training windows."""
    flat = [np.asarray(part.features).reshape(len(part.target), -1) for part in (train, test)]
    model = make_pipeline(StandardScaler(), Ridge()).fit(flat[0], np.asarray(train.target))
    return model.predict(flat[1])


def exponential_smoothing(train, test, season):
    """statsmodels' Holt-Winters (additive trend, and additive season where one is known and
    fits the data), forecast from each test window's end.

    Kept cheap: the smoothing parameters are fitted once, on the training target; the test part
    is then run through the smoothing with those parameters fixed (no optimisation), started
    from the first test window's inputs, so every window's forecast comes from one pass, from the
    states after its last input: the past only."""
    history, sequence = target_history(train), target_history(test)
    window = np.asarray(test.features).shape[1]
    if len(history) < MIN_SMOOTHING_ROWS:
        raise Skipped(f"the training target has {len(history)} values; Holt-Winters needs "
                      f"{MIN_SMOOTHING_ROWS}")
    seasonal = season is not None and window >= season and \
        len(history) >= MIN_SMOOTHING_ROWS + 2 * season
    shape = {"trend": "add", "seasonal": "add" if seasonal else None,
             "seasonal_periods": season if seasonal else None}
    smoothed = ["level", "trend", *(["seasonal"] if seasonal else [])]
    start = sequence[:season if seasonal else 1]
    known = {"initial_level": start.mean(), "initial_trend": 0.0,
             **({"initial_seasonal": start - start.mean()} if seasonal else {})}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # a flat or noisy target: fine
            warnings.simplefilter("ignore", RuntimeWarning)  # a perfect fit's log(0) criteria
            fitted = ExponentialSmoothing(history, initialization_method="heuristic",
                                          **shape).fit()
            smoothing = {f"smoothing_{k}": fitted.params[f"smoothing_{k}"] for k in smoothed}
            run = ExponentialSmoothing(sequence, initialization_method="known", **shape,
                                       **known).fit(optimized=False, **smoothing)
    except (ValueError, np.linalg.LinAlgError) as error:
        raise Skipped(f"Holt-Winters could not be fitted: {error}") from None
    return forecasts_from(run, window, len(test.target), horizon(test),
                          season if seasonal else None)


def target_history(part):
    """The target values of a Part's consecutive windows, in time order: the first window's
    inputs, each window's first target, the last window's other targets."""
    features, target = np.asarray(part.features, "float64"), np.asarray(part.target, "float64")
    return np.concatenate([features[0, :, 0], target[:, 0], target[-1, 1:]])


def forecasts_from(run, window, count, steps, season):
    """(count, steps) forecasts of the smoothing `run` over target_history: window i's from the
    states after its last input (position window - 1 + i). Hyndman and Athanasopoulos' formula
    (Forecasting: Principles and Practice, 8.3): level + h trend + the last season's value of
    the step's phase."""
    origins = window - 1 + np.arange(count)[:, None]
    ahead = np.arange(1, steps + 1)[None, :]
    forecast = run.level[origins] + ahead * run.trend[origins]
    if season:
        forecast = forecast + run.season[origins + ahead - season * ((ahead - 1) // season + 1)]
    return forecast
