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

from tests.conftest import ROOT, run_cli_in_turn

FIXTURES = ROOT / "tests" / "fixtures" / "runs_6eaf4a5"
NAMES = ("homes", "iris")


def test_runs_saved_by_the_old_layout_predict_what_they_did(tmp_path):
    """Both runs, in turn, in one new `predict` process (one TensorFlow start, nothing else
    imported)."""
    runs = {name: shutil.copytree(FIXTURES / name, tmp_path / name) for name in NAMES}
    results = run_cli_in_turn(*(["predict", "--model", run, "--data", run / "rows.csv",
                                 "--output", tmp_path / f"{name}.csv"]
                                for name, run in runs.items()), workdir=tmp_path)
    for (name, run), result in zip(runs.items(), results, strict=True):
        assert result.returncode == 0, f"{name}: {result.stderr}"
        then, now = pd.read_csv(run / "predictions.csv"), pd.read_csv(tmp_path / f"{name}.csv")
        assert list(now.columns) == list(then.columns) and len(now) == len(then) > 10, name
        numbers = then.select_dtypes("number").columns
        np.testing.assert_allclose(now[numbers], then[numbers], rtol=1e-5, atol=1e-5, err_msg=name)
        assert (now.drop(columns=numbers) == then.drop(columns=numbers)).all().all(), name
