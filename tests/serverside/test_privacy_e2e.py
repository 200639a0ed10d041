"""The privacy promise end to end: errors that carry home paths, the user's name, tokens and e-mail
addresses arrive on the server with none of them, whether our client or the 0.1.1 client sent them.

Everything is real: a uvicorn server on the suite's database (SQLite, or PostgreSQL in CI's second
run), and two IPython shells in their own processes whose ``$USER``, ``$LOGNAME`` and ``$HOME`` say
they belong to a made-up user: one runs our ``ErrorServer`` (which scrubs before sending), the other
the 0.1.1 client from PyPI (which sends everything raw, so the server's own pass in ``scrub.py`` is
all that stands between the secrets and the database). The same cells run in both; their errors put
the secrets in the message, the first line of the cell and the frames' file names (code compiled
under ``/home/...``, ``/Users/...`` and ``C:\\Users\\...`` names).

Then everything the server keeps is read back through every way out: the v1 session, issue and
notebook reads, the 0.1 ``/usages/`` and ``/errors/`` reads, the dashboard's pages, every column of
every table of the database, and the server's log. No secret may appear in any of them, while the
reports themselves did arrive (error names present, placeholders where the secrets were).
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Sequence, Tuple

import httpx
import pytest
import sqlalchemy as sa

from .dashboard_client import signed_in
from .helpers import ADMIN_TOKEN
from .legacy_client import legacy_python_or_fail
from .live_server import LiveServer, server_on_fresh_database

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
NOTEBOOK = "privacy-e2e"  # the name both clients give (in CLIENT)
pytestmark = pytest.mark.slow

# The made-up owner of the client machine, and what their errors give away.
USER = "hkowalski"
HOME = f"/home/{USER}"
EMAIL = "hanna.kowalski@genomics-lab.example.org"
GITHUB_TOKEN = "ghp_R7bq2Lx9Vt4Kp0Wz8Yc3Nd6Fh1Mj5Sg2Ae7X"
OPENAI_KEY = "sk-proj-4fT9qLm2Zx7Rb8Vn1Kc6Hw3Jd5Ps0Ye"
AWS_KEY_ID = "AKIAQ7XK2M9PL4RT8VZB"
BEARER_TOKEN = "6f1c0a9e4b7d2c8f5a3e9b1d7c4a2f8e"
PASSWORD = "Pl4typ0s-Wombat"
DB_PASSWORD = "S3cr3tPgPass"
# Beyond Colab: a hosted notebook's keys and folders, and what libraries repeat of their input.
DATABRICKS_TOKEN = "dapi" + "5e0c3a9f1b7d2468ace0f13579bdf024"
TELEGRAM_TOKEN = "6183045792:" + "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
ORGANISATION = "Genomics Lab Kowalski Foundation"
KAGGLE_KEY = "5f2c1a9e0b7d4c3e" + "8a6f1b2d9c0e7a4f"

# What must never reach the server; a secret's middle too, so a half-scrubbed one is caught.
SECRETS: Tuple[str, ...] = (
    USER,
    "kowalski",
    HOME,
    f"/Users/{USER}",
    f"C:\\Users\\{USER}",
    EMAIL,
    "genomics-lab",
    GITHUB_TOKEN,
    GITHUB_TOKEN[8:24],
    OPENAI_KEY,
    OPENAI_KEY[10:26],
    AWS_KEY_ID,
    AWS_KEY_ID[4:16],
    BEARER_TOKEN,
    BEARER_TOKEN[6:22],
    PASSWORD,
    "Wombat",
    DB_PASSWORD,
    DATABRICKS_TOKEN,
    DATABRICKS_TOKEN[8:24],
    TELEGRAM_TOKEN,
    TELEGRAM_TOKEN[14:30],
    AWS_SECRET,
    AWS_SECRET[10:26],
    ORGANISATION,
    "Foundation",
    KAGGLE_KEY,
    KAGGLE_KEY[8:24],
)

LOADER_FILE = HOME + "/projects/trial/loader.py"
WINDOWS_FILE = "C:\\Users\\" + USER + "\\work\\db_helpers.py"
MAC_FILE = "/Users/" + USER + "/Documents/tools/keys.py"

# A successful cell that defines helpers as if they lived in the user's files: their code objects
# carry those file names, so the frames of the errors below do.
SETUP_CELL = f"""import getpass, os
def _from_file(filename, source):
    namespace = {{}}
    exec(compile(source, filename, "exec"), namespace)
    return namespace
