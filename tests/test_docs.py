"""The documentation stays true to the code, as datasette's documentation tests keep its docs.

The documents are README.md and docs/*.md. What is checked:

* **settings**: every ``PAPERTIDE_*`` environment variable that src/ reads (each name written out
  in src/, and each field of ``papertide.config.Settings``, read as ``PAPERTIDE_`` + its name)
  appears in docs/admin-guide.md or README.md;
* **commands**: every command and subcommand of the click group ``papertide.cli.main``, written
  out as ``papertide harvest arxiv-ids``, appears in the documents;
* **module paths**: every path or dotted name the documents write as inline code exists:
  a path starting with ``papertide/`` or ``src/papertide/`` (a file, or a folder ending in ``/``),
  a repository path starting with ``benchmarks/``, ``tests/``, ``deploy/``, ``scripts/``,
  ``data/`` or ``docs/`` (globs allowed), and a code span that is a dotted name
  ``papertide.x.y`` (a module, or a name defined at the top of one; one level into a class);
  code in fenced blocks is not checked (commands there create files);
* **links**: every relative link and image points to an existing file, and a ``#anchor`` into a
  Markdown file to one of its headings.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import click
import pytest

from papertide.cli import main as cli
from papertide.config import ENV_PREFIX, Settings

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SETTINGS_DOCUMENTS = [REPO / "docs" / "admin-guide.md", REPO / "README.md"]

SETTING = re.compile(r"PAPERTIDE_[A-Z0-9_]*[A-Z0-9]")
FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
REPO_DIRS = ("benchmarks", "tests", "deploy", "scripts", "data", "docs")
PATH = re.compile(r"(?<![\w./~-])((?:src/)?papertide/[\w./*-]*|(?:%s)/[\w./*-]*)" % "|".join(REPO_DIRS))
DOTTED = re.compile(r"papertide(?:\.[A-Za-z_]\w*)+")
# Files named like a dotted name: the settings file (papertide.toml), the env file, the units.
FILE_SUFFIXES = ("toml", "env", "conf", "service", "timer")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def relative(path: Path) -> str:
    return str(path.relative_to(REPO))


def prose(document: Path) -> list[str]:
    """The document's lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in document.read_text().splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


# -- settings --------------------------------------------------------------------------------

def settings_read_by_src() -> set[str]:
    names = set()
    for source in (SRC / "papertide").rglob("*.py"):
        names.update(SETTING.findall(source.read_text()))
    # pydantic-settings reads the field smtp_port from PAPERTIDE_SMTP_PORT
    names.update(ENV_PREFIX + field.upper() for field in Settings.model_fields)
    return names


SETTINGS = sorted(settings_read_by_src())


def test_the_settings_are_found_both_ways_src_reads_them():
    """A name written out (``PAPERTIDE_CONFIG``, read by config.py itself) and one that is only a
    field of ``Settings`` (``smtp_port``, never written whole in src/): so the list is complete."""
    assert {"PAPERTIDE_CONFIG", "PAPERTIDE_SMTP_PORT", "PAPERTIDE_INDEX_THREADS"} <= set(SETTINGS)


@pytest.mark.parametrize("name", SETTINGS)
def test_every_setting_is_documented(name):
    pattern = re.compile(rf"(?<![A-Z0-9_]){name}(?![A-Z0-9_])")
    where = [relative(d) for d in SETTINGS_DOCUMENTS if pattern.search(d.read_text())]
    assert where, f"{name} is read by src/ but appears in neither {', '.join(map(relative, SETTINGS_DOCUMENTS))}"


# -- commands --------------------------------------------------------------------------------

def command_lines(command: click.Command, words: tuple[str, ...] = ("papertide",)) -> list[tuple[str, ...]]:
    found = [words] if len(words) > 1 else []
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            found += command_lines(sub, (*words, name))
    return found


COMMANDS = command_lines(cli)


def test_the_commands_are_walked_recursively():
    assert ("papertide", "harvest", "arxiv-ids") in COMMANDS and ("papertide", "serve") in COMMANDS


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_every_command_is_documented(words):
    pattern = re.compile(r"\s+".join(map(re.escape, words)) + r"(?![\w-])")
    assert any(pattern.search(d.read_text()) for d in DOCUMENTS), \
        f"`{' '.join(words)}` appears in none of README.md and docs/*.md"


