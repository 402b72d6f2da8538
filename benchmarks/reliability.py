"""Reliability, measured: bad input, runs killed and resumed, determinism, and what they cost.

    python -m benchmarks.reliability          # writes reports/reliability.md and .json
    python -m benchmarks.reliability --quick  # fewer epochs, the fit loop only: prints only

1. Bad input: every case of tests/test_bad_inputs.py's table, through the command line in this
   process: the exit code, the one-line message, and whether anything under the inputs changed.
   Then every case of tests/test_failures.py's table: full disks, failing file systems, an
   --out that cannot be created, Ctrl-C and SIGTERM, two writers at once, a dead lock holder:
   the exit code, the one line, what was kept, and whether --resume then finished.
2. Resume: per loop, a run killed with SIGKILL once its backup holds 2 epochs, then resumed with
   --resume, against an uninterrupted run with the same seed: the largest weight difference, the
   test loss difference, the same history or not. Ablations leave one restored piece out: the
   dropout layers' random state, or the epoch-keyed order (tf.data's reshuffling instead).
3. Determinism: each loop twice with the same seed, with and without --deterministic.
4. Cost: seconds per epoch of a run with and without --resume (the backup each epoch), and of
   the epoch-keyed data pipeline against tf.data's reshuffling, for a small table and for
   MNIST-sized arrays.
5. Generated inputs (benchmarks/generated.py): the reader's Hypothesis properties under the long
   profile, and every corruption of a run folder and a search folder.

    python -m benchmarks.reliability --only generated   # part 5 again; the rest kept from
                                                        # reports/reliability.json
"""

import contextlib
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from benchmarks import common, generated
from recipes.cli import main as command_line_main
from recipes.runs import rundir
from recipes.sources import arrays
from recipes.training import callbacks, pipeline
from recipes.workflow import run
from tests.conftest import exit_code
from tests.test_bad_inputs import BAD_INPUTS, build_inputs, command_line, snapshot
from tests.test_failures import FAILURES, Unavailable, as_expected
from tests.test_reliability import RESUMED, stop_after_epoch

LOOPS = ("fit", "tape")


# --- 1. bad input ---------------------------------------------------------------------------


def bad_inputs(workdir):
    """Each table row run once: what came back, and whether it is what the issue asks."""
    inputs = build_inputs(workdir / "inputs")
    rows = []
    for arguments, expected in BAD_INPUTS:
        before = snapshot(inputs)
        error = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stderr(error), contextlib.redirect_stdout(io.StringIO()):
            code = exit_code(command_line(arguments, inputs))
        message = error.getvalue().strip().replace(str(inputs), "IN")
        changed = snapshot(inputs) != before
        rows.append({"case": arguments.replace("{}", "IN"), "exit": code, "message": message,
                     "lines": len(message.splitlines()), "changed_disk": changed,
                     "seconds": round(time.perf_counter() - start, 2),
                     "ok": (code == 2 and len(message.splitlines()) == 1 and not changed
                            and expected.replace("{}", "IN") in message
                            and "Traceback" not in message)})
        print(f"{'ok ' if rows[-1]['ok'] else 'BAD'} {rows[-1]['case']}", flush=True)
    return rows


def failures(workdir, iris_run):
    """Each case of the failure table staged once, in a folder of its own (W in the report)."""
    rows = []
    for number, (case, scenario, code, line) in enumerate(FAILURES):
        folder = workdir / f"failure-{number}"
        folder.mkdir()
        start = time.perf_counter()
        try:
            outcome = scenario(folder, iris_run)
        except Unavailable as why:
            rows.append({"case": case, "skipped": str(why)})
            continue
        rows.append({"case": case, "exit": outcome.exit, "expected_exit": code,
                     "message": outcome.error.strip().replace(str(folder), "W"),
                     "kept": outcome.kept, "resumed": outcome.resumed,
                     "seconds": round(time.perf_counter() - start, 1),
                     "ok": as_expected(outcome, code, line, folder)})
        print(f"{'ok ' if rows[-1]['ok'] else 'BAD'} {case}", flush=True)
    return rows


# --- 2. resume --------------------------------------------------------------------------------


def reshuffled(x, y, batch_size, seed):
    """What the loops' epoch order replaces: tf.data drawing a new order at every iteration."""
    data = tf.data.Dataset.from_tensor_slices((x, y))
    return data.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).batch(batch_size)


def reshuffling(to_dataset):
    """`arrays.to_dataset` with tf.data's reshuffling where the loops ask for the epoch order."""
    def patched(x, y, batch_size, *, order=None, augment=None):
        if order is None:
            return to_dataset(x, y, batch_size, augment=augment)
        data = reshuffled(x, y, batch_size, order.seed)
        return pipeline.ready(data, augment)
    return patched


