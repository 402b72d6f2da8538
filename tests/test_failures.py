"""Failures as a user meets them, one table (`FAILURES`), one runner: a full disk, a file system
that fails or is read-only, an --out that cannot be created, Ctrl-C and SIGTERM (sent to a child
process once it shows it got that far), a second process aimed at a folder in use, a lock left
by a dead process.

Each case ends with one line and its exit status (2; 130 for SIGINT, 143 for SIGTERM), keeps
what it must (the previous run in --out byte for byte, the previous output file, the run of the
process holding the folder) and, where it stopped a run or a search that --resume can continue,
--resume then finishes it: the search reruns only the trial in flight.
benchmarks/reliability.py reports the same table in reports/reliability.md.
"""

import contextlib
import errno
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from unittest import mock

import keras
import pandas as pd
import pytest

from recipes.runs import interrupts, lock, rundir
from recipes.training import callbacks, train
from recipes.workflow import run
from recipes.workflow.prepare import build_network, prepare
from recipes.tuning import TuneOptions, tune
from tests.conftest import ROOT, exit_code

# --- child processes ----------------------------------------------------------------------------


def recipes(*arguments):
    return [sys.executable, "-m", "recipes", *map(str, arguments)]


def start(command):
    """Start `command` (an argv list); its stderr goes to a file (a pipe left unread could fill
    up and stall it), read back by `finish`; a crash writes its Python traceback there
    (faulthandler). It starts with Ctrl-C's default action even where the suite runs ignoring it
    (under `nohup`, or as a background job), which the CLI keeps."""
    error = tempfile.TemporaryFile("w+")
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT),
                                                         "PYTHONFAULTHANDLER": "1"},
                               stdout=subprocess.DEVNULL, stderr=error, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    process.error_file = error
    return process


def wait_for(condition, process, what):
    """Poll `condition` until it holds: the sign that `process` got as far as `what`."""
    deadline = time.monotonic() + 300
    while not condition():
        assert process.poll() is None, f"ended before {what}: {finish(process)}"
        assert time.monotonic() < deadline, f"no sign of {what} after 300 s"
        time.sleep(0.01)


def finish(process):
    """Wait for `process`: its exit status and its stderr."""
    process.wait(timeout=300)
    process.error_file.seek(0)
    return process.returncode, process.error_file.read()


def cli(arguments):
    """The command line in this process: its exit status, stderr and stdout."""
    error, output = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(error), contextlib.redirect_stdout(output):
        code = exit_code([str(a) for a in arguments])
    return code, error.getvalue(), output.getvalue()


def backed_up(out):
    """The epochs the backup in OUT's staging folder holds (0: none)."""
    return callbacks.resumed_after(out / rundir.STAGING_DIR)


# --- what a case keeps --------------------------------------------------------------------------


def files(folder):
    """Every file under `folder` outside the staging folder, with a hash of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and rundir.STAGING_DIR not in p.relative_to(folder).parts}


def previous_run(workdir, iris_run):
    """A copy of a finished iris run in WORKDIR/iris, and a check that it is still as it was."""
    out = workdir / "iris"
    shutil.copytree(iris_run, out)
    before, names = files(out), sorted(p.name for p in out.iterdir())
    return out, lambda: files(out) == before and sorted(
        p.name for p in out.iterdir() if p.name != rundir.STAGING_DIR) == names


class Unavailable(Exception):
    """This machine cannot stage the case (no tmpfs mounts): the test is skipped."""


@contextlib.contextmanager
def tmpfs(folder, options):
    """A tmpfs mounted on `folder` (needs root or CAP_SYS_ADMIN; the simulated cases run
    everywhere)."""
    folder.mkdir()
    mount = shutil.which("mount")
    result = mount and subprocess.run([mount, "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                                      capture_output=True, text=True)
    if not result or result.returncode != 0:
        why = result.stderr.strip() if result else "no mount command"
        raise Unavailable(f"cannot mount a tmpfs: {why}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@dataclass
class Outcome:
    exit: int
    error: str  # stderr
    kept: bool | None  # what must survive did, byte for byte; None: nothing to keep
    resumed: bool | None = None  # --resume then finished the job; None: nothing to resume


# --- failures to write --------------------------------------------------------------------------


def full_disk(workdir, iris_run):
    """A 4 MB tmpfs filled up to 100 KB: room for the first epoch's backup, not for the run."""
    with tmpfs(workdir / "disk", "size=4m") as disk:
        out, untouched = previous_run(disk, iris_run)
        (disk / "filler").write_bytes(bytes(shutil.disk_usage(disk).free - 100_000))
        again = ["run", "iris", "--epochs", "8", "--resume", "--out", out]
        code, error, _ = cli([*again, "--quiet"])
        kept, unchanged = backed_up(out), untouched()
        (disk / "filler").unlink()
        resumed = cli(again)
    return Outcome(code, error, unchanged, kept >= 1 and resumed[0] == 0
                   and f"resuming the run in {out} after epoch {kept}" in resumed[2])


