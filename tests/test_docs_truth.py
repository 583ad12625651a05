"""README.md and docs/*.md name only paths that exist: every repository path they name is in the tree,
every link reaches a file and its heading, and every ``docs/…`` citation in the code names a document,
section and rule that are there; the run-time directories they name are ignored by git. A renamed
module must not leave the documentation pointing at nothing. The environment variables they name are
checked in ``test_docs_variables.py``.

Pure and fast: reads files only; starts nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.doc_references import (
    DOCUMENTS,
    ROOT,
    _exists,
    _prose,
    _sections,
    _tree,
    named_paths,
)

# Paths the docs name that are made at run time, never committed; each must be ignored by git.
RUNTIME_DIRECTORIES = ("var/", ".cache/")

LINK = re.compile(r"\]\(([^()\s]+)\)")


def linked_files(document: Path) -> Iterator[tuple[str, Path, str]]:
    """(link, file, anchor) for every Markdown link to a file of the repository."""
    for target in LINK.findall(_prose(document.read_text())):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        yield target, (document.parent / path).resolve() if path else document, anchor


def heading_anchors(document: Path) -> set[str]:
    """GitHub's anchors for a Markdown file's headings: lower case, punctuation dropped, spaces → '-'."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", _prose(document.read_text()), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


# The checks


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_path_named_exists(document: Path) -> None:
    missing = [
        f"`{path}`" + (f" (under {directory})" if directory else "") + f" in: {line[:120]}"
        for line, path, directory in named_paths(document)
        if not path.startswith(RUNTIME_DIRECTORIES) and not _exists(path, under=directory)
    ]
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_link_reaches_a_file_and_its_heading(document: Path) -> None:
    broken = []
    for target, path, anchor in linked_files(document):
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in heading_anchors(path):
            broken.append(f"{target}: no heading #{anchor}")
    assert not broken, "\n".join(broken)


def test_runtime_directories_are_ignored_by_git() -> None:
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    for directory in RUNTIME_DIRECTORIES:
        assert directory in ignored or f"/{directory}" in ignored, directory


CITATION = re.compile(r"docs/([\w-]+\.md)(?: §(\d+)(?: rule (\d+))?(?: \"([^\"]+)\")?)?")


def test_code_citations_name_documents_sections_and_rules_that_exist() -> None:
    """Comments cite ``docs/architecture.md §4 "Manager"`` or ``§3 rule 5``: the document, the numbered
    section, the rule in it and the named part of it must all be there."""
    files, _ = _tree()
    wrong = []
    for name in sorted(file for file in files if file.endswith(".py")):
        for document, section, rule, title in CITATION.findall((ROOT / name).read_text()):
            path = ROOT / "docs" / document
            text = _sections(path).get(section, "") if path.exists() and section else ""
            if not path.exists() or (section and not text):
                wrong.append(f"{name}: docs/{document} §{section}")
            elif (rule and not re.search(rf"^{rule}\. ", text, re.MULTILINE)) or (
                title and " ".join(title.split()) not in " ".join(text.split())
            ):
                wrong.append(f"{name}: docs/{document} §{section} rule {rule or '-'} {title!r}")
    assert not wrong, "\n".join(wrong)
