"""The benchmarks still run after a refactor: each answers `python -m benchmarks.NAME --help`,
each report names the command that regenerates it, and the reliability ablations change what
they say they change."""

import ast
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from benchmarks import csv_choices, csv_suite, peers, reliability
from recipes.data.dataset import DataOptions
from recipes.sources import arrays
from recipes.training import callbacks
from recipes.training.pipeline import EpochOrder
from recipes.workflow.prepare import prepare
from recipes.workflow.run import RunOptions
from tests.conftest import ROOT

BENCHMARKS = sorted(path.stem for path in (ROOT / "benchmarks").glob("*.py")  # not the helpers
                    if 'if __name__ == "__main__":' in path.read_text())


# What `python -m benchmarks.NAME --help` does, for every NAME in one process, so TensorFlow is
# imported once: runpy runs the module as __main__, as -m does; one line per benchmark.
HELP_ALL = """
import contextlib, io, runpy, sys, traceback
for name in sys.argv[1:]:
    sys.argv = [name, "--help"]
    shown = io.StringIO()
    try:
        with contextlib.redirect_stdout(shown):
            runpy.run_module(f"benchmarks.{name}", run_name="__main__", alter_sys=True)
        code = "returned without exiting"
    except SystemExit as exit_:
        code = exit_.code
    except Exception:
        code = traceback.format_exc(limit=-3).replace(chr(10), " | ")
    usage = f"usage: python -m benchmarks.{name}" in shown.getvalue()
    print(name, "ok" if code == 0 and usage else f"exit {code}, usage shown: {usage}")
"""


