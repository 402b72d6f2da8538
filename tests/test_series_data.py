"""Time series, the data side: the loader (recipes/data/series.py), the windows and their
encoder (recipes/features/windows.py), the baselines (recipes/evaluation/forecasts.py) and the
two forecast plots."""

import keras
import numpy as np
import pandas as pd
import pytest

from recipes.data import series
from recipes.data.dataset import DataOptions
from recipes.errors import UserError
from recipes.evaluation import forecasts, plots
from recipes.features import windows
from recipes.features.parts import Part
from recipes.serving import series_rows
from tests.conftest import ROOT

DEV_SERIES = ROOT.parent / "shared" / "datasets" / "series"


def write(tmp_path, frame, name="series.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


def trend_frame(rows=100, start="2020-01-01", step="D"):
    """A series whose value is its row number (and a feature column 1000 more): every window's
    values are known by hand."""
    times = pd.date_range(start, periods=rows, freq=step)
    return pd.DataFrame({"time": times.strftime("%Y-%m-%d %H:%M"),
                         "y": np.arange(rows, dtype=float), "x": 1000.0 + np.arange(rows)})


def load(tmp_path, frame, **given):
    options = {"time": "time", "target": "y", **given}
    return series.series_csv(DataOptions(path=write(tmp_path, frame), **options))


# --- the loader ------------------------------------------------------------------------------

def test_a_series_loads_in_time_order_target_first(tmp_path):
    frame = trend_frame(60).sample(frac=1, random_state=0)  # shuffled rows
    dataset = load(tmp_path, frame, series_features=("x",), window=4, horizon=2)
    assert (dataset.name, dataset.task, dataset.kind) == ("series", "regression", "series")
    assert list(dataset.features.columns) == ["y", "x"]
    assert (dataset.features.dtypes == "float64").all()
    np.testing.assert_array_equal(dataset.features["y"], np.arange(60))
    np.testing.assert_array_equal(dataset.target, np.arange(60))
    facts = dataset.series
    assert (facts.time, facts.step, facts.window, facts.horizon) == ("time", "D", 4, 2)
    assert facts.times.is_monotonic_increasing and len(facts.times) == 60
    assert "rows sorted by time" in facts.notes


def test_gaps_are_inserted_interpolated_and_counted(tmp_path):
    frame = trend_frame(40).astype({"y": object})
    frame.loc[[0, 7], "y"] = ["?", np.nan]  # a leading marker and a missing value
    frame.loc[3, "time"] = np.nan  # a row without a time
    frame = frame.drop(index=[10, 11, 25])  # three missing days
    dataset = load(tmp_path, frame)
    values = dataset.features["y"].to_numpy()
    assert len(values) == 40  # the day of the row without a time comes back as a step
    assert dataset.series.step == "D"
    expected = np.arange(40.0)
    expected[0] = 1.0  # a leading missing value takes the first present one
    np.testing.assert_allclose(values, expected)  # a straight line interpolates exactly
    notes = " | ".join(dataset.series.notes)
    assert "1 rows without a time dropped" in notes
    assert "4 missing steps inserted (first 2020-01-04)" in notes
    assert "y: 6 missing values interpolated in time" in notes


@pytest.mark.parametrize("step, expected", [("MS", "MS"), ("h", "h"), ("ME", "ME"),
                                            ("3MS", "3MS"), ("W-MON", "7D")])
def test_a_regular_step_is_found_through_gaps(tmp_path, step, expected):
    frame = trend_frame(48, step=step).drop(index=[5, 20])
    dataset = load(tmp_path, frame)
    assert dataset.series.step == expected
    assert len(dataset.features) == 48
    # interpolated in time: months differ in length, so a gap's value is near its row number
    np.testing.assert_allclose(dataset.target, np.arange(48.0), atol=0.05)


def test_an_irregular_series_keeps_its_rows(tmp_path):
    rng = np.random.default_rng(0)
    times = pd.Timestamp("2020-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 1e6, 50)), "s")
    frame = pd.DataFrame({"time": times.strftime("%Y-%m-%d %H:%M:%S"), "y": np.arange(50.0)})
    dataset = load(tmp_path, frame)
    assert dataset.series.step is None
    assert len(dataset.features) == 50
    assert dataset.series.times.equals(pd.DatetimeIndex(times.floor("s")))
    assert any("no regular step" in note for note in dataset.series.notes)


def test_the_default_window_reads_a_calendar_cycle(tmp_path):
    assert load(tmp_path, trend_frame(500, step="h")).series.window == 24  # a day of hours
    assert load(tmp_path, trend_frame(500, step="MS")).series.window == 12  # a year of months
    assert load(tmp_path, trend_frame(90)).series.window == 9  # a year of days: a tenth of 90


def frame_with(**columns):
    frame = trend_frame(30)
    for name, values in columns.items():
        frame[name] = values
    return frame


BAD_SERIES = [  # (options, frame, the line's pattern)
    ({"time": None}, trend_frame(30), "needs --data PATH, --time COLUMN"),
    ({"target": None}, trend_frame(30), "needs --data PATH, --time COLUMN"),
    ({"time": "tme"}, trend_frame(30), r"--time 'tme': no such column .*did you mean 'time'"),
    ({"target": "yy"}, trend_frame(30), r"--target 'yy': no such column .*did you mean 'y'"),
    ({"series_features": ("z",)}, trend_frame(30), "--features 'z': no such column"),
    ({"series_features": ("y",)}, trend_frame(30), "column 'y' is named twice"),
    ({}, frame_with(time=["2020-01-01", "2020-01-02", "yesterday", *["2020-02-01"] * 27]),
     r"time column 'time' .* holds 'yesterday' \(row 3\), not a date"),
    ({}, frame_with(time=[f"2020-01-{d:02d}" for d in [1, 2, 3, 3, *range(4, 30)]]),
     r"gives 2020-01-03 2 times \(1 times repeat\)"),
    ({}, frame_with(y=["a", "b", *["1"] * 28]), r"column 'y' should hold numbers but holds 'a'"),
    ({"series_features": ("x",)}, frame_with(x=["1", "two", "3", "four", *["5"] * 26]),
     r"column 'x' should hold numbers but holds 'two' \(row 2\)"),
    ({}, frame_with(y=np.nan), "column 'y' has no values"),
    ({}, frame_with(time=np.nan), "time column 'time' .* has no times"),
    ({"horizon": 0}, trend_frame(30), "--horizon must be a whole number of steps, at least 1"),
    ({"window": -2}, trend_frame(30), "--window must be a whole number of steps, at least 1"),
]


@pytest.mark.parametrize("given, frame, line", BAD_SERIES)
def test_each_bad_input_is_one_line(tmp_path, given, frame, line):
    with pytest.raises(UserError, match=line) as raised:
        load(tmp_path, frame, **given)
    assert "\n" not in str(raised.value)


def test_no_data_file_is_one_line():
    with pytest.raises(UserError, match="needs --data PATH"):
        series.series_csv(DataOptions(time="time", target="y"))


def test_too_short_a_series_names_the_rows_it_needs(tmp_path):
    window, horizon = 6, 3
    with pytest.raises(UserError, match=r"rows in all") as raised:
        windows.split(load(tmp_path, trend_frame(20), window=window, horizon=horizon))
    needed = int(str(raised.value).split(" rows in all")[0].rsplit(" ", 1)[1])
    windows.split(load(tmp_path, trend_frame(needed), window=window, horizon=horizon))
    with pytest.raises(UserError, match=f"{needed} rows in all"):
        windows.split(load(tmp_path, trend_frame(needed - 1), window=window, horizon=horizon))


def test_co2_loads_offline_with_its_gaps_filled():
    dataset = series.co2(DataOptions(horizon=2))
    assert (dataset.name, dataset.series.step, dataset.series.horizon) == ("co2", "W-SAT", 2)
    assert dataset.series.window == 52  # a year of weeks
    assert not dataset.features.isna().any().any()
    assert "co2: 59 missing values interpolated in time" in dataset.series.notes


@pytest.mark.skipif(not DEV_SERIES.is_dir(), reason="no ../shared/datasets/series here")
@pytest.mark.parametrize("name, time, target, step, rows", [
    ("daily_min_temperatures", "Date", "Temp", "D", 3652),  # two missing New Year's Eves
    ("monthly_sunspots", "Month", "Sunspots", "MS", 2820)])
def test_the_dev_series_load(name, time, target, step, rows):
    dataset = series.series_csv(DataOptions(path=str(DEV_SERIES / f"{name}.csv"), time=time,
                                            target=target))
    assert (dataset.series.step, len(dataset.features)) == (step, rows)
    assert not dataset.features.isna().any().any()
    splits = windows.split(dataset)
    assert min(len(part) for part in (splits.train, splits.val, splits.test)) > 100


# --- the windows -----------------------------------------------------------------------------

def trend_splits(tmp_path, rows=100, window=5, horizon=3):
    dataset = load(tmp_path, trend_frame(rows), series_features=("x",), window=window,
                   horizon=horizon)
    return dataset, windows.split(dataset)


def test_the_split_never_leaks_a_later_target_into_training(tmp_path):
    dataset, splits = trend_splits(tmp_path)
    horizon = dataset.series.horizon
    train, val, test = splits.train, splits.val, splits.test
    last_train_target = train.times.max() + np.timedelta64(horizon - 1, "D")
    assert val.times.min() > last_train_target and test.times.min() > last_train_target
    assert test.times.min() > val.times.max() + np.timedelta64(horizon - 1, "D")
    # The values are the row numbers: the targets' sets cannot overlap
    train_targets = set(train.target.ravel())
    assert not train_targets & set(val.target.ravel())
    assert not train_targets & set(test.target.ravel())
    assert not set(val.target.ravel()) & set(test.target.ravel())
    targets = 100 - 5  # rows after the first window
    assert len(train) + len(val) + len(test) == targets - horizon + 1 - 2 * (horizon - 1)
    assert len(test) + horizon - 1 == round(0.2 * targets)


def test_windows_hold_the_right_values(tmp_path):
    dataset, splits = trend_splits(tmp_path)
    train, test = splits.train, splits.test
    assert train.features.dtype == np.float32 and train.features.shape[1:] == (5, 2)
    assert train.target.dtype == np.float32 and train.target.shape[1:] == (3,)
    np.testing.assert_array_equal(train.features[0, :, 0], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(train.features[0, :, 1], [1000, 1001, 1002, 1003, 1004])
    np.testing.assert_array_equal(train.target[0], [5, 6, 7])
    np.testing.assert_array_equal(train.features[9, :, 0], [9, 10, 11, 12, 13])
    assert train.times[0] == np.datetime64("2020-01-06")  # row 5's day
    first = int(test.target[0, 0])  # the first test target row: 5 + train + validation rows
    np.testing.assert_array_equal(test.features[0, :, 0], np.arange(first - 5, first))
    np.testing.assert_array_equal(test.target[-1], [97, 98, 99])
    assert test.times[0] == dataset.series.times[first].to_datetime64()


def test_fit_scales_by_the_training_rows_only(tmp_path):
    dataset, splits = trend_splits(tmp_path)
    spec = windows.fit(dataset, splits.train)
    read = int(splits.train.features[-1, -1, 0]) + 1  # rows 0 .. the last train window's end
    np.testing.assert_allclose(spec["mean"], [(read - 1) / 2, 1000 + (read - 1) / 2])
    np.testing.assert_allclose(spec["scale"], np.std(np.arange(read)), rtol=1e-6)
    assert spec["inputs"] == [{"column": "y", "name": "y", "dtype": "float32"},
                              {"column": "x", "name": "x", "dtype": "float32"}]
    assert {k: spec[k] for k in ("kind", "window", "horizon", "time", "step")} == \
        {"kind": "series", "window": 5, "horizon": 3, "time": "time", "step": "D"}


def test_the_series_encoder_round_trips_a_saved_model_in_safe_mode(tmp_path):
    dataset, splits = trend_splits(tmp_path)
    spec = windows.fit(dataset, splits.train)
    inputs = windows.raw_inputs(spec)
    encoded = windows.encoder(spec)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(encoded)))
    feed = windows.feed(splits.test.features, spec)
    expected = (splits.test.features - np.array(spec["mean"])) / np.array(spec["scale"])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(windows.encoder(spec)(feed)), expected,
                               rtol=1e-5)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(feed, verbose=0), model.predict(feed, verbose=0))


