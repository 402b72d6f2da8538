"""CSV files bigger than memory: learn from one bounded pass, then train on batches read by tf.data.

    source = stream.survey(options.data, seed=0)     # one pass over the file: counts and samples
    preprocessing = preprocess.fit(source.dataset, source.splits.train, ...)
    parts = source.parts(preprocessing)               # "train" | "val" | "test" -> TableStream

- The split is decided row by row: each row's number in the file, hashed with the seed, says
  its part (`part_of`). It is deterministic and disjoint, the same in every pass and on every
  worker, however the file is cut into chunks.
- The statistics are learned by `preprocess.fit`, the in-memory path's scikit-learn fits, on a
  seeded sample of at most SAMPLE_ROWS training rows: the rows with the smallest hash keys, so
  one pass keeps a uniform sample in bounded memory. (Keras' `adapt` over a tf.data pipeline
  would stream medians and vocabularies too, but not the quantile edges, top levels and column
  roles the in-memory path learns; one way of learning statistics serves both.) A file with
  fewer training rows than SAMPLE_ROWS is learned from all of them, as in memory.
- Training reads the file once more to encode it (`encode_pass`): rows shuffled
  within each chunk, cut into global batches, each worker encoding only its slice of every
  global batch into a file of float32 rows in a temporary folder (no pickle: raw little-endian
  floats). Every epoch then reads that file in blocks, in an order drawn from (seed, epoch),
  rows shuffled within each block: as fast as arrays in memory, in bounded memory, and every
  worker takes the same number of steps on its own rows.
"""

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

import zoo
from recipes.data import reading, tables
from recipes.features import parts, preprocess
from recipes.choices import SAMPLE_ROWS, STREAM_MB
from recipes.data.dataset import Dataset
from recipes.errors import UserError
from recipes.training.pipeline import ready, steps

STREAM_BYTES = STREAM_MB * 2**20  # files above stream, unless --no-stream (choices.STREAM_MB)
CHECK_ROWS = 10_000  # validation and test rows kept for permutation importance and the baseline
MAX_LABELS = 1_000  # distinct targets collected for the class list; more are not classes
PARTS = ("train", "val", "test")


def wanted(dataset_name, options):
    """Whether `run` should stream: --stream says so, or the csv file is over STREAM_BYTES."""
    if options.stream and dataset_name != "csv":
        raise UserError(f"--stream reads a CSV file; the {dataset_name} data set is not one")
    if options.stream is not None or dataset_name != "csv" or not options.path:
        return bool(options.stream)
    try:
        return Path(options.path).stat().st_size > STREAM_BYTES
    except OSError:
        return False  # the loader says what is wrong with the path


def part_of(rows, seed):
    """Each row's part (an index into PARTS), from its number in the file and the seed alone:
    test with probability parts.TEST_FRACTION, validation VAL_FRACTION, else train."""
    u = uniform(rows, seed, salt=0)
    return np.where(u < parts.TEST_FRACTION, 2,
                    np.where(u < parts.TEST_FRACTION + parts.VAL_FRACTION, 1, 0))


def uniform(rows, seed, salt):
    """A uniform number in [0, 1) per row number, a hash of (row, seed, salt): splitmix64."""
    x = mix(np.asarray(rows, dtype=np.uint64)) ^ np.uint64((seed << 2) | salt)
    return (mix(x) >> np.uint64(11)).astype(np.float64) / 2.0**53


