"""Generated CSV files (Hypothesis): tables of random column kinds and missing markers, written with
random separators, quoting, encodings, line ends and compression, then read back by
recipes/data/reading.py and given roles by recipes/data/tables.py. Every file either reads back as
written (names and values stripped, numbers as numbers, markers as missing) or is refused with the
one user error in one line; never another exception. Hand-written cases: tests/test_csv.py.

The profiles are in tests/conftest.py: "ci" by default (a fixed seed, few examples),
`--hypothesis-profile long` for thousands.
"""

import bz2
import codecs
import csv
import gzip
import io
import lzma
import random
import string
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from recipes import roles
from recipes.data import reading, tables
from recipes.data.dataset import DataOptions
from recipes.errors import UserError
from recipes.roles.identifier import id_like
from recipes.roles.numeric import parse_numbers

try:  # .csv.zst is read only where zstandard is installed
    import zstandard
except ImportError:
    zstandard = None

MAX_ROWS = 200  # past reading.SNIFF_LINES, so rows the separator is not sniffed from are read too
POOL = 8  # distinct values a column draws from: wide tables stay within Hypothesis' budget
COMPRESSORS = {  # file suffix -> the bytes as that compression writes them (recipes/data/files.py)
    "": lambda data: data,
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
    ".zip": lambda data: zip_member("table.csv", data),
    **({".zst": zstandard.ZstdCompressor().compress} if zstandard else {}),
}
# Per charset (a table's text is in one, so that cp1252 files are written, not only UTF-8 ones):
# the characters of names (no separator, quote or "=") and those that trip CSV writers and readers.
LATIN_NAMES = string.ascii_letters + string.digits + " _-éü"
LATIN_TRICKS = ',;\t|"\' \n\r\x0béüß€£ñ'
NAME_CHARS = {"cp1252": LATIN_NAMES, "utf-8": LATIN_NAMES + "名ж"}
TRICKY_CHARS = {"cp1252": LATIN_TRICKS, "utf-8": LATIN_TRICKS + "\x85\u2028ж名🙂"}
EXTRA_MARKERS = ("unknown", "N.A.", "missing")  # passed as na_values
DATE_WRITINGS = ("%Y-%m-%d", "%d/%m/%Y", "%m-%d-%Y", "%d.%m.%Y", "%Y/%m/%d %H:%M",
                 "%Y-%m-%dT%H:%M:%S", "%d %b %Y")
BOOLEAN_WORDS = (("yes", "no"), ("true", "false"), ("y", "n"), ("t", "f"))
NUMBER_KINDS = ("integers", "floats", "human numbers")


def zip_member(name, data):
    """A .zip archive holding `data` as its one file `name`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


# --- tables -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One generated column: its name and cells as written (str, or int / float, which the csv
    writer leaves unquoted under QUOTE_NONNUMERIC), and for numbers each cell's value."""

    kind: str
    name: str
    cells: tuple
    numbers: tuple | None = None  # float per cell, NaN where the cell is a missing marker


@dataclass(frozen=True)
class Table:
    columns: tuple
    index_from: int | None  # a leading unnamed column counting the rows from 0 or 1, or none
    na_values: tuple  # markers beyond reading.MISSING_MARKERS

    @property
    def rows(self):
        return len(self.columns[0].cells)


def padded(text, spaces=("", " ", "  ", "\t")):
    """`text` with the spaces around it a hand-edited file has, sometimes."""
    return st.tuples(st.sampled_from(spaces), st.sampled_from(spaces)).map(
        lambda pad: pad[0] + text + pad[1])


def random_case(text):
    return st.lists(st.booleans(), min_size=len(text), max_size=len(text)).map(
        lambda upper: "".join(c.upper() if u else c for c, u in zip(text, upper)))


def human_number(cents, style):
    """(text, value) of an amount written for people, in a form the numeric role reads."""
    amount, sign = f"{abs(cents) / 100:,.2f}", "-" if cents < 0 else ""
    text = {"grouped": sign + amount, "dollars": f"{sign}${amount}", "euros": f"{sign}€ {amount}",
            "accounting": f"({amount})" if cents < 0 else amount, "percent": f"{sign}{amount}%",
            "european": sign + amount.translate(str.maketrans(",.", ".,")),  # 1.234,56
            "spaced": sign + amount.replace(",", " ")}[style]
    return text, cents / 100


