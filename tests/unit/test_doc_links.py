"""The documents hold together: every relative link in README.md and docs/*.md names a file
of the repository, every #anchor into a Markdown file names one of its headings (GitHub's
slugs), and the README stays a front page that starts with its two commands."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 200

FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
#: [text](target) and ![alt](target); the text may hold one level of brackets.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:, ...


def prose_lines(text: str, blank_code: bool = True) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, with inline code spans blanked
    (``blank_code``: a link written as code is not a link)."""
    out, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            out.append((number, CODE_SPAN.sub("", line) if blank_code else line))
    return out


def links(text: str) -> list[tuple[int, str]]:
    """(line number, target) of every inline link, image and reference definition."""
    found = []
    for number, line in prose_lines(text):
        found += [(number, m.group(1)) for m in INLINE_LINK.finditer(line)]
        m = REFERENCE_DEF.match(line)
        if m:
            found.append((number, m.group(1)))
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text, lower-cased, without punctuation
    or symbols (letters, marks, digits, ``_``, ``-`` and spaces stay), spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = text.replace("`", "").strip().lower()
    kept = "".join(
        c for c in text if c in " -" or unicodedata.category(c)[0] in "LMN" or unicodedata.category(c) == "Pc")
    return kept.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading anchor of a Markdown text; repeats get -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    out = set()
    for _, line in prose_lines(text, blank_code=False):
        m = HEADING.match(line)
        if not m:
            continue
        base = slug(m.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def broken_links(document: Path, root: Path = ROOT) -> list[str]:
    """What is wrong with the relative links of one Markdown file (empty when nothing)."""
    problems = []
    for number, target in links(document.read_text(encoding="utf-8")):
        if EXTERNAL.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        where = f"{document.relative_to(root)}:{number}: {target}"
        resolved = (document.parent / path_part).resolve() if path_part else document
        if root.resolve() not in (resolved, *resolved.parents):
            problems.append(f"{where}: points outside the repository")
            continue
        if not resolved.exists():
            problems.append(f"{where}: no such file")
            continue
        if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text(encoding="utf-8")):
            problems.append(f"{where}: no heading #{anchor} in {resolved.relative_to(root.resolve())}")
    return problems


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(document: Path) -> None:
    assert broken_links(document) == []


def test_the_documents_link_somewhere() -> None:
    # Guards the checker itself: if the link pattern stopped matching, every test above would pass.
    assert len(links((ROOT / "README.md").read_text(encoding="utf-8"))) >= 10


def test_a_broken_link_or_anchor_is_found(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.md").write_text("# Title\n\n## 3. Input events — `deal`\n", encoding="utf-8")
    doc = tmp_path / "docs" / "a.md"
    doc.write_text(
        "[fine](b.md) [fine too](b.md#3-input-events--deal) [web](https://example.com/x.md)\n"
        "`[in code](nowhere.md)`\n```\n[in a block](nowhere.md)\n```\n"
        "[gone](missing.md) [bad anchor](b.md#4-nothing) ![img](img/none.png)\n"
        "[outside](../../etc/passwd) [self](#title)\n", encoding="utf-8")
    problems = broken_links(doc, root=tmp_path)
    assert [p.split(": ")[1] for p in problems] == [
        "missing.md", "b.md#4-nothing", "img/none.png", "../../etc/passwd", "#title"]


@pytest.mark.parametrize(("heading", "anchor"), [
    ("Faust's `exactly_once` is not used", "fausts-exactly_once-is-not-used"),
    ("10. Appeals (申诉) — planned, not yet built", "10-appeals-申诉--planned-not-yet-built"),
    ("payroll.statement (`sales.payroll`, key `{rep_id}:{period}`)", "payrollstatement-salespayroll-key-rep_idperiod"),
    ("Runbook: a stuck partition", "runbook-a-stuck-partition"),
])
def test_anchors_are_githubs_slugs(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_readme_is_a_front_page() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail into docs/"
    # The first block of the README, before any section, is the two commands.
    first_section = next(i for i, line in enumerate(lines) if line.startswith("## "))
    opening = next(i for i, line in enumerate(lines) if FENCE.match(line))
    assert opening < first_section
    closing = next(i for i in range(opening + 1, len(lines)) if FENCE.match(lines[i]))
    commands = [line.strip() for line in lines[opening + 1:closing] if line.strip()]
    assert commands[0].startswith("make demo") and commands[1].startswith("make test"), commands
