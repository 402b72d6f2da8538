"""A corrupted run folder fails cleanly: every command that loads one ends in exit 0, or in exit 2
with one line on stderr and no traceback, and changes nothing outside what it writes.

The cases are generated, not listed: every file and folder found by walking a finished run (and
a finished search, for `tune --resume`), each corrupted in every way that applies to it, so a
file that a later version of the project adds to the run folder is covered without anyone
remembering to. CI runs a deterministic sample (every entry at least once per command, the
corruption chosen round-robin); `CORRUPTION_CASES=all` runs every case (benchmarks/reliability.py
imports the same functions).

Exit 0 is clean too: a flipped byte in a plot, or a deleted TensorBoard log, changes nothing that
`predict` or `export` read.
"""

import contextlib
import fcntl
import io
import os
import random
import shutil
import traceback
import zlib
from pathlib import Path

import pytest

from recipes.runs import rundir
from tests.conftest import exit_code
from tests.test_bad_inputs import IRIS_ROWS

FLIPS = 4  # bytes XORed by "flipped"
OTHER_DATA = '{"other": "data", "rows": [1, 2, 3]}\n'  # what a symlink points to: valid JSON
SEARCH = ["tune", "iris", "--max-trials", "2", "--epochs", "1", "--quiet"]
TUNE_CI_CASES = 1  # tune --resume retrains the kept model (~12 s a case): CI samples this many


# --- the corruptions ----------------------------------------------------------------------------
# Each takes the entry to corrupt and a folder outside the run, for the data a symlink points to.


def truncated(path, _outside):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def emptied(path, _outside):
    """A file cut to 0 bytes; a folder with its contents removed."""
    if path.is_dir():
        shutil.rmtree(path)
        path.mkdir()
    else:
        path.write_bytes(b"")


def flipped(path, _outside):
    """A few bytes XORed, at positions seeded by the file's name and size: the same every time."""
    data = bytearray(path.read_bytes())
    rng = random.Random(zlib.crc32(f"{path.name}:{len(data)}".encode()))
    for position in rng.sample(range(len(data)), min(FLIPS, len(data))):
        data[position] ^= rng.randrange(1, 256)
    path.write_bytes(bytes(data))


def swapped(path, _outside):
    """A file replaced by an empty folder of its name; a folder by a file holding text."""
    if path.is_dir():
        shutil.rmtree(path)
        path.write_text("not a folder\n")
    else:
        path.unlink()
        path.mkdir()


def symlinked(path, outside):
    """A file replaced by a symlink to a file outside the run holding other data."""
    target = outside / f"other-{path.name}"
    target.write_text(OTHER_DATA)
    path.unlink()
    path.symlink_to(target)


def deleted(path, _outside):
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


CORRUPTIONS = {corruption.__name__: corruption
               for corruption in (truncated, emptied, flipped, swapped, symlinked, deleted)}
FOR_FOLDERS = ("deleted", "emptied", "swapped")  # what a folder can go through; a file: all


# --- damaged search state ---------------------------------------------------------------------
# `tune --resume` once ended these in a traceback (keras-tuner's reload of a damaged oracle.json,
# trial.json or tuner0.json; a trial it lists gone; search/ a file): tuners.check_state now
# refuses each in one line before anything trains, so CI tries one of each kind (cheap) besides
# its sample.

DAMAGED_STATE = [("search/oracle.json", "flipped"), ("search/trial_0/trial.json", "symlinked"),
                 ("search/tuner0.json", "truncated"), ("search/trial_0", "deleted"),
                 ("search", "swapped")]


def corruption_cases(run_dir):
    """Every (path relative to `run_dir`, corruption name) pair, found by walking the folder."""
    run_dir = Path(run_dir)
    return [(str(path.relative_to(run_dir)), name)
            for path in sorted(run_dir.rglob("*"))
            for name in (FOR_FOLDERS if path.is_dir() else CORRUPTIONS)]


def sample(cases, command, limit=None):
    """Every entry once, its corruption round-robin from a start seeded by `command` (so each
    command meets other corruptions); then, if `limit`, that many of those, seeded too."""
    by_entry = {}
    for path, name in cases:
        by_entry.setdefault(path, []).append(name)
    start = zlib.crc32(command.encode())
    chosen = [(path, names[(start + i) % len(names)])
              for i, (path, names) in enumerate(by_entry.items())]
    if limit is None or limit >= len(chosen):
        return chosen
    return sorted(random.Random(start).sample(chosen, limit))


# --- one case -----------------------------------------------------------------------------------


def command_line(command, run_dir, workdir):
    """The arguments of `command` over `run_dir`, and the one path it may write."""
    if command == "predict":
        output = workdir / "predictions.csv"
        return ["predict", "--model", run_dir, "--data", workdir / "iris_rows.csv",
                "--output", output], output
    if command == "export":
        output = workdir / "export"
        return ["export", "--model", run_dir, "--out", output], output
    if command == "tune":  # the search folder is the output: --resume writes the kept run there
        return [*SEARCH, "--resume", "--out", run_dir], run_dir
    raise ValueError(f"unknown command {command!r}")


COMMANDS = ("predict", "export", "tune")


def snapshot(root, leaving_out):
    """Every entry under `root` but `leaving_out` and what is in it: type, size, mtime, and where
    a symlink points."""
    return {str(path.relative_to(root)): (path.lstat().st_mode, path.lstat().st_size,
                                          path.lstat().st_mtime_ns,
                                          os.readlink(path) if path.is_symlink() else None)
            for path in root.rglob("*")
            if path != leaving_out and leaving_out not in path.parents}


