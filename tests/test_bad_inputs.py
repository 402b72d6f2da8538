"""Bad input anywhere is one line on stderr, exit 2, no traceback and no change on disk.

One table (`BAD_INPUTS`) and one runner: the command line's arguments, CSV files and their
contents, local image files, run folders (incomplete, truncated, mixed from two runs, holding a
pickle or Python code) and output folders. Every input lives under one folder, snapshotted before
and after each case: names, sizes and modification times must not move.

Loading a run never runs code: pickles planted in a run folder (a stray preprocessor.joblib, or
in place of metrics.json, model_card.json or model.keras) would create a marker file if anything
unpickled them. `predict` and `export` refuse each in a fresh process too (one process per
command, its cases in turn), and no marker appears.
"""

import gzip
import io
import json
import os
import pickle
import shlex
import shutil
import struct
import zipfile

import keras
import numpy as np
import pandas as pd
import pytest

from recipes.runs import rundir
from recipes.training import callbacks
from recipes.workflow import run
from recipes.cli import main
from tests.conftest import exit_code, run_cli_in_turn, train_iris

# --- the inputs -------------------------------------------------------------------------------


GOOD = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0] * 5, "kind": ["a", "b"] * 10,
                     "label": ["yes", "no", "no", "yes"] * 5})
IRIS_ROWS = """sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)
5.1,3.5,1.4,0.2
6.7,3.0,5.2,2.3
"""


def csv_files(folder):
    """CSV files: unreadable ones, and ones wrong in ways the file format cannot say."""
    frames = {
        "good": GOOD,
        "one_class": GOOD.assign(label="yes"),
        "four_classes": GOOD.assign(label=["p", "q", "r", "s"] * 5),
        "nan_target": GOOD.assign(label=np.nan),
        "only_id": GOOD[["label"]].assign(ticket=[f"T{i}" for i in range(20)]),
        "target_only": GOOD[["label"]],
        "rows_missing_kind": GOOD.drop(columns=["kind", "label"]),
    }
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    (folder / "empty.csv").write_text("")
    (folder / "header_only.csv").write_text("x,kind,label\n")
    (folder / "binary.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe" * 20)
    (folder / "ragged.csv").write_text("x,kind,label\n1,a,yes\n2,b,no,extra\n3,a,yes\n")
    (folder / "repeated.csv").write_text("x,x,label\n1,2,yes\n3,4,no\n")
    iris = pd.read_csv(io.StringIO(IRIS_ROWS))
    iris.head(0).to_csv(folder / "iris_header_only.csv", index=False)
    iris.assign(**{"petal width (cm)": ["wide", 0.2]}).to_csv(folder / "iris_text.csv", index=False)
    iris.to_csv(folder / "iris_rows.csv", index=False)
    compressed_files(folder)


def compressed_files(folder):
    """Compressed CSV and Parquet files that are damaged, ambiguous or need a missing package."""
    good = GOOD.to_csv(index=False).encode()
    (folder / "truncated.csv.gz").write_bytes(gzip.compress(good)[:40])
    (folder / "not_gzip.csv.gz").write_bytes(good)  # named .gz, plain text inside
    with zipfile.ZipFile(folder / "two.csv.zip", "w") as archive:
        archive.writestr("a.csv", good)
        archive.writestr("b.csv", good)
    (folder / "binary_inside.csv.gz").write_bytes(gzip.compress(b"\x00\x01\x02" * 50))
    GOOD.to_parquet(folder / "good.parquet")
    (folder / "truncated.parquet").write_bytes((folder / "good.parquet").read_bytes()[:60])
    GOOD.head(0).to_parquet(folder / "no_rows.parquet")


def tiny_mnist(side=28, dtype=np.uint8, channels=None):
    """Keras' mnist.npz keys: 60 training and 20 test images of every digit."""
    shape = (side, side) if channels is None else (side, side, channels)
    return {"x_train": np.zeros((60, *shape), dtype), "y_train": np.arange(60) % 10,
            "x_test": np.zeros((20, *shape), dtype), "y_test": np.arange(20) % 10}


