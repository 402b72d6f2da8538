"""`tune`: each keras-tuner algorithm, narrowing, resume after SIGKILL, chief and workers.

Everything runs on iris with a few epochs per trial; the searches run in this process through the
CLI's `main` unless a separate process is the point (killing it, or three cooperating ones).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from recipes.workflow import run
from recipes.workflow.prepare import prepare
from recipes.cli import main
from recipes.compat.keras_private import custom_gradient_registry
from recipes.data.dataset import DataOptions
from recipes.tuning import TuneOptions, select, tune as tune_recipe
from tests.conftest import ROOT

TUNABLE = "units, layers, dropout, l2, optimizer, learning_rate"  # zoo.tabular.mlp_space


def tune(*args):
    return main(["tune", "iris", "--quiet", *map(str, args)])


def trials(out):
    return pd.read_csv(out / "trials.csv")


def checkpoints(out):
    return sorted(p.parent.name for p in (out / "search").glob("trial_*/checkpoint.weights.h5"))


def trial_state(out):
    """keras-tuner's own record: how many times each trial ended, and each trial's file."""
    oracle = json.loads((out / "search" / "oracle.json").read_text())
    files = {p.parent.name: p.read_bytes() for p in (out / "search").glob("trial_*/trial.json")}
    return oracle["run_times"], files


def test_random_search_writes_every_result_and_respects_narrowing(tmp_path):
    # --set fixes dropout; --space narrows the learning rate; --export as `run --export` does
    out = tmp_path / "random"
    assert tune("--tuner", "random", "--max-trials", 3, "--epochs", 3, "--out", out,
                "--set", "dropout=0.25", "--space", "learning_rate=0.005:0.05:log", "--export") == 0

    table = trials(out)
    assert list(table["trial"]) == [0, 1, 2]
    assert set(table["status"]) == {"COMPLETED"}
    assert {"score", "epochs", "seconds", *TUNABLE.split(", ")} <= set(table.columns)
    assert (table["dropout"] == 0.25).all()
    assert table["learning_rate"].between(0.005, 0.05).all()
    assert table["learning_rate"].nunique() == 3

    best = json.loads((out / "best_hyperparameters.json").read_text())
    assert best["objective"] == "val_accuracy"
    assert best["score"] == table["score"].max()
    assert best["builder_arguments"]["dropout"] == 0.25

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["tuned"] is True and metrics["trained_on"] == "train+val"
    assert metrics["hyperparameters"]["dropout"] == 0.25
    assert set(metrics["default"]["test"]) == set(metrics["test"]) >= {"accuracy", "loss"}
    for name in ("tuning.png", "accuracy.png", "loss.png", "history.csv", "model.keras"):
        assert (out / name).is_file(), name
    for trial in ("0", "1", "2"):  # TensorBoard: per-trial runs with an HParams session
        assert list((out / "logs" / trial / "execution0").glob("events.out.tfevents.*"))
    assert len(checkpoints(out)) == 1  # only the best trial's weights are kept
    assert (out / "export" / "saved_model" / "saved_model.pb").is_file()


@pytest.mark.parametrize("tuner, max_trials", [("hyperband", 4), ("bayesian", 2)])
def test_other_tuners_search_and_keep_one_checkpoint(tmp_path, tuner, max_trials):
    # Hyperband with 3 epochs: three 1-epoch trials, then the best one trained on to 3 epochs
    # from its checkpoint, which must survive pruning until then. Bayesian: two trials leave one
    # checkpoint to prune.
    out = tmp_path / tuner
    assert tune("--tuner", tuner, "--max-trials", max_trials, "--epochs", 3, "--out", out) == 0
    table = trials(out)
    assert list(table["trial"]) == list(range(max_trials))
    assert set(table["status"]) == {"COMPLETED"}
    assert (table["dropout"] == table["dropout"].round(1)).all()  # 0.3, not 0.30000000000000004
    if tuner == "hyperband":
        assert list(table["epochs"]) == [1, 1, 1, 2]  # the promoted trial resumes at epoch 1
    assert len(checkpoints(out)) == 1
    assert json.loads((out / "metrics.json").read_text())["tuner"] == tuner


def test_cross_validation_scores_every_fold_and_keeps_the_better_configuration(tmp_path):
    """Also: each trial's end frees its traced training steps. Each fit leaves its traced step in
    TensorFlow's custom-gradient registry (5-9 MB a trial) unless the trial's end releases it:
    the registry must not grow from trial to trial (each trial here fits once per fold)."""
    out, sizes = tmp_path / "folds", []
    metrics = tune_recipe("iris", run.RunOptions(epochs=3, out=out, quiet=True),
                          TuneOptions(max_trials=2, folds=3),
                          after_trial=lambda trial: sizes.append(len(custom_gradient_registry())))
    assert metrics["tuned"] is True
    assert len(sizes) == 2 and len(set(sizes)) == 1, sizes
    table = trials(out)
    assert set(table["status"]) == {"COMPLETED"}
    assert (table["epochs"] >= 3).all()  # every fold trains at least one epoch
    assert [p.name for p in (out / "logs" / "0").iterdir()] == ["execution0"]
    assert len(checkpoints(out)) == 1

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["folds"] == 3
    # the search's best and the default, scored again by the same folds: the search's is kept
    # only if it wins by more than one standard error of the paired fold gains
    assert metrics["margin"] >= 0
    assert metrics["chosen"] == ("search" if metrics["gain"] > metrics["margin"] else "default")
    kept, default = metrics["validation"]["val_accuracy"], metrics["default"]["validation"]["val_accuracy"]
    assert kept == pytest.approx(default + metrics["gain"] if metrics["chosen"] == "search" else default)
    if metrics["chosen"] == "default":
        assert metrics["test"] == metrics["default"]["test"]


def test_the_retrain_anneals_over_train_and_validation_unless_decay_steps_is_pinned(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    path = tmp_path / "t.csv"
    pd.DataFrame({"x": x, "y": np.where(x > 0, "p", "q")}).to_csv(path, index=False)
    plan, loaded = prepare("csv", run.RunOptions(data=DataOptions(path=path, target="y"),
                                                 epochs=3, quiet=True))
    batches = -(-(len(loaded.sources["train"]) + len(loaded.sources["val"]))
                // plan.config.batch_size)
    assert batches > -(-len(loaded.sources["train"]) // plan.config.batch_size)
    retrained, network, _ = select.retrain(plan, loaded, {}, 3)
    assert retrained.hyperparameters["decay_steps"] == 3 * batches
    learning_rate = retrained.hyperparameters["learning_rate"]
    assert float(network.optimizer.learning_rate) == pytest.approx(0.01 * learning_rate)
    pinned, _, _ = select.retrain(plan, loaded, {"decay_steps": 7}, 1)
    assert pinned.hyperparameters["decay_steps"] == 7


def test_folds_partition_train_and_validation_and_refit_the_preprocessing():
    from recipes.features import parts, preprocess
    from recipes.tuning.hypermodel import cross_validation

    _, loaded = prepare("wine", run.RunOptions(quiet=True))
    splits = loaded.splits
    rows = parts.joined([splits.train, splits.val])
    classes = set(rows.target)
    folds = [(rows.take(fit), rows.take(val))
             for fit, val in preprocess.folds(loaded.dataset, rows, 4, seed=0)]
    validated = pd.concat([val.features for _, val in folds])
    assert sorted(validated.index) == sorted(rows.features.index)  # each row validates once
    assert not set(validated.index) & set(splits.test.features.index)
    for fit, val in folds:
        assert not set(fit.features.index) & set(val.features.index)
        assert set(val.target) == classes  # stratified
    for fold, (fit, val) in zip(cross_validation(loaded, 4, seed=0), folds):
        x_fit = fold.sources["train"].x
        assert abs(x_fit.mean(axis=0)).max() < 1e-5  # standardised on the fold's own rows
        assert len(x_fit) == len(fit) == len(fold.splits.train)
        assert fold.splits.val.features.index.equals(val.features.index)


def test_a_search_whose_every_trial_diverges_is_one_line(tmp_path, capsys):
    out = tmp_path / "diverged"
    assert tune("--max-trials", 2, "--epochs", 3, "--out", out, "--set", "optimizer=sgd",
                "--set", "layers=3", "--space", "learning_rate=1e8:1e9:log") == 2
    printed = capsys.readouterr()
    assert printed.out == ""  # --quiet: not even Keras' "Invalid loss, terminating training"
    error = printed.err
    assert "no trial of the search" in error and "training diverged in epoch 1" in error
    assert error.count("\n") == 1
    assert set(trials(out)["status"]) == {"FAILED"}


@pytest.mark.parametrize("args, message", [
    (["--folds", "0"], "--folds must be at least 1"),
    (["--tuner", "hyperband", "--folds", "3"], "Use --tuner random or bayesian"),
    (["--set", "hidden_units=(8,)"], f"hyperparameter 'hidden_units'; tunable: {TUNABLE}"),
    (["--space", "width=1:2"], f"hyperparameter 'width'; tunable: {TUNABLE}"),
    (["--space", "optimizer=1:2"], "optimizer is a choice, not a range; fix it with --set"),
    (["--space", "units=8.5:64"], "units takes whole numbers"),
    (["--set", "dropout=1.5"], "dropout must be in [0, 1)"),
])
def test_bad_narrowing_is_one_line_and_writes_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    assert tune("--out", out, *args) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not out.exists()


@pytest.mark.slow
def test_killed_search_resumes_without_running_a_finished_trial_again(tmp_path, capsys):
    out = tmp_path / "killed"
    args = ["--tuner", "random", "--max-trials", 3, "--epochs", 10, "--out", out]
    process = subprocess.Popen(
        [sys.executable, "-m", "recipes", "tune", "iris", "--quiet", *map(str, args)], cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:  # kill it in the middle of its second trial
        deadline = time.monotonic() + 120
        while not ((out / "trials.csv").is_file() and (out / "search" / "trial_1").is_dir()):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    run_times, files = trial_state(out)
    finished = {t for t, n in run_times.items() if n == 1}
    assert finished and len(finished) < 3

    assert tune(*args) == 2  # without --resume: refused, nothing touched
    assert "add --resume to continue it, or choose another --out" in capsys.readouterr().err
    assert trial_state(out) == (run_times, files)

    assert tune(*args, "--resume") == 0
    run_times_after, files_after = trial_state(out)
    assert run_times_after == {"0": 1, "1": 1, "2": 1}  # every trial ended exactly once
    for trial in finished:
        assert files_after[f"trial_{trial}"] == files[f"trial_{trial}"]  # untouched
    assert list(trials(out)["status"]) == ["COMPLETED"] * 3
    assert (out / "metrics.json").is_file()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# `python -m recipes ARGS` as the chief, but for one thing: once a worker is told the search is
# over, keras-tuner's chief (oracle_chief.start_server) checks whether the others are done every
# 20 s, idle time that was half this test's; here it checks every 0.2 s.
QUICK_CHIEF = """
import runpy, time, types
import recipes
from keras_tuner.src.distribute import oracle_chief