def test_last_window_reads_the_last_rows_and_names_the_forecast_times(tmp_path):
    dataset, splits = trend_splits(tmp_path)
    spec = windows.fit(dataset, splits.train)
    frame = trend_frame(30).astype(str).drop(index=[27])  # a gap near the end is filled
    feed, times = series_rows.last_window(frame, spec)
    np.testing.assert_allclose(feed["y"], [[25, 26, 27, 28, 29]])
    np.testing.assert_allclose(feed["x"], [[1025, 1026, 1027, 1028, 1029]])
    np.testing.assert_array_equal(times, np.array(["2020-01-31", "2020-02-01", "2020-02-02"],
                                                  dtype="datetime64[ns]"))
    _, unknown = series_rows.last_window(frame, {**spec, "step": None})
    assert unknown is None


@pytest.mark.parametrize("frame, line", [
    (trend_frame(4).astype(str), "forecasts from the last 5 steps of a series; .* give 4"),
    (trend_frame(9).drop(columns=["x"]).astype(str), r"missing column\(s\): x"),
    (trend_frame(9).astype(str).replace("2020-01-03 00:00", "soon"), "holds 'soon'"),
    (trend_frame(9, step="h").astype(str), "not on the series' step 'D'"),
])
def test_last_window_refuses_bad_rows_in_one_line(tmp_path, frame, line):
    dataset, splits = trend_splits(tmp_path)
    with pytest.raises(UserError, match=line) as raised:
        series_rows.last_window(frame, windows.fit(dataset, splits.train))
    assert "\n" not in str(raised.value)


