"""A data set cut into parts: `Part` (features, target, and for a series each window's time),
`Splits` (train, validation, test), and how parts are taken and joined.

Its own module, below the splitters (preprocess.py for tables, images and text; windows.py for
a series' windows in time order), so each makes the same parts without importing the other.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

VAL_FRACTION, TEST_FRACTION = 0.15, 0.2  # of all rows, where the data ships no test split


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
