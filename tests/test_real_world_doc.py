"""The chapters' real-world facts live, with their sources, on docs/real-world.md.

Every chapter of the course manifest ends its README with "## In the real world", and
that section links to the page; every link to the page, from any README or docs page,
names a section that exists there. On the page, every fact under a section heading
carries the link to its source, so that a fact without one cannot creep in.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "real-world.md"
SECTION = "## In the real world"
NEEDED = ("poison-messages-and-retries", "backpressure")
"""Anchors other pages rely on (ch06 links to the first): renaming them breaks links."""

_LINK = re.compile(r"\]\(([^)\s]+)\)")
_SOURCE = re.compile(r"\]\(https?://[^)\s]+\)")


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def sections(page: str) -> dict[str, str]:
    """The page's `## ` sections by anchor (the introduction before the first is left out)."""
    found: dict[str, str] = {}
    for part in re.split(r"^## ", page, flags=re.M)[1:]:
        heading, _, body = part.partition("\n")
        key = anchor(heading)
        assert key not in found, f"two sections of {PAGE.name} share the anchor #{key}"
        found[key] = body
    return found


def facts(body: str) -> list[str]:
    """A section's facts: each list item, with its continuation lines, and each paragraph."""
    blocks: list[str] = []
    for line in body.splitlines():
        if not line.strip():
            blocks.append("")
        elif line.startswith("- ") or not blocks or not blocks[-1]:
            blocks.append(line)
        else:
            blocks[-1] += "\n" + line
    return [block for block in blocks if block]


def unsourced(page: str) -> list[str]:
    """Every fact of the page that links to no source, and every section with no fact."""
    problems = []
    for key, body in sections(page).items():
        found = facts(body)
        if not found:
            problems.append(f"#{key} states no fact")
        problems += [f"#{key}: {fact!r}" for fact in found if not _SOURCE.search(fact)]
    return problems


def real_world_section(readme: str) -> str:
    """A README's "## In the real world" section, up to the next `## ` heading."""
    start = readme.find(f"\n{SECTION}\n")
    if start < 0:
        return ""
    end = readme.find("\n## ", start + len(SECTION) + 2)
    return readme[start : end if end >= 0 else len(readme)]


def broken_links(text: str, folder: Path, anchors: set[str]) -> list[str]:
    """Links in `text` (a file in `folder`) to the page that miss it or one of its sections."""
    problems = []
    for target in _LINK.findall(text):
        path, _, fragment = target.partition("#")
        if not path.endswith("real-world.md") or path.startswith(("http:", "https:")):
            continue
        if (folder / path).resolve() != PAGE:
            problems.append(f"{target} is not docs/real-world.md")
        elif fragment and fragment not in anchors:
            problems.append(f"{target}: the page has no section #{fragment}")
    return problems


def chapters() -> list[str]:
    manifest = tomllib.loads((ROOT / "exercises" / "info.toml").read_text(encoding="utf-8"))
    return [chapter["id"] for chapter in manifest["chapters"]]


def test_every_fact_on_the_page_links_to_its_source():
    page = PAGE.read_text(encoding="utf-8")
    assert unsourced(page) == []
    assert [key for key in NEEDED if key not in sections(page)] == []
    assert "2026-12" in page or "December 2026" in page, "the page says when it was checked"


def test_every_chapter_cites_the_page_in_its_real_world_section():
    anchors = set(sections(PAGE.read_text(encoding="utf-8")))
    missing, broken = [], []
    for chapter in chapters():
        readme = ROOT / "exercises" / chapter / "README.md"
        section = real_world_section(readme.read_text(encoding="utf-8"))
        if "real-world.md" not in "".join(_LINK.findall(section)):
            missing.append(chapter)
        broken += [f"{chapter}: {p}" for p in broken_links(section, readme.parent, anchors)]
    assert missing == [], f"no link to docs/real-world.md in their {SECTION!r} section"
    assert broken == []


def test_every_link_to_the_page_names_a_section_it_has():
    anchors = set(sections(PAGE.read_text(encoding="utf-8")))
    pages = [ROOT / "README.md", *ROOT.glob("exercises/ch*/README.md"), *ROOT.glob("docs/*.md")]
    broken = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        broken += [
            f"{page.relative_to(ROOT)}: {p}" for p in broken_links(text, page.parent, anchors)
        ]
    assert broken == []


def test_the_checks_catch_a_fact_without_a_source_and_a_link_to_no_section():
    page = "intro\n\n## Acks and redelivery\n\n- sourced ([doc](https://example.org/a))\n- bare\n"
    assert anchor("Acks and redelivery") == "acks-and-redelivery"
    assert anchor("Kafka 4.0: KIP-848") == "kafka-40-kip-848"
    assert unsourced(page) == ["#acks-and-redelivery: '- bare'"]
    assert unsourced("## Empty\n\n") == ["#empty states no fact"]
    assert unsourced("## Prose\n\nA paragraph with no link.\n") != []
    folder = ROOT / "exercises" / "ch00"
    assert broken_links("[a](../../docs/real-world.md#acks)", folder, {"acks"}) == []
    assert broken_links("[a](../../docs/real-world.md#nack)", folder, {"acks"}) != []
    assert broken_links("[a](../docs/real-world.md)", folder, {"acks"}) != []
    readme = f"# ch\n\n{SECTION}\n\nNo link here.\n\n## Next\n\n[a](../../docs/real-world.md)\n"
    assert "real-world.md" not in real_world_section(readme)
