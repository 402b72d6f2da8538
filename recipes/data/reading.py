"""A CSV file as it comes, whole or in chunks: its encoding, separator, missing-value markers,
a leading row index, and numbers written for people ("$1,234", "12%", "1.234,5"). Compressed
CSV (.gz, .bz2, .zip, .xz, .zst) and Parquet files are read the same way (files.py).

    frame = reading.read_csv("mine.csv")                      # the whole file, as text
    for chunk in reading.read_chunks("big.csv.gz"):           # CHUNK_ROWS rows at a time
        ...

Both read the file by the same rules, chunk by chunk, so a file too big for memory is read as a
small one is: `read_csv` is its chunks joined. Values stay text (NaN for missing); the numeric
role's `parse_numbers` (recipes/roles/numeric.py) is the one rule that turns text into numbers,
at training and when predicting.
"""

import codecs
import csv as csv_module
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recipes.data import files
from recipes.errors import UserError
from recipes.roles.numeric import parse_numbers

# Read as missing wherever they stand alone in a cell, compared stripped and lowercased; the
# empty string stands for empty and whitespace-only cells. --na-values adds more.
MISSING_MARKERS = ("", "?", "na", "n/a", "#n/a", "null", "nan", "none", "-")
SEPARATORS = (",", ";", "\t", "|")  # tried in this order; the first that fits the lines wins ties
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")  # utf-8 (with or without a BOM), then Windows'
SNIFF_LINES = 50
SNIFF_BYTES = 1 << 20  # the head the separator is sniffed from
SCAN_BYTES = 1 << 24  # block size of the pass that checks the encoding: memory stays bounded
CHUNK_ROWS = 65_536  # rows per chunk: pandas' parsing stays fast, memory bounded
# The csv module (which sniffs the separator) refuses fields over 128 KB by default; pandas' own
# parser has no limit. A field is bounded by memory here, as in pandas (C long: 32 bits on Windows).
csv_module.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass(frozen=True)
class Layout:
    """How a file is written: what `pd.read_csv` needs to be told."""

    encoding: str
    separator: str
    skip_rows: int = 0  # 1 where Excel's "sep=;" line comes first


def read_csv(path, na_values=()):
    """A CSV file as it comes, as text: NaN for the missing-value markers (MISSING_MARKERS and
    `na_values`), surrounding spaces stripped from names and values, a leading unnamed row
    index dropped. `;`-, tab- and `|`-separated files, latin-1, Windows and UTF-16 files are
    read; what cannot be read is a one-line `UserError`."""
    return pd.concat(read_chunks(path, na_values), ignore_index=True)


def read_chunks(path, na_values=(), rows=None):
    """The file's rows as `read_csv` reads them, `rows` (default CHUNK_ROWS) at a time, each
    chunk's index the rows' numbers in the file (0 for the first row after the header). A line
    that cannot be read part way through is a `UserError` naming how far reading got."""
    path = Path(path)
    kind = "Parquet" if files.is_parquet(path) else "CSV"
    if not path.is_file():
        raise UserError(f"{kind} file not found: {path}")
    markers = {m.strip().lower() for m in (*MISSING_MARKERS, *na_values)}
    raw = files.parquet_batches(path, rows or CHUNK_ROWS) if kind == "Parquet" else \
        csv_chunks(path, rows or CHUNK_ROWS)
    read, index_column = 0, None
    for chunk in raw:
        chunk = chunk.set_axis(range(read, read + len(chunk)))
        chunk.columns = [str(c).strip() for c in chunk.columns]
        if read == 0:
            check_header(chunk, path, kind)
            index_column = row_index_column(chunk)
        read += len(chunk)
        chunk = chunk.apply(lambda column: without_markers(column, markers))
        yield chunk.drop(columns=[index_column]) if index_column else chunk
    if read == 0:  # a Parquet file with a schema and no row groups yields no batch at all
        check_header(pd.DataFrame(columns=files.parquet_columns(path)), path, kind)


