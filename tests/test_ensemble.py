"""`run --ensemble K`: K networks from K seeds, their outputs averaged into the one saved model."""

import json

import keras
import numpy as np

from recipes.runs import rundir
from recipes.data.dataset import DataOptions
from recipes.workflow.prepare import prepare
from recipes.workflow.run import RunOptions
from tests.conftest import exit_code
from tests.test_stream import table


def test_the_saved_model_averages_its_members(tmp_path):
    path, out = tmp_path / "rows.csv", tmp_path / "run"
    table(1000).to_csv(path, index=False)
    assert exit_code(["run", "csv", "--data", str(path), "--target", "y", "--ensemble", "3",
                      "--epochs", "3", "--quiet", "--out", str(out)]) == 0
    metrics = json.loads((out / rundir.METRICS_FILE).read_text())
    assert metrics["ensemble"]["members"] == 3 and metrics["ensemble"]["seeds"] == [0, 1000, 2000]
    assert metrics["test"]["accuracy"] > 0.8

    ensemble = rundir.load(out).model.get_layer("ensemble")
    members = [layer for layer in ensemble.layers if isinstance(layer, keras.Model)]
    assert len(members) == 3
    _, loaded = prepare("csv", RunOptions(data=DataOptions(path=str(path), target="y"), quiet=True))
    x = loaded.sources["test"].x
    outputs = [np.asarray(member.predict(x, verbose=0)) for member in members]
    assert not np.allclose(outputs[0], outputs[1])  # other seeds, other networks
    np.testing.assert_allclose(ensemble.predict(x, verbose=0), np.mean(outputs, axis=0),
                               rtol=1e-5, atol=1e-6)


def test_an_ensemble_of_no_networks_is_refused(tmp_path, capsys):
    assert exit_code(["run", "iris", "--ensemble", "0", "--out", str(tmp_path / "o")]) == 2
    assert "--ensemble must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