def number_cell(value):
    """A number as the csv writer gets it: the number itself, or its text (perhaps padded)."""
    return st.one_of(st.just((value, float(value))),
                     padded(repr(value)).map(lambda text: (text, float(value))))


@st.composite
def pool(draw, kind, charset):
    """Up to POOL distinct (cell, number or None) a column of `kind` is made of."""
    if kind == "integers":
        values = st.integers(-10**6, 10**6).flatmap(number_cell)
    elif kind == "floats":
        values = st.floats(allow_nan=False, allow_infinity=False).flatmap(number_cell)
    elif kind == "human numbers":
        values = st.builds(human_number, st.integers(-10**9, 10**9),
                           st.sampled_from(("grouped", "dollars", "euros", "accounting",
                                            "percent", "european", "spaced")))
    elif kind == "dates":
        writing = draw(st.sampled_from(DATE_WRITINGS))
        values = st.datetimes().map(lambda when: (when.strftime(writing), None))
    elif kind == "booleans":
        words = draw(st.sampled_from(BOOLEAN_WORDS))
        values = st.sampled_from(words).flatmap(random_case).map(lambda word: (word, None))
    else:  # text, and the one value of a constant
        text = st.text(st.sampled_from(TRICKY_CHARS[charset]) | st.characters(
            codec=charset, exclude_characters="\x00"), max_size=12)
        values = text.flatmap(padded).map(lambda cell: (cell, None))
    return draw(st.lists(values, min_size=1, max_size=1 if kind == "constant" else POOL))


@st.composite
def column(draw, name, rows, markers, charset):
    """A column of a random kind, its cells drawn from its pool or, where missing, a marker from
    MISSING_MARKERS and na_values in any case and with surrounding spaces."""
    kind = draw(st.sampled_from((*NUMBER_KINDS, "text", "dates", "booleans", "constant",
                                 "identifiers")))
    if kind == "identifiers":  # one value per row, never missing; numbers without a prefix
        prefix = draw(st.sampled_from(("C", "user-", "")))
        start = draw(st.integers(0, 10**6))
        values = [(f"{prefix}{start + i:07d}", None if prefix else float(start + i))
                  for i in range(rows)]
        picks = range(rows)
    else:
        gaps = draw(st.lists(st.sampled_from(markers).flatmap(random_case).flatmap(padded),
                             max_size=3))
        values = draw(pool(kind, charset)) + [(marker, np.nan) for marker in gaps]
        # Rows pick from the pool by a drawn seed: a draw per cell would cost more than the file.
        picks = random.Random(draw(st.integers(0, 2**32))).choices(range(len(values)), k=rows)
    cells, numbers = zip(*[values[pick] for pick in picks])
    return Column(kind, name, cells, None if None in numbers else numbers)


@st.composite
def generated_tables(draw, max_rows=MAX_ROWS):
    """1 to 8 columns of random kinds with unique, non-empty names, 1 to `max_rows` rows."""
    rows = draw(st.integers(1, max_rows))
    charset = draw(st.sampled_from(tuple(NAME_CHARS)))
    names = draw(st.lists(st.text(NAME_CHARS[charset], min_size=1, max_size=10).filter(
        lambda name: name.strip() and not name.startswith("Unnamed")).flatmap(
        lambda name: padded(name, spaces=("", " "))),  # a tab would be a separator
        min_size=1, max_size=8, unique_by=str.strip))
    na_values = tuple(draw(st.lists(st.sampled_from(EXTRA_MARKERS), max_size=2, unique=True)))
    markers = (*reading.MISSING_MARKERS, *na_values)
    columns = tuple(draw(column(name, rows, markers, charset)) for name in names)
    return Table(columns, draw(st.sampled_from((None, 0, 1))), na_values)


# --- files ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Writing:
    """How a table is written to a file."""

    separator: str
    quoting: int
    encoding: str
    line_end: str
    compression: str
    excel_line: bool  # Excel's "sep=;" line first


writings = st.builds(
    Writing, st.sampled_from(reading.SEPARATORS),
    st.sampled_from((csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC)),
    st.sampled_from(("utf-8", "utf-8-sig", "cp1252", "utf-16")),
    st.sampled_from(("\n", "\r\n", "\r")), st.sampled_from(tuple(COMPRESSORS)), st.booleans())


