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
from typing import Dict, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
ENVS = ROOT / ".envs"
VERSIONS: Dict[str, str] = {
    "7.34": "ipython==7.34.0",
    "8": "ipython>=8,<9",
    "9": "ipython>=9,<10",
}


def env_python(version: str) -> Path:
    return ENVS / f"ipython-{version}" / "bin" / "python"


def make_env(
    name: str, requirements: Sequence[str], *, quiet: bool = False, timeout: Optional[float] = None
) -> Path:
    """The venv ``.envs/<name>`` with ``requirements`` installed, made on first use; its Python.

    The one venv maker of the repo: these IPython versions, the tests' 0.1.1 client and the
    benchmarks' 0.1.1 client and server. A ``.complete`` marker says the install finished, so an
    interrupted one is made again. ``quiet`` hides pip's warnings; ``timeout`` bounds each step.
    """
    env = ENVS / name
    python = env / "bin" / "python"
    marker = env / ".complete"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(env)], check=True, timeout=timeout)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
            check=True,
            timeout=timeout,
            stderr=subprocess.DEVNULL if quiet else None,
        )
        marker.write_text("\n".join(requirements) + "\n")
    return python


def ensure_env(version: str) -> Path:
    """The Python of the environment for ``version``, made and filled on first use."""
    return make_env(f"ipython-{version}", (VERSIONS[version], "requests"))


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
