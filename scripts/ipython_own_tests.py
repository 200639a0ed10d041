"""Run IPython's own shell tests without the reporter and with it (each capture method); compare.

The reporter must leave IPython's behaviour alone, so every test of IPython's
``test_interactiveshell.py`` has to end the same way with a reporter enabled on the test shell
as without one. The tests come from the installed IPython when it ships them (IPython 8), else
from its source distribution of the same version (``pip download --no-binary``), and run in a
venv of that IPython with its ``[test]`` extra (``.envs/``), with this checkout on PYTHONPATH.

Usage: ``.venv/bin/python scripts/ipython_own_tests.py [IPYTHON_VERSION]`` (default: the
version installed here). Prints one line per run and the tests whose outcome changed; exits 1
if any did.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ElementTree
from importlib import metadata
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from ipython_envs import ENVS, ROOT, make_env

SCRIPTS = Path(__file__).resolve().parent
TEST_FILE = "test_interactiveshell.py"
METHODS = ("events", "showtraceback")
RUN_TIMEOUT = 120.0

Outcomes = Dict[str, str]


def installed_tests(python: Path) -> Optional[Path]:
    """``IPython/core/tests/test_interactiveshell.py`` of the environment's IPython, if shipped."""
    located = subprocess.run(
        [str(python), "-c", "import IPython, os; print(os.path.dirname(IPython.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    )
    path = Path(located.stdout.strip(), "core", "tests", TEST_FILE)
    return path if path.exists() else None


def sdist_tests(version: str) -> Path:
    """The test file from IPython's source distribution of ``version`` (downloaded once)."""
    source = ENVS / f"ipython-{version}-source"
    for candidate in (source / "tests" / TEST_FILE, source / "IPython" / "core" / "tests" / TEST_FILE):
        if candidate.exists():
            return candidate
    download = ENVS / "downloads"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-binary",
            ":all:",
            f"ipython=={version}",
            "-d",
            str(download),
        ],
        check=True,
        timeout=300,
    )
    archive = download / f"ipython-{version}.tar.gz"
    unpacked = ENVS / f"ipython-{version}-unpacking"
    shutil.rmtree(unpacked, ignore_errors=True)
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    shutil.rmtree(source, ignore_errors=True)
    (unpacked / f"ipython-{version}").rename(source)
    shutil.rmtree(unpacked, ignore_errors=True)
    return sdist_tests(version)


def _outcomes(junit_xml: Path) -> Outcomes:
    outcomes: Outcomes = {}
    for case in ElementTree.parse(junit_xml).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[name] = kinds[0] if kinds else "passed"
    return outcomes


class TestRun:
    """One run of the test file in its own directory, started at once; ``result()`` waits for it."""

    def __init__(self, python: Path, test_file: Path, method: Optional[str], scratch: Path) -> None:
        self.method = method
        # IPython's conftest makes ./tmp-ipython-pytest-profiledir and refuses to run if it exists.
        workdir = scratch / (method or "without")
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        self.junit, self.stats = workdir / "junit.xml", workdir / "stats.json"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(SCRIPTS)]))
        for variable in ("NOTEBOOK_ERROR_REPORTER_DISABLE", "DO_NOT_TRACK"):
            env.pop(variable, None)
        env["NER_OWN_TESTS_METHOD"] = method or ""
        env["NER_OWN_TESTS_STATS"] = str(self.stats)
        command = [str(python), "-m", "pytest", str(test_file), "-q", "-p", "no:cacheprovider"]
        command += ["-p", "ipython_own_tests_plugin", f"--junitxml={self.junit}"]
        command += [f"--rootdir={test_file.parent.parent}"]
        self.process = subprocess.Popen(
            command, cwd=str(workdir), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def result(self) -> Tuple[Outcomes, Dict[str, object]]:
        """Outcome per test, and the reporter's stats (empty without one)."""
        try:
            self.process.wait(RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        if not self.junit.exists():
            raise RuntimeError(f"IPython's tests did not run ({self.method or 'without the reporter'})")
        stats = json.loads(self.stats.read_text()) if self.stats.exists() else {}
        return _outcomes(self.junit), stats


def compare(version: str) -> Tuple[List[str], List[str]]:
    """(one summary line per run, the tests whose outcome changed with the reporter)."""
    python = make_env(f"ipython-{version}-test", (f"ipython[test]=={version}", "requests"), quiet=True)
    test_file = installed_tests(python) or sdist_tests(version)
    scratch = ENVS / "ipython-own-tests-runs"
    # The three runs mostly wait (sleeps, subprocesses); side by side they take the time of one.
    runs = [TestRun(python, test_file, method, scratch) for method in (None, *METHODS)]
    baseline, _ = runs[0].result()
    lines = [f"without the reporter: {_counts(baseline)}"]
    changed: List[str] = []
    for run in runs[1:]:
        outcomes, stats = run.result()
        lines.append(f"with method={run.method}: {_counts(outcomes)}; reporter stats {stats}")
        if not stats.get("enabled") or not stats.get("captured"):
            changed.append(f"{run.method}: the reporter was not enabled or captured nothing ({stats})")
        for name in sorted(set(baseline) | set(outcomes)):
            if baseline.get(name) != outcomes.get(name):
                changed.append(f"{run.method}: {name}: {baseline.get(name)} -> {outcomes.get(name)}")
    return lines, changed


def _counts(outcomes: Outcomes) -> str:
    kinds = sorted(set(outcomes.values()))
    return ", ".join(f"{sum(1 for o in outcomes.values() if o == kind)} {kind}" for kind in kinds)


def main() -> int:
    version = sys.argv[1] if len(sys.argv) > 1 else metadata.version("ipython")
    lines, changed = compare(version)
    for line in [f"IPython {version}, {TEST_FILE}", *lines, *changed]:
        sys.stdout.write(line + "\n")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