def full_disk_in_a_search(workdir, _iris_run):
    """A search on a tmpfs filled up to 130 KB: it stops at a trial's checkpoint (or keras-tuner's
    state); after room is made, --resume runs the unfinished trials, and only them."""
    with tmpfs(workdir / "disk", "size=4m") as disk:
        out = disk / "search"
        (disk / "filler").write_bytes(bytes(shutil.disk_usage(disk).free - 130_000))
        code, error, _ = cli(["tune", "iris", "--max-trials", "3", "--epochs", "3", "--quiet",
                              "--out", out])
        finished = sorted(p.parent.name[len("trial_"):]
                          for p in (out / "search").glob("trial_*/trial.json")
                          if json.loads(p.read_text())["status"] == "COMPLETED")
        (disk / "filler").unlink()
        ran = []
        tune("iris", run.RunOptions(epochs=3, quiet=True, out=out),
             TuneOptions(max_trials=3, resume=True),
             after_trial=lambda trial: ran.append(trial.trial_id))
    return Outcome(code, error, None, sorted(finished + ran) == ["0", "1", "2"])


def failed_rename(target, code):
    """The first rename onto OUT/`target` fails with `code`: simulated, so it runs anywhere."""
    def scenario(workdir, iris_run):
        out, untouched = previous_run(workdir, iris_run)
        replace, failed = os.replace, []

        def failing(source, destination):
            if Path(destination) == out / target and not failed:
                failed.append(destination)
                raise OSError(code, os.strerror(code), str(source))
            replace(source, destination)

        with mock.patch("os.replace", failing):
            result = cli(["run", "iris", "--epochs", "2", "--seed", "1", "--quiet", "--out", out])
        return Outcome(*result[:2], untouched())
    return scenario


def unwritable(make):
    """--out OUT, where `make(workdir)` sets up why OUT cannot be created."""
    def scenario(workdir, _iris_run):
        out = make(workdir)
        before = sorted(workdir.iterdir())
        code, error, _ = cli(["run", "iris", "--epochs", "1", "--quiet", "--out", out])
        return Outcome(code, error, sorted(workdir.iterdir()) == before)
    return scenario


def dangling_link(workdir):
    (workdir / "dangling").symlink_to(workdir / "missing")
    return workdir / "dangling" / "run"


def link_loop(workdir):
    (workdir / "loop").symlink_to(workdir / "loop")
    return workdir / "loop" / "run"


def read_only(workdir, _iris_run):
    with tmpfs(workdir / "disk", "size=1m,ro") as disk:
        return Outcome(*cli(["run", "iris", "--epochs", "1", "--quiet", "--out", disk / "run"])[:2],
                       not any(disk.iterdir()))


def predict_on_a_full_disk(workdir, iris_run):
    rows, output = workdir / "rows.csv", workdir / "predictions.csv"
    rows.write_text("sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n"
                    "5.1,3.5,1.4,0.2\n")
    output.write_text("the previous predictions\n")

    def no_space(*_arguments, **_keywords):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with mock.patch.object(pd.DataFrame, "to_csv", no_space):
        code, error, _ = cli(["predict", "--model", iris_run, "--data", rows, "--output", output])
    return Outcome(code, error, output.read_text() == "the previous predictions\n"
                   and sorted(p.name for p in workdir.iterdir()) == [output.name, rows.name])


