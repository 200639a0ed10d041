"""IPython's own shell tests end the same way with a reporter enabled (either method) as without.

``scripts/ipython_own_tests.py`` does the work (a venv of this IPython with its test extra, the
tests of the same version, three runs side by side); this runs it in the suite.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from ipython_own_tests import compare  # noqa: E402


@pytest.mark.timeout(900)  # the first run makes the venv and fetches the tests; later ones < 1 min
def test_ipython_shell_tests_pass_as_without_the_reporter() -> None:
    lines, changed = compare(metadata.version("ipython"))
    assert changed == [], "\n".join(lines + changed)
    baseline = lines[0]
    assert "passed" in baseline and "failure" not in baseline and "error" not in baseline, baseline