def csv_lines(table, writing):
    """Each line of the file, the header first, without its line end. The writer is told "\\r\\n"
    whatever the file's line end, so that it quotes every cell holding either character (Python
    3.11's quotes only its own line end's characters: "a\\rb" would be two rows in a "\\n" file)."""
    index = [] if table.index_from is None else [
        ("", *range(table.index_from, table.index_from + table.rows))]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=writing.separator, quoting=writing.quoting,
                        lineterminator="\r\n")
    lines = []
    for row in zip(*index, *((c.name, *c.cells) for c in table.columns)):
        buffer.seek(0), buffer.truncate()
        writer.writerow(row)
        lines.append(buffer.getvalue()[:-2])
    return lines


def encoded(text, encoding):
    """The file's bytes: cp1252 only where that is unambiguous (`plain_cp1252`), else UTF-8."""
    if encoding == "cp1252":
        return text.encode("cp1252" if plain_cp1252(text) else "utf-8")
    return text.encode(encoding)


def plain_cp1252(text):
    """Whether `text` encodes as cp1252 into bytes that are ASCII or no UTF-8: the reader tries
    UTF-8 first, so cp1252 bytes that decode as UTF-8 too are another text to it."""
    try:
        data = text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return data.isascii()


def write(table, writing, folder, before=""):
    """The table as a file in `folder`, `before` its first line; its path."""
    excel = [f"sep={writing.separator}"] if writing.excel_line else []
    lines = [*excel, *csv_lines(table, writing)]
    text = before + "".join(line + writing.line_end for line in lines)
    path = Path(folder) / f"table.csv{writing.compression}"
    data = encoded(text, writing.encoding)
    path.write_bytes(COMPRESSORS[writing.compression](data))
    note(f"file, before compression: {data[:400]!r}")
    return path


# --- what reading should give -----------------------------------------------------------------


def kept_rows(table, writing):
    """Which rows pandas reads: it skips a line of spaces and tabs as blank, which a table of one
    field a line writes for a cell of spaces (a missing value, in the file's eyes)."""
    blank = set(" \t") - {writing.separator}
    return np.array([not set(line) <= blank for line in csv_lines(table, writing)[1:]], bool)


def expected_frame(table, writing):
    """What reading.read_csv should return: names and values stripped, NaN for the markers, the
    leading row index dropped, the rows pandas skips as blank left out."""
    markers = {m.strip().lower() for m in (*reading.MISSING_MARKERS, *table.na_values)}
    frame = pd.DataFrame({c.name.strip(): [
        np.nan if str(cell).strip().lower() in markers else str(cell).strip()
        for cell in c.cells] for c in table.columns}, dtype=object)
    return frame[kept_rows(table, writing)].reset_index(drop=True)


def ambiguous_separator(table, writing):
    """One field a line and no "sep=" line: the separator is sniffed from the first
    reading.SNIFF_LINES lines, and a cell past them holding another separator is refused."""
    return len(table.columns) + (table.index_from is not None) == 1 and not writing.excel_line


def expected_role(column, values):
    """The role detection must give a column of the generated `column`'s kind, read as `values`;
    None where the kind leaves it to the values."""
    present = values.dropna()
    if present.empty or (present.nunique() == 1 and len(present) == len(values)):
        return "constant"
    if column.numbers is not None and not id_like(column.name.strip()) and \
            parse_numbers(values)[0].nunique() > 1:
        return "numeric"
    if column.kind == "identifiers" and column.numbers is None:
        return "identifier"  # unique per row, text: neither a date nor free text
    return None


def read_or_refusal(function, *args, **kwargs):
    """`function`'s answer, or the UserError it raised, checked to be one line. Any other
    exception fails the test."""
    try:
        return function(*args, **kwargs)
    except UserError as error:
        assert len(str(error).splitlines()) == 1, repr(str(error))
        return error


# --- properties -------------------------------------------------------------------------------


@given(generated_tables(), writings)
def test_a_written_table_reads_back_as_written(table, writing):
    with tempfile.TemporaryDirectory() as folder:
        frame = read_or_refusal(reading.read_csv, write(table, writing, folder), table.na_values)
    expected = expected_frame(table, writing)
    if isinstance(frame, UserError):
        assert expected.empty or ambiguous_separator(table, writing), str(frame)
        return
    pd.testing.assert_frame_equal(frame, expected)
    kept = kept_rows(table, writing)
    for column in table.columns:
        if column.numbers is not None:
            values, not_numbers = parse_numbers(frame[column.name.strip()])
            assert not not_numbers.any()
            np.testing.assert_allclose(values, np.array(column.numbers)[kept], rtol=1e-12)


