"""Shared test helpers: run the CLI in a fresh process, as a user would (or several command lines
in turn in one), or in this one; one finished iris run that several test modules copy and break."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import Phase, settings

if "PYTEST_XDIST_WORKER_COUNT" in os.environ:  # a pytest-xdist worker, before TensorFlow starts
    # The workers share the cores: each TensorFlow's op pool sized to its share, as many threads
    # as cores in all (and the fresh processes tests start inherit it). Pools of all the cores
    # in every worker spin against each other, several times slower than the share.
    share = (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(max(1, share)))
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", str(max(1, share)))

import recipes  # noqa: F401  (quiets TensorFlow's start-up logging before anything imports it)
import keras  # after the thread settings above: importing it starts TensorFlow
from recipes.cli import main

# Hypothesis (tests/test_generated_tables.py): "ci", the default, tries the same examples every run
# (about 35 s of tests on 2 cores), writes nothing into the repository and skips the explain
# phase (a minute of reruns after a failure); "long" (--hypothesis-profile long, or
# HYPOTHESIS_PROFILE=long) tries 500 a property (2,000 raw files) and prints how to replay a
# failure: `python -m benchmarks.reliability` reports its figures.
settings.register_profile("ci", derandomize=True, deadline=None, database=None, max_examples=60,
                          phases=[phase for phase in Phase if phase != Phase.explain])
settings.register_profile("long", deadline=None, database=None, max_examples=500, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = ROOT.parent / "shared" / "datasets" / "mnist.npz"


def pytest_xdist_auto_num_workers(config):
    """`-n auto` (pyproject.toml's addopts): a worker per core, at most 4: each worker loads
    TensorFlow (about 1 GB) and its ops use several threads. `-n 0` runs in this process."""
    return max(1, min(4, os.cpu_count() or 1))


def run_cli(*args, cwd=None, timeout=600, env=None):
    """`python -m recipes ARGS` in a subprocess; returns the CompletedProcess (text mode)."""
    return subprocess.run(
        [sys.executable, "-m", "recipes", *map(str, args)],
        cwd=cwd or ROOT, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


# `python -m recipes ARGS` for several ARGS in turn, in one process: the command lines are read
# from argv[1] (JSON), the outcomes written to argv[2]. Each one's stdout and stderr are caught at
# the file descriptors, as a terminal would see them (TensorFlow's C++ logging included), and an
# exception that escapes prints its traceback and exits 1, as it would on its own.
IN_TURN = """
import json, os, runpy, sys, tempfile, traceback

def outcome(arguments):
    sys.argv = ["recipes", *arguments]  # [0]: run_module makes it recipes/__main__.py
    caught, kept = [tempfile.TemporaryFile() for _ in (1, 2)], [os.dup(1), os.dup(2)]
    for fd, file in zip((1, 2), caught):
        os.dup2(file.fileno(), fd)
    try:
        runpy.run_module("recipes", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    for fd, saved in zip((1, 2), kept):
        os.dup2(saved, fd)
    texts = []
    for file in caught:
        file.seek(0)
        texts.append(file.read().decode(errors="replace"))
    return [code, *texts]

asked, told = sys.argv[1:]
outcomes = [outcome(arguments) for arguments in json.loads(open(asked).read())]
open(told, "w").write(json.dumps(outcomes))
"""


def run_cli_in_turn(*command_lines, workdir, timeout=600):
    """`python -m recipes ARGS` for each ARGS of `command_lines` in turn, in ONE new process (one
    TensorFlow start instead of several): a CompletedProcess (text mode) for each."""
    lines = [[str(argument) for argument in arguments] for arguments in command_lines]
    asked, told = Path(workdir) / "command_lines.json", Path(workdir) / "outcomes.json"
    asked.write_text(json.dumps(lines))
    driver = subprocess.run([sys.executable, "-c", IN_TURN, asked, told], cwd=ROOT,
                            capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert driver.returncode == 0, driver.stderr
    return [subprocess.CompletedProcess(["recipes", *arguments], code, stdout, stderr)
            for arguments, (code, stdout, stderr) in zip(lines, json.loads(told.read_text()))]


def exit_code(arguments):
    """`recipes.cli.main(arguments)`'s exit code in this process, whether it returns it or
    argparse exits with it."""
    try:
        return main(arguments)
    except SystemExit as exit_:
        return exit_.code


def train_iris(out):
    """A finished iris run (1 epoch) in `out`, trained by the command line in this process."""
    assert exit_code(["run", "iris", "--epochs", "1", "--quiet", "--out", str(out)]) == 0
    return out


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def iris_run(tmp_path_factory):
    """One finished iris run for the whole session. Copy it before changing anything in it."""
    return train_iris(tmp_path_factory.mktemp("iris") / "run")


def trains_and_reloads(model, layer, tmp_path):
    """One training step on 16 random rows changes every weight of `model`'s layer named
    `layer`, and the model saved and loaded in safe mode answers as it does."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, model.inputs[0].shape[1])).astype("float32")
    outputs = model.outputs[0].shape[-1]
    y = (np.eye(outputs)[rng.integers(0, outputs, 16)] if outputs > 1 else
         rng.integers(0, 2, (16, 1)).astype("float32"))
    before = model.get_layer(layer).get_weights()
    assert np.isfinite(model.train_on_batch(x, y, return_dict=True)["loss"])
    after = model.get_layer(layer).get_weights()
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
