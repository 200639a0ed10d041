"""The command line as people run it: the console script and run_app.py in real processes.

Every known failure is one line on stderr and a non-zero exit, with nothing printed on stdout (no
banner, no token) and nothing made on disk; the banner says what to paste into a notebook.
"""

from __future__ import annotations

import ast
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator, List, Optional

import httpx
import pytest

from notebook_error_reporter.serverside.core.config import Settings, flag

from .helpers import ADMIN_TOKEN
from .live_server import SERVER_SCRIPT, free_port, server_environment

ROOT = Path(__file__).resolve().parents[2]
RUN_APP = [sys.executable, str(ROOT / "run_app.py")]


def run(args: List[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SERVER_SCRIPT, *args],
        cwd=str(cwd),
        env=server_environment(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_line_failure(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("notebook-error-server: ")
    for word in words:
        assert word in lines[0]
    assert done.stdout == "", "nothing printed before the failure: no banner, no token"


def test_help_lists_every_subcommand_and_every_setting(tmp_path: Path) -> None:
    done = run(["--help"], tmp_path)
    assert done.returncode == 0, done.stderr
    for name in ("serve", "migrate", "purge", "regroup"):
        assert re.search(rf"^\s+{name}\s", done.stdout, re.MULTILINE), name
    for name in Settings.model_fields:
        assert flag(name) in done.stdout, name
    assert "--colab-networks" in run(["serve", "--help"], tmp_path).stdout


def test_run_app_takes_the_same_flags_as_serve(tmp_path: Path) -> None:
    by_script = run(["--help"], tmp_path)
    by_run_app = subprocess.run(
        [*RUN_APP, "--help"], env=server_environment(), capture_output=True, text=True, timeout=60
    )
    assert by_run_app.returncode == 0 and by_run_app.stdout == by_script.stdout


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("not a url", ["does not parse"]),
        ("mysql://user:secret-pw@db/errors", ["unsupported database 'mysql'"]),
        ("postgresql://user:secret-pw@127.0.0.1:{closed}/errors", ["cannot use the database", "refused"]),
        ("sqlite:///{tmp}/missing/errors.db", ["does not exist", "missing"]),
        ("sqlite:///{tmp}", ["not a file"]),
    ],
)
def test_an_unusable_database_url_is_one_line(tmp_path: Path, url: str, words: List[str]) -> None:
    url = url.format(closed=free_port(), tmp=tmp_path)
    done = run(["--port", str(free_port()), "--database-url", url], tmp_path)
    assert_one_line_failure(done, *words)
    assert "secret-pw" not in done.stderr, "a password is never repeated"
    assert not (tmp_path / "missing").exists(), "no mkdir -p"
    assert sorted(path.name for path in tmp_path.iterdir()) == [], "no token file, no database"


def _postgres() -> str:
    url = os.environ.get("NER_TEST_POSTGRES_URL") or os.environ.get("NER_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("needs the PostgreSQL of scripts/test (NER_TEST_POSTGRES_URL)")
    return url


@pytest.fixture
def role_with_a_password() -> Iterator[str]:
    """A PostgreSQL role that must give its password (the test server trusts everybody else).

    A line for this role alone goes at the top of the server's pg_hba.conf (scripts/test's
    server, in ``NER_TEST_POSTGRES_DIR``), and goes again afterwards.
    """
    import psycopg

    url = _postgres()
    hba = Path(os.environ.get("NER_TEST_POSTGRES_DIR", "")) / "data" / "pg_hba.conf"
    if not hba.is_file():
        pytest.skip("needs the PostgreSQL directory of scripts/test (NER_TEST_POSTGRES_DIR)")
    role = f"pw_{uuid.uuid4().hex[:12]}"
    line = f"host all {role} 127.0.0.1/32 scram-sha-256\n"
    original = hba.read_text()
    plain = "postgresql://" + url.split("://", 1)[1]
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'the-right-one'")
        hba.write_text(line + original)
        connection.execute("SELECT pg_reload_conf()")
    try:
        yield url.replace("postgres@", f"{role}:wrong-pw@", 1)
    finally:
        hba.write_text(hba.read_text().replace(line, "", 1))
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute("SELECT pg_reload_conf()")
            connection.execute(f"DROP ROLE {role}")


@pytest.mark.postgres
def test_postgresql_refusing_the_password_is_one_line(tmp_path: Path, role_with_a_password: str) -> None:
    done = run(["--port", str(free_port()), "--database-url", role_with_a_password], tmp_path)
    assert_one_line_failure(done, "cannot use the database", "password authentication failed")
    assert "wrong-pw" not in done.stderr


@pytest.mark.postgres
def test_postgresql_refusing_the_user_is_one_line(tmp_path: Path) -> None:
    url = _postgres().replace("postgres@", "no_such_role@", 1)
    done = run(["--port", str(free_port()), "--database-url", url], tmp_path)
    assert_one_line_failure(done, "cannot use the database", 'role "no_such_role" does not exist')


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run(["--port", str(port)], tmp_path)
    assert_one_line_failure(done, f"127.0.0.1:{port}", "in use")
    assert list(tmp_path.iterdir()) == [], "checked before the database and the token are made"


@pytest.mark.parametrize(
    ("host", "words"),
    [("192.0.2.1", ["not an address of this machine"]), ("no-such-host.invalid", ["no such host"])],
)
def test_a_host_that_cannot_be_bound_is_one_line(tmp_path: Path, host: str, words: List[str]) -> None:
    assert_one_line_failure(run(["--host", host, "--port", str(free_port())], tmp_path), host, *words)


def run_unable_to_write(target: Path, args: List[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the command with ``target`` (a directory or a file) not writable to it.

    An ordinary user: ``chmod a-w``. Root may write anywhere, so there the command runs in a mount
    namespace of its own where ``target`` is bind-mounted read-only.
    """
    if os.geteuid() != 0:
        os.chmod(target, 0o555 if target.is_dir() else 0o444)
        return run(args, cwd)
    remount = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" && exec "$@"'
    return subprocess.run(
        ["unshare", "--map-root-user", "--mount", "sh", "-c", remount, str(target), SERVER_SCRIPT, *args],
        cwd=str(cwd),
        env=server_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_directory_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    url = f"sqlite:///{locked / 'errors.db'}"
    done = run_unable_to_write(locked, ["--port", str(free_port()), "--database-url", url], tmp_path)
    assert_one_line_failure(done, "cannot be written", str(locked))
    assert list(locked.iterdir()) == []


def test_a_database_file_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    database = tmp_path / "errors.db"
    assert run(["migrate", "--database-url", f"sqlite:///{database}"], tmp_path).returncode == 0
    args = ["--port", str(free_port()), "--database-url", f"sqlite:///{database}"]
    assert_one_line_failure(run_unable_to_write(database, args, tmp_path), "cannot be written", str(database))
    assert not (tmp_path / "errors.admin_token").exists()


def test_bad_settings_are_one_line_with_the_flag_and_the_variable(tmp_path: Path) -> None:
    done = run(["--port", "eighty"], tmp_path)
    assert_one_line_failure(done, "--port", "NOTEBOOK_ERROR_REPORTER_PORT", "whole number")
    assert done.returncode == 2
    done = run([], tmp_path, NOTEBOOK_ERROR_REPORTER_SLACK_WEBHOOK_URL="hooks.slack.com/T/B/secret-hook")
    assert_one_line_failure(done, "--slack-webhook-url", "http")
    assert "secret-hook" not in done.stderr


def test_usage_errors_go_to_stderr(tmp_path: Path) -> None:
    for args in (["--no-such-flag"], ["no-such-command"], ["purge", "--older-than-days", "x"]):
        done = run(args, tmp_path)
        assert done.returncode == 2 and done.stdout == ""
        assert "usage:" in done.stderr and "Traceback" not in done.stderr
    done = run(["purge", "--database-url", f"sqlite:///{tmp_path / 'x.db'}"], tmp_path)
    assert_one_line_failure(done, "--older-than-days")


def test_purge_without_a_database_says_so_and_makes_none(tmp_path: Path) -> None:
    done = run(["purge", "--older-than-days", "30"], tmp_path)
    assert_one_line_failure(done, "no database at", str(tmp_path / "notebook_errors.db"))
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "empty.db").touch()
    done = run(["purge", "--older-than-days", "30", "--database-url", "sqlite:///empty.db"], tmp_path)
    assert_one_line_failure(done, "nothing to purge")


def test_without_psycopg_sqlite_works_and_postgresql_names_the_extra(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None\n"  # as if the [postgres] extra were not installed
        "from notebook_error_reporter.serverside.cli import main\n"
        "assert main(['migrate', '--database-url', 'sqlite:///here.db']) == 0\n"
        "sys.exit(main(['--database-url', 'postgresql://u@127.0.0.1/db']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=str(tmp_path),
        env=server_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.startswith("migrate: SQLite file"), done.stderr
    done.stdout = ""
    assert_one_line_failure(done, "[server,postgres]")


class Started:
    def __init__(self, process: subprocess.Popen[str], port: int, banner: str) -> None:
        self.process, self.port, self.banner = process, port, banner


def start(args: List[str], cwd: Path, command: Optional[List[str]] = None, **env: str) -> Started:
    """Start a server and read its banner up to the token line."""
    port = free_port()
    process = subprocess.Popen(
        [*(command or [SERVER_SCRIPT]), *args, "--port", str(port)],
        cwd=str(cwd),
        env=server_environment(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: List[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Admin token"):
            if "shown this once" in line:
                lines.append(process.stdout.readline())
            break
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return Started(process, port, "".join(lines))
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the server did not become healthy:\n" + "".join(lines))


@pytest.fixture
def stopper() -> Iterator[List[Started]]:
    started: List[Started] = []
    yield started
    for server in started:
        server.process.terminate()
        server.process.wait(15)
        if server.process.stdout is not None:
            server.process.stdout.close()


def test_the_banner_gives_a_line_to_paste_and_says_who_can_reach_it(
    tmp_path: Path, stopper: List[Started]
) -> None:
    server = start([], tmp_path)
    stopper.append(server)
    pasted = next(
        line.strip() for line in server.banner.splitlines() if line.strip().startswith("ErrorServer(")
    )
    call = ast.parse(pasted).body[0].value  # type: ignore[attr-defined]
    assert {keyword.arg: keyword.value.value for keyword in call.keywords}["url"] == (
        f"http://127.0.0.1:{server.port}"
    )
    assert "Colab and other machines cannot reach" in server.banner
    assert "Deploying on the internet" in server.banner
    token = (tmp_path / "notebook_errors.admin_token").read_text().strip()
    assert token in server.banner, "a new token is shown once"


def test_run_app_serves_with_the_same_flags(tmp_path: Path, stopper: List[Started]) -> None:
    server = start(["--admin-token", ADMIN_TOKEN, "--max-transparency"], tmp_path, command=RUN_APP)
    stopper.append(server)
    assert "Admin token: as configured." in server.banner
    assert httpx.get(f"http://127.0.0.1:{server.port}/api/v1/notebooks").status_code == 200


def test_colab_networks_flag_decides_who_may_report(tmp_path: Path, stopper: List[Started]) -> None:
    from .helpers import make_event

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    elsewhere = start(["--colab-only", "--colab-networks", "34.0.0.0/15"], tmp_path / "a")
    stopper.append(elsewhere)
    here = start(["--colab-only", "--colab-networks", "10.0.0.0/8,127.0.0.0/8"], tmp_path / "b")
    stopper.append(here)
    for server, status in ((elsewhere, 403), (here, 201)):
        answer = httpx.post(f"http://127.0.0.1:{server.port}/api/v1/events", json=make_event())
        assert answer.status_code == status


def test_settings_from_a_dotenv_file_under_the_environment_and_flags(
    tmp_path: Path, stopper: List[Started]
) -> None:
    (tmp_path / ".env").write_text(
        f"NOTEBOOK_ERROR_REPORTER_ADMIN_TOKEN={ADMIN_TOKEN}\nNOTEBOOK_ERROR_REPORTER_MAX_TRANSPARENCY=0\n"
        "DATABASE_URL=sqlite:///from-dotenv.db\n"
    )
    server = start([], tmp_path, NOTEBOOK_ERROR_REPORTER_MAX_TRANSPARENCY="1")
    stopper.append(server)
    assert "Admin token: as configured." in server.banner
    assert (tmp_path / "from-dotenv.db").exists()
    assert httpx.get(f"http://127.0.0.1:{server.port}/api/v1/notebooks").status_code == 200, "env over .env"
    assert not (tmp_path / "notebook_errors.db").exists()


@pytest.mark.parametrize("after_seconds", [0.3, 1.0])
def test_ctrl_c_while_starting_ends_quietly(tmp_path: Path, after_seconds: float) -> None:
    """Importing, checking and migrating take seconds: Ctrl-C then is exit 130, not a traceback."""
    process = subprocess.Popen(
        [SERVER_SCRIPT, "--port", str(free_port())],
        cwd=str(tmp_path),
        env=server_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(after_seconds)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert process.returncode in (0, 130), (process.returncode, err)
    if process.returncode == 130:
        assert "Admin token" not in out


def test_ctrl_c_and_sigterm_while_serving_stop_without_a_traceback(tmp_path: Path) -> None:
    for stop in (signal.SIGINT, signal.SIGTERM):
        server = start(["--log-format", "json"], tmp_path)
        server.process.send_signal(stop)
        assert server.process.wait(30) in (0, -signal.SIGTERM)
        assert server.process.stdout is not None
        server.process.stdout.close()


def test_a_colab_networks_file_that_cannot_be_used_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "list.json").write_text('["8.8.8.0/24"]')
    for name, words in (
        ("missing.json", ["cannot read", "missing.json"]),
        (".", ["cannot read", str(tmp_path)]),
        ("bad.json", ["bad.json", "not JSON"]),
        ("list.json", ["list.json", "Google's format"]),
    ):
        done = run(["--colab-networks", f"@{tmp_path / name}"], tmp_path)
        assert_one_line_failure(done, "--colab-networks", *words)
        assert done.returncode == 2


def test_an_admin_token_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    done = run(["--admin-token-file", str(tmp_path / "missing")], tmp_path)
    assert_one_line_failure(done, "--admin-token-file", "cannot read", str(tmp_path / "missing"))
    assert "--host" not in done.stderr


def test_each_subcommand_has_its_own_usage_line(tmp_path: Path) -> None:
    for name in ("serve", "migrate", "purge", "regroup"):
        done = run([name, "--help"], tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"usage: notebook-error-server {name} [-h]"), done.stdout[:200]
    done = run(["purge", "--older-than-days", "many"], tmp_path)
    assert done.stderr.startswith("usage: notebook-error-server purge [-h]"), done.stderr


def test_ctrl_c_in_a_terminal_while_workers_start_ends_quietly(tmp_path: Path) -> None:
    """Ctrl-C reaches the whole process group: workers still importing must not print tracebacks."""
    process = subprocess.Popen(
        [SERVER_SCRIPT, "--port", str(free_port()), "--workers", "2"],
        cwd=str(tmp_path),
        env=server_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group, as a terminal gives a command
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if "Started parent process" in line:
            break
    time.sleep(0.2)  # the worker processes are starting Python and importing the server
    os.killpg(process.pid, signal.SIGINT)
    seen.append(process.stderr.read())
    process.stderr.close()
    assert process.wait(60) == 0
    log = "".join(seen)
    assert "Traceback" not in log and "KeyboardInterrupt" not in log, log
    assert "Received SIGINT" in log


def test_ctrl_c_stops_a_server_with_workers(tmp_path: Path, stopper: List[Started]) -> None:
    server = start(["--workers", "2"], tmp_path)
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(30) == 0
    assert server.process.stdout is not None
    server.process.stdout.close()


def test_a_dotenv_line_that_is_not_name_value_is_one_line(tmp_path: Path) -> None:
    for text in ("NOTEBOOK_ERROR_REPORTER_MAX_TRANSPARENCY=1\nport 8001\n", 'A=1\nB="unclosed\n'):
        (tmp_path / ".env").write_text(text)
        done = run(["--port", str(free_port())], tmp_path)
        assert_one_line_failure(done, ".env", "line 2", "NAME=value")
        assert done.returncode == 2
        assert sorted(path.name for path in tmp_path.iterdir()) == [".env"], "nothing made"
