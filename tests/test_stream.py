"""CSV files read in batches (recipes/sources/stream.py): the per-row split, the bounded statistics pass,
training and evaluation from the file, workers on their own shards, and predict in chunks."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from recipes.data import reading, tables
from recipes.features import parts, preprocess
from recipes.runs import rundir
from recipes.sources import stream
from recipes.data.dataset import DataOptions
from recipes.serving.predict import predict
from tests.conftest import ROOT, exit_code
from tests.test_multiworker import finish, free_ports

ROWS = 3000


def table(rows=ROWS, seed=0):
    """y = 1 where 2a - b + (colour is red) > 0.5, plus the mess a real file has."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    colour = rng.choice(["red", "green", "blue"], size=rows)
    y = (2 * a - b + (colour == "red") > 0.5).astype(int)
    frame = pd.DataFrame({"a": a.round(3).astype(str), "b": b.round(3), "colour": colour,
                          "y": y})
    frame.loc[::17, "a"] = "?"  # a missing-value marker
    frame.loc[::23, "colour"] = ""
    return frame


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "rows.csv"
    table().to_csv(path, index=False)
    return path


def options(path, **more):
    return DataOptions(path=str(path), target="y", stream=True, **more)


def test_the_split_is_deterministic_disjoint_and_seeded():
    rows = np.arange(100_000)
    first, again, other = stream.part_of(rows, 0), stream.part_of(rows, 0), stream.part_of(rows, 1)
    np.testing.assert_array_equal(first, again)
    assert np.mean(first != other) > 0.4  # another seed, another split
    shares = np.bincount(first) / len(rows)
    np.testing.assert_allclose(shares, [1 - parts.VAL_FRACTION - parts.TEST_FRACTION,
                                        parts.VAL_FRACTION, parts.TEST_FRACTION],
                               atol=0.01)


def test_parts_cover_the_file_once_whatever_the_chunks(csv_file, monkeypatch):
    source = stream.survey(options(csv_file), seed=3, quiet=True)
    assert sum(source.rows.values()) == ROWS
    monkeypatch.setattr(reading, "CHUNK_ROWS", 250)  # the split must not depend on chunking
    assert stream.survey(options(csv_file), seed=3, quiet=True).rows == source.rows
    parts = source.parts(preprocess.fit(source.dataset, source.splits.train))
    part, labels = stream.part_of(np.arange(ROWS), 3), table()["y"].to_numpy()
    for index, name in enumerate(stream.PARTS):  # batches of 64 span the chunks of 250
        targets = np.concatenate([y.numpy()[:, 0] for _, y in parts[name].dataset(64)])
        assert len(targets) == source.rows[name] == np.sum(part == index)
        assert targets.sum() == labels[part == index].sum()  # the part's rows: its positives


def test_statistics_from_the_bounded_pass_match_the_whole_training_split(csv_file):
    source = stream.survey(options(csv_file), seed=0, quiet=True)
    streamed = preprocess.fit(source.dataset, source.splits.train, bins=16)
    # The in-memory loader's rows, cut by the same per-row split: the same statistics.
    dataset = tables.csv(options(csv_file))
    train = stream.part_of(np.arange(ROWS), 0) == 0
    whole = preprocess.fit(dataset, parts.Part(dataset.features[train],
                                                    dataset.target[train]), bins=16)
    assert streamed.spec == whole.spec and streamed.classes == whole.classes


def test_the_sample_is_bounded_and_seeded(csv_file, monkeypatch):
    monkeypatch.setattr(stream, "SAMPLE_ROWS", 500)
    first = stream.survey(options(csv_file), seed=0, quiet=True).splits.train
    again = stream.survey(options(csv_file), seed=0, quiet=True).splits.train
    assert len(first) == 500 and first.features.index.equals(again.features.index)
    assert first.features.index.is_monotonic_increasing  # kept in file order


def test_a_streamed_run_learns_and_its_model_predicts_in_chunks(csv_file, tmp_path, monkeypatch):
    out = tmp_path / "run"
    assert exit_code(["run", "csv", "--data", str(csv_file), "--target", "y", "--stream",
                      "--epochs", "8", "--quiet", "--out", str(out)]) == 0
    metrics = json.loads((out / rundir.METRICS_FILE).read_text())
    assert metrics["test"]["accuracy"] > 0.85  # chance: about 0.6
    assert sum(metrics["examples"].values()) == ROWS
    assert metrics["stream"]["rows_encoded"]["train"] == metrics["examples"]["train"]

    # predict reads and writes in chunks: the same answers as one chunk
    monkeypatch.setattr(reading, "CHUNK_ROWS", 700)
    assert predict(out, csv_file, tmp_path / "chunked.csv") == ROWS
    monkeypatch.setattr(reading, "CHUNK_ROWS", 10 * ROWS)
    assert predict(out, csv_file, tmp_path / "whole.csv") == ROWS
    chunked, whole = (pd.read_csv(tmp_path / name) for name in ("chunked.csv", "whole.csv"))
    pd.testing.assert_frame_equal(chunked, whole)
    assert (chunked["prediction"] == table()["y"]).mean() > 0.85


def test_read_chunks_joined_are_read_csv(csv_file):
    chunks = list(reading.read_chunks(csv_file, rows=400))
    assert len(chunks) == -(-ROWS // 400) and chunks[1].index[0] == 400
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), reading.read_csv(csv_file))


def test_a_file_broken_part_way_through_names_how_far_reading_got(tmp_path, capsys,
                                                                  monkeypatch):
    monkeypatch.setattr(reading, "CHUNK_ROWS", 50)
    path = tmp_path / "broken.csv"
    text = table(200).to_csv(index=False)
    path.write_text(text + "1,2,red,1,surplus,fields\n")
    assert exit_code(["run", "csv", "--data", str(path), "--target", "y", "--stream",
                      "--quiet", "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: cannot read") and "after 200 rows" in error
    assert "line 202" in error
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_two_workers_read_their_own_shards_and_end_with_identical_weights(csv_file, tmp_path):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    outs = [tmp_path / f"worker{index}" for index in range(2)]
    command = ["run", "csv", "--data", csv_file, "--target", "y", "--stream", "--loop", "tape",
               "--epochs", "2", "--quiet"]
    processes = [subprocess.Popen(
        [sys.executable, "-m", "recipes", *map(str, command), "--out", str(out)], cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CONFIG": json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}})},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for index, out in enumerate(outs)]
    for process, (_, stderr) in zip(processes, finish(processes)):
        assert process.returncode == 0, stderr[-3000:]
    metrics = [json.loads((out / rundir.METRICS_FILE).read_text()) for out in outs]
    read = [m["stream"]["rows_encoded"]["train"] for m in metrics]
    assert sum(read) == metrics[0]["examples"]["train"] and abs(read[0] - read[1]) <= 1
    assert metrics[0]["test"] == metrics[1]["test"]
    for first, second in zip(*(rundir.load(out).model.get_weights() for out in outs)):
        np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("command, message", [
    (["tune", "csv", "--folds", "2"], "--folds refits the preprocessing on each fold in memory"),
    (["grid", "csv", "--param", "dropout=0,0.1"], "grid cross-validates through scikit-learn"),
    (["run", "iris"], "--stream reads a CSV file"),
])
def test_what_cannot_stream_says_so(csv_file, tmp_path, capsys, command, message):
    data = ["--data", str(csv_file), "--target", "y"] if "csv" in command else []
    assert exit_code([*command, *data, "--stream", "--quiet", "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
