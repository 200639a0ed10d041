"""The dependency floors in pyproject.toml are past the known advisories, and what is installed
meets every floor (a stale venv or a resolver that went below would run vulnerable code)."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Dict, List

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

# The first release of each package with the fix of the advisories named.
ADVISORIES: Dict[str, tuple[str, str]] = {
    "requests": ("2.32.4", "CVE-2024-35195, CVE-2024-47081"),
    "starlette": (
        "1.3.1",
        "GHSA-f96h-pmfr-66vw (0.40.0), GHSA-2c2j-9gv5-cj73 (0.47.2), CVE-2025-62727 (0.49.1), "
        "CVE-2026-48710 (1.0.1), CVE-2026-54283 (1.3.1)",
    ),
    "python-multipart": (
        "0.0.30",
        "CVE-2024-53981 (0.0.18), CVE-2026-40347 (0.0.26), CVE-2026-53538 (0.0.30)",
    ),
}


def declared() -> List[Requirement]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    return [Requirement(text) for text in [*project["dependencies"], *extras["server"]]]


def floor(requirement: Requirement) -> Version:
    floors = [Version(spec.version) for spec in requirement.specifier if spec.operator == ">="]
    assert floors, f"{requirement} declares no floor"
    return max(floors)


@pytest.mark.parametrize("name", sorted(ADVISORIES))
def test_the_declared_floor_is_past_the_advisories(name: str) -> None:
    fixed, advisories = ADVISORIES[name]
    requirements = {requirement.name: requirement for requirement in declared()}
    assert name in requirements, f"{name} must be declared with a floor ({advisories})"
    assert floor(requirements[name]) >= Version(fixed), f"{name} below {fixed} has {advisories}"


@pytest.mark.parametrize("requirement", declared(), ids=str)
def test_the_installed_version_meets_the_declared_floor(requirement: Requirement) -> None:
    installed = importlib.metadata.version(requirement.name)
    assert requirement.specifier.contains(installed, prereleases=True), (
        f"{requirement.name} {installed} installed, {requirement} declared"
    )
