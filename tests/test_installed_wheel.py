"""Installs like a user's: the built wheel, in fresh venvs, a real kernel reporting to a real server.

Everything else in the suite runs from the checkout (``pip install -e``), which hides a missing
package-data entry (templates, migrations), a dependency the client imports but does not declare,
or a console script that points nowhere. Here the wheel and the sdist are built, the wheel goes
into one venv with only the client's dependencies (plus ``ipykernel``, which any Jupyter user has)
and into another with the ``[server]`` extra; the server venv's ``notebook-error-server`` serves on
127.0.0.1, and a notebook run by the client venv's kernel reports to it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Dict, Iterator, List

import httpx
import nbformat
import pytest
from nbclient import NotebookClient
from serverside.live_server import free_port

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "wheel-test-admin-token-0123456789"
pytestmark = pytest.mark.slow


def _run(*command: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _venv(path: Path, *requirements: str) -> Path:
    _run(sys.executable, "-m", "venv", str(path))
    python = path / "bin" / "python"
    _run(str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements)
    return python


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """The wheel and the sdist, built from this checkout the way a release is."""
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--wheel", "--sdist", "--outdir", str(out), str(ROOT))
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def test_the_wheel_and_sdist_carry_the_server_s_data_files(built: Dict[str, Path]) -> None:
    names = zipfile.ZipFile(built["wheel"]).namelist()
    assert any(n.endswith("serverside/migrations/versions/0001_initial_schema.py") for n in names)
    assert any(n.endswith("serverside/migrations/env.py") for n in names)
    assert "notebook_error_reporter/py.typed" in names
    assert not any(n.startswith("tests/") for n in names), "the tests are not part of the package"
    with tarfile.open(built["sdist"]) as sdist:
        members = sdist.getnames()
    assert any(m.endswith("/setup.py") for m in members) and any(m.endswith("/README.md") for m in members)


@pytest.fixture(scope="module")
def server_venv(built: Dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding only the wheel with its ``[server]`` extra (SQLite; no PostgreSQL, no Redis)."""
    home = tmp_path_factory.mktemp("server")
    _venv(home / "venv", f"{built['wheel']}[server]")
    return home


def test_the_server_extra_leaves_postgresql_and_redis_to_their_extras(server_venv: Path) -> None:
    installed = {
        entry["name"].lower()
        for entry in json.loads(
            _run(str(server_venv / "venv" / "bin" / "python"), "-m", "pip", "list", "--format=json")
        )
    }
    assert "pydantic-settings" in installed and not installed & {"psycopg", "psycopg-binary", "redis"}
    script = str(server_venv / "venv" / "bin" / "notebook-error-server")
    for setting, extra in (
        (["--database-url", "postgresql://user@127.0.0.1/errors"], "[server,postgres]"),
        (["--ratelimit-storage-url", "redis://127.0.0.1:6379"], "[server,redis]"),
    ):
        done = subprocess.run(
            [script, "--port", str(free_port()), *setting],
            cwd=server_venv,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and extra in done.stderr


@pytest.fixture(scope="module")
def server_from_wheel(server_venv: Path) -> Iterator[str]:
    """``notebook-error-server`` of that venv, serving on SQLite."""
    home = server_venv
    port = free_port()
    log = (home / "server.log").open("w")
    process = subprocess.Popen(
        [
            str(home / "venv" / "bin" / "notebook-error-server"),
            "--port",
            str(port),
            "--admin-token",
            ADMIN,
            "--log-level",
            "warning",
        ],
        cwd=home,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (home / "server.log").read_text()
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server from the wheel did not come up"
            time.sleep(0.2)
        assert (home / "notebook_errors.db").exists(), "the embedded default: a SQLite file here"
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def _client_kernel(built: Dict[str, Path], home: Path) -> str:
    """A Jupyter data dir with a kernel spec whose Python has the wheel and the client's deps only."""
    python = _venv(home / "venv", str(built["wheel"]), "ipykernel")
    listed = _run(str(python), "-m", "pip", "list", "--format=json")
    installed = {entry["name"].lower() for entry in json.loads(listed)}
    assert "requests" in installed and "ipython" in installed
    assert not installed & {"fastapi", "sqlmodel", "uvicorn", "sqlalchemy"}, "the client stays light"
    spec = home / "jupyter" / "kernels" / "wheel-client"
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "wheel", "language": "python"})
    )
    return str(home / "jupyter")


def test_a_notebook_in_a_client_only_venv_reports_to_the_server_from_the_wheel(
    built: Dict[str, Path], server_from_wheel: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kernels = _client_kernel(built, tmp_path)
    cells: List[str] = [
        "import notebook_error_reporter, os\n"
        "assert 'site-packages' in notebook_error_reporter.__file__, notebook_error_reporter.__file__\n"
        "from notebook_error_reporter import ErrorServer\n"
        f"es = ErrorServer(url={server_from_wheel!r}, notebook='from-the-wheel', spool_path='spool.db')\n"
        "es.enable()",
        f"# Open the results\nopen('{Path.home()}/secret-project/results.csv')",
        "es.flush(10)\nprint('SESSION=' + es.session_id)",
    ]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    monkeypatch.setenv("JUPYTER_PATH", kernels)
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="wheel-client",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    assert not [o for o in notebook.cells[0].outputs if o.get("output_type") == "error"], notebook.cells[0]
    printed = "".join(o.get("text", "") for o in notebook.cells[2].outputs)
    assert "SESSION=" in printed, notebook.cells[2].outputs
    session_id = printed.split("SESSION=", 1)[1].split()[0]

    answer = httpx.get(f"{server_from_wheel}/api/v1/sessions/{session_id}/events", timeout=10)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    events = body["events"] if isinstance(body, dict) else body
    assert [e["error_name"] for e in events] == ["FileNotFoundError"]
    assert events[0]["notebook"] == "from-the-wheel"
    assert events[0]["first_line"] == "# Open the results"
    assert str(Path.home()) not in events[0]["error_message"] and "results.csv" in events[0]["error_message"]
    issues = httpx.get(
        f"{server_from_wheel}/api/v1/issues",
        params={"notebook": "from-the-wheel"},
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=10,
    )
    assert issues.status_code == 200 and "FileNotFoundError" in issues.text
