"""``ErrorServer.retrieve_errors()`` when the server can't be asked: one plain line saying why
(no ``HTTPConnectionPool…NewConnectionError``), the session's waiting reports still shown, nothing
raised. Real sockets throughout: the real server (uvicorn), closed ports, a listener that never
accepts, one that never answers, TLS spoken to a plain-HTTP server, and small servers answering
401/403/404/429/5xx."""

from __future__ import annotations

import gc
import io
import json
import socket
import ssl
import threading
from contextlib import redirect_stderr, redirect_stdout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import trustme
from delivery_servers import Answer, FaultServer, LegacyStore, SilentServer, free_port
from IPython.core.interactiveshell import InteractiveShell
from serverside.live_server import LiveServer
from waiting import run

from notebook_error_reporter import ErrorServer

pytestmark = pytest.mark.usefixtures("fail_on_internal_errors")

INTERNALS = ("HTTPConnectionPool", "NewConnectionError", "Max retries", "urllib3", "Errno", "Traceback")
FAST: Dict[str, Any] = {"backoff_base": 0.05, "backoff_cap": 0.2, "flush_at_exit": 0.0, "quiet": True}


def asked(
    shell: InteractiveShell, reporters: List[ErrorServer], tmp_path: Path, url: str, **options: Any
) -> Tuple[str, List[Any], ErrorServer]:
    """One failing cell reported to ``url``, then ``retrieve_errors()``: (what it printed, the reports)."""
    reporter = ErrorServer(
        url,
        "unreachable",
        spool_path=str(tmp_path / f"spool-{len(reporters)}.sqlite3"),
        **{**FAST, **options},
    )
    reporters.append(reporter)
    reporter.enable(shell)
    run(shell, "# Load the structures\n{}['protein_id']")
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        found = reporter.retrieve_errors()
    said = out.getvalue() + err.getvalue()
    reporter.disable()
    return said, list(found), reporter


def one_line(said: str) -> str:
    lines = said.splitlines()
    assert len(lines) == 1, said
    assert not any(internal in said for internal in INTERNALS), said
    assert lines[0].startswith("notebook-error-reporter: ") and "?." not in lines[0], said
    assert lines[0].endswith("Showing the 1 report(s) of this session not yet delivered."), said
    return lines[0][len("notebook-error-reporter: ") :]


def test_a_stopped_server_is_connection_refused(
    shell: InteractiveShell,
    reporters: List[ErrorServer],
    tmp_path: Path,
    live_server: LiveServer,
) -> None:
    live_server.stop()
    said, found, _ = asked(shell, reporters, tmp_path, live_server.base_url)
    assert one_line(said) == (
        f"could not reach {live_server.base_url} — is the server running? (connection refused). "
        "Showing the 1 report(s) of this session not yet delivered."
    )
    assert [(r["first_line"], r["delivered"]) for r in found] == [("# Load the structures", False)]


def test_the_real_server_up_says_nothing_and_knows_the_report(
    shell: InteractiveShell,
    reporters: List[ErrorServer],
    tmp_path: Path,
    live_server: LiveServer,
) -> None:
    reporter = ErrorServer(live_server.base_url, "up", spool_path=str(tmp_path / "spool.sqlite3"), **FAST)
    reporters.append(reporter)
    reporter.enable(shell)
    out = io.StringIO()
    with redirect_stdout(out):
        assert reporter.retrieve_errors() == [], "a session the server does not know yet: nothing, quietly"
    run(shell, "# Load the structures\n{}['protein_id']")
    assert reporter.flush(10)
    with redirect_stdout(out):
        found = reporter.retrieve_errors()
    assert out.getvalue() == ""
    assert [(r["error_name"], r["delivered"]) for r in found] == [("KeyError", True)]


def test_a_password_in_the_url_is_never_printed(
    shell: InteractiveShell, reporters: List[ErrorServer], tmp_path: Path
) -> None:
    port = free_port()
    said, _, _ = asked(shell, reporters, tmp_path, f"http://alice:s3cret@127.0.0.1:{port}")
    assert one_line(said).startswith(f"could not reach http://127.0.0.1:{port} — is the server running?")
    assert "s3cret" not in said and "alice" not in said


