"""The server's layers import one way: the reads (``crud/``) hold no HTTP and do not reach up into
the routes or pages; ``core/`` imports nothing of the package above it."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, List

import pytest

from notebook_error_reporter import serverside

SERVERSIDE = Path(serverside.__file__).parent
PACKAGE = "notebook_error_reporter.serverside"
HTTP = ("fastapi", "starlette", "requests", "httpx")


def _imported(path: Path, folder: str) -> Iterator[str]:
    """The absolute name of every module that ``path`` (in ``serverside/<folder>/``) imports."""
    here = f"{PACKAGE}.{folder}".split(".")
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            yield ".".join([*base, *([node.module] if node.module else [])])


def _modules(folder: str) -> List[Path]:
    return sorted((SERVERSIDE / folder).glob("*.py"))


@pytest.mark.parametrize("path", _modules("crud"), ids=lambda p: p.name)
def test_reads_hold_no_http_and_do_not_import_routes_or_pages(path: Path) -> None:
    for module in _imported(path, "crud"):
        assert module.split(".")[0] not in HTTP, f"{path.name} imports {module}"
        assert not module.startswith((f"{PACKAGE}.api", f"{PACKAGE}.pages")), f"{path.name} imports {module}"


@pytest.mark.parametrize("path", _modules("core"), ids=lambda p: p.name)
def test_core_imports_nothing_of_the_package_above_it(path: Path) -> None:
    for module in _imported(path, "core"):
        if module.startswith("notebook_error_reporter"):
            assert module.startswith(f"{PACKAGE}.core"), f"{path.name} imports {module}"