def npy_bytes(shape, payload):
    """An .npy member whose header claims `shape` (uint8) whatever `payload` holds."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": shape})
    return header.getvalue() + payload


def idx_bytes(shape, payload):
    """An IDX file (MNIST's .gz format) whose header claims `shape` whatever `payload` holds."""
    return bytes([0, 0, 8, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


def image_folders(folder):
    """--data-dir folders whose MNIST files are wrong."""
    def npz(name, **arrays):
        (folder / name).mkdir()
        np.savez(folder / name / "mnist.npz", **{**tiny_mnist(), **arrays})

    npz("wrong_size", **tiny_mnist(side=32))
    npz("wrong_dtype", **tiny_mnist(dtype=np.float32))
    npz("wrong_channels", **tiny_mnist(channels=3))
    npz("unseen_label", y_test=np.full(20, 10))
    (folder / "not_npz").mkdir()
    (folder / "not_npz" / "mnist.npz").write_bytes(b"x_train,y_train\n1,2\n" * 10)
    (folder / "npz_claim").mkdir()  # 2.1 GB claimed in a file of about a kilobyte
    with zipfile.ZipFile(folder / "npz_claim" / "mnist.npz", "w") as archive:
        archive.writestr("x_train.npy", npy_bytes((2_700_000, 28, 28), bytes(100)))
        for key in ("y_train", "x_test", "y_test"):
            archive.writestr(f"{key}.npy", npy_bytes((3,), bytes(3)))
    for name, first in (("idx_claim", idx_bytes((2_700_000, 28, 28), bytes(100))),
                        ("idx_truncated", None)):
        (folder / name).mkdir()
        for i, file in enumerate(("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                  "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")):
            data = gzip.compress(idx_bytes((3,), bytes(3)))
            if i == 0:
                data = gzip.compress(first) if first else data[: len(data) // 2]
            (folder / name / file).write_bytes(data)


class Payload:
    """Unpickling this runs `touch MARKER`: what a malicious pickle in a run folder would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def malicious_pickle(marker):
    return pickle.dumps(Payload(marker))


MARKER = "MARKER-{}"  # in the inputs folder: what a planted pickle creates if anything opens it
PICKLED = {  # folder -> the file a live pickle is planted as, in a copy of a finished iris run
    "stray_pickle": "preprocessor.joblib",  # what the project wrote before it wrote no pickles
    "pickle_metrics": rundir.METRICS_FILE,
    "pickle_card": rundir.CARD_FILE,
    "pickle_model": rundir.MODEL_FILE,
}


def model_folders(folder, iris_run, other_run):
    """Copies of a finished iris run, each broken in one way; `other_run`: another finished run."""
    def copy(name):
        shutil.copytree(iris_run, folder / name)
        return folder / name

    (folder / "empty_run").mkdir()
    for name, file in (("truncated_model", rundir.MODEL_FILE),
                       ("truncated_card", rundir.CARD_FILE),
                       ("truncated_metrics", rundir.METRICS_FILE)):
        path = copy(name) / file
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    (copy("card_not_object") / rundir.CARD_FILE).write_text("[]\n")
    shutil.copy(other_run / rundir.MODEL_FILE, copy("model_from_other_run") / rundir.MODEL_FILE)
    shutil.copy(other_run / rundir.CARD_FILE, copy("card_from_other_run") / rundir.CARD_FILE)
    for name, file in PICKLED.items():
        (copy(name) / file).write_bytes(malicious_pickle(folder / MARKER.format(name)))
    with_lambda(iris_run, copy("lambda") / rundir.MODEL_FILE)
    copy("earlier")  # the run a diverged run must leave alone


def with_lambda(run_dir, path):
    """The run's model with a Lambda layer after it: the same inputs and answers, plus Python code
    that Keras' safe mode refuses to load."""
    model = rundir.load(run_dir).model
    code = keras.layers.Lambda(lambda answers: answers * 1.0, name="python_code")
    keras.Model(model.input, code(model.output)).save(path)


def out_folders(folder, iris_run):
    """--out folders a run must not take, and a file in the way."""
    (folder / "a_file").write_text("not a folder\n")
    (folder / "notes").mkdir()
    (folder / "notes" / "notes.txt").write_text("mine\n")
    for name, changes in (("wine_run", {"recipe": "wine", "dataset": "wine"}),
                          ("tuned_run", {"tuned": True})):
        shutil.copytree(iris_run, folder / name)
        metrics = json.loads((iris_run / rundir.METRICS_FILE).read_text())
        (folder / name / rundir.METRICS_FILE).write_text(json.dumps({**metrics, **changes}))
    interrupted = folder / "interrupted" / rundir.STAGING_DIR
    options = run.RunOptions(epochs=5, resume=True)
    (interrupted / callbacks.BACKUP_DIR).mkdir(parents=True)
    (interrupted / rundir.REQUEST_FILE).write_text(json.dumps(
        run.run_request(*run.prepare("iris", options), options)))
    (interrupted / callbacks.BACKUP_DIR / callbacks.STATE_FILE).write_text(
        json.dumps({"epoch": 2, "epochs": 5}))


def build_inputs(root, iris_run=None):
    """Every bad input of the table under `root`, with a finished iris run (copied from
    `iris_run`, else trained) and a finished run of good.csv."""
    root.mkdir(parents=True, exist_ok=True)
    if iris_run is None:
        train_iris(root / "iris_run")
    else:
        shutil.copytree(iris_run, root / "iris_run")
    csv_files(root)
    assert exit_code(["run", "csv", "--data", str(root / "good.csv"), "--target", "label",
                      "--epochs", "1", "--quiet", "--out", str(root / "good_run")]) == 0
    image_folders(root)
    model_folders(root, root / "iris_run", root / "good_run")
    out_folders(root, root / "iris_run")
    return root


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, iris_run):
    return build_inputs(tmp_path_factory.mktemp("inputs"), iris_run)


# --- the table --------------------------------------------------------------------------------

REFUSED_RUN_FOLDERS = {  # folder -> what `predict` and `export` say about it
    "stray_pickle": "{}/stray_pickle holds preprocessor.joblib: pickle files, which can run code "
                    "when opened and which this project never writes; refusing to load it",
    "pickle_metrics": "cannot load {}/pickle_metrics/metrics.json (",
    "pickle_card": "cannot load {}/pickle_card/model_card.json (",
    "pickle_model": "cannot load {}/pickle_model/model.keras (not a whole .keras zip file)",
    "lambda": "{}/lambda/model.keras holds Python code (a Lambda layer), which Keras' safe mode "
              "refuses to load; pass --unsafe if you trust where it came from",
}

BAD_INPUTS = [  # (arguments, words the one-line message must contain); {} is the inputs folder
    # the command line
    ("run nope", "unknown recipe 'nope'; valid: boston-housing"),
    ("run iris --model resnet", "unknown model 'resnet'; valid:"),
    ("run iris --model dense_regressor", "does not do multiclass; models that do:"),
    ("run iris --set units=4", "no hyperparameter units; valid: hidden_units"),
    ("run iris --set dropout=2", "dropout must be in [0, 1)"),
    ("run iris --set optimizer=magic", "unknown optimizer 'magic'"),
    ("run iris --set hidden_units=64", "--set hidden_units=64: hidden_units takes a tuple"),
    ("run iris --set dropout=high", "--set dropout='high': dropout takes a number"),
    ("run iris --epochs 0", "--epochs must be at least 1, got 0"),
    ("run iris --batch-size -8", "--batch-size must be at least 1, got -8"),
    ("run iris --seed -1", "--seed must be between 0 and 4294967295, got -1"),
    ("run iris --epochs many", "invalid int value: 'many'"),
    ("run iris --api subclassing", "invalid choice: 'subclassing'"),
    ("run iris --augment", "iris is not an image recipe"),
    ("run linear-scratch --resume", "--resume does not apply to --loop scratch"),
    # CSV files
    ("run csv", "needs --data PATH and --target COLUMN"),
    ("run csv --data {}/missing.csv --target label", "CSV file not found"),
    ("run csv --data {}/empty.csv --target label", "CSV file is empty"),
    ("run csv --data {}/header_only.csv --target label", "has a header but no rows"),
    ("run csv --data {}/binary.csv --target label", "cannot read"),
    ("run csv --data {}/ragged.csv --target label", "Expected 3 fields in line 3, saw 4"),
    ("run csv --data {}/repeated.csv --target label",
     "{}/repeated.csv names column 'x' twice; give each column its own name"),
    ("run csv --data {}/good.csv --target price",
     "column 'price' not found in {}/good.csv; columns: x, kind, label"),
    ("run csv --data {}/good.csv --target Labels",
     "column 'Labels' not found in {}/good.csv (did you mean 'label'?); columns: x, kind, label"),
    ("run csv --data {}/good.csv --target label --task classify", "invalid choice: 'classify'"),
    # compressed CSV and Parquet files
    ("run csv --data {}/truncated.csv.gz --target label",
     "cannot read {}/truncated.csv.gz as gzip-compressed CSV: Compressed file ended"),
    ("run csv --data {}/not_gzip.csv.gz --target label",
     "cannot read {}/not_gzip.csv.gz as gzip-compressed CSV: Not a gzipped file"),
    ("run csv --data {}/two.csv.zip --target label", "holds 2 files; a .zip must hold exactly one"),
    ("run csv --data {}/binary_inside.csv.gz --target label", "it holds binary data, not text"),
    ("run csv --data {}/truncated.parquet --target label",
     "cannot read {}/truncated.parquet as Parquet:"),
    ("run csv --data {}/no_rows.parquet --target label",
     "Parquet file has a header but no rows: {}/no_rows.parquet"),
    ("run csv --data {}/missing.parquet --target label", "Parquet file not found"),
    ("predict --model {}/good_run --data {}/truncated.csv.gz",
     "cannot read {}/truncated.csv.gz as gzip-compressed CSV"),
    # CSV contents
    ("run csv --data {}/one_class.csv --target label", "has a single class ('yes')"),
    ("run csv --data {}/four_classes.csv --target label --task regression",
     "target 'label' is not numeric"),
    ("run csv --data {}/four_classes.csv --target label --task binary",
     "has 4 classes, so it is not binary"),
    ("run csv --data {}/nan_target.csv --target label", "target column 'label' in"),
    ("run csv --data {}/only_id.csv --target label",
     "{}/only_id.csv has no feature column to learn from: ticket: dropped: unique per row"),
    ("run csv --data {}/good.csv --target label --ignore price",
     "--ignore 'price': no such feature column; columns: x, kind"),
    ("run csv --data {}/good.csv --target label --numeric kind",
     "column 'kind' should hold numbers but holds 'a' (row 1)"),
    ("run csv --data {}/good.csv --target label --date kind",
     "--date 'kind': its values (such as 'a') are not dates in one of these formats: %Y-%m-%d"),
    ("run csv --data {}/good.csv --target label --numeric x --categorical x",
     "column 'x' is given two roles: --categorical and --numeric"),
    ("run csv --data {}/target_only.csv --target label", "no feature columns besides the target"),
    ("predict --model {}/iris_run --data {}/iris_header_only.csv", "has a header but no rows"),
    ("predict --model {}/iris_run --data {}/iris_text.csv",
     "column 'petal width (cm)' should hold numbers but holds 'wide'"),
    ("predict --model {}/good_run --data {}/rows_missing_kind.csv",
     "error: missing feature column(s): kind; the model needs: x, kind"),
    # local image files
    ("run mnist-mlp --data-dir {}/wrong_size", "x_train images are 32x32; MNIST's are 28x28"),
    ("run mnist-mlp --data-dir {}/wrong_dtype", "x_train holds float32 pixels"),
    ("run mnist-mlp --data-dir {}/wrong_channels", "x_train (60, 28, 28, 3) has 3 channels"),
    ("run mnist-mlp --data-dir {}/unseen_label", "label(s) 10 were not seen in training"),
    ("run mnist-mlp --data-dir {}/not_npz", "cannot read {}/not_npz/mnist.npz as an .npz file"),
    ("run mnist-mlp --data-dir {}/npz_claim",
     "x_train.npy claims a (2700000, 28, 28) uint8 array (2,116,800,000 bytes) but holds 100"),
    ("run mnist-mlp --data-dir {}/idx_claim",
     "holds 100 bytes but its header says (2700000, 28, 28): truncated?"),
    ("run mnist-mlp --data-dir {}/idx_truncated", "train-images-idx3-ubyte.gz as gzip"),
    # run folders: incomplete, truncated, mixed from two runs
    ("predict --model {}/missing --data {}/good.csv",
     "{}/missing is not a finished run folder: no such folder"),
    ("export --model {}/empty_run", "{}/empty_run is not a finished run folder: missing "
                                    "model.keras, model_card.json, metrics.json"),
    ("predict --model {}/truncated_model --data {}/iris_rows.csv",
     "cannot load {}/truncated_model/model.keras"),
    ("predict --model {}/truncated_card --data {}/iris_rows.csv",
     "cannot load {}/truncated_card/model_card.json"),
    ("export --model {}/truncated_metrics", "cannot load {}/truncated_metrics/metrics.json"),
    ("export --model {}/card_not_object",
     "cannot load {}/card_not_object/model_card.json (not a JSON object)"),
    ("predict --model {}/model_from_other_run --data {}/iris_rows.csv",
     "model.keras and model_card.json come from different runs"),
    ("export --model {}/card_from_other_run",
     "model.keras and model_card.json come from different runs"),
    # run folders holding a pickle or Python code: refused by predict and export alike
    *[(f"predict --model {{}}/{folder} --data {{}}/iris_rows.csv", message)
      for folder, message in REFUSED_RUN_FOLDERS.items()],
    *[(f"export --model {{}}/{folder}", message)
      for folder, message in REFUSED_RUN_FOLDERS.items()],
    # output folders
    ("run iris --out {}/wine_run",
     "holds another run (recipe wine: multiclass_classifier on wine), not recipe iris"),
    ("run iris --out {}/tuned_run", "holds another run (recipe iris: multiclass_classifier on "
                                    "iris, tuned)"),
    ("run iris --out {}/notes", "holds files that are not a run (notes.txt); pass --overwrite"),
    ("run iris --out {}/a_file", "cannot write --out {}/a_file: it is a file"),
    ("run iris --out {}/a_file/run", "{}/a_file is a file, not a folder"),
    ("run all --out {}/a_file", "{}/a_file is a file, not a folder"),
    ("predict --model {}/iris_run --data {}/iris_rows.csv --output {}/a_file/rows.csv",
     "cannot write --output"),
    ("export --model {}/iris_run --out {}/a_file/export", "cannot write --out"),
    ("export --model {}/iris_run --out {}/notes", "{}/notes exists and is not an export folder"),
    ("export --model {}/iris_run --out {}/earlier",  # a run folder holds a model card too
     "{}/earlier exists and is not an export folder"),
    ("tune iris --max-trials 1 --out {}/a_file/tuning", "{}/a_file is a file, not a folder"),
    ("run iris --epochs 5 --out {}/interrupted",
     "holds a run interrupted after epoch 2 of 5; add --resume to continue it"),
    ("run iris --epochs 7 --resume --out {}/interrupted",
     "had other options (epochs 5 -> 7); resume with its options"),
    # a loss that becomes NaN, over an earlier run
    ("run iris --epochs 3 --set optimizer=sgd --set learning_rate=1e10 --out {}/earlier",
     "training diverged in epoch 1: the loss became nan; the learning rate (1e+10) is likely "
     "too high: try --set learning_rate=1e+09"),
    # outputs that cannot be created, or whose writing would destroy something
    ("run iris --out {}/" + "x" * 300, "File name too long"),
    ("run iris --out /proc/recipes-run", "cannot write --out /proc/recipes-run: "),
    ("tune iris --max-trials 1 --out /proc/recipes-search", "cannot write --out /proc/recipes-"),
    ("export --model {}/iris_run --out /proc/recipes-export", "cannot write --out /proc/recipes-"),
    ("predict --model {}/iris_run --data {}/iris_rows.csv --output {}/iris_rows.csv",
     "--output {}/iris_rows.csv is the --data file: the predictions would replace the rows"),
    ("predict --model {}/iris_run --data {}/iris_rows.csv --output /dev/null",
     "cannot write --output /dev/null: it is not a regular file"),
    # grid: bad grids, refused before anything is trained or written
    ("grid iris --cv 3 --quiet --out {}/new_grid", "the following arguments are required: --param"),
    ("grid iris --param units=4,8 --quiet --out {}/new_grid",
     "--param units: multiclass_classifier has no parameter units; valid: hidden_units"),
    ("grid iris --param dropout= --quiet --out {}/new_grid",
     "--param dropout: no values; give at least one, as --param dropout=V1,V2,..."),
    ("grid iris --param dropout=0,high --quiet --out {}/new_grid",
     "--param dropout='high': dropout takes a number, like its default 0.2"),
    ("grid iris --param hidden_units=8,16 --quiet --out {}/new_grid",
     "--param hidden_units=8: hidden_units takes a tuple, like its default (32,)"),
    ("grid iris --param dropout=0,2 --quiet --out {}/new_grid", "dropout must be in [0, 1)"),
    ("grid iris --param epochs=0,5 --quiet --out {}/new_grid",
     "--param epochs=0: epochs takes whole numbers of at least 1"),
    ("grid iris --param dropout=0 --param dropout=0.2 --quiet --out {}/new_grid",
     "--param dropout is given 2 times"),
    ("grid iris --param dropout=0 --cv 1 --quiet --out {}/new_grid",
     "--cv must be at least 2 folds, got 1"),
    ("grid iris --param dropout=0 --cv 500 --quiet --out {}/new_grid",
     "cannot make 500 folds of iris"),
    ("grid iris --param dropout=0 --quiet --out {}/wine_run", "holds another run"),
    ("run iris --loop scratch", "--loop scratch trains linear_regression and softmax_regression "
                                "only, not 'multiclass_classifier'"),
]

# Also run as a user runs them, in new processes: the loading cases (nothing in the process may
# have been imported or registered that a user's process lacks), and three others. One process
# per command runs that command's cases in turn: each imports what the command imports, no more.
FRESH_PROCESS = [(arguments, message) for arguments, message in BAD_INPUTS
                 if arguments.split()[:3] in ([command, "--model", f"{{}}/{folder}"]
                                              for command in ("predict", "export")
                                              for folder in REFUSED_RUN_FOLDERS)
                 or arguments in ("run iris --epochs 0", "run iris --out {}/wine_run",
                                  "export --model {}/empty_run")]
FRESH_COMMANDS = sorted({arguments.split()[0] for arguments, _ in FRESH_PROCESS})


def command_line(arguments, inputs):
    """A table row's arguments, {} filled in; `run` gets --quiet, and an --out if it has none."""
    arguments = arguments.replace("{}", str(inputs)).split()
    if arguments[0] == "run":
        arguments.append("--quiet")
        if "--out" not in arguments:
            arguments += ["--out", str(inputs / "new_run")]
    return arguments


def snapshot(root):
    """Every file and folder under `root`, files with their size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) if p.is_file()
            else "folder" for p in root.rglob("*")}


def assert_refused(code, error, message, inputs, case=""):
    """Exit 2 and exactly one line on stderr, holding `message`, no traceback; `case` names the
    command line in what a failure says."""
    assert (code, error.count("\n")) == (2, 1), case + error
    assert error.startswith("error: ") or ": error: " in error, case + error  # ours, or argparse's
    assert message.replace("{}", str(inputs)) in error, case + error
    assert "Traceback" not in error, case + error


def case_id(row):
    return row[0].replace("{}/", "")


@pytest.mark.parametrize("arguments, message", BAD_INPUTS, ids=map(case_id, BAD_INPUTS))
def test_bad_input_is_one_line_exit_2_and_changes_nothing(arguments, message, inputs, capsys):
    before = snapshot(inputs)
    code = exit_code(command_line(arguments, inputs))
    assert_refused(code, capsys.readouterr().err, message, inputs)
    assert snapshot(inputs) == before


@pytest.mark.parametrize("command", FRESH_COMMANDS)
def test_a_fresh_process_refuses_in_one_line_and_runs_no_planted_code(command, inputs, tmp_path):
    """`command`'s cases of FRESH_PROCESS, in turn in one new process."""
    cases = [(arguments, message) for arguments, message in FRESH_PROCESS
             if arguments.split()[0] == command]
    before = snapshot(inputs)
    results = run_cli_in_turn(*(command_line(arguments, inputs) for arguments, _ in cases),
                              workdir=tmp_path)
    for (arguments, message), result in zip(cases, results, strict=True):
        assert_refused(result.returncode, result.stderr, message, inputs, f"{arguments}: ")
    assert not list(inputs.glob(MARKER.format("*")))  # no pickle was opened
    assert snapshot(inputs) == before


def test_the_planted_pickles_are_live(tmp_path):
    """The safety cases mean something: unpickling the planted payload does run its command."""
    marker = tmp_path / "ran"
    pickle.loads(malicious_pickle(marker))
    assert marker.exists()


def test_unsafe_loads_the_model_with_a_lambda_layer(inputs, tmp_path, capsys):
    predict = ["predict", "--model", str(inputs / "lambda"), "--data",
               str(inputs / "iris_rows.csv")]
    assert main([*predict, "--unsafe"]) == 0
    assert capsys.readouterr().out.startswith("prediction,probability_setosa")
    assert main(["export", "--model", str(inputs / "lambda"), "--out", str(tmp_path / "export"),
                 "--unsafe"]) == 0
    assert (tmp_path / "export" / "saved_model" / "saved_model.pb").is_file()
