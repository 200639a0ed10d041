"""Make (once) and find the separate virtual environments with other IPython versions.

Capture has to work on IPython 7.34 (what Colab ran for years) as on the newest IPython; each
version gets its own venv under ``.envs/`` with only IPython and requests, and our package comes
from this checkout through PYTHONPATH, so the environments never go stale.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

ROOT = Path(__file__).resolve().parent.parent
ENVS = ROOT / ".envs"
VERSIONS: Dict[str, str] = {
    "7.34": "ipython==7.34.0",
    "8": "ipython>=8,<9",
    "9": "ipython>=9,<10",
}


def env_python(version: str) -> Path:
    return ENVS / f"ipython-{version}" / "bin" / "python"


def ensure_env(version: str) -> Path:
    """The Python of the environment for ``version``, made and filled on first use."""
    python = env_python(version)
    marker = python.parent.parent / ".complete"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(python.parent.parent)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                VERSIONS[version],
                "requests",
            ],
            check=True,
        )
        marker.write_text(VERSIONS[version] + "\n")
    return python


def run_with_repo(python: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python args`` with this checkout importable and reporting switched on."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for variable in ("NOTEBOOK_ERROR_REPORTER_DISABLE", "DO_NOT_TRACK"):
        env.pop(variable, None)
    return subprocess.run(
        [str(python), *args],
        cwd=str(ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )


if __name__ == "__main__":
    for name in sys.argv[1:] or list(VERSIONS):
        sys.stdout.write(f"{name}: {ensure_env(name)}\n")