def run_in_process(arguments):
    """The exit code and stderr of the command line run in this process; an exception that
    escapes it is what a user's process prints as a traceback and exits 1 with."""
    error = io.StringIO()
    with contextlib.redirect_stderr(error), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = exit_code([str(argument) for argument in arguments])
        except Exception:  # noqa: BLE001  (the bug this test exists to find)
            traceback.print_exc()
            code = 1
    return code, error.getvalue()


def try_case(source_run, rel_path, corruption, command, workdir):
    """Copy `source_run` into the new folder `workdir`, corrupt `rel_path` in the copy, run
    `command` on it; what came back, and whether that is clean."""
    workdir = Path(workdir)
    (workdir / "elsewhere").mkdir(parents=True)
    (workdir / "iris_rows.csv").write_text(IRIS_ROWS)
    run_dir = workdir / "run"
    shutil.copytree(source_run, run_dir, symlinks=True)
    CORRUPTIONS[corruption](run_dir / rel_path, workdir / "elsewhere")
    arguments, output = command_line(command, run_dir, workdir)
    existed = output.exists()
    before = snapshot(workdir, output)
    code, error = run_in_process(arguments)
    lines = error.strip().splitlines()
    changed = snapshot(workdir, output) != before or (
        code != 0 and output.exists() and not existed)  # a refusal writes no output
    traced = "Traceback" in error
    return {"command": command, "path": rel_path, "corruption": corruption, "exit": code,
            "lines": len(lines), "first_line": lines[0] if lines else "", "traceback": traced,
            "changed": changed,
            "clean": code == 0 or (code == 2 and len(lines) == 1 and not traced)}


def failed(result):
    return not result["clean"] or result["changed"]


def describe(result):
    changed = " (changed files outside its output)" if result["changed"] else ""
    return (f"{result['command']} on {result['path']} {result['corruption']}: exit "
            f"{result['exit']}, {result['lines']} stderr line(s){changed}: {result['first_line']}")


# --- the tests ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def search_folder(tmp_path_factory):
    """A finished tiny search (2 trials of 1 epoch): what `tune --resume` loads. Trained once per
    session: pytest-xdist's workers share it (their temporary folders' parent is common)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return train_search(tmp_path_factory.mktemp("search") / "search")
    shared = tmp_path_factory.getbasetemp().parent / "corrupted-runs"
    shared.mkdir(exist_ok=True)
    with open(shared / "training.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # the first worker trains; the others wait, then reuse
        if (shared / "search" / rundir.METRICS_FILE).is_file():
            return shared / "search"
        return train_search(shared / "search")


def train_search(out):
    with contextlib.redirect_stdout(io.StringIO()):
        assert exit_code([*SEARCH, "--out", str(out)]) == 0
    return out


def every_case():
    """Whether this is the long run, which tries every case, not CI's sample."""
    return os.environ.get("CORRUPTION_CASES") == "all"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_corruption_of_a_run_folder_fails_cleanly(command, iris_run, request, tmp_path):
    source = request.getfixturevalue("search_folder") if command == "tune" else iris_run
    cases = corruption_cases(source)
    if not every_case():
        cases = sample(cases, command, TUNE_CI_CASES if command == "tune" else None)
    results = [try_case(source, path, name, command, tmp_path / str(number))
               for number, (path, name) in enumerate(cases)]
    unclean = [describe(result) for result in results if failed(result)]
    assert not unclean, f"{len(unclean)} of {len(results)} cases:\n" + "\n".join(unclean)


@pytest.mark.parametrize("path, corruption", DAMAGED_STATE)
def test_a_damaged_search_state_is_refused_in_one_line(path, corruption, search_folder,
                                                       tmp_path):
    result = try_case(search_folder, path, corruption, "tune", tmp_path / "case")
    assert not failed(result) and result["exit"] == 2, describe(result)
    assert "search" in result["first_line"], describe(result)


def test_a_new_file_in_the_run_folder_is_a_case_by_itself(iris_run, tmp_path):
    run_dir = shutil.copytree(iris_run, tmp_path / "run")
    (run_dir / "extra.json").write_text("{}\n")
    (run_dir / "notes").mkdir()
    new = set(corruption_cases(run_dir)) - set(corruption_cases(iris_run))
    assert new == {("extra.json", name) for name in CORRUPTIONS} | {
        ("notes", name) for name in FOR_FOLDERS}
    sampled = {path for path, _ in sample(corruption_cases(run_dir), "predict")}
    assert sampled == {path for path, _ in corruption_cases(run_dir)}  # CI meets it too


def test_the_corruptions_change_a_file_each_in_its_own_way(tmp_path):
    original = bytes(range(256)) * 4
    outcomes = {}
    for name, corruption in CORRUPTIONS.items():
        path = tmp_path / name / "model.keras"
        path.parent.mkdir()
        path.write_bytes(original)
        corruption(path, tmp_path)
        outcomes[name] = (path.is_symlink(), path.is_dir(),
                          path.read_bytes() if path.is_file() else None)
    assert outcomes["truncated"] == (False, False, original[:512])
    assert outcomes["emptied"] == (False, False, b"")
    assert outcomes["swapped"] == (False, True, None)
    assert outcomes["symlinked"] == (True, False, OTHER_DATA.encode())
    assert not (tmp_path / "deleted" / "model.keras").exists()
    flips = [i for i, (a, b) in enumerate(zip(original, outcomes["flipped"][2])) if a != b]
    assert len(flips) == FLIPS
    again = tmp_path / "again" / "model.keras"
    again.parent.mkdir()
    again.write_bytes(original)
    flipped(again, tmp_path)
    assert again.read_bytes() == outcomes["flipped"][2]  # seeded: the same bytes every time