def mix(x):
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@dataclass
class Source:
    """What one pass over a CSV file learned: its rows per part, and bounded samples."""

    options: object  # data.DataOptions: the file, its target, how to read it
    seed: int
    dataset: Dataset  # the training sample, with the task and the columns' roles
    splits: parts.Splits  # samples of each part (the training one is `dataset`'s)
    rows: dict  # part -> rows in the file with a target
    labels: list  # classification: every class of the file's training rows
    quiet: bool = False  # no progress bars
    # where the parts' encoded rows are written; removed with the Source, or at exit
    folder: tempfile.TemporaryDirectory = field(
        default_factory=lambda: tempfile.TemporaryDirectory(prefix="recipes-stream-"))

    def parts(self, preprocessing):
        """Each part as a `TableStream` encoded by `preprocessing` (fitted on the sample);
        classes missing from the sample but present in the file are added."""
        if preprocessing.classes and set(self.labels) - set(preprocessing.classes):
            preprocessing = replace(preprocessing, classes=sorted(self.labels))
        files = {}  # encoded once for all three (TableStream.dataset)
        return {part: TableStream(self, preprocessing, (part,), files) for part in PARTS}


def survey(options, seed, quiet=False):
    """One pass over the CSV file `options.path`: a `Source` with the rows of each part and
    samples (SAMPLE_ROWS training rows, CHECK_ROWS of the others), in bounded memory."""
    limits = {"train": SAMPLE_ROWS, "val": CHECK_ROWS, "test": CHECK_ROWS}
    samples = {part: None for part in PARTS}
    rows, labels, dropped = dict.fromkeys(PARTS, 0), set(), 0
    progress = None if quiet else keras.utils.Progbar(None, unit_name="row")
    read = 0
    for chunk in reading.read_chunks(options.path, options.na_values):
        if read == 0:
            tables.check_target(chunk.columns, options)
        read += len(chunk)
        target = tables.target_values(chunk[options.target])
        dropped += int(target.isna().sum())
        chunk = chunk[target.notna()]
        part = part_of(chunk.index.to_numpy(), seed)
        for index, name in enumerate(PARTS):
            mine = chunk[part == index]
            rows[name] += len(mine)
            samples[name] = smallest(samples[name], mine, seed, limits[name])
        if len(labels) <= MAX_LABELS:
            labels |= set(tables.labelled(target)[part == 0].astype(str))
        if progress:
            progress.update(read)
    if progress:
        progress.update(read, finalize=True)
    return source(options, seed, samples, rows, labels, dropped, quiet)


def smallest(sample, rows, seed, limit):
    """The `limit` rows of `sample` and `rows` with the smallest hash keys, in file order."""
    joined = rows if sample is None else pd.concat([sample, rows])
    if len(joined) > limit:
        keys = uniform(joined.index.to_numpy(), seed, salt=1)
        joined = joined.iloc[np.sort(np.argpartition(keys, limit)[:limit])]
    return joined


def source(options, seed, samples, rows, labels, dropped, quiet):
    """The samples as the in-memory path's `Dataset` and `Splits`: roles and task learned from
    the training sample, as the csv loader learns them from the whole file."""
    train = samples["train"]
    if train is None or train.empty:
        raise UserError(f"{options.path} has no training rows with a {options.target!r} value")
    features, found = tables.feature_columns(train.drop(columns=[options.target]), options)
    target = tables.labelled(tables.target_values(train[options.target]))
    task = tables.check_task(target, options.task or tables.infer_task(target), options.target)
    kept = list(features.columns)

    def part(sample):
        return parts.Part(sample[kept], tables.labelled(tables.target_values(
            sample[options.target]))) if sample is not None else parts.Part(
            features.iloc[:0], target.iloc[:0])

    dataset = Dataset(Path(options.path).stem, task, features, target,
                      dropped_rows=dropped, columns=found)
    splits = parts.Splits(parts.Part(features, target), part(samples["val"]),
                               part(samples["test"]))
    classes = sorted(labels) if zoo.task(task).classification else []
    return Source(options, seed, dataset, splits, rows, classes, quiet)


