"""The README's quick start is what CI runs, and the guide's links and paths lead somewhere real.

Every relative link in README.md and docs/*.md must name a file or folder of this repository (a
link that leaves it, like `../shared/...`, works on one machine only), and a `#fragment` must be
one of the target page's headings. A project path quoted in prose (`recipes/.../x.py`) must exist,
so a module that moves cannot leave the guide pointing at its old place.
"""

import re

import pytest

from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE_BLOCK = re.compile(r"^```.*?^```", re.S | re.M)
CODE_SPAN = re.compile(r"(`+).+?\1", re.S)
# A path in backquotes that climbs out of the page's folder, like `../shared/DESIGN.md`.
CLIMBING_PATH = re.compile(r"`(\.\./[^`\s]*)`")
# A project path in backquotes: a module or folder of the code, the tests or the benchmarks.
PROJECT_PATH = re.compile(r"`((?:recipes|zoo|tests|benchmarks)/[\w/.]*)`")


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


def prose(page):
    """The page without its code blocks: `[x](y)` in a code sample is not a link."""
    return CODE_BLOCK.sub("", page.read_text())


def links(page):
    """The targets of the page's Markdown links, outside code: `f(**kwargs)` is not a link."""
    return LINK.findall(CODE_SPAN.sub("", prose(page)))


def slug(heading):
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page):
    return {slug(line.lstrip("#")) for line in prose(page).splitlines() if line.startswith("#")}


def broken_links(page, root=ROOT):
    """Each relative link (or path quoted as `../x`) of `page` that leaves the repository
    (`root`), names nothing, or names a heading its target does not have, with why."""
    root, broken = root.resolve(), []
    for target in [*links(page), *CLIMBING_PATH.findall(prose(page))]:
        if re.match(r"[a-z]+:", target):  # https:, mailto:: not a file of ours
            continue
        path, _, fragment = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.is_relative_to(root):
            broken.append(f"{target}: leaves the repository")
        elif not resolved.exists():
            broken.append(f"{target}: no such file")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            broken.append(f"{target}: no heading #{fragment} in {resolved.relative_to(root)}")
    return broken


def missing_paths(page, root=ROOT):
    return [p for p in PROJECT_PATH.findall(prose(page)) if not (root / p).exists()]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_stays_in_the_repository_and_leads_somewhere(page):
    assert broken_links(page) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_project_path_quoted_exists(page):
    assert missing_paths(page) == []


def test_the_checks_catch_what_they_are_for(tmp_path):
    """The link and path checks flag a link out of the repository (the old README's
    `../shared/DESIGN.md`), a missing file, a missing heading and a module's old place."""
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (tmp_path / "shared.md").write_text("# Shared\n")  # exists, but outside the repository
    page = repo / "docs" / "page.md"
    page.write_text("# A page: `x`\n[out](../../shared.md) [gone](gone.md) [self](#a-page-x) "
                    "[heading](page.md#nowhere) [web](https://keras.io) `f(**kwargs)`\n"
                    "```\n[in a code block](ignored.md)\n```\n`recipes/run.py` "
                    "`../../shared.md` has the sketch\n")
    assert broken_links(page, repo) == ["../../shared.md: leaves the repository",
                                        "gone.md: no such file",
                                        "page.md#nowhere: no heading #nowhere in docs/page.md",
                                        "../../shared.md: leaves the repository"]
    assert missing_paths(page, repo) == ["recipes/run.py"]


def linked_pages(page):
    return {(page.parent / target.partition("#")[0]).resolve() for target in links(page)}


def test_the_readme_fits_on_two_screens_and_the_index_links_every_page():
    assert len((ROOT / "README.md").read_text().splitlines()) < 200
    index = ROOT / "docs" / "README.md"
    assert index in linked_pages(ROOT / "README.md")
    assert set(PAGES[1:]) - {index} <= linked_pages(index)