# --- Ctrl-C and SIGTERM -------------------------------------------------------------------------

# Trains for a minute or more: long enough to be stopped, however busy the machine.
LONG = ["--epochs", "3000", "--quiet", "--set", "learning_rate=1e-4"]


def ctrl_c(workdir, iris_run):
    """SIGINT once training has begun, without --resume: nothing kept, the previous run whole."""
    out, untouched = previous_run(workdir, iris_run)
    process = start(recipes("run", "iris", *LONG, "--out", out))
    wait_for(lambda: (out / rundir.STAGING_DIR / rundir.LOG_DIR).exists(), process, "training")
    process.send_signal(signal.SIGINT)
    return Outcome(*finish(process), untouched() and not (out / rundir.STAGING_DIR).exists())


def sigterm(workdir, iris_run):
    """SIGTERM once an epoch is backed up (--resume): the epochs kept; resuming finishes."""
    out, untouched = previous_run(workdir, iris_run)
    arguments = ["run", "iris", *LONG, "--resume", "--out", out]
    arguments[arguments.index("3000")] = "20"  # still training when stopped; resuming is quick
    process = start(recipes(*arguments))
    wait_for(lambda: backed_up(out) >= 1, process, "the first epoch")
    process.send_signal(signal.SIGTERM)
    code, error = finish(process)
    kept, unchanged = backed_up(out), untouched()
    resumed = cli([a for a in arguments if a != "--quiet"])
    return Outcome(code, error, unchanged, f"in epoch {kept + 1};" in error and resumed[0] == 0
                   and f"resuming the run in {out} after epoch {kept}" in resumed[2])


def ctrl_c_in_a_search(workdir, _iris_run):
    """SIGINT in a search's second trial: left unfinished; --resume runs it, and only it, again."""
    out = workdir / "search"
    process = start(recipes("tune", "iris", "--max-trials", "3", "--epochs", "15", "--quiet",
                            "--out", out))
    second = out / "search" / "trial_1" / "trial.json"  # the first trial ended, the second began
    wait_for(second.exists, process, "the second trial")
    process.send_signal(signal.SIGINT)
    code, error = finish(process)
    status = {p.parent.name: json.loads(p.read_text())["status"]
              for p in (out / "search").glob("trial_*/trial.json")}
    ran = []
    tune("iris", run.RunOptions(epochs=15, quiet=True, out=out),
         TuneOptions(max_trials=3, resume=True),
         after_trial=lambda trial: ran.append(trial.trial_id))
    return Outcome(code, error, status == {"trial_0": "COMPLETED", "trial_1": "RUNNING"},
                   ran == ["1", "2"])


# --- one writer per folder ----------------------------------------------------------------------


def second_run(workdir, _iris_run):
    """A second process runs into a folder a first one (stopped meanwhile) holds; the first
    then finishes its run."""
    out = workdir / "iris"
    arguments = ["run", "iris", "--epochs", "10", "--quiet", "--out", out]
    first = start(recipes(*arguments))  # 10 epochs: still running when it is seen holding the lock
    held = out / lock.LOCK_FILE
    wait_for(lambda: held.exists() and held.stat().st_size > 0, first, "the lock")
    first.send_signal(signal.SIGSTOP)
    try:
        code, error, _ = cli(arguments)
    finally:
        first.send_signal(signal.SIGCONT)
    return Outcome(code, error, finish(first)[0] == 0 and (out / rundir.METRICS_FILE).is_file())


def second_export(workdir, iris_run):
    """An export into a folder this process holds, on another open file: flock refuses it."""
    out = workdir / "export"
    with lock.locked(out, "export"):
        code, error, _ = cli(["export", "--model", iris_run, "--out", out])
    return Outcome(code, error, not out.exists())


def dead_holder(workdir, _iris_run):
    """A lock file naming a process that ended without removing it: no one holds its flock."""
    out = workdir / "iris"
    out.mkdir()
    (out / lock.LOCK_FILE).write_text(json.dumps(
        {"command": "run", "pid": 4194305, "host": "gone", "since": "2020-01-01 00:00:00"}))
    code, error, _ = cli(["run", "iris", "--epochs", "1", "--quiet", "--out", out])
    return Outcome(code, error, (out / rundir.METRICS_FILE).is_file()
                   and not (out / lock.LOCK_FILE).exists())