def ablate(owner, name, replacement):
    """`owner.name` = `replacement(owner.name)`. A name the code no longer has would be set
    and never read: the ablation would silently change nothing, so a missing one stops it."""
    if not hasattr(owner, name):
        raise RuntimeError(f"ablation: {owner.__name__}.{name} no longer exists, so replacing "
                           "it would change nothing; point the ablation at its new home")
    setattr(owner, name, replacement(getattr(owner, name)))


ABLATIONS = {  # what each child process changes before it runs the command line
    "none": lambda: None,
    "without dropout state": lambda: ablate(callbacks, "seed_states", lambda _: lambda model: []),
    # in-memory training batches, both loops' (arrays.Arrays.dataset draws them from here)
    "tf.data reshuffling": lambda: ablate(arrays, "to_dataset", reshuffling),
}


def child(ablation, arguments):
    """The command line with one ablation applied: `-m benchmarks.reliability --child ABLATION
    run ...`."""
    ABLATIONS[ablation]()
    sys.exit(command_line_main(arguments))


def command(ablation, arguments):
    return [sys.executable, "-m", "benchmarks.reliability", "--child", ablation,
            *map(str, arguments)]


def completed(ablation, arguments):
    result = subprocess.run(command(ablation, arguments), cwd=common.ROOT, capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed:\n{result.stderr[-2000:]}")


def compare(folder, reference):
    """Largest weight difference, test loss difference, identical history, both runs' epochs."""
    metrics = [json.loads((f / rundir.METRICS_FILE).read_text()) for f in (folder, reference)]
    weights = [rundir.load(f).model.get_weights() for f in (folder, reference)]
    return {"max_abs_weight_difference": max(float(np.max(np.abs(a - b)))
                                             for a, b in zip(*weights)),
            "test_loss_difference": abs(metrics[0]["test"]["loss"] - metrics[1]["test"]["loss"]),
            "same_history": (folder / rundir.HISTORY_FILE).read_text()
            == (reference / rundir.HISTORY_FILE).read_text(),
            "epochs_run": [m["epochs_run"] for m in metrics]}


def resume_check(loop, ablation, epochs, workdir, reference=None):
    """Kill a --resume run after its second epoch, resume it, compare with an uninterrupted run."""
    arguments = [*RESUMED, "--loop", loop]
    arguments[arguments.index("--epochs") + 1] = str(epochs)
    if reference is None:
        reference = workdir / f"{loop}-{ablation}-uninterrupted"
        completed(ablation, [*arguments, "--out", reference])
    killed = workdir / f"{loop}-{ablation}-killed"
    resumable = [*arguments, "--resume", "--out", killed]
    killed_after, _, _ = stop_after_epoch(command(ablation, resumable), killed, epoch=2)
    start = time.perf_counter()
    completed(ablation, resumable)
    row = {"loop": loop, "ablation": ablation, "epochs": epochs, "killed_after_epoch": killed_after,
           "resume_seconds": round(time.perf_counter() - start, 1), **compare(killed, reference)}
    print(f"resume {loop:<4} {ablation:<22} killed after epoch {killed_after}: max |dw| "
          f"{row['max_abs_weight_difference']:.3g}", flush=True)
    return row, reference


# --- 3. determinism ---------------------------------------------------------------------------


def determinism(loops, epochs, workdir, deterministic):
    """Each loop twice with the same seed, in one process; the runs' differences."""
    arguments = [a for a in RESUMED if a != "--deterministic" or deterministic]
    arguments[arguments.index("--epochs") + 1] = str(epochs)
    flag = "deterministic" if deterministic else "default"
    outs = {(loop, n): workdir / f"{flag}-{loop}-{n}" for loop in loops for n in (1, 2)}
    calls = [[*arguments, "--loop", loop, "--out", str(out)] for (loop, _), out in outs.items()]
    code = f"from recipes.cli import main\nfor arguments in {calls!r}:\n    main(arguments)\n"
    subprocess.run([sys.executable, "-c", code], cwd=common.ROOT, capture_output=True,
                   check=True)
    rows = []
    for loop in loops:
        first, second = outs[(loop, 1)], outs[(loop, 2)]
        tests = [json.loads((f / rundir.METRICS_FILE).read_text())["test"] for f in (first, second)]
        rows.append({"loop": loop, "deterministic": deterministic, **compare(first, second),
                     "max_test_metric_difference": max(abs(tests[0][k] - tests[1][k])
                                                       for k in tests[0])})
    return rows


# --- 4. cost ----------------------------------------------------------------------------------


def seconds_per_epoch(loops, epochs, workdir):
    """Training seconds per epoch of breast-cancer, plain and with --resume (median of 3)."""
    rows = []
    for loop in loops:
        for resumable in (False, True):
            per_epoch = []
            for repeat in range(3):
                metrics = run.run("breast-cancer", run.RunOptions(
                    epochs=epochs, loop=loop, quiet=True, resume=resumable,
                    out=workdir / f"cost-{loop}-{resumable}-{repeat}"))
                per_epoch.append(metrics["train_seconds"] / metrics["epochs_run"])
            rows.append({"loop": loop, "resume": resumable,
                         "ms_per_epoch": round(1000 * float(np.median(per_epoch)), 1)})
    return rows


def pipeline_cost(epochs):
    """Median milliseconds per epoch to draw every training batch: epoch order vs reshuffling."""
    rows = []
    for name, size, shape, batch_size in (("400-row table", 364, (30,), 32),
                                          ("MNIST-sized", 48_750, (28, 28, 1), 128)):
        rng = np.random.default_rng(0)
        x = rng.random((size, *shape), dtype=np.float32)
        y = rng.random((size, 10), dtype=np.float32)
        order = pipeline.EpochOrder(0)
        pipelines = {"epoch order": arrays.Arrays(x, y).dataset(batch_size, order=order),
                     "tf.data reshuffling": reshuffled(x, y, batch_size, seed=0)}
        for kind, data in pipelines.items():
            cpu, wall = [], []
            for epoch in range(epochs):
                order.on_epoch_begin(epoch)
                started_cpu, started = time.process_time(), time.perf_counter()
                for _ in data:
                    pass
                cpu.append(time.process_time() - started_cpu)
                wall.append(time.perf_counter() - started)
            rows.append({"data": name, "pipeline": kind,
                         "wall_ms": round(1000 * float(np.median(wall[2:])), 2),
                         "cpu_ms": round(1000 * float(np.median(cpu[2:])), 2)})
    return rows


# --- the report -------------------------------------------------------------------------------


def failures_section(rows):
    """The failure table's outcomes: one row per case."""
    staged = [r for r in rows if "skipped" not in r]
    yes_no = {True: "yes", False: "**no**", None: "n/a"}
    lines = ["", f"## Failures to write, interrupts, two writers: {sum(r['ok'] for r in staged)} "
             f"of {len(rows)} cases as required", "",
             "Staged by `tests/test_failures.py` (a small tmpfs, simulated I/O errors, signals "
             "sent to a child process once it shows it got that far, two processes at once). "
             "Each must end with the exit status shown and one line, no traceback; keep what it "
             "must (the previous run in --out byte for byte; the previous output file; the "
             "running holder's run) and, where it stopped a run or search that --resume can "
             "continue, --resume then finishes it. W is the case's folder.", "",
             "| case | exit | the one line | kept | --resume then finished | |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['case']} | | skipped: {r['skipped']} | | | |")
            continue
        lines.append(f"| {r['case']} | {r['exit']} | {r['message'].replace('|', '/')} | "
                     f"{yes_no[r['kept']]} | {yes_no[r['resumed']]} | "
                     f"{'✓' if r['ok'] else '✗'} |")
    return lines


def markdown(report, ran_on):
    cases = report["bad_inputs"]
    lines = ["# Reliability", "",
             f"Written by {common.written_by(__file__)} (the cases come from "
             "`tests/test_bad_inputs.py`, which asserts them).", "",
             f"## Bad input: {sum(c['ok'] for c in cases)} of {len(cases)} cases as required",
             "", "Each must exit 2 with one line naming the problem, no traceback, and change "
             "nothing under the inputs folder (IN). ✓: all of that holds.", "",
             "| case | exit | message | disk changed | |", "|---|---|---|---|---|"]
    lines += [f"| `{c['case']}` | {c['exit']} | {c['message'].replace('|', '/')} | "
              f"{'yes' if c['changed_disk'] else 'no'} | {'✓' if c['ok'] else '✗'} |"
              for c in cases]
    lines += failures_section(report["failures"])
    lines += ["", "## Resume after SIGKILL", "",
              f"`{' '.join(RESUMED)} --loop LOOP --resume`, killed once its backup held 2 epochs "
              "(or a few more: polled every 10 ms), then the same command again; compared with "
              "the same run uninterrupted. Ablations leave one restored piece out.", "",
              "| loop | left out | killed after epoch | max abs weight difference | test loss "
              "difference | same history | epochs run (resumed, uninterrupted) |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['loop']} | {r['ablation']} | {r['killed_after_epoch']} | "
              f"{r['max_abs_weight_difference']:.3g} | {r['test_loss_difference']:.3g} | "
              f"{'yes' if r['same_history'] else 'no'} | {r['epochs_run']} |"
              for r in report["resume"]]
    lines += ["", "## Determinism", "", "Each loop run twice with `--seed 3`, one process.", "",
              "| loop | --deterministic | max abs weight difference | max test metric difference "
              "| same history |", "|---|---|---|---|---|"]
    lines += [f"| {r['loop']} | {'yes' if r['deterministic'] else 'no'} | "
              f"{r['max_abs_weight_difference']:.3g} | {r['max_test_metric_difference']:.3g} | "
              f"{'yes' if r['same_history'] else 'no'} |" for r in report["determinism"]]
    lines += ["", "## Cost", "", "breast-cancer, training seconds per epoch (median of 3 runs): "
              "--resume commits a backup (weights, optimizer, callbacks' state) every epoch.", "",
              "| loop | --resume | ms per epoch |", "|---|---|---|"]
    lines += [f"| {r['loop']} | {'yes' if r['resume'] else 'no'} | {r['ms_per_epoch']} |"
              for r in report["seconds_per_epoch"]]
    lines += ["", "Drawing one epoch of training batches (median): the epoch-keyed order the loops "
              "use (one gather per epoch, cut natively into batches) against tf.data's "
              "per-example reshuffling.", "", "| data | pipeline | wall ms | CPU ms |",
              "|---|---|---|---|"]
    lines += [f"| {r['data']} | {r['pipeline']} | {r['wall_ms']} | {r['cpu_ms']} |"
              for r in report["pipeline"]]
    lines += generated.section(report["generated"])
    lines += ["", common.wall_time_line(report["seconds"], ran_on)]
    lines += [f"Rerun later with `--only {parts}`: {seconds:.0f} s; the parts not named in such a "
              f"line are from the full run." for parts, seconds in
              report.get("seconds_again", {}).items()]
    return "\n".join(lines) + "\n"


def generated_inputs(workdir, iris_run, quick):
    """Part 5: the Hypothesis suite (its ci profile with --quick) and every corruption."""
    search = workdir / "search"
    with contextlib.redirect_stdout(io.StringIO()):
        assert exit_code(["tune", "iris", "--max-trials", "2", "--epochs", "1", "--quiet",
                          "--out", str(search)]) == 0
    return {"hypothesis": generated.hypothesis_suite("ci" if quick else "long"),
            "corrupted": generated.corrupted_folders(iris_run, search)}


def main():
    if sys.argv[1:2] == ["--child"]:  # a child process of the resume checks
        return child(sys.argv[2], sys.argv[3:])
    parser = common.arguments(__file__, __doc__, quick="4 epochs, the fit loop, no ablations")
    parser.add_argument("--only", nargs="+", choices=["bad_inputs", "generated"],
                        help="rerun these parts only (1's bad-input table, 5), keeping the rest "
                        "of reports/reliability.json")
    args = parser.parse_args()
    loops, epochs = (("fit",), 4) if args.quick else (LOOPS, 12)
    ablations = ("none",) if args.quick else tuple(ABLATIONS)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        workdir = Path(workdir)
        if args.only:
            report = json.loads((args.reports / "reliability.json").read_text())
            if "bad_inputs" in args.only:
                report["bad_inputs"] = bad_inputs(workdir)
            if "generated" in args.only:
                iris_run = workdir / "iris_run"
                assert exit_code(["run", "iris", "--epochs", "1", "--quiet", "--out",
                                  str(iris_run)]) == 0
                report["generated"] = generated_inputs(workdir, iris_run, args.quick)
            report.setdefault("seconds_again", {})[" ".join(args.only)] = \
                time.perf_counter() - start
            return common.finish(args, "reliability", markdown(report, common.machine()), report)
        report = {"bad_inputs": bad_inputs(workdir), "resume": []}
        report["failures"] = failures(workdir, workdir / "inputs" / "iris_run")
        for loop in loops:
            reference = None
            for ablation in ablations:
                shares_reference = ablation == "without dropout state"  # only resuming differs
                row, made = resume_check(loop, ablation, epochs, workdir,
                                         reference if shares_reference else None)
                reference = reference or made
                report["resume"].append(row)
        report["determinism"] = [row for deterministic in (True, False)
                                 for row in determinism(loops, epochs, workdir, deterministic)]
        report["seconds_per_epoch"] = seconds_per_epoch(loops, 10 if args.quick else 40, workdir)
        report["pipeline"] = pipeline_cost(5 if args.quick else 20)
        report["generated"] = generated_inputs(workdir, workdir / "inputs" / "iris_run",
                                               args.quick)
    report["seconds"] = time.perf_counter() - start
    common.finish(args, "reliability", markdown(report, common.machine()), report)


if __name__ == "__main__":
    main()