@dataclass
class TableStream:
    """Some parts of a streamed file, as a training data source (training's
    `pipeline.DataSource`, as recipes/sources/arrays.py's in-memory `Arrays`). The first
    `dataset` call encodes the rows of every part once, in one pass, into files of float32 rows
    on disk (`encode_pass`); each epoch then reads its part's file block by block."""

    source: Source
    preprocessing: preprocess.Preprocessing
    parts: tuple  # names in PARTS: ("train",), or ("train", "val") when tune retrains
    files: dict  # (parts, batch_size, shard) -> EncodedRows, shared by a Source.parts() set

    def __len__(self):
        return sum(self.source.rows[part] for part in self.parts)

    def joined(self, other):
        return TableStream(self.source, self.preprocessing, self.parts + other.parts, self.files)

    def predictions(self, network, batch_size):
        pairs = [(network.predict_on_batch(x), y.numpy()) for x, y in self.dataset(batch_size)]
        return tuple(np.concatenate(values) for values in zip(*pairs))

    def sample_features(self):
        """Its parts' samples (the Source's splits), encoded: the file's rows are not in memory."""
        samples = [getattr(self.source.splits, part).features for part in self.parts]
        return self.preprocessing.encode(parts.join(samples))

    def rows_encoded(self):
        """How many of its rows this process has encoded (a worker: its slices only)."""
        return sum(rows.full * rows.slice_rows + (rows.tail_rows or 0)
                   for (parts, *_), rows in self.files.items() if parts == self.parts)

    def dataset(self, batch_size, *, order=None, augment=None, shard=(0, 1), replicas=1):
        """Batches of (encoded features, encoded targets), shuffled when `order` (the training
        loop's `pipeline.EpochOrder`) is given, by its `epoch`. `shard` = (this worker,
        workers): the worker reads only its slice of each global batch of `batch_size` rows,
        cut into `replicas` pieces, one per local replica; every worker runs
        `steps(self, batch_size)` steps."""
        key = (self.parts, batch_size, shard)
        if key not in self.files:  # the three splits in the first pass, later ones alone
            groups = [(part,) for part in PARTS] if not self.files else [self.parts]
            self.files.update({(group, batch_size, shard): rows for group, rows in encode_pass(
                self.source, self.preprocessing, groups, batch_size, shard).items()})
        rows = self.files[key]
        signature = (tf.TensorSpec([None, rows.width], "float32"),
                     tf.TensorSpec([None, rows.outputs], "float32"))
        blocks = tf.data.Dataset.from_generator(
            lambda: rows.blocks(self.source.seed, order),
            output_signature=(*signature, tf.TensorSpec([2], "int64")))
        # shuffled in tf.data's threads, away from Python's lock; else only the seed dropped
        blocks = blocks.map(shuffle if order is not None else lambda x, y, _: (x, y))
        pieces = [len(p) for p in np.array_split(np.arange(rows.slice_rows), replicas)]
        data = blocks.rebatch(pieces)
        for x, y in rows.tail(replicas):  # fixed, small: read now, not through Python each epoch
            data = data.concatenate(tf.data.Dataset.from_tensors((x, y)))
        data = data.apply(tf.data.experimental.assert_cardinality(
            steps(self, batch_size) * replicas))
        return ready(data, augment)


def encode_pass(source, preprocessing, groups, batch_size, shard):
    """Read the file once and encode its rows (shuffled within each chunk, by seed and chunk);
    for each group of parts, append this worker's slice of every global batch of the group's
    rows to an `EncodedRows` file. Returns group -> EncodedRows."""
    worker, workers = shard
    options = source.options
    width, outputs = preprocessing.input_shape[0], preprocessing.num_outputs
    files = {group: EncodedRows(
        Path(source.folder.name) / f"{'+'.join(group)}-{batch_size}-{worker}of{workers}", width,
        outputs, batch_size, shard) for group in groups}
    progress = None if source.quiet else keras.utils.Progbar(
        sum(source.rows.values()), unit_name="row")
    done = 0
    for number, chunk in enumerate(reading.read_chunks(options.path, options.na_values)):
        target = tables.labelled(tables.target_values(chunk[options.target]))  # present ones
        order = np.random.default_rng([source.seed, number]).permutation(len(target))
        chunk, target = chunk.loc[target.index].iloc[order], target.iloc[order]
        part = part_of(chunk.index.to_numpy(), source.seed)
        x = preprocessing.encode(chunk)
        y = preprocessing.encode_target(target)
        for group, rows in files.items():
            mine = np.isin(part, [PARTS.index(name) for name in group])
            rows.add(x[mine], y[mine])
        done += len(chunk)
        if progress:
            progress.update(done)
    for rows in files.values():
        rows.finish()
    return files