# A few chunks of 1 to 7 rows: each chunk costs pandas ~30 ms, whatever its size.
chunkings = st.integers(1, 7).flatmap(
    lambda rows: st.tuples(generated_tables(max_rows=4 * rows + 1), st.just(rows)))


@given(chunkings, writings)
def test_reading_in_chunks_reads_what_reading_whole_does(chunking, writing):
    table, rows = chunking
    with tempfile.TemporaryDirectory() as folder:
        path = write(table, writing, folder)
        whole = read_or_refusal(reading.read_csv, path, table.na_values)
        chunks = read_or_refusal(lambda: list(reading.read_chunks(path, table.na_values, rows)))
    if isinstance(whole, UserError):
        assert isinstance(chunks, UserError)
        return
    assert all(len(chunk) <= rows for chunk in chunks)
    pd.testing.assert_frame_equal(pd.concat(chunks), whole)


@given(generated_tables(), writings)
def test_every_column_gets_a_role_or_the_file_is_refused(table, writing):
    with tempfile.TemporaryDirectory() as folder:
        path = write(table, writing, folder)
        frame = read_or_refusal(reading.read_csv, path, table.na_values)
    assume(not isinstance(frame, UserError))
    found = read_or_refusal(tables.feature_columns, frame, DataOptions(path=str(path)))
    if isinstance(found, UserError):
        assert "has no feature column to learn from" in str(found)
        return
    _, found = found
    assert [c.name for c in found] == list(frame.columns)
    assert all(c.role in roles.ROLES for c in found)
    for column, verdict in zip(table.columns, found):
        role = expected_role(column, frame[verdict.name])
        assert role in (None, verdict.role), (verdict.name, verdict.note)


FRAGMENTS = (b"a,b", b"x;y;z", b",", b";", b"\t", b"|", b'"', b"'", b"\n", b"\r", b"\r\n",
             b"sep=;", b"sep=", b"NA", b"1,234", b" ", b"\x00", b"\xff", b"0", b"Unnamed: 0",
             codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, "é€".encode(),
             "é,€\n".encode("utf-16-le"))
HEADERS = (b"a,b\n", b"x;y\r\n", "sep=|\nname|€\n".encode("cp1252"), codecs.BOM_UTF8 + b"a\tb\n")
hostile_bytes = st.one_of(
    st.binary(max_size=600),
    st.builds(bytes.__add__, st.sampled_from(HEADERS), st.binary(max_size=600)),
    st.lists(st.sampled_from(FRAGMENTS) | st.binary(max_size=4), max_size=80).map(b"".join))


@settings(max_examples=4 * settings.default.max_examples)  # bytes are cheap: more of them
@given(hostile_bytes, st.sampled_from(tuple(COMPRESSORS)),
       st.sampled_from(("as they are", "compressed", "compressed, cut short")))
def test_any_bytes_read_as_a_table_or_are_refused_in_one_line(data, suffix, how):
    """Under a compression's suffix the bytes are a damaged archive, an archive of them, or one
    that ends early."""
    if how != "as they are":
        data = COMPRESSORS[suffix](data)
        data = data[:len(data) // 2] if how == "compressed, cut short" else data
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"any.csv{suffix}"
        path.write_bytes(data)
        frame = read_or_refusal(reading.read_csv, path)
    assert isinstance(frame, (pd.DataFrame, UserError))


@given(generated_tables(max_rows=5), writings,
       st.integers(reading.SNIFF_LINES, 2 * reading.SNIFF_LINES))
def test_blank_lines_before_the_header_are_skipped_as_pandas_skips_them(table, writing,
                                                                        blank_lines):
    """More blank lines than the separator is sniffed from: the same table as without them
    (Excel's `sep=` line is a file's first line by definition: not generated here)."""
    assume(not writing.excel_line)
    with tempfile.TemporaryDirectory() as folder:
        without = read_or_refusal(reading.read_csv, write(table, writing, folder), table.na_values)
        path = write(table, writing, folder, before=writing.line_end * blank_lines)
        with_blanks = read_or_refusal(reading.read_csv, path, table.na_values)
    if isinstance(without, pd.DataFrame):
        pd.testing.assert_frame_equal(with_blanks, without)
    else:
        assert isinstance(with_blanks, UserError)
