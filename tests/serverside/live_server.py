"""A REAL server for tests: ``notebook-error-server`` in a subprocess, uvicorn on 127.0.0.1.

    server = start_server(tmp_path, max_transparency=True)
    requests.post(server.base_url + "/api/v1/events", json=...)
    server.kill(); server.restart()          # same port, same database

Settings are keyword arguments named like ``Settings`` fields (``rate_limit_address="5/minute"``);
they reach the server as its environment variables. The database is a fresh one per call (see
``databases.py``) unless ``database_url`` is given. The server's output goes to
``tmp_path/server-N.log`` (read it with ``server.log()``). The ``live_server`` fixture is registered
for every test by ``tests/conftest.py``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import httpx

from notebook_error_reporter.serverside.cli import token_path

from .databases import fresh_database
from .helpers import ADMIN_TOKEN

START_TIMEOUT = 30.0
SERVER_SCRIPT = str(Path(sys.executable).parent / "notebook-error-server")  # the installed command
_GENERATE = object()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_environment(**extra: str) -> Dict[str, str]:
    """This process's environment without any server setting that could leak into a server process,
    its output unbuffered, with ``extra`` variables."""
    prefixes = ("NOTEBOOK_ERROR_REPORTER_", "DATABASE_URL", "RATELIMIT_STORAGE_URL")
    clean = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    return dict(clean, PYTHONUNBUFFERED="1", **extra)


def _setting_env(settings: Dict[str, Any]) -> Dict[str, str]:
    env: Dict[str, str] = {}
    for name, value in settings.items():
        if isinstance(value, bool):
            text = "1" if value else "0"
        elif isinstance(value, (tuple, list)):
            text = ",".join(value)
        else:
            text = str(value)
        env[f"NOTEBOOK_ERROR_REPORTER_{name.upper()}"] = text
    return env


@dataclass
class LiveServer:
    """One server process; ``restart()`` starts a new one on the same port and database."""

    base_url: str
    port: int
    database_url: str
    admin_token: Optional[str]
    workdir: Path
    command: List[str]
    env: Dict[str, str]
    process: subprocess.Popen[bytes] = field(init=False)
    log_path: Path = field(init=False)
    starts: int = 0

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def admin_headers(self) -> Dict[str, str]:
        token = self.admin_token or self.generated_token()
        return {"Authorization": f"Bearer {token}"}

    def generated_token(self) -> str:
        """The token the server generated (when started without one)."""
        path = token_path(self.database_url)
        if not path.is_absolute():
            path = self.workdir / path
        return path.read_text().strip()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _launch(self, timeout: float = START_TIMEOUT) -> None:
        self.starts += 1
        self.log_path = self.workdir / f"server-{self.starts}.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command, cwd=str(self.workdir), env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url("/healthz"), timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"server not healthy after {timeout} s:\n{self.log()}")

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop (SIGTERM), then SIGKILL if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """Hard stop, like a crash or a power cut of the process."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def restart(self, timeout: float = START_TIMEOUT) -> None:
        """``timeout``: how long to wait for health (longer on a machine busy with many clients)."""
        self.stop()
        self._launch(timeout)


def start_server(
    tmp_path: Path,
    *,
    database_url: Optional[str] = None,
    admin_token: Any = ADMIN_TOKEN,
    **settings: Any,
) -> LiveServer:
    """Start and wait for /healthz. ``admin_token=None`` lets the server generate its own.

    Without ``database_url`` the database is a fresh SQLite file in ``tmp_path`` (PostgreSQL
    callers pass one from ``databases.fresh_database``; the ``live_server`` fixture does).
    """
    workdir = tmp_path / "server"
    workdir.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite:///{workdir / 'notebook_errors.db'}"
    last_error: Optional[Exception] = None
    for _ in range(3):  # a free port can be taken between our check and the server's bind
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "notebook_error_reporter.serverside",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--database-url",
            url,
            "--log-level",
            "warning",
        ]
        if admin_token is not None:
            command += ["--admin-token", admin_token]
        env = server_environment(**_setting_env(settings))
        server = LiveServer(f"http://127.0.0.1:{port}", port, url, admin_token, workdir, command, env)
        try:
            server._launch()
            return server
        except RuntimeError as error:
            last_error = error
            if "address already in use" not in str(error).lower():
                raise
    raise RuntimeError(f"could not start a server: {last_error}")


@contextlib.contextmanager
def server_on_fresh_database(tmp_path: Path, **settings: Any) -> Iterator[LiveServer]:
    """A real server with ``settings`` on a fresh database of the suite's kind, stopped afterwards."""
    with fresh_database(tmp_path) as url:
        server = start_server(tmp_path, database_url=url, **settings)
        try:
            yield server
        finally:
            with contextlib.suppress(Exception):
                server.stop()


