"""docs/glossary.md defines the words a new maintainer trips on, and every link it gives leads
to a page and a heading that exist."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
GLOSSARY = DOCS / "glossary.md"
#: The words issue 51 found defined only across decisions and pages.
WORDS = (
    "event", "occurrence", "tally", "night", "regrouping", "re-reading", "current results",
    "pin", "determination", "identification", "no-object label", "duty", "lease", "floor",
    "successor", "counting pipeline", "project kind",
)  # fmt: skip


def anchors(page: Path) -> set[str]:
    """The anchors GitHub makes of a page's headings."""
    found = set()
    for line in page.read_text().splitlines():
        heading = re.match(r"#+ (.+)", line)
        if heading:
            words = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower())
            found.add(words.replace(" ", "-"))
    return found


def broken_links(page: Path) -> list[str]:
    """Each relative link of a page whose file or heading is missing."""
    broken = []
    for target in re.findall(r"\]\(([^)]+)\)", page.read_text()):
        if "://" in target:
            continue
        file, _, anchor = target.partition("#")
        linked = (page.parent / file).resolve()
        if not linked.is_file() or (anchor and anchor not in anchors(linked)):
            broken.append(target)
    return broken


def test_every_word_has_its_definition() -> None:
    defined = {m.lower() for m in re.findall(r"^\*\*(.+?)\.\*\*", GLOSSARY.read_text(), re.M)}
    assert sorted(set(WORDS) - defined) == []


def test_every_link_of_the_glossary_leads_somewhere() -> None:
    assert broken_links(GLOSSARY) == []


def test_a_broken_link_is_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# A heading\n")
    page = tmp_path / "page.md"
    page.write_text("[a](other.md#a-heading) [b](other.md#no-such) [c](missing.md)\n")
    assert broken_links(page) == ["other.md#no-such", "missing.md"]


def test_the_readme_and_the_counting_page_link_to_it() -> None:
    assert "(docs/glossary.md)" in (DOCS.parent / "README.md").read_text()
    assert "(glossary.md)" in (DOCS / "counting.md").read_text()