# -- module paths ----------------------------------------------------------------------------

def named_paths() -> list[tuple[str, str]]:
    """(document, path or dotted name) for every one written as inline code outside code blocks."""
    found = []
    for document in DOCUMENTS:
        for line in prose(document):
            for span in CODE_SPAN.findall(line):
                found += [(relative(document), path.rstrip(".,:;")) for path in PATH.findall(span)]
                name = span.removesuffix("()")
                if DOTTED.fullmatch(name) and name.rsplit(".", 1)[-1] not in FILE_SUFFIXES:
                    found.append((relative(document), name))
    return sorted(set(found))


@cache
def top_level_names(module: Path) -> dict[str, ast.AST]:
    names: dict[str, ast.AST] = {}
    for node in ast.parse(module.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update({(alias.asname or alias.name).split(".")[0]: node for alias in node.names})
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update({t.id: node for t in targets if isinstance(t, ast.Name)})
    return names


def class_members(node: ast.ClassDef) -> set[str]:
    members = set()
    for item in node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            members.add(item.name)
        elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            members.add(item.target.id)
        elif isinstance(item, ast.Assign):
            members.update(t.id for t in item.targets if isinstance(t, ast.Name))
    return members


def dotted_name_exists(name: str) -> bool:
    """``papertide.a.b.C.m``: the longest prefix that is a module, then a name defined at its top
    (and, for a class, one of its members)."""
    parts = name.split(".")
    for split in range(len(parts), 0, -1):
        base = SRC.joinpath(*parts[:split])
        module = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if module.is_file():
            rest = parts[split:]
            if not rest:
                return True
            node = top_level_names(module).get(rest[0])
            if node is None:
                return False
            return len(rest) == 1 or not isinstance(node, ast.ClassDef) or rest[1] in class_members(node)
    return False


def path_exists(path: str) -> bool:
    if DOTTED.fullmatch(path):
        return dotted_name_exists(path)
    base = SRC if path.startswith("papertide/") else REPO
    if any(ch in path for ch in "*?["):
        return any(base.glob(path))
    target = base / path
    return target.is_dir() if path.endswith("/") else target.exists()


NAMED_PATHS = named_paths()


def test_module_paths_are_found_in_the_documents():
    paths = {path for _, path in NAMED_PATHS}
    assert "papertide/db.py" in paths and "papertide.search" in {p for p in paths if DOTTED.fullmatch(p)}


@pytest.mark.parametrize(("document", "path"), NAMED_PATHS, ids=[f"{d}:{p}" for d, p in NAMED_PATHS])
def test_every_module_path_named_in_the_docs_exists(document, path):
    assert path_exists(path), f"{document} names `{path}`, which does not exist"


# -- links -----------------------------------------------------------------------------------

def heading_anchors(document: Path) -> set[str]:
    """GitHub's anchors: the heading in lower case, punctuation dropped, spaces as hyphens."""
    anchors = set()
    for line in prose(document):
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            text = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


def relative_links() -> list[tuple[str, str]]:
    found = []
    for document in DOCUMENTS:
        for line in prose(document):
            for target in LINK.findall(CODE_SPAN.sub("", line)):
                if not re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                    found.append((relative(document), target))
    return sorted(set(found))


LINKS = relative_links()


def test_links_are_found_in_the_documents():
    assert ("README.md", "docs/admin-guide.md#configuration") in LINKS


@pytest.mark.parametrize(("document", "link"), LINKS, ids=[f"{d}:{link}" for d, link in LINKS])
def test_every_relative_link_points_to_an_existing_file(document, link):
    source = REPO / document
    path, _, anchor = link.partition("#")
    target = (source.parent / path).resolve() if path else source
    assert target.exists(), f"{document} links to {link}: no such file"
    if anchor and target.suffix == ".md":
        assert anchor in heading_anchors(target), f"{document} links to {link}: no such heading in {path or document}"
