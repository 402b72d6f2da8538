"""Generated inputs for reports/reliability.md: the Hypothesis suite of the reader under its long
profile, and every corruption of a run folder and a search folder (benchmarks/reliability.py
calls both; `python -m benchmarks.reliability --only generated` reruns just these).

The cases are the tests' own: tests/test_generated_tables.py (run by pytest, as CI runs it, with
`--hypothesis-profile long`) and tests/test_corrupted_runs.py's `corruption_cases`/`try_case`
(every case, where CI runs a sample).
"""

import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.common import ROOT
from tests.test_corrupted_runs import (COMMANDS, DAMAGED_STATE, corruption_cases, failed,
                                       sample, try_case)

PROPERTIES = "tests/test_generated_tables.py"
# `tune --resume` retrains the kept model in every case it accepts (~12 s): every case of a search
# folder (180) takes half an hour, so a seeded sample of its entries and the damaged-state cases
# (CORRUPTION_CASES=all python -m pytest tests/test_corrupted_runs.py runs them all)
TUNE_SAMPLE = 20
STATISTICS = re.compile(r"^(tests/\S+::(\w+)):$|(\d+) passing, (\d+) failing", re.M)


def hypothesis_suite(profile):
    """Each property's examples under `profile`: passing, failing, and the suite's exit code."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", PROPERTIES, "-q", "-n", "0", "-p", "no:cacheprovider",
         f"--hypothesis-profile={profile}", "--hypothesis-show-statistics"],
        cwd=ROOT, capture_output=True, text=True)
    rows, name = [], None
    for match in STATISTICS.finditer(done.stdout):
        if match.group(2):
            name = match.group(2)
        elif name:  # the generate phase's line: what counts as examples tried
            rows.append({"property": name, "passing": int(match.group(3)),
                         "failing": int(match.group(4))})
            name = None
    return {"profile": profile, "exit": done.returncode, "properties": rows,
            "seconds": time.perf_counter() - start}


def corrupted_folders(run_dir, search_dir):
    """Every corruption case of each command: how each ended."""
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for command in COMMANDS:
            source = search_dir if command == "tune" else run_dir
            cases = corruption_cases(source)
            if command == "tune":
                cases = sorted({*sample(cases, command, TUNE_SAMPLE), *DAMAGED_STATE})
            start = time.perf_counter()
            results = [try_case(source, path, name, command, Path(workdir) / command / str(i))
                       for i, (path, name) in enumerate(cases)]
            ends = Counter("unclean" if failed(r) else "exit 0" if r["exit"] == 0 else
                           "exit 2, one line" for r in results)
            rows.append({"command": command, "entries": len({p for p, _ in cases}),
                         "cases": len(results), "of": len(corruption_cases(source)), **ends,
                         "by_corruption": dict(Counter(r["corruption"] for r in results
                                                       if r["exit"] == 2)),
                         "unclean_cases": [r for r in results if failed(r)],
                         "seconds": time.perf_counter() - start})
    return rows


def section(report):
    """The Markdown of both parts."""
    suite = report["hypothesis"]
    tried = sum(r["passing"] + r["failing"] for r in suite["properties"])
    failing = sum(r["failing"] for r in suite["properties"])
    lines = ["", f"## Generated tables: {tried:,} cases tried, {failing} failures", "",
             f"`python -m pytest {PROPERTIES} --hypothesis-profile {suite['profile']}` (CI runs "
             "the same properties with the `ci` profile: 60 fixed examples each). Tables of "
             "random column kinds, missing markers, quoting, separators, encodings, line ends, "
             "compressions and sizes, and arbitrary bytes; each must read back as written or be "
             "refused with one line, never another exception. Test cases per property (its "
             f"generate phase), {suite['seconds']:.0f} s in all, pytest exit {suite['exit']}:", "",
             "| property | passing | failing |", "|---|---|---|"]
    lines += [f"| `{r['property']}` | {r['passing']:,} | {r['failing']} |"
              for r in suite["properties"]]
    rows = report["corrupted"]
    cases = sum(r["cases"] for r in rows)
    unclean = sum(r.get("unclean", 0) for r in rows)
    lines += ["", f"## Corrupted run folders: {cases:,} cases, {unclean} unclean", "",
              "Every file and folder of a finished iris run (and of a finished 2-trial search, "
              "for `tune --resume`), found by walking it, each truncated, emptied, bytes "
              "flipped, swapped for a folder (or a folder for a file), replaced by a symlink to "
              "other data, or deleted (`tests/test_corrupted_runs.py`, which CI runs on a "
              "sample). Clean: exit 0, or exit 2 with one line and no traceback, and nothing "
              "changed outside the command's output. `tune --resume` retrains in every case it "
              f"accepts: a seeded sample of {TUNE_SAMPLE} entries and the damaged-state cases "
              "of the test, of all its cases.", "",
              "| command | entries | cases tried (of) | exit 0 | exit 2, one line | unclean | "
              "seconds |", "|---|---|---|---|---|---|---|"]
    lines += [f"| `{r['command']}` | {r['entries']} | {r['cases']} ({r['of']}) | "
              f"{r.get('exit 0', 0)} | "
              f"{r.get('exit 2, one line', 0)} | {r.get('unclean', 0)} | {r['seconds']:.0f} |"
              for r in rows]
    return lines