oracle_chief.time = types.SimpleNamespace(sleep=lambda seconds: time.sleep(min(seconds, 0.2)))
runpy.run_module("recipes", run_name="__main__", alter_sys=True)
"""


@pytest.mark.slow
def test_chief_and_two_workers_run_every_trial_exactly_once(tmp_path):
    out = tmp_path / "distributed"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KERASTUNER_ORACLE_IP": "127.0.0.1",
           "KERASTUNER_ORACLE_PORT": str(free_port())}
    arguments = ["tune", "iris", "--quiet", "--max-trials", "3", "--epochs", "2", "--out", str(out)]
    commands = {"chief": [sys.executable, "-c", QUICK_CHIEF, *arguments],
                **{worker: [sys.executable, "-m", "recipes", *arguments]
                   for worker in ("tuner0", "tuner1")}}
    processes = {tuner_id: subprocess.Popen(command, cwd=ROOT, text=True, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE,
                                            env={**env, "KERASTUNER_TUNER_ID": tuner_id})
                 for tuner_id, command in commands.items()}
    outputs = {}
    try:
        for tuner_id, process in processes.items():
            outputs[tuner_id], _ = process.communicate(timeout=240)
            assert process.returncode == 0, tuner_id
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
    ran = [trial for tuner_id in ("tuner0", "tuner1")
           for trial in outputs[tuner_id].strip().rpartition("trial(s) ")[2].split(", ") if trial]
    assert sorted(ran) == ["0", "1", "2"]  # every trial by exactly one worker
    assert trial_state(out)[0] == {"0": 1, "1": 1, "2": 1}
    assert list(trials(out)["status"]) == ["COMPLETED"] * 3
    assert json.loads((out / "metrics.json").read_text())["tuned"] is True
    assert len(checkpoints(out)) == 1
