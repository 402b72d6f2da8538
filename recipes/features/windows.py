"""A time series as windows: the past `window` steps of every value column in, the next
`horizon` target values out; split in time, scaled inside the saved model.

    splits = windows.split(dataset)                 # parts.Splits of raw windows, in time
    spec = windows.fit(dataset, splits.train)       # JSON: inputs, mean and scale per column
    layer = windows.encoder(spec)                   # SeriesEncoder: {name: (n, W)} -> (n, W, C)
    model_inputs = windows.feed(splits.test.features, spec)
    feed, times = windows.last_window(frame, spec)  # what predict gives the model for a file

The saved model takes one (n, window) float32 input per value column, the raw values in time
order, oldest first; the encoder stacks and standardises them with the training statistics.
"""

import keras
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.preprocessing import StandardScaler

from recipes.errors import UserError
from recipes.features.inputs import input_names
from recipes.features.parts import TEST_FRACTION, VAL_FRACTION, Part, Splits



# --- split in time ---------------------------------------------------------------------------

def split(dataset, *, val_fraction=VAL_FRACTION, test_fraction=TEST_FRACTION):
    """Chronological train / validation / test windows, never shuffled. The forecast targets
    (every row after the first window) are cut in time: the last `test_fraction` is test, the
    `val_fraction` before it validation, the rest train. A window belongs to the part that
    holds all its targets, so no validation or test value is ever a training target; its
    inputs may reach back into the part before, the past known at forecast time. Windows whose
    targets straddle a cut are left out (horizon - 1 at each cut)."""
    facts = dataset.series
    window, horizon = facts.window, facts.horizon
    rows = len(dataset.target)
    sizes = part_sizes(rows - window, val_fraction, test_fraction)
    if min(sizes) < horizon:
        raise UserError(too_short(dataset.name, rows, window, horizon,
                                  (val_fraction, test_fraction)))
    inputs, targets, times = all_windows(dataset)
    cuts = np.cumsum([0, *sizes])  # each part's target rows, counted from row `window`
    parts = [Part(np.ascontiguousarray(inputs[start:end - horizon + 1]),
                  np.ascontiguousarray(targets[start:end - horizon + 1]),
                  times[start:end - horizon + 1]) for start, end in zip(cuts[:-1], cuts[1:])]
    return Splits(*parts)


def part_sizes(targets, val_fraction, test_fraction):
    """(train, validation, test) counts of the `targets` forecast target rows, in time order."""
    test, val = round(targets * test_fraction), round(targets * val_fraction)
    return targets - test - val, val, test


def too_short(name, rows, window, horizon, fractions):
    """The message for a series with too few rows for one window in each part."""
    smallest = min(*fractions, 1 - sum(fractions))
    enough = window + int(np.ceil((horizon + 2) / smallest))  # every part then holds horizon + 1
    needed = next(n for n in range(window + 3 * horizon, enough + 1)
                  if min(part_sizes(n - window, *fractions)) >= horizon)
    return (f"{name} has {rows} rows, too few for --window {window} and --horizon {horizon}: "
            f"train, validation and test each need {horizon} target value(s) after a window, "
            f"{needed} rows in all; lower --window or --horizon, or give a longer series")


def all_windows(dataset):
    """(inputs (n, W, C), targets (n, H), each window's first forecast time (n,)) of every
    window in time order: window i reads rows i .. i+W-1 and forecasts rows i+W .. i+W+H-1.
    A NumPy stride view rather than keras.utils.timeseries_dataset_from_array: the series is in
    memory, the windows are the arrays every part and baseline indexes, and no tf.data pipeline
    is wanted to make them; the view copies nothing until a part is taken."""
    facts = dataset.series
    window, horizon = facts.window, facts.horizon
    values = dataset.features.to_numpy(dtype="float32")
    target = dataset.target.to_numpy(dtype="float32")
    count = len(target) - window - horizon + 1
    inputs = sliding_window_view(values, window, axis=0)[:count].transpose(0, 2, 1)
    targets = sliding_window_view(target[window:], horizon)[:count]
    return inputs, targets, facts.times.to_numpy()[window:window + count]


# --- fitted on the training windows ----------------------------------------------------------

def fit(dataset, train):
    """The JSON spec of the series' inputs and their scaling, the mean and scale of each value
    column over the rows the TRAINING windows read."""
    facts = dataset.series
    columns = [str(c) for c in dataset.features.columns]
    names = input_names(columns)
    scaler = StandardScaler().fit(rows_read(train.features))
    return {"kind": "series",
            "inputs": [{"column": c, "name": names[c], "dtype": "float32"} for c in columns],
            "mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist(),
            "window": facts.window, "horizon": facts.horizon, "time": facts.time,
            "step": facts.step}


def target_scale(spec):
    """How a series' target is learned (targets.py's scale): standardised as the first input
    channel, itself, so a forecast of the change from the window's last value
    (zoo.layers.FromLastValue) adds like to like."""
    return {"transform": "standard", "mean": spec["mean"][0], "scale": spec["scale"][0]}


def rows_read(windows):
    """Each row the consecutive `windows` (n, W, C) read, once: each window's first row, then
    the rest of the last. Counting every window's rows would weigh a row W times, and the
    series' first and last rows less than the others."""
    return np.concatenate([windows[:, 0, :], windows[-1, 1:, :]])


# --- inside the model ------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package="recipes")
class SeriesEncoder(keras.layers.Layer):
    """{input name: (n, window) float32} -> (n, window, columns) float32, each column
    standardised by the training mean and scale; `inputs` are the spec's, in column order."""

    def __init__(self, inputs, mean, scale, window, **kwargs):
        super().__init__(**kwargs)
        self.columns = [dict(c) for c in inputs]
        self.mean, self.scale = [float(m) for m in mean], [float(s) for s in scale]
        self.window = int(window)

    def call(self, inputs):
        values = keras.ops.stack([keras.ops.cast(inputs[c["name"]], "float32")
                                  for c in self.columns], axis=-1)
        return (values - np.array(self.mean, "float32")) / np.array(self.scale, "float32")

    def compute_output_shape(self, input_shape):
        return (None, self.window, len(self.columns))

    def get_config(self):
        return {**super().get_config(), "inputs": [dict(c) for c in self.columns],
                "mean": list(self.mean), "scale": list(self.scale), "window": self.window}


def encoder(spec):
    """The spec's `SeriesEncoder`."""
    return SeriesEncoder(spec["inputs"], spec["mean"], spec["scale"], spec["window"],
                         name="encode")


def raw_inputs(spec):
    """The saved model's Keras inputs: one (None, window) float32 per value column."""
    return {c["name"]: keras.Input(shape=(spec["window"],), dtype="float32", name=c["name"])
            for c in spec["inputs"]}


def card_inputs(spec):
    """What a serving client sends: each value column's last `window` values, oldest first."""
    return [{"name": c["name"], "column": c["column"], "dtype": "float32",
             "shape": [None, spec["window"]], "steps": "the last window, oldest first",
             "time": spec["time"], "step": spec["step"]} for c in spec["inputs"]]


def feed(windows, spec):
    """Raw windows (n, W, C), columns in the spec's order, as the model's inputs {name: (n, W)}."""
    return {c["name"]: np.ascontiguousarray(windows[:, :, i], dtype="float32")
            for i, c in enumerate(spec["inputs"])}
