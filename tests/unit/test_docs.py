"""The documentation is part of the feature: generated pages are current, links lead somewhere."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
from typing import Any

import pytest

from hostler.core import events, machine, reasons, runs, tasks

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
GENERATOR = ROOT / "scripts" / "gen-docs"
GENERATED = ["cli.md", "api/openapi.json", "extensions/contract.json"]
SETUP_COMMANDS = ["scripts/quickstart", "scripts/test"]

_FENCE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^[ \t]*\[[^\]\n]+\]:[ \t]*<?(\S+?)>?(?:[ \t]+\"[^\"]*\")?[ \t]*$", re.M)
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def pages() -> list[pathlib.Path]:
    """Return the hand-written pages whose links are checked: README.md and docs/**/*.md."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def prose(text: str) -> str:
    """Return ``text`` without code blocks and inline code, where brackets are not links."""
    return _INLINE_CODE.sub("", _FENCE.sub("", text))


def links(text: str) -> list[str]:
    """Return the targets of the inline and reference links of a Markdown text."""
    body = prose(text)
    return _LINK.findall(body) + _REFERENCE.findall(body)


def anchors(text: str) -> set[str]:
    """Return the anchors GitHub makes for the headings of a Markdown text."""
    found: set[str] = set()
    for heading in _HEADING.findall(_FENCE.sub("", text)):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        unique, n = slug, 0
        while unique in found:
            n += 1
            unique = f"{slug}-{n}"
        found.add(unique)
    return found


def broken_links(page: pathlib.Path) -> list[str]:
    """Return the relative links of ``page`` that lead to no file, or to no heading of one."""
    broken = []
    for target in links(page.read_text(encoding="utf-8")):
        if _SCHEME.match(target):
            continue
        path, _, fragment = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif (
            fragment
            and resolved.suffix == ".md"
            and fragment not in anchors(resolved.read_text(encoding="utf-8"))
        ):
            broken.append(f"{target}: no heading '#{fragment}'")
    return broken


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """Return a directory holding what scripts/gen-docs produces from the code now."""
    out = tmp_path_factory.mktemp("docs")
    done = subprocess.run(
        [str(GENERATOR), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"scripts/gen-docs failed:\n{done.stdout}\n{done.stderr}"
    return out


def test_the_generator_is_an_executable_script() -> None:
    assert os.access(GENERATOR, os.X_OK)


@pytest.mark.parametrize("name", GENERATED)
def test_generated_docs_match_the_code(generated: pathlib.Path, name: str) -> None:
    committed = DOCS / name
    assert committed.is_file(), f"docs/{name} is missing: run scripts/gen-docs"
    fresh = (generated / name).read_text(encoding="utf-8")
    assert committed.read_text(encoding="utf-8") == fresh, (
        f"docs/{name} differs from what the code generates: run scripts/gen-docs"
    )


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_an_existing_file(page: pathlib.Path) -> None:
    assert broken_links(page) == []


def test_readme_shows_exactly_the_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Quick start\n(.*?)(?=^## |\Z)", readme, re.MULTILINE | re.DOTALL)
    assert section is not None, "README.md has no '## Quick start' section"
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", section.group(1), re.MULTILINE | re.DOTALL)
    commands = [
        line.strip().removeprefix("$ ")
        for block in blocks
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert commands == SETUP_COMMANDS
    for command in commands:
        assert os.access(ROOT / command, os.X_OK), f"{command} is not an executable script"


@pytest.mark.parametrize(
    ("marker", "table"),
    [("run", runs.MACHINE), ("task execution", tasks.MACHINE)],
    ids=["run", "task execution"],
)
def test_concepts_draws_each_state_machine_as_the_code_has_it(
    marker: str, table: machine.Machine[Any, Any, Any]
) -> None:
    text = (DOCS / "concepts.md").read_text(encoding="utf-8")
    _, found, after = text.partition(f"<!-- transitions: {marker} -->")
    assert found, f"docs/concepts.md has no '<!-- transitions: {marker} -->' table"
    rows = []
    for line in after.strip().splitlines():
        if not line.startswith("|"):
            break
        rows.append(tuple(cell.strip() for cell in line.strip().strip("|").split("|")))
    expected = {
        (state.value, event.value, nxt.value, status.value)
        for (state, event), (nxt, status) in table.table.items()
    }
    assert rows[0] == ("state", "event", "next state", "status")
    assert sorted(rows[2:]) == sorted(expected)


def test_concepts_lists_every_event_kind() -> None:
    text = (DOCS / "concepts.md").read_text(encoding="utf-8")
    _, _, section = text.partition("\n## Events\n")
    missing = [kind for kind in events.KINDS if f"| `{kind}` |" not in section]
    assert missing == []


def test_concepts_explains_every_reason_kind() -> None:
    text = (DOCS / "concepts.md").read_text(encoding="utf-8")
    missing = [kind.value for kind in reasons.Kind if f"`{kind.value}`" not in text]
    assert missing == []
