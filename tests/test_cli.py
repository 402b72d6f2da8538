"""The command line: `list` without TensorFlow, `run`/`predict` in a real process.

Bad input, through the command line and in real processes: tests/test_bad_inputs.py.
"""

import subprocess
import sys

from recipes.catalog import CATALOG
from recipes.data import loaders
from tests.conftest import ROOT, run_cli


def test_list_prints_every_recipe_without_importing_tensorflow():
    code = ("import sys; from recipes.cli import main; main(['list']); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(CATALOG) + 1  # a header, then one line per recipe
    for recipe, line in zip(CATALOG, lines[1:]):
        assert line.split()[:4] == [recipe.name, recipe.dataset, recipe.model, recipe.task]
        assert recipe.description and line.endswith(recipe.description)


def test_help_explains_every_run_flag():
    result = run_cli("run", "--help")
    assert result.returncode == 0
    for flag in ("--epochs", "--batch-size", "--seed", "--api", "--loop", "--out", "--quiet",
                 "--data", "--target", "--task", "--set", "--model"):
        assert flag in result.stdout


def test_run_and_predict_in_a_fresh_process(tmp_path):
    out = tmp_path / "wine"
    result = run_cli("run", "wine", "--epochs", "2", "--seed", "1", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "wine: test accuracy" in result.stdout
    assert "Traceback" not in result.stderr
    rows = loaders.load("wine").features.head(5)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    predicted = run_cli("predict", "--model", out, "--data", tmp_path / "rows.csv")
    assert predicted.returncode == 0, predicted.stderr
    lines = predicted.stdout.strip().splitlines()
    assert lines[0].startswith("prediction,probability_class_0") and len(lines) == 6

