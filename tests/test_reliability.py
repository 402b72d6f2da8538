"""Reliability: a run replaces only what it may; a checkpoint write is atomic; a run killed
(SIGKILL) or stopped (SIGTERM) resumes to the weights of an uninterrupted one, and a lock left
by kill -9 is taken over; the same seed gives bit-identical results.

Full disks, failing file systems, Ctrl-C and SIGTERM, two writers: tests/test_failures.py.
Bad input of every kind (a run that diverges over an earlier one included) is one line, exit 2
and no change on disk: tests/test_bad_inputs.py.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest

from recipes.runs import lock, rundir
from recipes.training import callbacks, train
from recipes.workflow import run
from recipes.workflow.prepare import build_network, prepare
from recipes.cli import main
from tests.conftest import ROOT, exit_code
from tests.test_failures import backed_up, finish, recipes, start, wait_for

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
        ["accuracy.png", "checkpoint.weights.h5", "history.csv", rundir.IMPORTANCE_FILE, "logs",
         "loss.png", "metrics.json", "model.keras", "model_card.json"])
    assert set(p.name for p in out.iterdir()) <= set(rundir.RUN_ENTRIES)


def test_an_interrupted_checkpoint_write_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    checkpoint = callbacks.Checkpoint(tmp_path / rundir.CHECKPOINT_FILE)
    checkpoint.set_model(model)
    checkpoint.on_epoch_end(0, {"val_loss": 1.0})
    saved = (tmp_path / rundir.CHECKPOINT_FILE).read_bytes()
    write_bytes = Path.write_bytes

    def killed_midway(path, data):
        write_bytes(path, data[: len(data) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_bytes", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.on_epoch_end(1, {"val_loss": 0.5})
    assert (tmp_path / rundir.CHECKPOINT_FILE).read_bytes() == saved
    assert [p.name for p in tmp_path.iterdir()] == [rundir.CHECKPOINT_FILE]


def test_the_checkpoint_is_the_file_keras_writes(tmp_path):
    """Built in memory (callbacks.save_weights), it holds what `save_weights` would, and loads."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    model.compile("adam", "mse")
    model.fit(np.ones((4, 2)), np.ones((4, 3)), verbose=0)
    callbacks.save_weights(model, tmp_path / "ours.weights.h5")
    model.save_weights(tmp_path / "keras.weights.h5")
    for name in ("ours", "keras"):
        copy = keras.models.clone_model(model)
        copy.compile("adam", "mse")
        copy.optimizer.build(copy.trainable_variables)
        copy.load_weights(tmp_path / f"{name}.weights.h5")
        for a, b in zip(model.variables + model.optimizer.variables,
                        copy.variables + copy.optimizer.variables):
            np.testing.assert_array_equal(a, b)


# --- resume ------------------------------------------------------------------------------------


def test_early_stopping_counts_its_patience_across_a_restart(tmp_path):
    """A learning rate too small to move any weight: val_loss never improves after epoch 1, so
    patience 2 stops after epoch 3, whether or not the run restarts after epoch 2."""
    plan, loaded = prepare("iris", run.RunOptions(quiet=True, hyperparameters={
        "learning_rate": 1e-30}))
    config = replace(plan.config, epochs=10, patience=2, resumable=True)

    def train_for(epochs, out):
        network = build_network(plan, loaded)
        result = train.train(network, loaded.sources["train"], loaded.sources["val"],
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


def stop_after_epoch(command, out, epoch, sig=signal.SIGKILL):
    """Start `command` (a `run --resume --out OUT`); send it `sig` once its backup holds
    `epoch` epochs. Returns the epochs the backup then holds, the exit status and stderr."""
    process = start(command)
    wait_for(lambda: backed_up(out) >= epoch, process, f"epoch {epoch}")
    process.send_signal(sig)
    code, error = finish(process)
    return backed_up(out), code, error


@pytest.mark.slow
@pytest.mark.parametrize("loop, sig", [  # each loop's resume, and each way of being stopped
    ("tape", signal.SIGKILL),  # killed anywhere, its lock left behind for the next to take over
    ("fit", signal.SIGTERM),  # stopped at a safe point: exit 143, its lock released
])
def test_a_killed_run_resumes_to_the_uninterrupted_weights(loop, sig, uninterrupted, tmp_path,
                                                           capsys):
    out = tmp_path / "killed"
    arguments = [*RESUMED, "--loop", loop, "--resume", "--out", str(out)]
    killed_after, code, error = stop_after_epoch(recipes(*arguments), out, epoch=2, sig=sig)
    assert 2 <= killed_after < 12
    assert not (out / "metrics.json").exists()
    if sig == signal.SIGTERM:  # stopped at once, saying how to go on; its lock released
        assert (code, error) == (143, f"interrupted in epoch {killed_after + 1}; run the same "
                                      f"command with --resume to continue\n")
    forgot_resume = [a for a in arguments if a != "--resume"]
    assert exit_code(forgot_resume) == 2
    # kill -9 leaves the lock file: the next process takes it over, with a note
    took_over = f"note: taking over {out} from `run` (PID "
    assert (took_over in capsys.readouterr().err) == (sig == signal.SIGKILL)

    # Resumed in this process (--deterministic is process-wide: tests/test_formats.py turns it on
    # in-process too), to match a reference trained in another process.
    assert exit_code([a for a in arguments if a != "--quiet"]) == 0
    assert f"resuming the run in {out} after epoch {killed_after}" in capsys.readouterr().out
    reference = uninterrupted / f"{loop}-1"
    assert metrics(out)["test"] == metrics(reference)["test"]
    assert metrics(out)["epochs_run"] == metrics(reference)["epochs_run"]
    assert (out / "history.csv").read_text() == (reference / "history.csv").read_text()
    for a, b in zip(weights(out), weights(reference)):
        np.testing.assert_array_equal(a, b)
    assert not (out / rundir.STAGING_DIR).exists()
    assert not (out / lock.LOCK_FILE).exists()
