"""What every benchmark shares: its command line's common flags, the machine it ran on, running
`python -m recipes` as a user does, and writing its report.

Each benchmark is a module run from the repository root, `python -m benchmarks.NAME`, so the
project imports as it is checked out. Its report is `reports/NAME.md` (what a reader reads) and
`reports/NAME.json` (every figure behind it), written atomically; `--quick` is a smoke run that
prints the report and writes nothing, so the committed reports keep their figures.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import recipes  # noqa: F401  (first: it quiets TensorFlow's start-up logging)
from recipes.runs import artifacts, rundir
from recipes.training import devices

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "reports"
DEV_SUITE = ROOT.parent / "shared" / "datasets" / "csv"  # the dev-suite CSVs and their README


def arguments(script, docstring, quick):
    """The parser every benchmark starts from (`script`: its `__file__`): its module docstring
    as the help, `--quick` (`quick` says what the smoke run does) and `--reports`."""
    parser = argparse.ArgumentParser(prog=f"python -m {module(script)}", description=docstring,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help=f"a smoke run: {quick}; prints the report, writes no files")
    parser.add_argument("--reports", type=Path, default=REPORTS,
                        help="folder the report is written into (default: reports/)")
    return parser


def add_recipes(parser, default):
    """`--recipes a,b,c`: which recipes to measure, as a list."""
    parser.add_argument("--recipes", type=lambda text: text.split(","), default=list(default),
                        help=f"comma-separated recipes (default: {','.join(default)})")


def add_dev_suite(parser):
    """`--data-dir`: the folder holding the dev-suite CSVs."""
    parser.add_argument("--data-dir", type=Path, default=DEV_SUITE,
                        help="folder holding the dev-suite CSVs (default: ../shared/datasets/csv)")


def dev_suite(folder, files):
    """`files` (names) in `folder`, as paths; stops the benchmark naming any that is missing."""
    missing = [name for name in files if not (folder / name).is_file()]
    if missing:
        raise SystemExit(f"{', '.join(missing)} not found in {folder}: give the folder holding "
                         "the dev-suite CSVs with --data-dir")
    return [folder / name for name in files]


def recipes_command(arguments, *, peak_memory=False):
    """Run `python -m recipes ARGUMENTS` from the repository root, as a user runs it; returns its
    wall seconds (Python's and TensorFlow's start-up included) and, with `peak_memory`, its peak
    resident memory in MB as GNU time reports it (else None). GNU time, because this process's
    rusage of a child would not do: on Linux a child's maximum starts from its parent's size at
    the fork. A failed command stops the benchmark with the end of its stderr."""
    arguments = [str(argument) for argument in arguments]
    timed = ["/usr/bin/time", "-f", "%M"] if peak_memory else []
    start = time.perf_counter()
    done = subprocess.run([*timed, sys.executable, "-m", "recipes", *arguments], cwd=ROOT,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"`python -m recipes {' '.join(arguments)}` exited {done.returncode}:"
                         f"\n{done.stderr[-3000:]}")
    peak_mb = int(done.stderr.strip().splitlines()[-1]) / 1024 if peak_memory else None  # KB
    return seconds, peak_mb


def machine():
    """What the benchmark ran on, as its JSON keeps it. Called once the measuring is done by the
    benchmarks that measure child processes: asking TensorFlow for its devices starts its
    runtime, which on a GPU would take the memory the children need."""
    return {"device": devices.device_name(), "cpus": os.cpu_count(),
            "versions": rundir.versions()}


def machine_line(ran_on):
    """`machine()`'s answer as the reports print it: device, cores, library versions."""
    versions = ran_on["versions"]
    return (f"{ran_on['device']} ({ran_on['cpus']} cores), TensorFlow {versions['tensorflow']}, "
            f"Keras {versions['keras']}, scikit-learn {versions['scikit-learn']}")


def wall_time_line(seconds, ran_on):
    return f"Total wall time: {seconds:.0f} s on {machine_line(ran_on)}."


def module(script):
    """The benchmark's module name (`script`: its `__file__`): `benchmarks.loops`."""
    return f"{__package__}.{Path(script).stem}"


def written_by(script):
    """The command that regenerates a report, for its first line (`script`: the benchmark's
    `__file__`)."""
    return f"`python -m {module(script)}`"


def finish(args, name, text, data, figures=None):
    """Print the report; unless `--quick`, write it into `--reports` as NAME.md and NAME.json
    (`data`), and each figure of `figures` (file name -> function drawing into a path)."""
    print(text)
    if args.quick:
        return
    artifacts.write_text(args.reports / f"{name}.md", text)
    artifacts.write_json(args.reports / f"{name}.json", data)
    for file_name, draw in (figures or {}).items():
        draw(args.reports / file_name)
