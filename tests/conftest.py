"""Shared test helpers: run the CLI in a fresh process, as a user would."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import recipes  # noqa: F401  (quiets TensorFlow's start-up logging before anything imports it)

ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = ROOT.parent / "shared" / "datasets" / "mnist.npz"


def run_cli(*args, cwd=None, timeout=600, env=None):
    """`python -m recipes ARGS` in a subprocess; returns the CompletedProcess (text mode)."""
    return subprocess.run(
        [sys.executable, "-m", "recipes", *map(str, args)],
        cwd=cwd or ROOT, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


@pytest.fixture
def cli():
    return run_cli