load = _from_file({LOADER_FILE!r}, '''
import getpass
def load(path):
    raise PermissionError(13, "Permission denied for " + getpass.getuser(), path)
''')["load"]
connect = _from_file({WINDOWS_FILE!r}, '''
import os
def connect():
    raise ConnectionError("could not reach postgresql://" + os.environ["USER"] + ":{DB_PASSWORD}"
                          "@db.internal.example.org:5432/cohort as {EMAIL}")
''')["connect"]
read_keys = _from_file({MAC_FILE!r}, '''
def read_keys(then):
    raise RuntimeError("GitHub refused {GITHUB_TOKEN}; OpenAI key {OPENAI_KEY}; AWS {AWS_KEY_ID}; "
                       "Authorization: Bearer {BEARER_TOKEN}; password={PASSWORD}")
''')["read_keys"]
deploy = _from_file({LOADER_FILE!r}, '''
def deploy():
    raise ValueError("https://api.telegram.org/bot{TELEGRAM_TOKEN}/getMe refused\\\\n"
                     "[parameters: ('{EMAIL}', '{PASSWORD}')]\\\\nCommand '['aws', 'configure', 'set', "
                     "'aws_secret_access_key', '{AWS_SECRET}']' returned non-zero exit status 255.")
''')["deploy"]
"""

# The failing cells: (error name, cell). Each puts secrets in its first line and in its message.
CELLS: Tuple[Tuple[str, str], ...] = (
    (
        "PermissionError",
        f"# Load {HOME}/projects/trial/cohort.csv for {USER} (ask {EMAIL})\n"
        f"load({HOME + '/projects/trial/cohort.csv'!r})",
    ),
    (
        "RuntimeError",
        f"# keys: token={GITHUB_TOKEN} OPENAI_API_KEY={OPENAI_KEY} Bearer {BEARER_TOKEN}\nread_keys(None)",
    ),
    (
        "ConnectionError",
        f"# Connect as {EMAIL} with password={PASSWORD} from C:\\Users\\{USER}\\work\nconnect()",
    ),
    (
        "ValueError",
        f"# Deploy C:\\Users\\{USER}\\OneDrive - {ORGANISATION}\\bot with token={DATABRICKS_TOKEN}\ndeploy()",
    ),
    ("KeyError", f"%env KAGGLE_KEY {KAGGLE_KEY}\n{{}}['protein_id']"),
)
ERROR_NAMES = [name for name, _ in CELLS]

CLIENT = r"""
import io, json, sys
from contextlib import redirect_stderr, redirect_stdout
from IPython.core.interactiveshell import InteractiveShell
kind, url, spool, setup, cells = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
shell = InteractiveShell.instance()
with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
    if kind == "ours":
        from notebook_error_reporter import ErrorServer
        from notebook_error_reporter.environment import privacy_context
        es = ErrorServer(url, "privacy-e2e", spool_path=spool, quiet=True, backoff_base=0.05,
                         backoff_cap=0.5, flush_at_exit=0)
        es.enable(shell)
        context = privacy_context()
        seen = {"user": context.user, "home": context.home}
    else:
        setup_01 = shell.run_cell(
            "from notebook_error_reporter import ErrorServer\n"
            f"es = ErrorServer(url={url!r}, notebook='privacy-e2e')\n"
            "es.enable()"
        )
        assert setup_01.success, setup_01.error_in_exec
        es = shell.user_ns["es"]
        seen = {}
    defined = shell.run_cell(setup, store_history=True)
    assert defined.success, defined.error_in_exec
    errors = [type(shell.run_cell(cell, store_history=True).error_in_exec).__name__ for cell in cells]
if kind == "ours":
    es.flush(30)
    out = {"session": es.session_id, "pending": es.pending}
else:
    out = {"session": es.uuid, "pending": 0}
