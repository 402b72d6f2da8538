"""Files as users keep them (recipes/data/files.py): compressed CSV by its suffix and Parquet
give the same table, column roles and, with the same seed, the same metrics as the plain CSV;
in memory and streamed; `predict` reads them and writes its output likewise; fields of any
length."""

import bz2
import gzip
import json
import lzma
import zipfile

import numpy as np
import pandas as pd
import pytest

from recipes.data import files, reading
from recipes.roles.numeric import parse_numbers
from recipes.runs import rundir
from tests.conftest import exit_code
from tests.test_csv import DEV_SUITE, TARGETS

COMPRESSORS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}
SUFFIXES = (".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip", ".csv.zst", ".parquet")


def messy_table(rows=400, seed=0):
    """Every column role and the mess a real file has: `?` for missing, money as text, a date,
    an ID, a category with blanks. y is a noisy function of them."""
    rng = np.random.default_rng(seed)
    size = rng.uniform(20, 200, rows)
    city = rng.choice(["north", "south", "east"], rows)
    built = pd.Timestamp("1990-01-01") + pd.to_timedelta(rng.integers(0, 9000, rows), unit="D")
    price = 3 * size + 40 * (city == "north") + rng.normal(0, 10, rows)
    frame = pd.DataFrame({"id": [f"H{i:05d}" for i in range(rows)],
                          "size": size.round(2).astype(str), "city": city,
                          "built": built.strftime("%Y-%m-%d"),
                          "tax": [f"${v:,.2f}" for v in size * 12.5],
                          "price": price.round(1)})
    frame.loc[::13, "size"] = "?"
    frame.loc[::17, "city"] = ""
    return frame


def copy_as(source, suffix, folder):
    """`source` (a CSV file) written again as `suffix`: the same bytes compressed, or, for
    Parquet, the table as pandas reads it with its own types (numbers as numbers)."""
    path = folder / (source.name.removesuffix(".csv") + suffix)
    data = source.read_bytes()
    if suffix == ".parquet":
        pd.read_csv(source).to_parquet(path)
    elif suffix == ".csv.zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(source.name, data)
    elif suffix == ".csv.zst":
        path.write_bytes(files.zstandard.ZstdCompressor().compress(data))
    else:
        path.write_bytes(COMPRESSORS[suffix.removeprefix(".csv")](data))
    return path


@pytest.fixture
def messy_csv(tmp_path):
    path = tmp_path / "homes.csv"
    messy_table().to_csv(path, index=False)
    return path


def dev_file_or_messy(tmp_path):
    """A real dev-suite file where the suite is here (auto imports: `?` for missing, 25 columns),
    else the generated messy table: (path, target)."""
    if (DEV_SUITE / "auto_imports.csv").is_file():
        return DEV_SUITE / "auto_imports.csv", TARGETS["auto_imports"]
    path = tmp_path / "homes.csv"
    messy_table().to_csv(path, index=False)
    return path, "price"


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_each_format_reads_as_the_plain_csv(suffix, messy_csv, tmp_path):
    if suffix == ".csv.zst" and files.zstandard is None:
        pytest.skip("zstandard is not installed")
    plain = reading.read_csv(messy_csv)
    copy = reading.read_csv(copy_as(messy_csv, suffix, tmp_path))
    if suffix == ".parquet":  # a typed column's numbers come back written shortest: 12.50 -> 12.5
        typed = pd.read_csv(messy_csv).select_dtypes("number").columns
        for name in typed:
            np.testing.assert_array_equal(parse_numbers(copy[name])[0],
                                          parse_numbers(plain[name])[0])
        plain, copy = plain.drop(columns=typed), copy.drop(columns=typed)
    pd.testing.assert_frame_equal(copy, plain)


