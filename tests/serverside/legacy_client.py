"""The real 0.1.1 client from PyPI, in a venv of its own, for the tests that drive it.

The venv (``.envs/notebook-error-reporter-0.1.1``, shared with bench/client_delivery.py) is made on
first use from the package registry; later runs reuse it. One module, so the tests that compare our
server's answers to what 0.1.1 sends (``test_legacy_client.py``, ``test_privacy_e2e.py``) install
and start it the same way.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from ipython_envs import make_env  # noqa: E402  (the repo's one venv maker)

LEGACY_ENV = ROOT / ".envs" / "notebook-error-reporter-0.1.1"
REQUIREMENT = "notebook-error-reporter==0.1.1"


def legacy_python() -> Path:
    """The venv's interpreter, installing 0.1.1 (with IPython and requests) the first time."""
    return make_env(LEGACY_ENV.name, (REQUIREMENT, "ipython", "requests"), timeout=600)


def legacy_python_or_fail() -> Path:
    """``legacy_python()``, failing the test (not erroring it) with the reason when it cannot install."""
    try:
        return legacy_python()
    except (subprocess.SubprocessError, OSError) as error:  # pragma: no cover - registry unreachable
        pytest.fail(f"could not install {REQUIREMENT} from the package registry: {error}")