def test_a_proxy_that_is_not_there_is_named_not_the_server(
    shell: InteractiveShell, reporters: List[ErrorServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    url = f"http://127.0.0.1:{free_port()}"
    said, _, _ = asked(shell, reporters, tmp_path, url)
    assert one_line(said).startswith(f"could not reach {url} — the proxy did not let the request through")


def test_an_unknown_host_name(shell: InteractiveShell, reporters: List[ErrorServer], tmp_path: Path) -> None:
    said, _, _ = asked(shell, reporters, tmp_path, "http://errors.nowhere.invalid")
    assert one_line(said).startswith(
        "could not reach http://errors.nowhere.invalid — is the address right? (host name not found)."
    )


@pytest.fixture
def collected_afterwards() -> Iterator[None]:
    """A refused TLS handshake leaves requests' SSL socket to the garbage collector, and the
    reporters' own closing can leave another. Requested first, this fixture is torn down last,
    after the reporters are closed, and collects them in this test (whose marks ignore their
    ResourceWarning) rather than as an unraisable warning in whichever test runs next."""
    yield
    gc.collect()


# The SSL sockets of refused handshakes are collected in this test (``collected_afterwards``).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_https_spoken_to_a_plain_http_server_is_a_tls_failure(
    collected_afterwards: None,
    shell: InteractiveShell,
    reporters: List[ErrorServer],
    tmp_path: Path,
    live_server: LiveServer,
) -> None:
    address = live_server.base_url.replace("http://", "https://")
    said, _, _ = asked(shell, reporters, tmp_path, address)
    line = one_line(said)
    assert line.startswith(f"could not reach {address} — the TLS handshake failed ("), line
    assert "is it an https server?" in line and "SSL" not in line


class _EmptySession(BaseHTTPRequestHandler):
    """Answers every GET with an empty list of reports (and POSTs with 503: reports stay spooled)."""

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _answer(self, status: int, data: Any) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self._answer(200, [])

    def do_POST(self) -> None:  # noqa: N802
        self._answer(503, {"detail": "not now"})


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[Tuple[str, str]]:
    """An HTTPS server on 127.0.0.1 whose certificate comes from a CA no system trusts: (url, CA file)."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "test-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EmptySession)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", str(ca_file)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# The SSL sockets of refused handshakes are collected in this test (``collected_afterwards``).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_an_untrusted_certificate_is_said_and_a_trusted_one_just_works(
    collected_afterwards: None,
    shell: InteractiveShell,
    reporters: List[ErrorServer],
    tmp_path: Path,
    https_server: Tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, ca_file = https_server
    said, _, _ = asked(shell, reporters, tmp_path, url)
    assert one_line(said).startswith(
        f"could not reach {url} — its TLS certificate was not accepted "
        "(unable to get local issuer certificate)."
    )
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)  # the same server, its CA now trusted
    said, found, _ = asked(shell, reporters, tmp_path, url)
    assert said == "" and [r["delivered"] for r in found] == [False]


def test_a_server_that_never_answers_is_a_read_timeout(
    shell: InteractiveShell, reporters: List[ErrorServer], tmp_path: Path
) -> None:
    with SilentServer() as silent:
        said, _, _ = asked(shell, reporters, tmp_path, silent.url, timeout=(2, 0.5))
    assert one_line(said) == (
        f"{silent.url} did not answer within 0.5 s — is the server overloaded? "
        "Showing the 1 report(s) of this session not yet delivered."
    )


@pytest.fixture
def full_listener() -> Iterator[str]:
    """A port whose accept queue is full and never emptied: new connections are never completed."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(8):  # fill the queue (its length is the backlog + 1 on Linux)
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_a_server_that_never_accepts_is_a_connect_timeout(
    shell: InteractiveShell, reporters: List[ErrorServer], tmp_path: Path, full_listener: str
) -> None:
    said, _, _ = asked(shell, reporters, tmp_path, full_listener, timeout=(0.5, 5))
    assert one_line(said).startswith(
        f"could not reach {full_listener} — is the server running and the network up? "
        "(no connection within 0.5 s)."
    )


def answering(status: int, data: Any = None, headers: Optional[dict] = None) -> Any:
    def behaviour(method: str, path: str, body: Any) -> Optional[Answer]:
        if method == "GET":
            return status, data if data is not None else {"detail": "nope"}, dict(headers or {})
        return 503, {"detail": "not now"}, {}  # the report stays in the spool

    return behaviour


@pytest.mark.parametrize(
    ("status", "data", "expected"),
    [
        (401, None, "{url} refused to show this session's reports (HTTP 401 Unauthorized)"),
        (403, None, "{url} refused to show this session's reports (HTTP 403 Forbidden)"),
        (404, "<html>nginx</html>", "{url} has no reports to read here (HTTP 404 Not Found) — is it a n"),
        (429, None, "{url} is limiting requests (HTTP 429 Too Many Requests) — try again in a minute"),
        (500, None, "{url} failed while reading this session's reports (HTTP 500 Internal Server Error)"),
        (502, None, "the proxy in front of {url} got no answer from it (HTTP 502 Bad Gateway)"),
        (503, None, "{url} is unavailable (HTTP 503 Service Unavailable)"),
        (200, {"hello": "world"}, "{url} answered with something that is not a list of reports"),
    ],
)
def test_an_http_answer_other_than_the_reports_is_said_plainly(
    shell: InteractiveShell,
    reporters: List[ErrorServer],
    tmp_path: Path,
    status: int,
    data: Any,
    expected: str,
) -> None:
    with FaultServer(answering(status, data)) as server:
        said, found, reporter = asked(shell, reporters, tmp_path, server.url)
    assert one_line(said).startswith(expected.format(url=server.url)), said
    assert [r["delivered"] for r in found] == [False]
    assert reporter.stats.failed == 0


def test_a_01_server_is_read_through_its_usage_without_a_word(
    shell: InteractiveShell, reporters: List[ErrorServer], tmp_path: Path
) -> None:
    legacy = LegacyStore()  # its v1 routes answer FastAPI's own 404, {"detail": "Not Found"}
    with FaultServer(legacy.behaviour) as server:
        reporter = ErrorServer(server.url, "old-server", spool_path=str(tmp_path / "spool.sqlite3"), **FAST)
        reporters.append(reporter)
        reporter.enable(shell)
        out = io.StringIO()
        with redirect_stdout(out):
            assert reporter.retrieve_errors() == []
        run(shell, "# Load the structures\n{}['protein_id']")
        assert reporter.flush(10)
        with redirect_stdout(out):
            found = reporter.retrieve_errors()
    assert out.getvalue() == ""
    assert [(r["first_line"], r["delivered"]) for r in found] == [("# Load the structures", True)]
