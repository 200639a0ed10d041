"""The 0.1.1 release from the package registry, in a virtual environment of its own under ``.envs/``.

Benchmarks compare against what users ran before; installing it beside this checkout would shadow
our package, so each use gets its own venv, made once (a ``.complete`` marker) and reused.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parent.parent
ENVS = ROOT / ".envs"


def ensure_env(name: str, requirements: Sequence[str]) -> Path:
    """The venv ``.envs/<name>`` with ``requirements`` installed; returns its python."""
    env = ENVS / name
    python = env / "bin" / "python"
    marker = env / ".complete"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(env)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
            check=True,
            stderr=subprocess.DEVNULL,  # pip's warnings about local mirrors are not figures
        )
        marker.write_text("\n".join(requirements) + "\n")
    return python
