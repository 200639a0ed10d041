"""Make (once) and find the separate virtual environments with other IPython versions.

Capture has to work on IPython 7.34 (what Colab ran for years) as on the newest IPython; each
version gets its own venv under ``.envs/`` with only IPython and requests, and our package comes
from this checkout through PYTHONPATH, so the environments never go stale. ``colab`` is Colab's
stack today, IPython 7.34 on Python 3.13, with a kernel and the test tools so that the capture
tests themselves run there; its interpreter is the machine image's (pyenv's), never downloaded.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
ENVS = ROOT / ".envs"
VERSIONS: Dict[str, str] = {
    "7.34": "ipython==7.34.0",
    "8": "ipython>=8,<9",
    "9": "ipython>=9,<10",
}
COLAB_PYTHON = "3.13"
COLAB_REQUIREMENTS: Tuple[str, ...] = (
    "ipython==7.34.0",
    "requests",
    "ipykernel>=6.25,<7",
    "nbclient>=0.9",
    "nbformat>=5.9",
    "pytest>=8",
    "pytest-timeout>=2.2",
)


def find_python(version: str) -> Path:
    """An interpreter for Python ``version`` on this machine: pyenv's, else one on PATH.

    No download (``pyenv install`` and ``uv python install`` fetch from outside PyPI): the CI image
    provides it under pyenv (``/root/.pyenv/versions/3.13.*``).
    """
    roots = [os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv"), "/root/.pyenv"]
    for root in filter(None, roots):
        found = sorted(glob.glob(os.path.join(root, "versions", f"{version}*", "bin", f"python{version}")))
        if found:
            return Path(found[-1])
    on_path = shutil.which(f"python{version}")
    if on_path and "shims" not in Path(on_path).parts:
        return Path(on_path)
    raise FileNotFoundError(
        f"no Python {version} interpreter found (looked in $PYENV_ROOT/versions, ~/.pyenv/versions, "
        f"/root/.pyenv/versions and PATH); install one, e.g. with pyenv, to test Colab's stack"
    )


def env_python(version: str) -> Path:
    return ENVS / f"ipython-{version}" / "bin" / "python"


def make_env(
    name: str,
    requirements: Sequence[str],
    *,
    quiet: bool = False,
    timeout: Optional[float] = None,
    base_python: Optional[Path] = None,
) -> Path:
    """The venv ``.envs/<name>`` with ``requirements`` installed, made on first use; its Python.

    The one venv maker of the repo: these IPython versions, the tests' 0.1.1 client and the
    benchmarks' 0.1.1 client and server. A ``.complete`` marker says the install finished, so an
    interrupted one is made again. ``quiet`` hides pip's warnings; ``timeout`` bounds each step;
    ``base_python`` is the interpreter to make it with (this one by default).
    """
    env = ENVS / name
    python = env / "bin" / "python"
    marker = env / ".complete"
    if not marker.exists():
        base = str(base_python) if base_python is not None else sys.executable
        subprocess.run([base, "-m", "venv", "--clear", str(env)], check=True, timeout=timeout)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
            check=True,
            timeout=timeout,
            stderr=subprocess.DEVNULL if quiet else None,
        )
        marker.write_text("\n".join(requirements) + "\n")
    return python


def ensure_env(version: str) -> Path:
    """The Python of the environment for ``version`` (a key of VERSIONS, or ``colab``)."""
    if version == "colab":
        return make_env(
            f"colab-python{COLAB_PYTHON}-ipython-7.34",
            COLAB_REQUIREMENTS,
            base_python=find_python(COLAB_PYTHON),
            timeout=900,
        )
    return make_env(f"ipython-{version}", (VERSIONS[version], "requests"))


def run_with_repo(
    python: Path, *args: str, timeout: float = 300, check: bool = True
) -> subprocess.CompletedProcess[str]:
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
        check=check,
    )


if __name__ == "__main__":
    for name in sys.argv[1:] or [*VERSIONS, "colab"]:
        sys.stdout.write(f"{name}: {ensure_env(name)}\n")