sys.__stdout__.write(json.dumps(dict(out, errors=errors, seen=seen)) + "\n")
"""


def run_client(python: Path, kind: str, server: LiveServer, tmp_path: Path) -> Dict[str, Any]:
    """One client process as the made-up user; its result line (session id, errors raised)."""
    workdir = tmp_path / kind
    workdir.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("NOTEBOOK_ERROR_REPORTER_", "DO_NOT_TRACK"))
    }
    env.update(
        USER=USER,
        LOGNAME=USER,
        USERNAME=USER,
        HOME=HOME,  # need not exist: the client only reads it; IPython's files go to IPYTHONDIR
        IPYTHONDIR=str(workdir / "ipython"),
        XDG_CACHE_HOME=str(workdir / "cache"),
        PYTHONPATH=str(ROOT) if kind == "ours" else "",
    )
    done = subprocess.run(
        [
            str(python),
            "-c",
            CLIENT,
            kind,
            server.base_url,
            str(workdir / "spool.sqlite3"),
            SETUP_CELL,
            json.dumps([cell for _, cell in CELLS]),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=str(workdir),
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: Dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["errors"] == ERROR_NAMES, "each cell raised the error it was written to raise"
    assert result["pending"] == 0, "our client delivered everything"
    return result


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with server_on_fresh_database(tmp_path_factory.mktemp("privacy-server")) as live:
        yield live


@pytest.fixture(scope="module")
def sessions(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    """Both clients ran their cells against the server: their session ids, by kind."""
    tmp_path = tmp_path_factory.mktemp("privacy-clients")
    ours = run_client(Path(sys.executable), "ours", server, tmp_path)
    assert ours["seen"] == {"user": USER, "home": HOME}, "the client believed it ran as the made-up user"
    legacy = run_client(legacy_python_or_fail(), "legacy", server, tmp_path)
    return {"ours": ours["session"], "legacy": legacy["session"]}


def leaks(text: str) -> List[str]:
    """The secrets found in ``text`` (after undoing HTML and JSON escapes, case-insensitively)."""
    unescaped = html.unescape(text).replace("\\\\", "\\").casefold()
    return [secret for secret in SECRETS if secret.casefold() in unescaped]


def get(server: LiveServer, path: str, **params: Any) -> Any:
    answer = httpx.get(server.url(path), params=params, headers=server.admin_headers, timeout=30)
    assert answer.status_code == 200, (path, answer.text)
    return answer.json()


def api_reads(server: LiveServer, sessions: Dict[str, str]) -> Dict[str, Any]:
    """Every v1 and 0.1 read of the API, by path."""
    reads: Dict[str, Any] = {}
    for session_id in sessions.values():
        path = f"/api/v1/sessions/{session_id}/events"
        reads[path] = get(server, path)
    reads["/usages/" + sessions["legacy"]] = get(server, "/usages/" + sessions["legacy"])
    reads["/api/v1/notebooks"] = get(server, "/api/v1/notebooks")
    reads["/api/v1/issues"] = get(server, "/api/v1/issues", limit=500)
    for issue in reads["/api/v1/issues"]["items"]:
        for path in (f"/api/v1/issues/{issue['id']}", f"/api/v1/issues/{issue['id']}/events"):
            reads[path] = get(server, path, **({"limit": 500} if path.endswith("events") else {}))
    reads["/usages/"] = get(server, "/usages/", limit=1000)
    reads["/errors/"] = get(server, "/errors/", limit=1000)
    return reads


def dashboard_pages(server: LiveServer, issue_ids: Sequence[int]) -> Dict[str, str]:
    """Every page of the dashboard that shows reports, as the signed-in admin sees it."""
    pages: Dict[str, str] = {}
    client = signed_in(server, ADMIN_TOKEN)
    try:
        paths = ["/", "/issues"] + [f"/issues/{n}{tail}" for n in issue_ids for tail in ("", "/reports")]
        for path in paths:
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.text[:500])
            pages[path] = answer.text
    finally:
        client.close()
    return pages


def database_rows(url: str) -> Dict[str, List[str]]:
    """Every row of every table, each value as text: what an attacker holding the database reads."""
    engine = sa.create_engine(url)
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        rows: Dict[str, List[str]] = {}
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                rows[table.name] = [
                    json.dumps([str(value) for value in row], ensure_ascii=False)
                    for row in connection.execute(sa.select(table))
                ]
        return rows
    finally:
        engine.dispose()


def test_both_clients_reports_arrived_scrubbed(server: LiveServer, sessions: Dict[str, str]) -> None:
    """The reports are there (so the checks below are not vacuous), with placeholders for secrets."""
    for kind, session_id in sessions.items():
        events = get(server, f"/api/v1/sessions/{session_id}/events")
        assert sorted(e["error_name"] for e in events) == sorted(ERROR_NAMES), kind
        by_name = {e["error_name"]: e for e in events}
        permission, runtime, connection, value, key = (by_name[name] for name in ERROR_NAMES)
        assert "Permission denied for <user>" in permission["error_message"], (kind, permission)
        assert "cohort.csv" in permission["error_message"] and "cohort.csv" in permission["first_line"]
        assert runtime["error_message"].count("<redacted>") >= 5, (kind, runtime["error_message"])
        assert "Authorization: Bearer <redacted>" in runtime["error_message"]
        assert "<email>" in connection["error_message"] and "<email>" in connection["first_line"]
        assert "postgresql://<redacted>@db.internal.example.org" in connection["error_message"]
        assert "password=<redacted>" in connection["first_line"]
        assert "api.telegram.org/bot<redacted>/getMe" in value["error_message"], (kind, value)
        assert "[parameters: <redacted>]" in value["error_message"]
        assert "'aws_secret_access_key', '<redacted>'" in value["error_message"]
        assert value["first_line"] == "# Deploy bot with token=<redacted>", (kind, value)
        assert key["first_line"] == "%env KAGGLE_KEY <redacted>", (kind, key)
        files = {frame["filename"] for event in events for frame in event["traceback"]}
        assert {"loader.py", "keys.py", "db_helpers.py"} <= files, (kind, files)


def test_no_secret_leaves_through_any_read(server: LiveServer, sessions: Dict[str, str]) -> None:
    reads = api_reads(server, sessions)
    issues = reads["/api/v1/issues"]["items"]
    assert {i["error_name"] for i in issues} == set(ERROR_NAMES)
    assert [n["name"] for n in reads["/api/v1/notebooks"]] == [NOTEBOOK]
    assert sum(i["event_count"] for i in issues) == 2 * len(CELLS), "both clients' reports were stored"
    pages = dashboard_pages(server, [i["id"] for i in issues])
    assert any("Permission denied for" in html.unescape(page) for page in pages.values())
    found = {path: leaks(json.dumps(data, ensure_ascii=False)) for path, data in reads.items()}
    found.update({"page " + path: leaks(page) for path, page in pages.items()})
    print(  # noqa: T201
        f"\n{2 * len(CELLS)} reports (our client and 0.1.1), {len(SECRETS)} secrets looked for in"
        f" {len(reads)} API reads and {len(pages)} dashboard pages:"
        f" {sum(len(v) for v in found.values())} found"
    )
    assert {path: secrets for path, secrets in found.items() if secrets} == {}


def test_no_secret_is_stored_in_any_column_of_any_table(server: LiveServer, sessions: Dict[str, str]) -> None:
    rows = database_rows(server.database_url)
    assert len(rows["event"]) == 2 * len(CELLS), sorted(rows)
    found = {
        f"{table}[{n}]": leaks(row) for table, table_rows in rows.items() for n, row in enumerate(table_rows)
    }
    print(  # noqa: T201
        f"\n{len(SECRETS)} secrets looked for in {len(found)} rows of {len(rows)} tables:"
        f" {sum(len(v) for v in found.values())} found"
    )
    assert {where: secrets for where, secrets in found.items() if secrets} == {}


def test_no_secret_is_in_the_servers_log(server: LiveServer, sessions: Dict[str, str]) -> None:
    """The log is on the server's disk too (at the default level it should say next to nothing)."""
    log = "".join(path.read_text(errors="replace") for path in server.workdir.glob("server-*.log"))
    assert leaks(log) == []
