"""The versions a report carries (``environment.client_info``), and whether it comes from Colab."""

from __future__ import annotations

import platform
import sys
import types

import pytest

from notebook_error_reporter import environment


def test_client_info_names_the_versions_and_says_not_colab_here() -> None:
    info = environment.client_info()
    assert info["python"] == platform.python_version() and info["platform"] == sys.platform
    assert info["colab"] == "no"


def test_colab_is_told_by_its_module_or_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert not environment.in_colab()
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert environment.in_colab()
    monkeypatch.delitem(sys.modules, "google.colab")
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20261201-060000_RC00")
    assert environment.in_colab()
