"""Reliability: bad input anywhere is one line, exit 2 and no change on disk; a diverged run keeps
the previous run's files; a killed run resumes to the weights of an uninterrupted one; the same
seed gives bit-identical results.

The bad inputs extend tests/test_cli.py's table to CSV contents, local image files, model
folders and output folders. All of them live under one folder, snapshotted before and after
each case: names, sizes and modification times must not move.
"""

import gzip
import io
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from recipes import resume, run, train
from recipes.cli import main
from tests.conftest import ROOT, run_cli

# --- bad inputs -------------------------------------------------------------------------------


def csv_files(folder):
    """CSV files whose contents are wrong in ways the file format cannot say."""
    good = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0] * 5, "kind": ["a", "b"] * 10,
                         "label": ["yes", "no", "no", "yes"] * 5})
    frames = {
        "nan_target": good.assign(label=np.nan),
        "mixed_feature": good.assign(x=[1, 2, 3, 4, "?"] + [5] * 15),
        "mixed_target": good.assign(label=[1.5, 2.5, "unknown"] + [3.5] * 17),
        "target_only": good[["label"]],
        "four_classes": good.assign(label=["p", "q", "r", "s"] * 5),
    }
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    (folder / "ragged.csv").write_text("x,kind,label\n1,a,yes\n2,b,no,extra\n3,a,yes\n")
    iris = pd.read_csv(io.StringIO(IRIS_ROWS))
    iris.to_csv(folder / "iris_semicolons.csv", sep=";", index=False)
    iris.head(0).to_csv(folder / "iris_header_only.csv", index=False)
    iris.assign(**{"petal width (cm)": ["wide", 0.2]}).to_csv(folder / "iris_text.csv", index=False)
    iris.to_csv(folder / "iris_rows.csv", index=False)


IRIS_ROWS = """sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)
5.1,3.5,1.4,0.2
6.7,3.0,5.2,2.3
"""


def tiny_mnist(side=28, dtype=np.uint8, channels=None):
    """Keras' mnist.npz keys: 60 training and 20 test images of every digit."""
    shape = (side, side) if channels is None else (side, side, channels)
    return {"x_train": np.zeros((60, *shape), dtype), "y_train": np.arange(60) % 10,
            "x_test": np.zeros((20, *shape), dtype), "y_test": np.arange(20) % 10}


