"""Which raw columns a trained model uses: permutation importance on the test split.

Each raw column's test values are shuffled in turn (the others left as they are) and the model
answers again; the importance is how much the task's headline (accuracy, or MAE) gets worse. A
column the model ignores scores about 0; a leaking column (an ID that encodes the answer, a value
recorded after the fact) stands out far above the rest. This is scikit-learn's
`permutation_importance` idea, over raw columns so that one-hot and date columns count as the
one column the user knows.

The answers are the saved model's, computed in two halves: the encoder layer once on the test
rows, then the network on shuffled copies of the encoded rows. Encoding is row by row and each
encoded column comes from one raw input, so shuffling a raw column is moving its encoded columns'
rows: the encoding (most of the raw model's cost: string lookups, bins) is not redone for every
shuffle, which made importance the slowest step after training on large tables.

On a test split larger than MAX_ROWS, a seeded sample of that many rows is scored, so the cost is
bounded whatever the file's size.
"""

import numpy as np

from recipes.evaluation import evaluate

# Encoded cells per encoder or `predict` call: the probes and shuffled copies go through in as few
# calls as this allows (one call per shuffle cost ~0.3 s of set-up each), and a wide encoding
# (TF-IDF of a text column) stays within 2^25 float32 cells, 128 MB, a call.
CELLS_PER_CALL = 2 ** 25
# A row encoded in a larger call can come out 1 float32 ULP apart (oneDNN's kernels differ with
# the batch): "changed" means changed by more than that. Compared exactly, a date's cyclic
# columns made every input of a salary survey look mixed, and its importance re-encoded every
# copy (7 s of a 21 s command).
ROUNDING = {"rtol": 1e-5, "atol": 1e-6}
# Test rows the importance is measured on, at most: as AutoGluon's `feature_importance` samples
# 5,000 by default. Every copy is scored on the same rows, so the comparison is paired and the
# sample's noise is that of the differences, not of each score. Without a cap the cost grows with
# the file, columns x repeats x test rows predictions: bank marketing's 9,043 test rows and 16
# columns took 3.7 s of a 29 s command (profiled), and a table just under the 32 MB at which
# files stream can hold 20x those rows.
MAX_ROWS = 5_000


def permutation_importance(network, preprocessing, task, features, target, *, seed, repeats=3):
    """Raw column -> mean loss of the headline over `repeats` shuffles (positive: it matters),
    on at most MAX_ROWS of the rows."""
    rng = np.random.default_rng(seed)
    feed, target = sampled(preprocessing.feed(features), np.asarray(target), rng)
    encoded = preprocessing.encode_feed(feed)
    rows = len(encoded)
    flat = encoded.reshape(rows, -1)
    names = [column["name"] for column in preprocessing.spec["inputs"]]

    def copies():  # made as they are scored: memory stays within CELLS_PER_CALL
        yield flat  # the baseline: the rows as they are
        for name, rolled in zip(names, rolled_copies(preprocessing, feed, names, flat.shape)):
            yield from shuffled(preprocessing, feed, flat, name, rolled,
                                [rng.permutation(rows) for _ in range(repeats)])

    baseline, *scores = scores_of(network, copies(), encoded.shape[1:], preprocessing, task,
                                  target)
    sign = 1 if task.direction == "max" else -1
    losses = sign * (baseline - np.asarray(scores).reshape(len(names), repeats))
    return {column["column"]: round(float(np.mean(loss)), 6)
            for column, loss in zip(preprocessing.spec["inputs"], losses)}


def sampled(feed, target, rng):
    """`feed` (input name -> rows) and `target`, or a sample of MAX_ROWS of their rows drawn by
    `rng`, in the order they came."""
    if len(target) <= MAX_ROWS:
        return feed, target
    rows = np.sort(rng.choice(len(target), MAX_ROWS, replace=False))
    return {name: values[rows] for name, values in feed.items()}, target[rows]


def rolled_copies(preprocessing, feed, names, shape):
    """For each input name, the encoded rows (flattened to `shape`) with that input's values
    rolled by one row, encoded in as few calls as CELLS_PER_CALL allows (building the encoder
    and its lookups costs more than encoding a few thousand rows)."""
    per_call = max(1, CELLS_PER_CALL // max(shape[0] * shape[1], 1))
    for start in range(0, len(names), per_call):
        group = names[start:start + per_call]
        stacked = {key: np.concatenate([np.roll(values, 1, axis=0) if key == name else values
                                        for name in group])
                   for key, values in feed.items()}
        encoded = preprocessing.encode_feed(stacked).reshape(len(group), *shape)
        yield from encoded


def shuffled(preprocessing, feed, flat, name, rolled, permutations):
    """The encoded rows (flattened) with input `name`'s values in each permutation's order.

    Which encoded columns come from `name`: those that change when its values are rolled by one
    row (`rolled`; a column that does not change is constant, and shuffling it changes nothing
    either). Should an encoded column mix inputs, moving rows would be wrong: that is checked on
    the rolled copy, and such an input's copies are encoded whole."""
    moved = np.flatnonzero(~np.all(np.isclose(rolled, flat, **ROUNDING), axis=0))
    mixed = not np.allclose(rolled[:, moved], np.roll(flat[:, moved], 1, axis=0), **ROUNDING)
    for order in permutations:
        if mixed:
            yield preprocessing.encode_feed({**feed, name: feed[name][order]}).reshape(flat.shape)
        else:
            copy = flat.copy()
            copy[:, moved] = flat[order][:, moved]
            yield copy


def scores_of(network, copies, shape, preprocessing, task, target):
    """The headline of the served answers to each encoded copy (flattened rows), the copies
    stacked into as few `predict` calls as CELLS_PER_CALL allows."""
    per_call = max(1, CELLS_PER_CALL // max(len(target) * int(np.prod(shape)), 1))
    scores, group = [], []
    for copy in copies:
        group.append(copy)
        if len(group) == per_call:
            scores += group_scores(network, group, shape, preprocessing, task, target)
            group = []
    if group:
        scores += group_scores(network, group, shape, preprocessing, task, target)
    return scores


def group_scores(network, group, shape, preprocessing, task, target):
    rows = len(target)
    outputs = network.predict(np.concatenate(group).reshape(-1, *shape), batch_size=16384,
                              verbose=0)
    return [evaluate.served_headline(task, preprocessing, outputs[i * rows:(i + 1) * rows],
                                     target) for i in range(len(group))]
