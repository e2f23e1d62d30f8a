"""What a fresh ``pip install papertide`` brings: only what papertide uses, no GPU stack, and small.

Read from pyproject.toml and the installed distributions' own metadata (what pip resolves on any
machine), not from this test environment's package list, which also holds the test tools.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "papertide"
RUNTIME_LIMIT_MB = 600  # issue #16: the runtime install, papertide and everything it pulls in
# Direct dependencies that src/ never names in an import, and who uses them.
USED_THROUGH_ANOTHER = {
    "python-multipart": "FastAPI parses form posts with it",
    "email-validator": "pydantic's EmailStr validates addresses with it",
    "pillow": "pypdfium2 hands a rendered page over as a PIL image, which papertide saves as WebP",
}
NEVER = re.compile(r"^(torch|nvidia-.*|triton|transformers|sentence-transformers|scipy|scikit-learn|tensorflow.*|jax.*)$")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [Requirement(line) for line in project["dependencies"]]


def closure(requirements: list[Requirement]) -> dict[str, metadata.Distribution]:
    """Every distribution pip installs for ``requirements`` on this platform, by canonical name."""
    found: dict[str, metadata.Distribution] = {}
    pending = [(requirement, "") for requirement in requirements]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonical(requirement.name)
        distribution = metadata.distribution(name)
        wanted = [(Requirement(r), "") for r in distribution.requires or [] if "extra ==" not in r]
        for chosen in requirement.extras:  # uvicorn[standard]
            wanted += [(Requirement(r), chosen) for r in distribution.requires or [] if "extra ==" in r]
        if name not in found:
            found[name] = distribution
            pending += wanted
        elif requirement.extras:
            pending += [(r, e) for r, e in wanted if e]
    return found


def imported_top_levels() -> set[str]:
    names = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def test_every_direct_dependency_is_imported_by_papertide():
    providers = metadata.packages_distributions()
    imported = {canonical(dist) for module in imported_top_levels() for dist in providers.get(module, [])}
    unused = {canonical(r.name) for r in runtime_requirements()} - imported - set(USED_THROUGH_ANOTHER)
    assert unused == set(), f"declared but never imported by src/: {sorted(unused)}"


def test_the_install_pulls_no_gpu_or_training_stack():
    heavy = sorted(name for name in closure(runtime_requirements()) if NEVER.match(name))
    assert heavy == [], f"a plain install would pull {heavy}"


def test_the_runtime_install_stays_under_its_size_limit():
    """Bytes on disk of every file papertide's runtime dependencies installed (their RECORD lists,
    compiled bytecode included), plus papertide's own package (the model files among them)."""
    total = 0
    for distribution in closure(runtime_requirements()).values():
        for file in distribution.files or []:
            path = Path(distribution.locate_file(file))
            total += path.stat().st_size if path.is_file() else 0
    total += sum(path.stat().st_size for path in SRC.rglob("*") if path.is_file() and "__pycache__" not in path.parts)
    assert total / 1e6 <= RUNTIME_LIMIT_MB, f"{total / 1e6:.0f} MB"