# --- the table ----------------------------------------------------------------------------------

CANNOT_WRITE = r"error: cannot write --out {}/iris: "
NOTHING_KEPT = (r"; nothing was kept and {}/iris is as it was \(--resume keeps every finished "
                r"epoch\)")
FAILURES = [  # (case, scenario, exit status, the one line: a regex, {} the work folder)
    ("a full disk (a tmpfs), run --resume over a previous run", full_disk, 2,
     r"error: cannot write --out {}/disk/iris: No space left on device \(\.staging/.+\); "
     r"epoch \d+ is kept: run the same command with --resume to continue"),
    ("a full disk (a tmpfs) in a search", full_disk_in_a_search, 2,
     r"error: cannot write --out {}/disk/search: No space left on device( \(.+\))?; the search so "
     r"far is kept: run the same command with --resume to continue( \(trial \d runs again\))?"),
    ("ENOSPC writing the first checkpoint (simulated)",
     failed_rename(f"{rundir.STAGING_DIR}/{rundir.CHECKPOINT_FILE}", errno.ENOSPC), 2,
     CANNOT_WRITE + r"No space left on device \(\.staging/checkpoint\.weights\.h5\)"
     + NOTHING_KEPT),
    ("EIO midway through promotion: the file system went away (simulated)",
     failed_rename(rundir.MODEL_FILE, errno.EIO), 2,
     CANNOT_WRITE + r"Input/output error \(\.staging/model\.keras\)" + NOTHING_KEPT),
    ("EROFS at promotion's last rename: remounted read-only (simulated)",
     failed_rename(rundir.METRICS_FILE, errno.EROFS), 2,
     CANNOT_WRITE + r"Read-only file system \(\.staging/metrics\.json\)" + NOTHING_KEPT),
    ("--out through a link to nowhere", unwritable(dangling_link), 2,
     r"error: cannot write --out {}/dangling/run: {}/dangling is a link to {}/missing, which "
     r"leads nowhere \(No such file or directory\)"),
    ("--out through links in a loop", unwritable(link_loop), 2,
     r"error: cannot write --out {}/loop/run: {}/loop is a link to {}/loop, which leads nowhere "
     r"\(Too many levels of symbolic links\)"),
    ("--out named beyond the file system's limit", unwritable(lambda w: w / "new" / ("x" * 300)),
     2, r"error: cannot write --out {}/new/x+: File name too long"),
    ("--out on a read-only file system (a tmpfs)", read_only, 2,
     r"error: cannot write --out {}/disk/run: {}/disk is not writable"),
    ("predict --output on a full disk (simulated)", predict_on_a_full_disk, 2,
     r"error: cannot write --output {}/predictions\.csv: No space left on device"),
    ("Ctrl-C (SIGINT) while a run trains", ctrl_c, 130, r"interrupted" + NOTHING_KEPT),
    ("SIGTERM while a run --resume trains", sigterm, 143,
     r"interrupted in epoch \d+; run the same command with --resume to continue"),
    ("Ctrl-C (SIGINT) in a search's second trial", ctrl_c_in_a_search, 130,
     r"interrupted in trial 1; run the same command with --resume to continue"),
    ("a second run into a folder in use", second_run, 2,
     r"error: {}/iris is in use by `run` \(PID \d+ on .+, since .+\); wait for it to finish, or "
     r"choose another --out"),
    ("an export into a folder in use", second_export, 2,
     r"error: {}/export is in use by `export` \(PID \d+ on .+\); wait for it to finish, or choose "
     r"another --out"),
    ("a lock left by a dead process", dead_holder, 0,
     r"note: taking over {}/iris from `run` \(PID 4194305 on gone, since 2020-01-01 00:00:00\), "
     r"which ended without releasing it"),
]
SLOW = {full_disk_in_a_search, ctrl_c_in_a_search}  # a search, then its resumption: a minute+


