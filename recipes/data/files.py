"""Data files as users keep them: CSV plain or compressed (chosen by the suffix, as pandas does),
and Parquet, read in record batches.

    with files.open_bytes("sales.csv.gz") as raw:   # the decompressed bytes, streamed
        head = raw.read(1024)
    for frame in files.parquet_batches("big.parquet", rows=65_536):   # text cells, as a CSV's
        ...
    with files.text_writer("predictions.csv.xz") as out:   # compressed likewise on the way out
        frame.to_csv(out)

The CSV reader (reading.py) looks at the decompressed text only, so the encoding, separator and
binary checks are the same for every compression. Parquet cells become text too: the column roles
then read them by the one set of rules the CSV path uses (a number written 3.5 or stored as a
double is the same number), and a Parquet copy of a CSV trains the same model.
"""

import bz2
import contextlib
import gzip
import io
import lzma
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from recipes.errors import UserError

try:  # pandas reads .zst only through this package; it is optional here too
    import zstandard
except ImportError:
    zstandard = None

# suffix -> the name a user knows it by; `open_bytes`/`text_writer` open each
COMPRESSIONS = {".gz": "gzip", ".bz2": "bzip2", ".zip": "zip", ".xz": "xz", ".zst": "zstd"}
PARQUET_SUFFIXES = (".parquet", ".pq")
# What a damaged compressed file raises, by library: each becomes one line naming the file
DAMAGED = (OSError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile)
if zstandard is not None:
    DAMAGED += (zstandard.ZstdError,)


def compression(path):
    """The compression a file's suffix names ("gzip", ...), or None for a plain file."""
    return COMPRESSIONS.get(Path(path).suffix.lower())


def is_parquet(path):
    return Path(path).suffix.lower() in PARQUET_SUFFIXES


def damaged(path, error):
    """The one-line UserError for a compressed or Parquet file that cannot be decoded."""
    kind = "Parquet" if is_parquet(path) else f"{compression(path)}-compressed CSV"
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return UserError(f"cannot read {path} as {kind}: {detail}")


@contextlib.contextmanager
def open_bytes(path):
    """The file's bytes, decompressed by its suffix, as a binary stream; a damaged archive is a
    one-line UserError wherever reading it fails."""
    path = Path(path)
    kind = compression(path)
    if kind is None:
        with path.open("rb") as raw:
            yield raw
        return
    try:
        with opened(path, kind) as raw:
            yield raw
    except DAMAGED as error:
        if isinstance(error, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise damaged(path, error) from None


# compression -> its library's open(path, mode); zip and zstd are opened below
OPENERS = {"gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}


def opened(path, kind, mode="rb"):
    """A binary stream through the `kind` compression ("rb" or "wb"; .zip: reading only)."""
    if kind == "zip":
        return zip_member(path)
    if kind == "zstd":
        return zstandard.open(path, mode) if zstandard else missing_zstandard(path)
    return OPENERS[kind](path, mode)


def zip_member(path):
    """A .zip's one file, opened; an archive of several files would leave the data ambiguous."""
    archive = zipfile.ZipFile(path)
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) != 1:
        archive.close()
        raise UserError(f"{path} holds {len(members)} files; a .zip must hold exactly one CSV "
                        f"file (or unzip it and give the CSV file)")
    return archive.open(members[0])


def missing_zstandard(path):
    raise UserError(f"{path} is zstd-compressed: reading it needs the zstandard package "
                    f"(pip install zstandard), or decompress it first")


@contextlib.contextmanager
def text_writer(path):
    """A text stream onto `path`, compressed as its suffix says (.zip: one member named as the
    file without .zip). For CSV written with `newline=""` semantics: line ends as given."""
    path = Path(path)
    kind = compression(path)
    if kind is None:
        with path.open("w", newline="", encoding="utf-8") as out:
            yield out
    elif kind == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, \
                archive.open(Path(path.name).stem, "w") as member, \
                io.TextIOWrapper(member, encoding="utf-8", newline="") as out:
            yield out
    else:
        with opened(path, kind, "wb") as raw, \
                io.TextIOWrapper(raw, encoding="utf-8", newline="") as out:
            yield out


def parquet_batches(path, rows):
    """The Parquet file's rows, `rows` at a time (record batches: a file bigger than memory
    streams), as DataFrames of text cells (None where the file holds null)."""
    try:
        file = pq.ParquetFile(path)
        for batch in file.iter_batches(batch_size=rows):
            yield pd.DataFrame({name: as_text(batch.column(i))
                                for i, name in enumerate(batch.schema.names)})
    except (pa.ArrowException, OSError) as error:
        if isinstance(error, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise damaged(path, error) from None


def parquet_columns(path):
    """The file's column names, from its schema (a Parquet file may hold no rows)."""
    try:
        return pq.ParquetFile(path).schema_arrow.names
    except (pa.ArrowException, OSError) as error:
        raise damaged(path, error) from None


def as_text(column):
    """A Parquet column's cells as text, null as None: Arrow's own cast where it has one (numbers
    written shortest-exact, so they parse back to the stored value; timestamps as ISO), bytes
    decoded as UTF-8, and Python's str for nested values."""
    if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
        values = [None if v is None else v.decode("utf-8", "replace") for v in column.to_pylist()]
        return np.array(values, dtype=object)
    try:
        text = pc.cast(column, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return np.array([None if v is None else str(v) for v in column.to_pylist()], dtype=object)
    return np.array(text.to_pylist(), dtype=object)


def write_parquet(path, frames):
    """The frames as one Parquet file, a row group each (written as they come: memory stays a
    chunk's); how many rows."""
    writer, rows = None, 0
    try:
        for frame in frames:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
            rows += len(frame)
    finally:
        if writer is not None:
            writer.close()
    return rows
