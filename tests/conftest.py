"""Shared test helpers: run the CLI in a fresh process, as a user would, or in this one; one
finished iris run that several test modules copy and break."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import recipes  # noqa: F401  (quiets TensorFlow's start-up logging before anything imports it)
from recipes.cli import main

ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = ROOT.parent / "shared" / "datasets" / "mnist.npz"


def run_cli(*args, cwd=None, timeout=600, env=None):
    """`python -m recipes ARGS` in a subprocess; returns the CompletedProcess (text mode)."""
    return subprocess.run(
        [sys.executable, "-m", "recipes", *map(str, args)],
        cwd=cwd or ROOT, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


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
