"""The README and docs/: every relative link and anchor resolves inside the repository, the README stays a short
front page whose farm job is the example's, and the specs are named by their public origin, not a path."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_LIMIT = 10 * 1024
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^()\s]*)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def prose(text: str) -> list[str]:
    """The page's lines outside fenced code blocks, with inline code taken out."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(re.sub(r"`[^`]*`", "", line))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text lower-cased, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor, a repeated one numbered as GitHub numbers it (-1, -2, ...)."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose(page.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(page: Path) -> list[str]:
    return [m.group(1) for line in prose(page.read_text(encoding="utf-8")) for m in LINK.finditer(line)]


def test_the_pages_exist() -> None:
    assert {p.name for p in PAGES} >= {"README.md", "addon.md", "batch-api.md", "rendering.md", "farm.md", "doors.md",
                                       "security.md", "dashboard.md", "measurements.md", "architecture.md"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    broken = []
    for target in links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:: beyond the repository
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.is_relative_to(ROOT) or not resolved.exists():
            broken.append(f"{target}: no such file in the repository")
        elif anchor and (resolved.suffix != ".md" or anchor not in anchors(resolved)):
            broken.append(f"{target}: no heading #{anchor} in {resolved.relative_to(ROOT)}")
    assert not broken, broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_specs_are_named_by_their_origin_not_a_path(page: Path) -> None:
    assert "shared/specs" not in page.read_text(encoding="utf-8")


def test_the_readme_is_a_short_front_page() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.encode()) <= README_LIMIT
    assert {f"docs/{p.name}" for p in PAGES[1:]} <= set(links(ROOT / "README.md")), "every docs page is linked"


def test_the_readmes_farm_job_is_the_example() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    body = re.search(r"curl -X POST \S+/api/v3/jobs .* -d '(\{.*?\})'\n", text, re.S)
    assert body is not None
    assert json.loads(body.group(1)) == json.loads((ROOT / "examples" / "flamenco-job.json").read_text())


def test_the_readmes_commands_name_files_that_exist() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"(?<![\w/.~-])((?:examples|addon|docs|tools|service)/[\w./-]*\w)", text))
    assert named and all((ROOT / path).exists() for path in named), sorted(p for p in named if not (ROOT / p).exists())