@pytest.mark.parametrize("stream", [False, True], ids=["in-memory", "streamed"])
def test_gzip_and_parquet_copies_train_the_same_model(stream, tmp_path):
    """Same column table, same split, same metrics: the format is only how the rows travel."""
    source, target = dev_file_or_messy(tmp_path)
    if stream:  # the streamed path splits by row number: the generated table, big enough
        source, target = tmp_path / "rows.csv", "price"
        messy_table(rows=2000).to_csv(source, index=False)
    results = {}
    for suffix in (".csv", ".csv.gz", ".parquet"):
        data = source if suffix == ".csv" else copy_as(source, suffix, tmp_path)
        out = tmp_path / f"run{suffix}"
        assert exit_code(["run", "csv", "--data", str(data), "--target", target, "--epochs", "3",
                          "--deterministic", "--quiet", "--out", str(out),
                          "--stream" if stream else "--no-stream"]) == 0
        results[suffix] = json.loads((out / rundir.METRICS_FILE).read_text())
    plain = results[".csv"]
    for suffix in (".csv.gz", ".parquet"):
        assert results[suffix]["columns"] == plain["columns"], suffix
        assert results[suffix]["examples"] == plain["examples"], suffix
        assert results[suffix]["test"] == pytest.approx(plain["test"], rel=1e-6), suffix


@pytest.fixture(scope="module")
def homes_run(tmp_path_factory):
    """A run trained (1 epoch) on 300 rows of the messy table, and its predictions of those rows
    read from the plain CSV: (run folder, rows, predictions)."""
    folder = tmp_path_factory.mktemp("homes")
    rows, run = folder / "homes.csv", folder / "run"
    messy_table(rows=300).to_csv(rows, index=False)
    assert exit_code(["run", "csv", "--data", str(rows), "--target", "price", "--epochs", "1",
                      "--quiet", "--out", str(run)]) == 0
    assert exit_code(["predict", "--model", str(run), "--data", str(rows),
                      "--output", str(folder / "plain.csv")]) == 0
    return run, rows, pd.read_csv(folder / "plain.csv")


@pytest.mark.parametrize("output", ["predictions.csv.gz", "predictions.csv.zip",
                                    "predictions.csv.bz2", "predictions.parquet"])
def test_predict_reads_a_compressed_file_and_writes_as_its_output_suffix_says(output, homes_run,
                                                                              tmp_path):
    run, rows, expected = homes_run
    assert exit_code(["predict", "--model", str(run), "--data",
                      str(copy_as(rows, ".csv.gz", tmp_path)),
                      "--output", str(tmp_path / output)]) == 0
    written = tmp_path / output
    answers = pd.read_parquet(written) if files.is_parquet(written) else pd.read_csv(written)
    if not files.is_parquet(written):  # really compressed, not plain text under a new name
        with pytest.raises(UnicodeDecodeError):
            written.read_bytes().decode("utf-8")
    np.testing.assert_allclose(answers["prediction"], expected["prediction"], rtol=1e-6)
    assert len(answers) == 300


def test_a_field_of_megabytes_is_read_whole(tmp_path):
    """The csv module's 128 KB field limit (which sniffing the separator goes through) is lifted:
    a 5 MB text cell, in the first line, is read as written."""
    cell = "word " * 1_000_000
    path = tmp_path / "long.csv"
    pd.DataFrame({"note": [cell.strip(), "short"], "y": [1, 2]}).to_csv(path, index=False)
    frame = reading.read_csv(path)
    assert frame["note"].str.len().tolist() == [len(cell.strip()), 5]


def test_parquet_is_read_in_record_batches(tmp_path, monkeypatch):
    """A Parquet file streams as a CSV does: chunks of CHUNK_ROWS rows, numbered through the
    file, whatever its row groups."""
    path = tmp_path / "rows.parquet"
    messy_table(rows=1000).to_parquet(path, row_group_size=300)
    chunks = list(reading.read_chunks(path, rows=128))
    assert [len(c) for c in chunks] == [128] * 7 + [104]
    assert pd.concat(chunks).index.tolist() == list(range(1000))
    assert pd.concat(chunks).equals(reading.read_csv(path))
