"""The GradientTape loops: parity with `model.fit`, fit's callbacks, the CLI, linear-scratch."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from recipes.runs import rundir
from recipes.training import callbacks, tape, train
from recipes.workflow import run
from recipes.workflow.prepare import build_network, prepare
from recipes.errors import UserError
from tests.conftest import exit_code


def trained(prepared, loop, tmp_path, **config):
    """A network built as `run` builds it from `prepared` (prepare's plan and loaded data),
    trained through `train.train` by `loop` with `run`'s callbacks (writing into tmp_path/LOOP)
    and `config` overrides."""
    plan, loaded = prepared
    network = build_network(plan, loaded)
    config = dataclasses.replace(plan.config, quiet=True, loop=loop, **config)
    result = train.train(network, loaded.sources["train"], loaded.sources["val"], config,
                         callbacks=callbacks.standard(config, tmp_path / loop))
    return network, result


@pytest.fixture(scope="module")
def breast_cancer():
    """A recipe with dropout, L2 (regularization losses) and two metrics (accuracy, AUC)."""
    return prepare("breast-cancer", run.RunOptions(quiet=True))


def test_one_step_from_identical_weights_gives_identical_updates(breast_cancer, tmp_path):
    one_step = {"epochs": 1, "batch_size": len(breast_cancer[1].sources["train"])}
    start = build_network(*breast_cancer).get_weights()  # same seed: the models below start here
    by_fit, _ = trained(breast_cancer, "fit", tmp_path, **one_step)
    by_tape, _ = trained(breast_cancer, "tape", tmp_path, **one_step)
    for before, fitted, taped in zip(start, by_fit.get_weights(), by_tape.get_weights()):
        assert not np.array_equal(before, fitted)  # the step moved every weight
        np.testing.assert_allclose(taped, fitted, rtol=0, atol=1e-7)


def test_fit_and_tape_train_to_the_same_losses(tmp_path):
    # From epoch 2 on, fit's epoch iterator draws its shuffled order one iterator later than the
    # tape loop. With one batch per epoch and no dropout, the order cannot matter.
    prepared = prepare("breast-cancer", run.RunOptions(hyperparameters={"dropout": 0.0}))
    full_batch = {"epochs": 4, "batch_size": len(prepared[1].sources["train"])}
    _, by_fit = trained(prepared, "fit", tmp_path, **full_batch)
    _, by_tape = trained(prepared, "tape", tmp_path, **full_batch)
    assert by_tape.history.keys() == by_fit.history.keys()
    for key, values in by_fit.history.items():
        np.testing.assert_allclose(by_tape.history[key], values, rtol=0.02, err_msg=key)


@pytest.mark.parametrize("loop", ["fit", "tape"])
def test_early_stopping_counts_patience_the_same_way(loop, tmp_path):
    """A learning rate too small to move any weight: val_loss never improves after epoch 1."""
    frozen = run.RunOptions(quiet=True, hyperparameters={"learning_rate": 1e-30})
    prepared = prepare("iris", frozen)
    _, result = trained(prepared, loop, tmp_path, epochs=10, patience=2)
    assert result.epochs_run == 3  # the best epoch, then `patience` epochs without improvement
    assert (tmp_path / loop / rundir.CHECKPOINT_FILE).stat().st_size > 0


def test_each_step_is_traced_once_whatever_the_epochs_and_batch_sizes(monkeypatch, tmp_path):
    """Retracing is the classic way a tf.function loop falls behind `fit`."""
    steps, compiled_step = [], tape.compiled_step

    def recorded(*args, **kwargs):
        steps.append(compiled_step(*args, **kwargs))
        return steps[-1]

    monkeypatch.setattr(tape, "compiled_step", recorded)
    prepared = prepare("iris", run.RunOptions(quiet=True))  # 97 rows: a last batch of 1
    trained(prepared, "tape", tmp_path, epochs=3)
    assert [step.experimental_get_tracing_count() for step in steps] == [1, 1]  # train, test


def test_tape_evaluate_matches_model_evaluate(breast_cancer, tmp_path):
    model, _ = trained(breast_cancer, "tape", tmp_path, epochs=2)
    plan, loaded = breast_cancer
    test = loaded.sources["test"]
    expected = model.evaluate(test.dataset(32), return_dict=True, verbose=0)
    measured = tape.evaluate(model, test, plan.config)
    assert measured.keys() == expected.keys()
    for key, value in expected.items():
        assert measured[key] == pytest.approx(value, rel=1e-5), key


def test_tape_run_writes_the_same_artifacts_as_fit(tmp_path):
    out = tmp_path / "run"
    assert exit_code(["run", "breast-cancer", "--loop", "tape", "--epochs", "2",
                      "--out", str(out)]) == 0  # not --quiet: the progress bar runs too
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["loop"] == "tape" and metrics["device"] == "CPU" and metrics["epochs_run"] == 2
    assert metrics["precision"] == "float32" and metrics["jit"] is False
    assert set(metrics["test"]) == {"loss", "accuracy", "auc"}
    history = pd.read_csv(out / "history.csv")
    assert list(history.columns) == ["epoch", "accuracy", "auc", "loss", "val_accuracy",
                                     "val_auc", "val_loss"]
    for name in ("accuracy.png", "loss.png", rundir.MODEL_FILE, rundir.CARD_FILE,
                 rundir.CHECKPOINT_FILE):
        assert (out / name).stat().st_size > 0, name
    assert any((out / rundir.LOG_DIR / "validation").glob("events.out.tfevents.*"))


def test_linear_scratch_recovers_w_and_b(tmp_path):
    metrics = run.run("linear-scratch", run.RunOptions(quiet=True, out=tmp_path))
    assert metrics["loop"] == "scratch"
    np.testing.assert_allclose(metrics["learned"]["w"], [2.0, -3.4], atol=0.01)
    assert metrics["learned"]["b"] == pytest.approx(4.2, abs=0.01)
    assert (tmp_path / "history.csv").exists() and (tmp_path / "mae.png").exists()


def test_scratch_loop_on_another_model_is_a_user_error():
    with pytest.raises(UserError, match="--loop scratch trains linear_regression and softmax_regression only"):
        prepare("iris", run.RunOptions(loop="scratch"))


def test_fit_across_workers_is_refused_with_the_way_out(monkeypatch):
    cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker",
                                                                             "index": 0}}))
    with pytest.raises(UserError, match="use --loop tape"):
        prepare("iris", run.RunOptions(loop="fit"))
