"""The command line: `list` without TensorFlow, `run`/`predict` in a real process, bad input."""

import subprocess
import sys

import pandas as pd
import pytest

from recipes import datasets
from recipes.cli import main
from tests.conftest import ROOT, run_cli


def test_list_prints_every_recipe_without_importing_tensorflow():
    code = ("import sys; from recipes.cli import main; main(['list']); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for name in ("boston-housing", "auto-mpg", "diabetes", "breast-cancer", "iris", "wine",
                 "linear-synthetic", "csv"):
        assert name in result.stdout
    assert "multiclass_classifier" in result.stdout


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
    rows = datasets.load("wine").features.head(5)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    predicted = run_cli("predict", "--model", out, "--data", tmp_path / "rows.csv")
    assert predicted.returncode == 0, predicted.stderr
    lines = predicted.stdout.strip().splitlines()
    assert lines[0].startswith("prediction,probability_class_0") and len(lines) == 6


@pytest.fixture
def csvs(tmp_path):
    """Small CSV files, good and bad, for the error cases."""
    good = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0] * 5, "kind": ["a", "b"] * 10,
                         "label": ["yes", "no", "no", "yes"] * 5})
    files = {"good": good, "one_class": good.assign(label="yes"),
             "text_target": good.assign(label=["p", "q", "r", "s"] * 5)}
    paths = {name: tmp_path / f"{name}.csv" for name in files}
    for name, frame in files.items():
        frame.to_csv(paths[name], index=False)
    paths["empty"] = tmp_path / "empty.csv"
    paths["empty"].write_text("")
    paths["header_only"] = tmp_path / "header_only.csv"
    paths["header_only"].write_text("x,kind,label\n")
    paths["semicolons"] = tmp_path / "semicolons.csv"
    good.to_csv(paths["semicolons"], sep=";", index=False)
    paths["binary"] = tmp_path / "binary.csv"
    paths["binary"].write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe" * 20)
    paths["rows_missing_kind"] = tmp_path / "rows_missing_kind.csv"
    good.drop(columns=["kind", "label"]).to_csv(paths["rows_missing_kind"], index=False)
    return paths


BAD_INPUTS = [  # (arguments, words the one-line message must contain)
    (["run", "nope"], "unknown recipe 'nope'; valid: boston-housing"),
    (["run", "iris", "--model", "resnet"], "unknown model 'resnet'; valid:"),
    (["run", "iris", "--model", "dense_regressor"], "does not do multiclass; models that do:"),
    (["run", "iris", "--set", "units=4"], "no hyperparameter units; valid: hidden_units"),
    (["run", "iris", "--set", "dropout=2"], "dropout must be in [0, 1)"),
    (["run", "iris", "--set", "optimizer=magic"], "unknown optimizer 'magic'"),
    (["run", "iris", "--epochs", "0"], "--epochs must be at least 1, got 0"),
    (["run", "iris", "--batch-size", "-8"], "--batch-size must be at least 1, got -8"),
    (["run", "iris", "--epochs", "many"], "invalid int value: 'many'"),
    (["run", "iris", "--api", "subclassing"], "invalid choice: 'subclassing'"),
    (["run", "csv"], "needs --data PATH and --target COLUMN"),
    (["run", "csv", "--data", "{missing}", "--target", "label"], "CSV file not found"),
    (["run", "csv", "--data", "{empty}", "--target", "label"], "CSV file is empty"),
    (["run", "csv", "--data", "{header_only}", "--target", "label"], "has a header but no rows"),
    (["run", "csv", "--data", "{binary}", "--target", "label"], "cannot read"),
    (["run", "csv", "--data", "{good}", "--target", "price"],
     "column 'price' not found in {good}; columns: x, kind, label"),
    (["run", "csv", "--data", "{semicolons}", "--target", "label"], "looks ';'-separated"),
    (["run", "csv", "--data", "{one_class}", "--target", "label"], "has a single class ('yes')"),
    (["run", "csv", "--data", "{text_target}", "--target", "label", "--task", "regression"],
     "target 'label' is not numeric"),
    (["run", "csv", "--data", "{good}", "--target", "label", "--task", "classify"],
     "invalid choice: 'classify'"),
    (["predict", "--model", "{missing}", "--data", "{good}"], "is not a finished run folder"),
]


@pytest.mark.parametrize("arguments, message", BAD_INPUTS, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else None)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(arguments, message, csvs, tmp_path, capsys):
    paths = {**{k: str(v) for k, v in csvs.items()}, "missing": str(tmp_path / "missing.csv")}
    out = tmp_path / "out"
    arguments = [a.format(**paths) for a in arguments]
    if arguments[0] == "run":
        arguments += ["--out", str(out)]
    code = exit_code(arguments)
    error = capsys.readouterr().err
    assert code == 2
    assert message.format(**paths) in error
    assert len(error.strip().splitlines()) == 1, error
    assert "Traceback" not in error
    assert not out.exists()


def exit_code(arguments):
    """main()'s exit code, whether it returns it or argparse exits with it."""
    try:
        return main(arguments)
    except SystemExit as exit_:
        return exit_.code


def test_predict_names_missing_feature_columns(csvs, tmp_path):
    out = tmp_path / "run"
    assert main(["run", "csv", "--data", str(csvs["good"]), "--target", "label", "--epochs", "1",
                 "--quiet", "--out", str(out)]) == 0
    result = run_cli("predict", "--model", out, "--data", csvs["rows_missing_kind"])
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: missing feature column(s): kind; "
                                     "the model needs: x, kind")


def test_a_real_process_exits_2_without_a_traceback(tmp_path):
    result = run_cli("run", "iris", "--epochs", "0", "--out", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --epochs must be at least 1, got 0"
    assert not (tmp_path / "out").exists()
