"""The 0.1.1 release from the package registry, in a virtual environment of its own under ``.envs/``.

Benchmarks compare against what users ran before; installing it beside this checkout would shadow
our package, so each use gets its own venv, made once (a ``.complete`` marker) and reused.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from ipython_envs import make_env  # noqa: E402  (the repo's one venv maker)


def ensure_env(name: str, requirements: Sequence[str]) -> Path:
    """The venv ``.envs/<name>`` with ``requirements`` installed; returns its python."""
    return make_env(name, requirements, quiet=True)  # pip's warnings about local mirrors are not figures