def npy_bytes(shape, payload):
    """An .npy member whose header claims `shape` (uint8) whatever `payload` holds."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": shape})
    return header.getvalue() + payload


def idx_bytes(shape, payload):
    """An IDX file (MNIST's .gz format) whose header claims `shape` whatever `payload` holds."""
    return bytes([0, 0, 8, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


def image_folders(folder):
    """--data-dir folders whose MNIST files are wrong."""
    def npz(name, **arrays):
        (folder / name).mkdir()
        np.savez(folder / name / "mnist.npz", **{**tiny_mnist(), **arrays})

    npz("wrong_size", **tiny_mnist(side=32))
    npz("wrong_dtype", **tiny_mnist(dtype=np.float32))
    npz("wrong_channels", **tiny_mnist(channels=3))
    npz("unseen_label", y_test=np.full(20, 10))
    (folder / "not_npz").mkdir()
    (folder / "not_npz" / "mnist.npz").write_bytes(b"x_train,y_train\n1,2\n" * 10)
    (folder / "npz_claim").mkdir()  # 2.1 GB claimed in a file of about a kilobyte
    with zipfile.ZipFile(folder / "npz_claim" / "mnist.npz", "w") as archive:
        archive.writestr("x_train.npy", npy_bytes((2_700_000, 28, 28), bytes(100)))
        for key in ("y_train", "x_test", "y_test"):
            archive.writestr(f"{key}.npy", npy_bytes((3,), bytes(3)))
    for name, first in (("idx_claim", idx_bytes((2_700_000, 28, 28), bytes(100))),
                        ("idx_truncated", None)):
        (folder / name).mkdir()
        for i, file in enumerate(("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                  "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")):
            data = gzip.compress(idx_bytes((3,), bytes(3)))
            if i == 0:
                data = gzip.compress(first) if first else data[: len(data) // 2]
            (folder / name / file).write_bytes(data)


def model_folders(folder, iris_run):
    """Copies of a finished iris run, each broken in one way."""
    def copy(name):
        shutil.copytree(iris_run, folder / name)
        return folder / name

    for name, file in (("truncated_model", "model.keras"),
                       ("truncated_preprocessor", "preprocessor.joblib"),
                       ("truncated_metrics", "metrics.json")):
        path = copy(name) / file
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    other_task = keras.Sequential([keras.Input((7,)), keras.layers.Dense(1)])
    other_task.save(copy("other_task") / "model.keras")
    with_lambda = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: x * 1.0),
                                    keras.layers.Dense(3, activation="softmax")])
    with_lambda.save(copy("lambda") / "model.keras")
    copy("earlier")  # the run a diverged run must leave alone


def out_folders(folder, iris_run):
    """--out folders a run must not take, and a file in the way."""
    (folder / "a_file").write_text("not a folder\n")
    (folder / "notes").mkdir()
    (folder / "notes" / "notes.txt").write_text("mine\n")
    for name, changes in (("wine_run", {"recipe": "wine", "dataset": "wine"}),
                          ("tuned_run", {"tuned": True})):
        shutil.copytree(iris_run, folder / name)
        metrics = json.loads((iris_run / "metrics.json").read_text())
        (folder / name / "metrics.json").write_text(json.dumps({**metrics, **changes}))
    interrupted = folder / "interrupted" / resume.STAGING_DIR
    prepared = run.prepare("iris", run.RunOptions(epochs=5, resume=True))
    (interrupted / resume.BACKUP_DIR).mkdir(parents=True)
    (interrupted / resume.REQUEST_FILE).write_text(json.dumps(
        run.run_request(prepared, run.RunOptions(epochs=5, resume=True))))
    (interrupted / resume.BACKUP_DIR / resume.STATE_FILE).write_text(
        json.dumps({"epoch": 2, "epochs": 5}))


def build_inputs(root):
    """Every bad input of the table, and a finished iris run, under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    iris_run = root / "iris_run"
    assert main(["run", "iris", "--epochs", "1", "--quiet", "--out", str(iris_run)]) == 0
    csv_files(root)
    image_folders(root)
    model_folders(root, iris_run)
    out_folders(root, iris_run)
    return root


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return build_inputs(tmp_path_factory.mktemp("inputs"))


BAD_INPUTS = [  # (arguments, words the one-line message must contain); {} is the inputs folder
    # the command line
    ("run iris --seed -1", "--seed must be between 0 and 4294967295, got -1"),
    ("run iris --set hidden_units=64", "--set hidden_units=64: hidden_units takes a tuple"),
    ("run iris --set dropout=high", "--set dropout='high': dropout takes a number"),
    ("run iris --augment", "iris is not an image recipe"),
    ("run linear-scratch --resume", "--resume does not apply to --loop scratch"),
    # CSV contents
    ("run csv --data {}/nan_target.csv --target label", "target column 'label' in"),
    ("run csv --data {}/mixed_feature.csv --target label",
     "column 'x' in {}/mixed_feature.csv mixes numbers and text ('?' on line 6)"),
    ("run csv --data {}/mixed_target.csv --target label",
     "column 'label' in {}/mixed_target.csv mixes numbers and text ('unknown' on line 4)"),
    ("run csv --data {}/target_only.csv --target label", "no feature columns besides the target"),
    ("run csv --data {}/ragged.csv --target label", "Expected 3 fields in line 3, saw 4"),
    ("run csv --data {}/four_classes.csv --target label --task binary",
     "has 4 classes, so it is not binary"),
    ("predict --model {}/iris_run --data {}/iris_semicolons.csv",
     "the file looks ';'-separated"),
    ("predict --model {}/iris_run --data {}/iris_header_only.csv", "has a header but no rows"),
    ("predict --model {}/iris_run --data {}/iris_text.csv",
     "column 'petal width (cm)' should hold numbers but holds 'wide'"),
    # local image files
    ("run mnist-mlp --data-dir {}/wrong_size", "x_train images are 32x32; MNIST's are 28x28"),
    ("run mnist-mlp --data-dir {}/wrong_dtype", "x_train holds float32 pixels"),
    ("run mnist-mlp --data-dir {}/wrong_channels", "x_train (60, 28, 28, 3) has 3 channels"),
    ("run mnist-mlp --data-dir {}/unseen_label", "label(s) 10 were not seen in training"),
    ("run mnist-mlp --data-dir {}/not_npz", "cannot read {}/not_npz/mnist.npz as an .npz file"),
    ("run mnist-mlp --data-dir {}/npz_claim",
     "x_train.npy claims a (2700000, 28, 28) uint8 array (2,116,800,000 bytes) but holds 100"),
    ("run mnist-mlp --data-dir {}/idx_claim",
     "holds 100 bytes but its header says (2700000, 28, 28): truncated?"),
    ("run mnist-mlp --data-dir {}/idx_truncated", "train-images-idx3-ubyte.gz as gzip"),
    # model folders
    ("predict --model {}/truncated_model --data {}/iris_rows.csv",
     "cannot load {}/truncated_model/model.keras"),
    ("predict --model {}/truncated_preprocessor --data {}/iris_rows.csv",
     "cannot load {}/truncated_preprocessor/preprocessor.joblib"),
    ("export --model {}/truncated_metrics", "cannot load {}/truncated_metrics/metrics.json"),
    ("predict --model {}/other_task --data {}/iris_rows.csv",
     "model.keras and preprocessor.joblib come from different runs"),
    ("predict --model {}/lambda --data {}/iris_rows.csv",
     "holds Python code (a Lambda layer), which Keras' safe mode refuses to load; pass --unsafe"),
    ("export --model {}/lambda", "pass --unsafe if you trust"),
    # output folders
    ("run iris --out {}/wine_run",
     "holds another run (recipe wine: multiclass_classifier on wine), not recipe iris"),
    ("run iris --out {}/tuned_run", "holds another run (recipe iris: multiclass_classifier on "
                                    "iris, tuned)"),
    ("run iris --out {}/notes", "holds files that are not a run (notes.txt); pass --overwrite"),
    ("run iris --out {}/a_file", "cannot write --out {}/a_file: it is a file"),
    ("run iris --out {}/a_file/run", "{}/a_file is a file, not a folder"),
    ("run all --out {}/a_file", "{}/a_file is a file, not a folder"),
    ("predict --model {}/iris_run --data {}/iris_rows.csv --output {}/a_file/rows.csv",
     "cannot write --output"),
    ("export --model {}/iris_run --out {}/a_file/export", "cannot write --out"),
    ("tune iris --max-trials 1 --out {}/a_file/tuning", "{}/a_file is a file, not a folder"),
    ("run iris --epochs 5 --out {}/interrupted",
     "holds a run interrupted after epoch 2 of 5; add --resume to continue it"),
    ("run iris --epochs 7 --resume --out {}/interrupted",
     "had other options (epochs 5 -> 7); resume with its options"),
    # a loss that becomes NaN, over an earlier run
    ("run iris --epochs 3 --set optimizer=sgd --set learning_rate=1e10 --out {}/earlier",
     "training diverged in epoch 1: the loss became nan; the learning rate (1e+10) is likely "
     "too high: try --set learning_rate=1e+09"),
]


def command_line(arguments, inputs):
    """A table row's arguments, {} filled in; `run` gets --quiet, and an --out if it has none."""
    arguments = arguments.replace("{}", str(inputs)).split()
    if arguments[0] == "run":
        arguments.append("--quiet")
        if "--out" not in arguments:
            arguments += ["--out", str(inputs / "new_run")]
    return arguments


def snapshot(root):
    """Every file and folder under `root`, files with their size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) if p.is_file()
            else "folder" for p in root.rglob("*")}


def exit_code(arguments):
    """main()'s exit code, whether it returns it or argparse exits with it."""
    try:
        return main(arguments)
    except SystemExit as exit_:
        return exit_.code


@pytest.mark.parametrize("arguments, message", BAD_INPUTS, ids=[a for a, _ in BAD_INPUTS])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(arguments, message, inputs, capsys):
    before = snapshot(inputs)
    code = exit_code(command_line(arguments, inputs))
    error = capsys.readouterr().err
    assert (code, error.count("\n")) == (2, 1), error
    assert message.replace("{}", str(inputs)) in error
    assert "Traceback" not in error
    assert snapshot(inputs) == before


def test_a_real_process_refuses_another_run_in_one_line(inputs):
    result = run_cli("run", "iris", "--out", inputs / "wine_run")
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {inputs / 'wine_run'} holds another run")
    assert len(result.stderr.strip().splitlines()) == 1


# --- what may be replaced, and how --------------------------------------------------------------


def test_a_run_replaces_its_recipes_earlier_run_and_keeps_other_files(inputs, tmp_path):
    out = tmp_path / "iris"
    shutil.copytree(inputs / "iris_run", out)
    (out / "predictions.csv").write_text("mine\n")
    earlier = (out / "model.keras").stat().st_mtime_ns
    assert main(["run", "iris", "--epochs", "1", "--seed", "1", "--quiet", "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["seed"] == 1
    assert (out / "model.keras").stat().st_mtime_ns != earlier
    assert (out / "predictions.csv").read_text() == "mine\n"
    assert not (out / resume.STAGING_DIR).exists()


def test_overwrite_replaces_another_run_and_drops_its_leftovers(inputs, tmp_path):
    out = tmp_path / "wine"
    shutil.copytree(inputs / "wine_run", out)
    (out / "confusion_matrix.png").write_bytes(b"the wine run's")  # iris does not draw one
    assert main(["run", "iris", "--epochs", "1", "--quiet", "--overwrite", "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["recipe"] == "iris"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["accuracy.png", "checkpoint.weights.h5", "history.csv", "logs", "loss.png",
         "metrics.json", "model.keras", "preprocessor.joblib"])
    assert set(p.name for p in out.iterdir()) <= set(run.RUN_ENTRIES)


def test_unsafe_loads_a_model_with_a_lambda_layer(inputs, capsys):
    arguments = ["predict", "--model", str(inputs / "lambda"), "--data",
                 str(inputs / "iris_rows.csv")]
    assert main([*arguments, "--unsafe"]) == 0
    assert capsys.readouterr().out.startswith("prediction,probability_setosa")


def test_an_interrupted_checkpoint_write_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    checkpoint = train.Checkpoint(tmp_path / train.CHECKPOINT_FILE)
    checkpoint.set_model(model)
    checkpoint.on_epoch_end(0, {"val_loss": 1.0})
    saved = (tmp_path / train.CHECKPOINT_FILE).read_bytes()

    def killed_midway(path, **_kwargs):
        Path(path).write_bytes(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(model, "save_weights", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.on_epoch_end(1, {"val_loss": 0.5})
    assert (tmp_path / train.CHECKPOINT_FILE).read_bytes() == saved
    assert [p.name for p in tmp_path.iterdir()] == [train.CHECKPOINT_FILE]


# --- resume ------------------------------------------------------------------------------------


def test_early_stopping_counts_its_patience_across_a_restart(tmp_path):
    """A learning rate too small to move any weight: val_loss never improves after epoch 1, so
    patience 2 stops after epoch 3, whether or not the run restarts after epoch 2."""
    prepared = run.prepare("iris", run.RunOptions(quiet=True, hyperparameters={
        "learning_rate": 1e-30}))
    config = replace(prepared.config, epochs=10, patience=2, resumable=True)

    def train_for(epochs, out):
        model = run.build_model(prepared)
        train.fit(model, prepared.arrays["train"], prepared.arrays["val"],
                  replace(config, epochs=epochs), out)
        return resume.whole_run(None, out, examples=1).history

    whole = train_for(10, tmp_path / "whole")
    train_for(2, tmp_path / "restarted")  # stands for a run killed after epoch 2 of 10
    state = json.loads((tmp_path / "restarted" / resume.BACKUP_DIR / resume.STATE_FILE).read_text())
    assert state["early_stopping"]["wait"] == 1
    assert train_for(10, tmp_path / "restarted") == whole
    assert len(whole["loss"]) == 3


RESUMED = ["run", "breast-cancer", "--epochs", "12", "--seed", "3", "--deterministic", "--quiet",
           "--set", "learning_rate=0.03"]  # dropout 0.5, 12 shuffled batches per epoch


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """Two runs of each loop with the same seed, one process: out/{fit,tape}-{1,2}."""
    out = tmp_path_factory.mktemp("uninterrupted")
    calls = [[*RESUMED, "--loop", loop, "--out", str(out / f"{loop}-{n}")]
             for loop in ("fit", "tape") for n in (1, 2)]
    code = f"from recipes.cli import main\nfor arguments in {calls!r}:\n    main(arguments)\n"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    return out


def metrics(folder):
    return json.loads((folder / "metrics.json").read_text())


def weights(folder):
    return keras.saving.load_model(folder / "model.keras").get_weights()


@pytest.mark.slow
@pytest.mark.parametrize("loop", ["fit", "tape"])
def test_the_same_seed_gives_bit_identical_results(loop, uninterrupted):
    first, second = uninterrupted / f"{loop}-1", uninterrupted / f"{loop}-2"
    assert metrics(first)["test"] == metrics(second)["test"]
    assert (first / "history.csv").read_text() == (second / "history.csv").read_text()
    for a, b in zip(weights(first), weights(second)):
        np.testing.assert_array_equal(a, b)


def kill_after_epoch(command, out, epoch):
    """Start `command` (a `run --resume --out OUT`); SIGKILL it once its backup holds `epoch`
    epochs. Returns the epochs the backup holds."""
    state = out / resume.STAGING_DIR / resume.BACKUP_DIR / resume.STATE_FILE
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while resume.read_json(state) is None or resume.read_json(state)["epoch"] < epoch:
        assert process.poll() is None and time.monotonic() < deadline, "ended before the kill"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return resume.read_json(state)["epoch"]


@pytest.mark.slow
@pytest.mark.parametrize("loop", ["fit", "tape"])
def test_a_killed_run_resumes_to_the_uninterrupted_weights(loop, uninterrupted, tmp_path):
    out = tmp_path / "killed"
    arguments = [*RESUMED, "--loop", loop, "--resume", "--out", str(out)]
    killed_after = kill_after_epoch([sys.executable, "-m", "recipes", *arguments], out, epoch=2)
    assert 2 <= killed_after < 12
    assert not (out / "metrics.json").exists()
    forgot_resume = [a for a in arguments[:-3] if a != "--deterministic"]  # (process-wide)
    assert exit_code([*forgot_resume, "--out", str(out)]) == 2

    resumed = run_cli(*[a for a in arguments if a != "--quiet"])
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming the run in {out} after epoch {killed_after}" in resumed.stdout
    reference = uninterrupted / f"{loop}-1"
    assert metrics(out)["test"] == metrics(reference)["test"]
    assert metrics(out)["epochs_run"] == metrics(reference)["epochs_run"]
    assert (out / "history.csv").read_text() == (reference / "history.csv").read_text()
    for a, b in zip(weights(out), weights(reference)):
        np.testing.assert_array_equal(a, b)
    assert not (out / resume.STAGING_DIR).exists()