def as_expected(outcome, code, line, workdir):
    """Whether `outcome` is what the table promises: the exit status, one line and no traceback,
    what must be kept kept, and --resume finished where it applies."""
    error = outcome.error.rstrip("\n")
    return (outcome.exit == code and outcome.error.count("\n") == 1
            and re.fullmatch(line.replace("{}", re.escape(str(workdir))), error) is not None
            and outcome.kept in (None, True) and outcome.resumed in (None, True))


@pytest.mark.parametrize("case, scenario, code, line", [
    pytest.param(*row, marks=[pytest.mark.slow] if row[1] in SLOW else [], id=row[0])
    for row in FAILURES])
def test_each_failure_is_one_line_and_keeps_what_it_must(case, scenario, code, line, iris_run,
                                                        tmp_path):
    try:
        outcome = scenario(tmp_path, iris_run)
    except Unavailable as why:
        pytest.skip(str(why))
    assert as_expected(outcome, code, line, tmp_path), outcome


def test_a_signal_a_library_swallowed_still_stops_training():
    """Keras has bare `except:` blocks: a signal's `Interrupted` raised inside one is lost, so
    training's next safe point raises it again; once the command is over, nothing is left."""
    stop = callbacks.StopOnSignal()
    with interrupts.handled():
        try:
            signal.raise_signal(signal.SIGTERM)  # the handler raises as this call returns
        except:  # noqa: E722 (what such a library does)
            pass
        with pytest.raises(interrupts.Interrupted) as raised:
            stop.on_train_batch_end(0)
        assert raised.value.exit_code == 143
        stop.on_train_batch_end(1)  # raised again once, not forever
        try:
            signal.raise_signal(signal.SIGTERM)
        except interrupts.Interrupted:  # not swallowed: it ends the command, as here
            pass
    stop.on_epoch_end(0)  # the next command's training starts clean


class SignalAtEpochBegin(keras.callbacks.Callback):
    """Sends this process SIGTERM as the first epoch begins, at a point inside Keras' code."""

    def on_epoch_begin(self, epoch, logs=None):
        signal.raise_signal(signal.SIGTERM)


@pytest.mark.parametrize("loop", ["fit", "tape"])
def test_a_signal_during_training_stops_it_at_the_end_of_a_call_into_tensorflow(loop):
    """Training is shielded: a signal is raised once the steps running when it arrived end
    (`fit`'s batch hook, the tape loop's check, after each call of `steps_per_execution` steps),
    never where it arrived inside Keras' or TensorFlow's code; the epoch it arrived in does not
    run on to its end."""
    plan, loaded = prepare("iris", run.RunOptions(quiet=True, loop=loop))
    config = replace(plan.config, batch_size=3, epochs=2)
    network = build_network(plan, loaded)
    assert len(loaded.sources["train"]) / 3 > network.steps_per_execution > 1  # steps an epoch
    with interrupts.handled(), pytest.raises(interrupts.Interrupted) as raised:
        train.train(network, loaded.sources["train"], loaded.sources["val"], config,
                    callbacks=[SignalAtEpochBegin(), *callbacks.make(config)])
    assert raised.value.exit_code == 143
    assert int(network.optimizer.iterations) == network.steps_per_execution


def test_a_signal_a_library_turned_into_its_own_error_still_exits_as_that_signal(capsys):
    """A SIGTERM raised inside TensorFlow's device scope came out as its RuntimeError ("Exiting
    device scope without proper scope nesting"), a traceback and exit 1: it is the signal's
    one line and exit 143. Any other error still propagates."""
    @interrupts.exits
    def scoped():
        try:
            raise interrupts.Interrupted(signal.SIGTERM)
        except KeyboardInterrupt:
            raise RuntimeError("Exiting device scope without proper scope nesting")

    assert scoped() == 143
    assert len(capsys.readouterr().err.strip().splitlines()) == 1

    @interrupts.exits
    def interrupted():  # the usual way: the interrupt itself gets out
        raise interrupts.Interrupted(signal.SIGINT)

    assert interrupted() == 130
    assert len(capsys.readouterr().err.strip().splitlines()) == 1

    @interrupts.exits
    def broken():
        raise RuntimeError("a real bug")

    with pytest.raises(RuntimeError, match="a real bug"):
        broken()