@dataclass
class EncodedRows:
    """One worker's encoded rows of some parts on disk: float32 x and y files holding a slice
    of `slice_rows` rows of each full global batch, then the slice of the last, partial one."""

    path: Path
    width: int
    outputs: int
    batch_size: int
    shard: tuple  # (this worker, workers)
    full: int = 0  # slices of full global batches written
    tail_rows: int | None = None  # rows of the partial batch's slice; None: no partial batch
    pending: tuple = ()  # (x, y): rows of a global batch not yet complete

    @property
    def slice_rows(self):
        return len(self.piece(self.batch_size))

    def piece(self, rows):
        """This worker's rows of a global batch of `rows` rows, as np.array_split cuts them."""
        worker, workers = self.shard
        return np.array_split(np.arange(rows), workers)[worker]

    def add(self, x, y):
        """Rows in the order they are to be batched: each full global batch's slice written."""
        if self.pending:
            x, y = np.concatenate([self.pending[0], x]), np.concatenate([self.pending[1], y])
        whole = len(y) // self.batch_size * self.batch_size
        for start in range(0, whole, self.batch_size):
            piece = start + self.piece(self.batch_size)
            self.write(x[piece], y[piece])
            self.full += 1
        self.pending = (x[whole:], y[whole:])

    def finish(self):
        """Write the partial batch's slice, if there is a partial batch."""
        x, y = self.pending or (np.zeros((0, self.width)), np.zeros((0, self.outputs)))
        if len(y):
            piece = self.piece(len(y))
            self.write(x[piece], y[piece])
            self.tail_rows = len(piece)
        self.write(x[:0], y[:0])  # the files exist, even with no rows
        self.pending = ()

    def write(self, x, y):
        for values, suffix in ((x, ".x"), (y, ".y")):
            with open(self.path.with_suffix(suffix), "ab") as file:
                np.ascontiguousarray(values, dtype="<f4").tofile(file)

    def read(self, first_row, rows):
        return tuple(np.fromfile(self.path.with_suffix(suffix), dtype="<f4", count=rows * width,
                                 offset=first_row * width * 4).reshape(rows, width)
                     for suffix, width in ((".x", self.width), (".y", self.outputs)))

    def blocks(self, seed, order):
        """The full slices, BLOCK_BATCHES at a time as one (x, y) block: the blocks in an order
        drawn from (seed, epoch) and rows shuffled within each block when `order` is given,
        else in file order. One Python step a block: tf.data cuts the batches (`dataset`)."""
        epoch = getattr(order, "epoch", 0)
        starts = np.arange(0, self.full, BLOCK_BATCHES)
        if order is not None:
            starts = np.random.default_rng([seed, epoch]).permutation(starts)
        for start in starts:
            count = min(BLOCK_BATCHES, self.full - start)
            yield (*self.read(start * self.slice_rows, count * self.slice_rows),
                   np.array([seed, epoch * self.full + start]))  # the rows' order (`shuffle`)

    def tail(self, replicas):
        """The partial batch's slice as `replicas` pieces; even empty ones, where there is a
        partial batch at all: every worker takes every step."""
        if self.tail_rows is not None:
            x, y = self.read(self.full * self.slice_rows, self.tail_rows)
            for piece in np.array_split(np.arange(len(y)), replicas):
                yield x[piece], y[piece]


BLOCK_BATCHES = 128  # slices read and shuffled together: 65,536 rows at a batch of 512


def shuffle(x, y, seed):
    """A block's rows in the order `seed` draws."""
    order = tf.random.experimental.stateless_shuffle(tf.range(tf.shape(y)[0]), seed=seed)
    return tf.gather(x, order), tf.gather(y, order)