# --- seasons and baselines -------------------------------------------------------------------

def test_season_length_finds_a_week_and_no_season_in_noise():
    rng = np.random.default_rng(0)
    days = np.arange(600)
    weekly = np.sin(2 * np.pi * days / 7) + 0.05 * days + 0.5 * rng.normal(size=600)
    assert forecasts.season_length(weekly, max_lag=60) == 7
    assert forecasts.season_length(rng.normal(size=600), max_lag=60) is None
    assert forecasts.season_length(np.cumsum(rng.normal(size=600)), max_lag=60) is None
    assert forecasts.season_length(np.ones(100), max_lag=20) is None


def hand_part(values, window, horizon):
    """Consecutive windows of the 1-D `values`, as windows.split makes them."""
    starts = range(len(values) - window - horizon + 1)
    return Part(np.array([values[s:s + window] for s in starts], "float32")[:, :, None],
                np.array([values[s + window:s + window + horizon] for s in starts], "float32"))


def test_persistence_and_seasonal_naive_equal_a_hand_computation():
    rng = np.random.default_rng(1)
    values = rng.normal(size=40).round(1)
    window, horizon, season = 6, 4, 3
    train, test = hand_part(values[:20], window, horizon), hand_part(values[20:], window, horizon)
    found = forecasts.baselines(train, test, season)
    persistence, naive = np.zeros(horizon), np.zeros(horizon)
    for s in range(len(test)):
        start = 20 + s + window  # the window's first target row
        for h in range(horizon):
            persistence[h] += abs(values[start + h] - values[start - 1])
            naive[h] += abs(values[start + h] - values[start - season + h % season])
    np.testing.assert_allclose(found["persistence"]["mae_by_step"], persistence / len(test),
                               rtol=1e-5)
    np.testing.assert_allclose(found["seasonal_naive"]["mae_by_step"], naive / len(test),
                               rtol=1e-5)
    assert found["seasonal_naive"]["mae"] == pytest.approx(naive.sum() / len(test) / horizon,
                                                           rel=1e-5)
    assert np.isfinite(found["lagged_ridge"]["mae"])
    assert forecasts.baselines(train, test, None)["seasonal_naive"] == \
        {"skipped": "no season found in the training target"}
    assert "does not reach back one season" in \
        forecasts.baselines(train, test, 7)["seasonal_naive"]["skipped"]


