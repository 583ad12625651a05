"""The documents (README.md, docs/*.md), the working tree, and the repository paths and numbered
sections the documents name: shared by the docs-truth tests (``test_docs_truth.py``,
``test_docs_variables.py``). Pure: reads files only.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])

NOT_A_PATH_PREFIXES = ("application/", "text/")  # media types

SKIPPED_DIRECTORIES = {".git", ".venv", "var", ".cache", "__pycache__", ".mypy_cache", ".ruff_cache"}
SKIPPED_DIRECTORIES |= {".pytest_cache", ".hypothesis", "node_modules"}

CODE_SPAN = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
PATH = re.compile(r"[\w.*-]+(?:/[\w.*-]*)+")
FILE_NAME = re.compile(r"[\w*-]*\.(?:py|md|json|toml|yml|yaml|sh|conf|lock|xml|properties|Containerfile)")


# The tree


@functools.cache
def _tree() -> tuple[frozenset[str], frozenset[str]]:
    """(files, directories) of the working tree as repository-relative POSIX paths, without what git
    ignores wholesale (virtualenv, caches, run-time state)."""
    files: set[str] = set()
    directories: set[str] = set()
    for folder, subfolders, names in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED_DIRECTORIES]
        relative = Path(folder).relative_to(ROOT).as_posix()
        if relative != ".":
            directories.add(relative)
        files.update(name if relative == "." else f"{relative}/{name}" for name in names)
    return frozenset(files), frozenset(directories)


def _glob(path: str) -> re.Pattern[str]:
    return re.compile(re.escape(path).replace(r"\*", "[^/]*"))


def _exists(path: str, *, under: str = "") -> bool:
    """``path`` (a glob when it has ``*``; a trailing ``/`` for a directory) exists from the root. A bare
    name exists anywhere; so does an extension alone (`.Containerfile`s). In a layout table's row, a
    name or relative path may also be anywhere below the row's directory (``under``)."""
    files, directories = _tree()
    wanted = path.rstrip("/")
    names = directories if path.endswith("/") else files | directories
    pattern = _glob(wanted)
    if any(pattern.fullmatch(name) for name in names):
        return True
    if wanted.startswith(".") and "/" not in wanted:
        return any(name.endswith(wanted) for name in files)
    if under:
        below = re.compile(re.escape(under.rstrip("/")) + "/(?:.+/)?" + pattern.pattern)
        return any(below.fullmatch(name) for name in names)
    return "/" not in wanted and any(pattern.fullmatch(name.rsplit("/", 1)[-1]) for name in names)


# What the documents name


def _prose(text: str) -> str:
    """The text without fenced blocks: shell commands there name files by other means."""
    return FENCE.sub("", text)


def _row_directory(line: str) -> str:
    """A layout table's row (``| `services/users/` | … |``): paths in it are relative to that directory."""
    if not line.startswith("|"):
        return ""
    first = line.strip("|").split("|")[0].strip()
    match = re.fullmatch(r"`([\w./-]+/)`", first)
    return match.group(1) if match else ""


def _is_path(span: str) -> bool:
    if any(mark in span for mark in "<>{}…$:|+ ") or span.startswith("/"):
        return False  # a placeholder, URL, host:port, alternatives, a command line or an absolute path
    if span.startswith(NOT_A_PATH_PREFIXES):
        return False
    return bool(PATH.fullmatch(span) or FILE_NAME.fullmatch(span))


def named_paths(document: Path) -> Iterator[tuple[str, str, str]]:
    """(line, path, directory it is relative to) for every backticked path outside code blocks."""
    for line in _prose(document.read_text()).splitlines():
        directory = _row_directory(line)
        for span in CODE_SPAN.findall(line):
            path = span.strip().split("#")[0]
            if _is_path(path):
                yield line.strip(), path, directory


def _sections(document: Path) -> dict[str, str]:
    """The text of each numbered section (``## 3. Reliability rules``) by its number."""
    parts = re.split(r"^## (\d+)\. .*$", _prose(document.read_text()), flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))
