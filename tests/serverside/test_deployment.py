"""The deployment, for real: Debian's nginx runs ``deploy/nginx.conf`` from the repository (only its
ports, certificate paths and upstream filled in), as a non-root user, with a certificate the test
makes, in front of a real server started as ``deploy/notebook-error-server.service`` starts it
(on 127.0.0.1, the proxy as its only trusted proxy).

Checked: the real client's reports arrive over HTTPS (verified against the test's CA); the
server limits the real client addresses, whatever a client writes in X-Forwarded-For; plain HTTP is
sent to HTTPS; the dashboard's cookies are ``Secure``; a client sending its headers slowly is cut
off by the proxy while others are served.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator, List

import httpx
import pytest
from helpers import FAST
from IPython.core.interactiveshell import InteractiveShell
from waiting import run, wait_until

from notebook_error_reporter import ErrorServer

from .helpers import ADMIN_TOKEN, make_event
from .live_server import LiveServer, free_port, start_server

REPOSITORY = Path(__file__).resolve().parents[2]
SITE = REPOSITORY / "deploy" / "nginx.conf"
UNIT = REPOSITORY / "deploy" / "notebook-error-server.service"
HEADER_TIMEOUT_S = 10  # client_header_timeout in deploy/nginx.conf
PER_ADDRESS = 4  # reports a minute per address; the limits test sends five


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is missing: scripts/system-packages installs Debian's nginx")
        pytest.skip("nginx is missing (scripts/system-packages installs it)")
    return found


def make_certificates(directory: Path) -> Path:
    """A test CA and a certificate for localhost / 127.0.0.1 signed by it; the CA's file."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=CA")
    openssl("req", *curve, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (directory / "server.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "server.ext",
    )
    return directory / "ca.pem"


def filled_site(directory: Path, https_port: int, http_port: int, upstream_port: int) -> str:
    """The repository's site configuration with this test's ports, certificate and upstream."""
    text = SITE.read_text()
    replacements = {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "listen [::]:443 ssl;": "",
        "/etc/letsencrypt/live/errors.example.org/fullchain.pem": str(directory / "server.pem"),
        "/etc/letsencrypt/live/errors.example.org/privkey.pem": str(directory / "server.key"),
        "http://127.0.0.1:8000": f"http://127.0.0.1:{upstream_port}",
    }
    for old, new in replacements.items():
        assert text.count(old) == 1, f"deploy/nginx.conf changed: {old!r} is not there once"
        text = text.replace(old, new)
    return text


def nginx_main(directory: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf provides around a site, in the test's own directory."""
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = " ".join(f"{kind}_temp_path {directory / kind};" for kind in kinds)
    return (
        f"worker_processes 1;\npid {directory / 'nginx.pid'};\nerror_log {directory / 'error.log'} info;\n"
        f"events {{ worker_connections 1024; }}\n"
        f"http {{\n  access_log off;\n  {temp}\n  include {directory / 'site.conf'};\n}}\n"
    )


def as_nobody_if_root(command: List[str], directory: Path) -> List[str]:
    """nginx must not need root: as root, the test runs it as ``nobody``, owning its directory."""
    if os.geteuid() != 0:
        return command
    for path in [directory, *directory.rglob("*")]:
        shutil.chown(path, "nobody", "nogroup")
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]


class Proxy:
    def __init__(self, directory: Path, https_port: int, http_port: int, ca: Path) -> None:
        self.directory, self.https_port, self.http_port, self.ca = directory, https_port, http_port, ca
        self.base_url = f"https://localhost:{https_port}"

    def client(self, source: str = "127.0.0.1", **options: object) -> httpx.Client:
        verify = ssl.create_default_context(cafile=str(self.ca))
        transport = httpx.HTTPTransport(local_address=source, verify=verify)
        return httpx.Client(base_url=self.base_url, transport=transport, timeout=10, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    exec_start = re.search(r"ExecStart=\S+ \\\n(.*?)\n(?!\s)", UNIT.read_text(), re.S)
    assert exec_start and "--trusted-proxies 127.0.0.1/32" in exec_start.group(1)
    assert "--host 127.0.0.1" in exec_start.group(1), "the unit keeps the server behind the proxy"
    live = start_server(
        tmp_path_factory.mktemp("deployed"),
        trusted_proxies=("127.0.0.1/32",),
        rate_limit_address=f"{PER_ADDRESS}/minute",
    )
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def proxy(server: LiveServer) -> Iterator[Proxy]:
    nginx = nginx_binary()
    directory = Path(tempfile.mkdtemp(prefix="ner-nginx-"))
    directory.chmod(0o755)
    process = None
    try:
        ca = make_certificates(directory)
        https_port, http_port = free_port(), free_port()
        (directory / "site.conf").write_text(filled_site(directory, https_port, http_port, server.port))
        (directory / "nginx.conf").write_text(nginx_main(directory))
        command = [nginx, "-p", str(directory), "-e", str(directory / "error.log")]
        command += ["-c", str(directory / "nginx.conf")]
        checked = subprocess.run(
            as_nobody_if_root([*command, "-t"], directory), capture_output=True, text=True, timeout=30
        )
        assert checked.returncode == 0, checked.stderr
        process = subprocess.Popen(as_nobody_if_root([*command, "-g", "daemon off;"], directory))
        live = Proxy(directory, https_port, http_port, ca)
        assert wait_until(lambda: _answers(live), timeout=15), (directory / "error.log").read_text()
        yield live
    finally:
        if process is not None:
            process.terminate()
            process.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


def _answers(proxy: Proxy) -> bool:
    try:
        with proxy.client() as client:
            return client.get("/healthz").status_code == 200
    except httpx.HTTPError:
        return False



def test_the_real_client_reports_over_https_and_plain_http_is_sent_to_https(
    proxy: Proxy,
    server: LiveServer,
    shell: InteractiveShell,
    reporters: List[ErrorServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(proxy.ca))  # requests verifies against the test CA
    reporter = ErrorServer(proxy.base_url, "behind-nginx", spool_path=str(tmp_path / "spool.sqlite3"), **FAST)
    reporters.append(reporter)
    reporter.enable(shell)
    run(shell, "# over TLS\n1/0")
    run(shell, "# again\n{}['k']")
    assert reporter.flush(20) and reporter.stats.sent == 2, (reporter.stats, reporter.last_error)
    with proxy.client() as client:
        stored = client.get(f"/api/v1/sessions/{reporter.session_id}/events").json()
    items = stored["items"] if isinstance(stored, dict) else stored
    assert sorted(item["first_line"] for item in items) == ["# again", "# over TLS"]
    plain = httpx.get(f"http://127.0.0.1:{proxy.http_port}/healthz", follow_redirects=False, timeout=5)
    assert plain.status_code == 301 and plain.headers["location"].startswith("https://")


def test_limits_see_the_real_client_addresses_not_the_proxy_nor_a_forged_header(
    proxy: Proxy, server: LiveServer
) -> None:
    forged = {"X-Forwarded-For": "203.0.113.7"}
    with proxy.client("127.0.0.2", headers=forged) as first, proxy.client("127.0.0.3") as second:
        answers = [first.post("/api/v1/events", json=make_event()).status_code for _ in range(5)]
        assert answers == [201] * PER_ADDRESS + [429], "127.0.0.2 has its own limit, forged header or not"
        other = first.post("/api/v1/events", json=make_event(), headers={"X-Forwarded-For": "198.51.100.1"})
        assert other.status_code == 429, "another forged address does not escape the limit"
        assert second.post("/api/v1/events", json=make_event()).status_code == 201, "127.0.0.3 is not held"


def test_a_client_sending_its_headers_slowly_is_cut_off_while_others_are_served(
    proxy: Proxy, server: LiveServer
) -> None:
    context = ssl.create_default_context(cafile=str(proxy.ca))
    raw = socket.create_connection(("127.0.0.1", proxy.https_port), timeout=HEADER_TIMEOUT_S + 10)
    slow = context.wrap_socket(raw, server_hostname="localhost")
    started = time.monotonic()
    try:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")  # and never the blank line
        with proxy.client("127.0.0.4") as other:
            for _ in range(3):  # others are served meanwhile
                assert other.get("/healthz").status_code == 200
        try:
            received = slow.recv(1024)
        except (ConnectionResetError, ssl.SSLError):
            received = b""
        elapsed = time.monotonic() - started
    finally:
        slow.close()
    assert not received.startswith(b"HTTP/1.1 200"), received
    assert HEADER_TIMEOUT_S - 1 <= elapsed <= HEADER_TIMEOUT_S + 5, elapsed


def test_the_dashboard_cookies_are_secure_behind_the_https_proxy(proxy: Proxy, server: LiveServer) -> None:
    with proxy.client("127.0.0.5", headers={"Accept": "text/html"}) as browser:
        form = browser.get("/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf, "the sign-in form has a CSRF field"
        signed_in = browser.post("/signin", data={"token": ADMIN_TOKEN, "csrf": csrf.group(1), "next": "/"})
        cookies = form.headers.get_list("set-cookie") + signed_in.headers.get_list("set-cookie")
    assert signed_in.status_code == 303 and cookies
    for cookie in cookies:
        assert "secure" in [part.strip().lower() for part in cookie.split(";")], cookie