def csv_chunks(path, rows):
    """The CSV file's rows as text, `rows` at a time, read through its decompressed bytes."""
    layout = file_layout(path)
    read = 0
    try:
        with files.open_bytes(path) as raw:
            reader = pd.read_csv(raw, sep=layout.separator, dtype=str, keep_default_na=False,
                                 encoding=layout.encoding, skiprows=layout.skip_rows,
                                 chunksize=rows)
            for chunk in reader:
                read += len(chunk)
                yield chunk.reset_index(drop=True)  # row names, where the header is one short
    except pd.errors.EmptyDataError:
        raise UserError(f"CSV file is empty: {path}") from None
    except (pd.errors.ParserError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0]
        where = f" after {read:,} rows" if read else ""
        raise UserError(f"cannot read {path} as CSV{where}: {first_line}") from None


def check_header(chunk, path, kind="CSV"):
    if chunk.empty:
        raise UserError(f"{kind} file has a header but no rows: {path}")
    repeated = chunk.columns[chunk.columns.duplicated()]  # the same once stripped: " a" and "a"
    if len(repeated):
        raise UserError(f"{path} names column {repeated[0]!r} twice; give each column its own name")


def file_layout(path):
    """The file's encoding (the first of ENCODINGS that reads all of it, or UTF-16 where its
    byte-order mark says so) and separator (sniffed from its first lines), judged on the
    decompressed bytes."""
    with files.open_bytes(path) as file:
        head = file.read(SNIFF_BYTES)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = next(e for e in ENCODINGS if e == ENCODINGS[-1] or reads_as(path, e))
    text = codecs.getincrementaldecoder(encoding)(errors="ignore").decode(head)
    lines = [line for line in text.splitlines() if line][:SNIFF_LINES]  # pandas skips blank lines
    if not lines or not text.strip():
        raise UserError(f"CSV file is empty: {path}")
    if lines[0].startswith("sep=") and len(lines[0]) == 5:  # Excel's separator line
        layout = Layout(encoding, lines[0][4], skip_rows=1)
    else:
        layout = Layout(encoding, max(SEPARATORS, key=lambda s: fit(lines, s)))  # first of equals
    check_names_once(lines[layout.skip_rows:], layout.separator, path)
    return layout


def check_names_once(lines, separator, path):
    """No column named twice in the header as written: pandas would rename the second `a` to
    `a.1` before anyone could see it, and the columns' roles would then belong to a new name."""
    header = [name.strip() for name in next(csv_module.reader(lines, delimiter=separator), [])]
    repeated = [name for i, name in enumerate(header) if name and name in header[:i]]
    if repeated:
        raise UserError(f"{path} names column {repeated[0]!r} twice; give each column its own name")


def reads_as(path, encoding):
    """Whether all of the file decodes as `encoding`, read block by block; binary data (a NUL
    byte) is a `UserError`."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with files.open_bytes(path) as file:
        while block := file.read(SCAN_BYTES):
            if b"\x00" in block:
                raise UserError(f"cannot read {path} as CSV: it holds binary data, not text")
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def fit(lines, separator):
    """How well `separator` splits `lines`: (the header has several fields, the share of lines
    with as many fields as the header, how many)."""
    widths = [len(row) for row in csv_module.reader(lines, delimiter=separator) if row]
    agreeing = sum(width == widths[0] for width in widths) / len(widths)
    return widths[0] > 1, agreeing, widths[0]


def without_markers(column, markers):
    """The column stripped, NaN for the missing-value markers. Worked out once per distinct
    value: pandas' string methods cost a Python call per cell (2.6x faster on bank marketing)."""
    codes, distinct = pd.factorize(column)
    text = pd.Series(distinct, dtype=object).str.strip()
    cleaned = text.mask(text.str.lower().isin(markers)).to_numpy(dtype=object)
    values = np.append(cleaned, np.nan)[codes]  # code -1 (NaN already) takes the appended NaN
    return pd.Series(values, index=column.index, dtype=object)


def row_index_column(frame):
    """The name of a leading unnamed column that numbers the rows: 0, 1, 2, ... (or from 1),
    perhaps shuffled, or counting again from 0 or 1 where files were joined; else None. Judged
    on the file's first chunk."""
    first = frame.columns[0]
    if first not in ("", "Unnamed: 0"):
        return None
    values, not_numbers = parse_numbers(frame[first])
    if not_numbers.any() or values.isna().any() or not (values == values.round()).all():
        return None
    steps = values.diff().iloc[1:]
    counting = ((steps == 1) | values.iloc[1:].isin((0, 1))).all() and values.iloc[0] in (0, 1)
    return first if values.is_unique or counting else None
