"""The README's quick start is what CI runs."""

import re

from tests.conftest import ROOT


def quick_start_commands():
    section = (ROOT / "README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_test_one():
    commands = quick_start_commands()
    assert len(commands) == 2
    main_job, tests = commands
    assert "recipes run all" in main_job
    assert "pytest" in tests
    assert tests in (ROOT / ".ci" / "run").read_text()
