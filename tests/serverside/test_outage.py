"""PostgreSQL going away mid-run: ingest answers 503 with Retry-After (never 500), then recovers alone."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from notebook_error_reporter.serverside import create_db

from .databases import fresh_database, is_postgres
from .helpers import make_event
from .live_server import start_server
from .tcp_proxy import TcpProxy

pytestmark = pytest.mark.skipif(not is_postgres(), reason="needs NER_TEST_DATABASE_URL=postgresql://...")


def test_database_outage_is_503_with_retry_after_and_heals_itself(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        create_db(url)
        direct = make_url(url)
        proxy = TcpProxy((direct.host or "127.0.0.1", direct.port or 5432))
        proxied = direct.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        server = start_server(tmp_path, database_url=proxied)
        try:
            before = make_event()
            assert httpx.post(server.url("/api/v1/events"), json=before).status_code == 201

            proxy.down()
            during = make_event()
            started = time.monotonic()
            for path, body in (("/api/v1/events", during), ("/api/v1/events/batch", {"events": [during]})):
                answer = httpx.post(server.url(path), json=body, timeout=30)
                assert answer.status_code == 503, answer.text
                assert int(answer.headers["retry-after"]) > 0
            assert time.monotonic() - started < 25, "an outage must not hang the clients"
            assert httpx.get(server.url("/healthz"), timeout=30).status_code == 503

            proxy.up()
            deadline = time.monotonic() + 30
            status = 0
            while time.monotonic() < deadline and status != 201:
                status = httpx.post(server.url("/api/v1/events"), json=during, timeout=30).status_code
                time.sleep(0.2)
            assert status == 201, "the server reconnects by itself"
            assert httpx.post(server.url("/api/v1/events"), json=before).status_code == 200
            assert httpx.get(server.url("/healthz")).status_code == 200
            assert "Traceback" not in server.log()
        finally:
            server.stop()
            proxy.close()
