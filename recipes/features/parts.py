"""A data set cut into parts: `Part` (features, target, and for a series each window's time),
`Splits` (train, validation, test), and how parts are taken and joined.

Its own module, below the splitters (preprocess.py for tables, images and text; windows.py for
a series' windows in time order), so each makes the same parts without importing the other.
"""

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

VAL_FRACTION, TEST_FRACTION = 0.15, 0.2  # of all rows, where the data ships no test split
# At most this many validation rows, however large the data: the validation set only picks the
# epoch to stop at and reports progress, and 5,000 rows measure an accuracy near 0.99 to about
# 0.14 point (one standard error), one near 0.9 to 0.4. Every row past them trains instead: on
# MNIST (60,000 training images, its own test split) the carve is 5,000 rather than 11,250, the
# 55,000 / 5,000 split of TensorFlow's first MNIST tutorial (benchmarks/mnist.py measures it).
# A streamed file (sources/stream.py) decides each row's part before the rows are counted and
# keeps the fractions; a series (windows.py) keeps its time-ordered fractions.
VAL_MAX_ROWS = 5_000


def val_rows(pool, val_fraction=VAL_FRACTION, test_fraction=TEST_FRACTION):
    """How many of `pool` rows (those left once the test split is set aside) validate: the
    share `val_fraction` is of all rows (rounded up, as scikit-learn's train_test_split rounds
    a fraction), at most VAL_MAX_ROWS."""
    return min(math.ceil(val_fraction / (1 - test_fraction) * pool), VAL_MAX_ROWS)


@dataclass
class Part:
    features: object
    target: object
    times: object = None  # a series' windows: each one's first forecast time (numpy datetime64)

    def __len__(self):
        return len(self.target)

    def take(self, rows):
        """The rows at positions `rows`."""
        return Part(take(self.features, rows), take(self.target, rows),
                    None if self.times is None else self.times[rows])


@dataclass
class Splits:
    train: Part
    val: Part
    test: Part


def joined(parts):
    """`parts` (Parts) as one Part, in their order."""
    times = None if any(part.times is None for part in parts) else \
        np.concatenate([part.times for part in parts])
    return Part(join([part.features for part in parts]), join([part.target for part in parts]),
                times)


def join(pieces):
    """Tables and columns joined by pandas, images by NumPy."""
    return pd.concat(pieces) if isinstance(pieces[0], (pd.DataFrame, pd.Series)) else \
        np.concatenate(pieces)


def take(values, rows):
    return values.iloc[rows] if isinstance(values, (pd.DataFrame, pd.Series)) else values[rows]
