"""Shared test helpers: run the CLI in a fresh process, as a user would, or in this one; one
finished iris run that several test modules copy and break."""

import os
import subprocess
import sys
from pathlib import Path

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