def test_every_benchmark_answers_help():
    done = subprocess.run([sys.executable, "-c", HELP_ALL, *BENCHMARKS], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    answers = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert answers == {name: "ok" for name in BENCHMARKS}
    assert len(BENCHMARKS) >= 8


def test_each_benchmark_says_how_it_runs_and_adds_no_path_of_its_own():
    for name in BENCHMARKS:
        source = (ROOT / "benchmarks" / f"{name}.py").read_text()
        assert f"python -m benchmarks.{name}" in ast.get_docstring(ast.parse(source)), name
        assert "sys.path" not in source, name


def test_each_report_names_the_benchmark_that_writes_it():
    for report in sorted((ROOT / "reports").glob("*.md")):
        written_by = re.search(r"Written by `python -m benchmarks\.(\w+)`", report.read_text())
        assert written_by, report.name
        assert written_by.group(1) in BENCHMARKS, report.name


def epoch_orders(source, epochs, seed=3, batch_size=8):
    """Each of `epochs`' order of `source`'s examples, read from ONE pipeline as both loops read
    training batches (`source.dataset` with an `EpochOrder`, told each epoch before its first
    batch): the example numbers, the targets here, in the order the batches bring them."""
    order = EpochOrder(seed)
    batches = source.dataset(batch_size, order=order)
    orders = []
    for epoch in epochs:
        order.on_epoch_begin(epoch)
        orders.append(np.concatenate([targets.numpy()[:, 0] for _, targets in batches]))
    return orders


def test_the_reshuffling_ablation_really_drops_the_epoch_order(monkeypatch):
    """The epoch order lets a run resumed at epoch 1 (a fresh pipeline) replay the epoch 1 of
    the run it continues; the ablation's tf.data reshuffling replays epoch 0's order instead.
    (It once patched names no module read any more, and changed nothing.)"""
    numbers = np.arange(64, dtype="float32")[:, None]
    source = arrays.Arrays(numbers, numbers)
    kept = epoch_orders(source, [0, 1])
    [kept_resumed] = epoch_orders(source, [1])
    np.testing.assert_array_equal(kept_resumed, kept[1])
    assert not np.array_equal(kept[0], kept[1])

    monkeypatch.setattr(arrays, "to_dataset", arrays.to_dataset)  # restored after the test
    reliability.ABLATIONS["tf.data reshuffling"]()
    ablated = epoch_orders(source, [0, 1])
    [ablated_resumed] = epoch_orders(source, [1])
    assert not np.array_equal(ablated_resumed, ablated[1])
    assert not np.array_equal(ablated[1], kept[1])
    for order in (*ablated, ablated_resumed):  # still every example once an epoch
        np.testing.assert_array_equal(np.sort(order), numbers[:, 0])


def test_the_dropout_state_ablation_replaces_what_the_backup_saves(monkeypatch):
    monkeypatch.setattr(callbacks, "seed_states", callbacks.seed_states)  # restored after
    reliability.ABLATIONS["without dropout state"]()
    assert callbacks.seed_states(model=None) == []


def test_an_ablation_of_a_name_that_is_gone_fails_loudly():
    with pytest.raises(RuntimeError, match="no longer exists"):
        reliability.ablate(arrays, "no_such_pipeline", lambda old: old)


@pytest.mark.parametrize("peer", peers.available())
def test_each_peer_learns_a_table_with_categories_dates_and_gaps_from_the_runs_split(tmp_path,
                                                                                     peer):
    """The peers see the run's own split, categories as categories (a gap its own level) and a
    date as numbers: on a table whose label is the category, each is near perfect on test."""
    rows = 300
    kind = np.array(["red", "blue", "green"], dtype=object)[np.arange(rows) % 3]
    kind[::17] = ""
    frame = pd.DataFrame({"size": np.random.default_rng(0).normal(size=rows), "kind": kind,
                          "day": pd.date_range("2020-01-01", periods=rows).strftime("%Y-%m-%d"),
                          "label": np.where(kind == "red", "yes", "no")})
    frame.to_csv(tmp_path / "t.csv", index=False)
    options = RunOptions(quiet=True, data=DataOptions(path=str(tmp_path / "t.csv"),
                                                      target="label"))
    plan, loaded = prepare("csv", options)
    assert list(peers.view(loaded, "test").columns) == [
        "size", "kind", "day_year", "day_month", "day_days", "day_weekday", "day_yearday"]
    accuracy, seconds = peers.fit_and_score(peer, plan, loaded, seed=0)
    assert accuracy > 0.95 and seconds >= 0


def test_the_error_ratio_compares_errors_and_has_no_ratio_against_a_perfect_score():
    assert csv_suite.error_ratio("accuracy", 0.9, 0.8) == pytest.approx(0.5)
    assert csv_suite.error_ratio("mae", 3.0, 2.0) == pytest.approx(1.5)
    assert csv_suite.error_ratio("accuracy", 0.99, 1.0) is None  # not 0.01 / 1e-12
    assert csv_suite.error_ratio("accuracy", 1.0, 1.0) == 1.0


def choices_result(file, metric, candidates, peer):
    """A csv_choices result of one seed: each candidate's (val, test) headline, the best peer's
    validation headline."""
    return {"file": file, "metric": metric, "seeds": [{
        "best_peer_val": peer, "candidates": {name: {"val": val, "test": test, "seconds": 1.0}
                                              for name, (val, test) in candidates.items()}}]}


def test_the_choice_rule_keeps_the_default_within_its_tie_and_is_checked_file_by_file():
    current = csv_choices.CURRENT
    results = [  # "new" halves the error on two files and loses 10% on the third
        choices_result("a.csv", "mae", {current: (2.0, 2.0), "new": (1.0, 1.5)}, peer=1.0),
        choices_result("b.csv", "mae", {current: (4.0, 4.0), "new": (2.0, 2.5)}, peer=2.0),
        choices_result("c.csv", "accuracy", {current: (0.9, 0.9), "new": (0.89, 0.95)},
                       peer=0.9),
    ]
    found = csv_choices.study(results)
    assert found["val_ratios"]["c.csv"]["new"] == pytest.approx(0.11 / 0.1)
    assert found["scores"][current] == pytest.approx((2 * 2 * 1) ** (1 / 3))  # geometric
    assert found["scores"]["new"] == pytest.approx((1 * 1 * 1.1) ** (1 / 3))
    assert found["chosen"] == "new"
    assert found["held_out_helped"] == 2 and found["adopted"] == "new"  # 2 of 3 files
    held = {h["file"]: h for h in found["held_out"]}
    assert held["c.csv"]["chosen"] == "new" and not held["c.csv"]["val_helped"]
    assert held["c.csv"]["test_helped"]  # reported, not chosen on: 0.05 error against 0.1
    assert held["a.csv"]["val_helped"] and held["a.csv"]["test_change"] == pytest.approx(-0.25)
    # within the tie, the current default stays
    assert csv_choices.pick({current: 1.0, "new": 1.0 - csv_choices.TIE / 2}) == current
    # a perfect split's error counts as the floor, not as a division by zero
    perfect = choices_result("d.csv", "accuracy", {current: (1.0, 1.0), "new": (1.0, 1.0)}, 1.0)
    assert csv_choices.ratios(perfect) == {current: 1.0, "new": 1.0}


def test_a_pick_that_one_file_carries_is_not_adopted():
    current = csv_choices.CURRENT
    results = [  # "new" wins big on one file and loses 5% on each of the others
        choices_result("a.csv", "mae", {current: (2.0, 2.0), "new": (0.5, 0.5)}, peer=1.0),
        choices_result("b.csv", "mae", {current: (1.0, 1.0), "new": (1.05, 1.05)}, peer=1.0),
        choices_result("c.csv", "mae", {current: (1.0, 1.0), "new": (1.05, 1.05)}, peer=1.0),
    ]
    found = csv_choices.study(results)
    assert found["chosen"] == "new"  # the score alone would change the default
    assert found["held_out_helped"] == 1  # a.csv's, where the others keep the default
    assert found["adopted"] == current


def test_reuse_takes_only_the_runs_of_candidates_whose_hyperparameters_are_unchanged():
    current = csv_choices.CURRENT
    report = {"seeds": [0, 1],
              "candidates": {current: {}, "wider": {"hidden_units": [512]}, "gone": {"l2": 1.0}},
              "results": [{"file": "a.csv", "metric": "mae", "seeds": [
                  {"candidates": {name: {"val": seed + 1.0, "test": 2.0, "seconds": 1.0}
                                  for name in (current, "wider", "gone")}} for seed in (0, 1)]}]}
    names, runs = csv_choices.reusable(report, {current: {}, "wider": {"hidden_units": [256]}})
    assert names == [current]  # "wider" changed its width; "gone" is no longer a candidate
    assert runs == {("a.csv", 0): {current: {"val": 1.0, "test": 2.0, "seconds": 1.0}},
                    ("a.csv", 1): {current: {"val": 2.0, "test": 2.0, "seconds": 1.0}}}
