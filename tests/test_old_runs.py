"""Run folders saved by an older layout of this project still load and answer the same.

`tests/fixtures/runs_6eaf4a5/` holds two runs written at commit 6eaf4a5, when every recipes
module sat side by side in one folder: a CSV with every column role (numbers with missing values
and quantile edges, a category, a date, free text; an ID dropped) and iris. Their saved Keras
layers are registered under a package name ("recipes>TableEncoder"), not a module path, so moving
modules must not break them; this test fails if it does.
"""

import shutil

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT, run_cli

FIXTURES = ROOT / "tests" / "fixtures" / "runs_6eaf4a5"


@pytest.mark.parametrize("name", ["homes", "iris"])
def test_a_run_saved_by_the_old_layout_predicts_what_it_did(name, tmp_path):
    run = shutil.copytree(FIXTURES / name, tmp_path / name)
    out = tmp_path / "predictions.csv"
    result = run_cli("predict", "--model", run, "--data", run / "rows.csv", "--output", out)
    assert result.returncode == 0, result.stderr
    then, now = pd.read_csv(run / "predictions.csv"), pd.read_csv(out)
    assert list(now.columns) == list(then.columns) and len(now) == len(then) > 10
    numbers = then.select_dtypes("number").columns
    np.testing.assert_allclose(now[numbers], then[numbers], rtol=1e-5, atol=1e-5)
    assert (now.drop(columns=numbers) == then.drop(columns=numbers)).all().all()