def test_holt_winters_forecasts_a_clean_season_exactly():
    """A season with no noise: started from the first test window, the smoothing's forecast of
    every step is exact, whatever its fitted parameters (the season's phase must line up)."""
    values = 10 + np.tile([3.0, -1.0, 0.5, 2.0, -4.5], 40)
    window, horizon = 10, 7
    train, test = hand_part(values[:150], window, horizon), hand_part(values[150:], window, horizon)
    found = forecasts.baselines(train, test, forecasts.season_length(values[:150], 30))
    assert found["exponential_smoothing"]["mae"] < 1e-6
    assert found["seasonal_naive"]["mae"] < 1e-6
    assert found["persistence"]["mae"] > 1


def test_errors_by_step():
    assert forecasts.errors_by_step([[1, 2], [3, 4]], [[2, 2], [0, 5]]) == [2.0, 0.5]


def test_the_forecast_plots_are_written(tmp_path):
    times = pd.date_range("2020-01-01", periods=30, freq="D").to_numpy()
    true = np.arange(90.0).reshape(30, 3)
    plots.plot_forecast(times, true, true + 1, tmp_path / "forecast.png", "t")
    plots.plot_horizon_errors([1.0, 2.0, 3.0], {"persistence": {"mae_by_step": [2, 3, 4]},
                                                "seasonal_naive": {"skipped": "no season"}},
                              tmp_path / "horizon.png", "t")
    assert (tmp_path / "forecast.png").stat().st_size > 1000
    assert (tmp_path / "horizon.png").stat().st_size > 1000
