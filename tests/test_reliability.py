"""Reliability: a run replaces only what it may; a checkpoint write is atomic; a killed run
resumes to the weights of an uninterrupted one; the same seed gives bit-identical results.

Bad input of every kind (a run that diverges over an earlier one included) is one line, exit 2
and no change on disk: tests/test_bad_inputs.py.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest

from recipes import artifacts, callbacks, rundir, run, train
from recipes.cli import main
from tests.conftest import ROOT, exit_code, run_cli

# --- what may be replaced, and how --------------------------------------------------------------


def metrics(folder, name=rundir.METRICS_FILE):
    return json.loads((folder / name).read_text())


def test_a_run_replaces_its_recipes_earlier_run_and_keeps_other_files(iris_run, tmp_path):
    out = tmp_path / "iris"
    shutil.copytree(iris_run, out)
    (out / "predictions.csv").write_text("mine\n")
    earlier = (out / rundir.MODEL_FILE).stat().st_mtime_ns
    assert main(["run", "iris", "--epochs", "1", "--seed", "1", "--quiet", "--out", str(out)]) == 0
    assert metrics(out)["seed"] == 1
    assert (out / rundir.MODEL_FILE).stat().st_mtime_ns != earlier
    assert (out / "predictions.csv").read_text() == "mine\n"
    assert not (out / rundir.STAGING_DIR).exists()


def test_overwrite_replaces_another_run_and_drops_its_leftovers(iris_run, tmp_path):
    out = tmp_path / "wine"
    shutil.copytree(iris_run, out)
    (out / rundir.METRICS_FILE).write_text(json.dumps({**metrics(iris_run), "recipe": "wine",
                                                       "dataset": "wine"}))
    (out / "confusion_matrix.png").write_bytes(b"the wine run's")  # iris does not draw one
    (out / "export").mkdir()  # an export of the model being replaced
    assert main(["run", "iris", "--epochs", "1", "--quiet", "--overwrite", "--out", str(out)]) == 0
    assert metrics(out)["recipe"] == "iris"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["accuracy.png", "checkpoint.weights.h5", "history.csv", "logs", "loss.png",
         "metrics.json", "model.keras", "model_card.json"])
    assert set(p.name for p in out.iterdir()) <= set(rundir.RUN_ENTRIES)


def test_an_interrupted_checkpoint_write_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    checkpoint = callbacks.Checkpoint(tmp_path / rundir.CHECKPOINT_FILE)
    checkpoint.set_model(model)
    checkpoint.on_epoch_end(0, {"val_loss": 1.0})
    saved = (tmp_path / rundir.CHECKPOINT_FILE).read_bytes()

    def killed_midway(path, **_kwargs):
        Path(path).write_bytes(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(model, "save_weights", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.on_epoch_end(1, {"val_loss": 0.5})
    assert (tmp_path / rundir.CHECKPOINT_FILE).read_bytes() == saved
    assert [p.name for p in tmp_path.iterdir()] == [rundir.CHECKPOINT_FILE]


# --- resume ------------------------------------------------------------------------------------


def test_early_stopping_counts_its_patience_across_a_restart(tmp_path):
    """A learning rate too small to move any weight: val_loss never improves after epoch 1, so
    patience 2 stops after epoch 3, whether or not the run restarts after epoch 2."""
    prepared = run.prepare("iris", run.RunOptions(quiet=True, hyperparameters={
        "learning_rate": 1e-30}))
    config = replace(prepared.config, epochs=10, patience=2, resumable=True)

    def train_for(epochs, out):
        network = run.build_network(prepared)
        result = train.train(network, prepared.arrays["train"], prepared.arrays["val"],
                             replace(config, epochs=epochs),
                             callbacks=callbacks.standard(config, out))
        return callbacks.whole_run(result, out, examples=1).history

    whole = train_for(10, tmp_path / "whole")
    train_for(2, tmp_path / "restarted")  # stands for a run killed after epoch 2 of 10
    state = metrics(tmp_path / "restarted" / callbacks.BACKUP_DIR, callbacks.STATE_FILE)
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


def weights(folder):
    """The weights of the run's saved model, loaded as `predict` loads it."""
    return rundir.load(folder).model.get_weights()


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
    state = out / rundir.STAGING_DIR / callbacks.BACKUP_DIR / callbacks.STATE_FILE
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while artifacts.read_json(state) is None or artifacts.read_json(state)["epoch"] < epoch:
        assert process.poll() is None and time.monotonic() < deadline, "ended before the kill"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return artifacts.read_json(state)["epoch"]


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
    assert not (out / rundir.STAGING_DIR).exists()
