"""End to end, with real faults: real IPython shells (here and in other processes), real Jupyter
kernels (nbclient), servers that are down, hang, get ``kill -9``-ed and come back.

The v1 server played here is ``delivery_servers.py`` run as its own process (its store is an
SQLite file, so it survives a kill); ``test_delivery_live_server.py`` runs the same faults
against the real collection server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
from delivery_servers import EventStore, FaultServer, SilentServer, free_port, v1_behaviour
from helpers import FAST, unprivileged
from IPython.core.interactiveshell import InteractiveShell
from notebook_run import printed, run_notebook
from waiting import run, wait_until

from notebook_error_reporter import ErrorServer

pytestmark = pytest.mark.usefixtures("fail_on_internal_errors")

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent

# -- helpers -----------------------------------------------------------------------------------


class V1Process:
    """The v1 fake in its own process: start, ``kill -9``, start again on the same port and file."""

    def __init__(self, tmp_path: Path, port: Optional[int] = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = str(tmp_path / "v1-server.sqlite3")
        self.process: Optional[subprocess.Popen[str]] = None

    def start(self, delay: float = 0.0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(TESTS / "delivery_servers.py"), "v1", str(self.port), self.db, str(delay)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().startswith("listening"), "the server did not start"

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def store(self) -> EventStore:
        return EventStore(self.db)

    def stored_ids(self) -> List[str]:
        store = self.store()
        try:
            return [e["event_id"] for e in store.events()]
        finally:
            store.close()

    def receipts(self) -> List[str]:
        store = self.store()
        try:
            return store.receipts()
        finally:
            store.close()


@pytest.fixture
def v1(tmp_path: Path) -> Iterator[V1Process]:
    server = V1Process(tmp_path)
    yield server
    server.kill()


_CLIENT = r"""
import io, json, sys, time
from contextlib import redirect_stderr, redirect_stdout
from IPython.core.interactiveshell import InteractiveShell
from notebook_error_reporter import ErrorServer

config = json.loads(sys.argv[1])
if config.get("tempdir"):  # what tempfile.gettempdir() found (it skips an unwritable TMPDIR by itself)
    import tempfile
    tempfile.tempdir = config["tempdir"]
def emit(**data):
    sys.__stdout__.write("E2E " + json.dumps(data) + "\n")
    sys.__stdout__.flush()

ids = []
def keep(event):
    ids.append(event["event_id"])
    return event

shell = InteractiveShell.instance()
es = ErrorServer(config["url"], "e2e", before_send=keep, **{"quiet": True, **config["options"]})
es.enable(shell)
durations = []
for cell in config["cells"]:
    start = time.perf_counter()
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        shell.run_cell(cell, store_history=True)
    durations.append(time.perf_counter() - start)
emit(event="ran", session_id=es.session_id, ids=ids, durations=durations, spool=es.spool_location)
if config.get("wait_for_stdin"):
    sys.stdin.readline()
deadline = time.monotonic() + config.get("drain", 0)
while time.monotonic() < deadline and es.pending:
    es.flush(1)
emit(event="done", stats=es.stats.as_dict(), pending=es.pending, at=time.time())
"""


class Client:
    """A real IPython shell in another process (a second kernel, as far as the spool can tell)."""

    def __init__(
        self, config: Dict[str, Any], env: Optional[Dict[str, str]] = None, command: Any = None
    ) -> None:
        environment = dict(os.environ, PYTHONPATH=str(ROOT))
        for variable in ("NOTEBOOK_ERROR_REPORTER_DISABLE", "DO_NOT_TRACK"):
            environment.pop(variable, None)
        environment.update(env or {})
        argv = [sys.executable, "-c", _CLIENT, json.dumps(config)]
        self.process = subprocess.Popen(
            (command or (lambda a: a))(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )

    def message(self, timeout: float = 60) -> Dict[str, Any]:
        assert self.process.stdout is not None
        result: List[str] = []
        reader = threading.Thread(target=lambda: result.append(self._line()), daemon=True)
        reader.start()
        reader.join(timeout)
        assert result and result[0], f"no message from the client; stderr: {self.stderr()}"
        return dict(json.loads(result[0][4:]))

    def _line(self) -> str:
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            if not line or line.startswith("E2E "):
                return line

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def finish(self, timeout: float = 60) -> str:
        try:
            _, err = self.process.communicate(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.communicate()
        return err

    def stderr(self) -> str:
        if self.process.poll() is None:
            self.process.kill()
        return self.process.communicate()[1] if self.process.stderr and not self.process.stderr.closed else ""


FAILING_CELLS = [f"# step {n}\nraise ValueError('step {n} failed')" for n in range(5)]


# -- the faults --------------------------------------------------------------------------------
def test_server_down_at_error_time_then_started_gets_every_report_once(
    shell: InteractiveShell, v1: V1Process, reporters: List[ErrorServer], tmp_path: Path
) -> None:
    reporter = ErrorServer(v1.url, "e2e", spool_path=str(tmp_path / "spool.sqlite3"), **FAST)
    reporters.append(reporter)
    reporter.enable(shell)
    run(shell, "1/0")  # warm up IPython's traceback machinery
    durations = [run(shell, cell) for cell in FAILING_CELLS]
    assert max(durations) < 0.5, durations
    assert reporter.pending == 6 and reporter.stats.sent == 0
    v1.start()
    assert wait_until(lambda: reporter.stats.sent == 6), reporter.stats
    assert len(v1.receipts()) == len(set(v1.receipts())) == 6, "each report posted exactly once"
    assert sorted(v1.stored_ids()) == sorted(r["event_id"] for r in reporter.retrieve_errors())
    assert reporter.pending == 0


def test_a_server_that_never_answers_does_not_hold_the_cell_and_is_retried(
    shell: InteractiveShell, reporters: List[ErrorServer], tmp_path: Path
) -> None:
    with SilentServer() as silent:
        reporter = ErrorServer(
            silent.url, "e2e", timeout=(0.5, 0.5), spool_path=str(tmp_path / "s.sqlite3"), **FAST
        )
        reporters.append(reporter)
        reporter.enable(shell)
        run(shell, "1/0")
        duration = run(shell, "# hangs?\n1/0")
        assert duration < 0.5
        assert wait_until(lambda: len(silent.connections) >= 3, timeout=15), "the sender should retry"
        times = [at for _, at in silent.connections]
        # Read while the server is still silent: closing it resets the try in flight.
        last_error = reporter.sender.last_error
    assert times[1] - times[0] >= 0.45  # each try waited out the read timeout before giving up
    assert reporter.stats.sent == 0 and reporter.pending == 2
    assert last_error is not None and "timed out" in last_error.lower()


def test_kill_9_in_the_middle_of_a_batch_loses_and_duplicates_nothing(
    shell: InteractiveShell, v1: V1Process, reporters: List[ErrorServer], tmp_path: Path
) -> None:
    reporter = ErrorServer(
        v1.url, "e2e", timeout=(1, 10), batch_size=10, spool_path=str(tmp_path / "s.sqlite3"), **FAST
    )
    reporters.append(reporter)
    reporter.enable(shell)
    for n in range(30):
        run(shell, f"# cell {n}\nraise KeyError({n})")
    assert reporter.pending == 30
    v1.start(delay=30)  # stores each batch, then sits on the answer
    assert wait_until(lambda: len(v1.stored_ids()) >= 10), "the first batch never arrived"
    v1.kill()  # the batch is stored, the client never heard back
    assert reporter.stats.sent == 0
    v1.start()
    assert wait_until(lambda: reporter.stats.sent == 30), reporter.stats
    receipts = v1.receipts()
    first_batch = receipts[:10]
    assert sorted(receipts).count(first_batch[0]) == 2, "the interrupted batch was sent again"
    stored = v1.stored_ids()
    assert len(stored) == len(set(stored)) == 30
    assert reporter.pending == 0 and reporter.stats.dropped == 0


def test_two_kernels_on_one_spool_send_each_report_exactly_once(tmp_path: Path) -> None:
    store = EventStore()
    is_open = threading.Event()
    inner = v1_behaviour(store)

    def behaviour(method: str, path: str, body: Any) -> Any:
        if not is_open.is_set():
            return 503, {"detail": "starting"}, {}
        time.sleep(0.05)  # widen the window in which both kernels want the same rows
        return inner(method, path, body)

    with FaultServer(behaviour) as server:
        config: Dict[str, Any] = {
            "url": server.url,
            "cells": [f"# k{n}\nraise ValueError({n})" for n in range(40)],
            "options": {**{k: v for k, v in FAST.items() if k != "quiet"}, "batch_size": 5},
            "spool": str(tmp_path / "shared.sqlite3"),
            "wait_for_stdin": True,
            "drain": 60,
        }
        config["options"]["spool_path"] = config.pop("spool")
        kernels = [Client(config), Client(config)]
        ran = [kernel.message() for kernel in kernels]
        is_open.set()
        for kernel in kernels:
            kernel.go()
        done = [kernel.message(timeout=90) for kernel in kernels]
        for kernel in kernels:
            assert "Traceback" not in kernel.finish()
        posted = store.receipts()  # every report posted once the server was open, repeats included
    produced = ran[0]["ids"] + ran[1]["ids"]
    assert len(produced) == 80
    assert len(posted) == len(set(posted)), "a report was sent twice"
    assert set(posted) == set(produced) == {e["event_id"] for e in store.events()}
    assert sum(d["stats"]["sent"] for d in done) == 80
    assert all(d["stats"]["sent"] > 0 for d in done), "both kernels should have delivered some"
    assert all(d["pending"] == 0 for d in done)


def test_the_exit_flush_delivers_and_never_hangs(tmp_path: Path) -> None:
    port = free_port()
    config: Dict[str, Any] = {
        "url": f"http://127.0.0.1:{port}",
        "cells": FAILING_CELLS[:2],
        "options": {"backoff_base": 60, "backoff_cap": 60, "spool_path": str(tmp_path / "s.sqlite3")},
        "wait_for_stdin": True,
    }
    store = EventStore()
    delivering = Client(config)
    ran = delivering.message()
    with FaultServer(v1_behaviour(store), port=port):
        delivering.go()  # only the exit flush can send now: the back-off is 60 s
        delivering.message()
        assert "Traceback" not in delivering.finish(timeout=30)
        assert sorted(e["event_id"] for e in store.events()) == sorted(ran["ids"])
    with SilentServer() as silent:
        config = {**config, "url": silent.url, "options": {**config["options"], "flush_at_exit": 1.0}}
        hanging = Client(config)
        hanging.message()
        hanging.go()
        done = hanging.message()
        hanging.finish(timeout=30)
        exited = time.time()
    assert exited - done["at"] < 1.0 + 1.5, "the exit flush must stop at flush_at_exit"


@pytest.mark.parametrize("also_temp", [False, True], ids=["cache read-only", "cache and temp read-only"])
def test_a_read_only_home_still_captures_and_delivers(tmp_path: Path, also_temp: bool) -> None:
    home = tmp_path / "home"
    (home / ".cache").mkdir(parents=True)
    temp = tmp_path / "tmp"
    temp.mkdir()
    ipython_dir = tmp_path / "ipython"
    ipython_dir.mkdir()
    home.chmod(0o500)
    (home / ".cache").chmod(0o500)
    if also_temp:
        temp.chmod(0o500)
    store = EventStore()
    try:
        with FaultServer(v1_behaviour(store)) as server:
            client = Client(
                {
                    "url": server.url,
                    "cells": FAILING_CELLS[:2],
                    "options": dict(FAST, quiet=False),
                    "drain": 20,
                    "tempdir": str(temp),
                },
                env={
                    "HOME": str(home),
                    "XDG_CACHE_HOME": "",
                    "TMPDIR": str(temp),
                    "IPYTHONDIR": str(ipython_dir),
                },
                command=unprivileged,
            )
            ran = client.message()
            done = client.message()
            err = client.finish()
    finally:
        for path in (home / ".cache", home, temp):
            path.chmod(0o700)
    assert "Traceback" not in err
    assert ran["spool"] == (
        ":memory:" if also_temp else str(temp / f"notebook-error-reporter-{os.getuid()}" / "spool.sqlite3")
    )
    assert done["stats"]["sent"] == 2 and done["pending"] == 0
    assert sorted(e["event_id"] for e in store.events()) == sorted(ran["ids"])


# -- real Jupyter kernels ------------------------------------------------------------------------
def test_a_restarted_kernel_delivers_what_the_last_one_spooled(
    tmp_path: Path, v1: V1Process, kernel_env: Dict[str, str]
) -> None:
    env = dict(kernel_env, PYTHONPATH=str(ROOT))
    shared = str(tmp_path / "kernels.sqlite3")
    setup = (
        "from notebook_error_reporter import ErrorServer\n"
        f"es = ErrorServer({v1.url!r}, 'kernel-restart', spool_path={shared!r}, flush_at_exit=0.5,"
        " backoff_base=0.05, backoff_cap=0.3)\n"
        "es.enable()"
    )
    first = run_notebook(
        [
            setup,
            "# Step 1: load\nopen('/no/such/file.csv')",
            "# Step 2: fit\nraise RuntimeError('did not converge')",
            "import json\nprint('FIRST=' + json.dumps([r['event_id'] for r in es.retrieve_errors()]))",
        ],
        tmp_path,
        env,
    )
    assert first.cells[1].outputs[0]["ename"] == "FileNotFoundError"  # the user saw their own error
    spooled = printed(first, "FIRST=")
    assert len(spooled) == 2 and v1.process is None  # nothing was listening
    v1.start()
    second = run_notebook(
        [
            setup,
            "es.flush(10)\nimport json\n"
            "print('SECOND=' + json.dumps({'sent': es.stats.sent, 'pending': es.pending}))",
        ],
        tmp_path,
        env,
    )
    assert printed(second, "SECOND=") == {"sent": 2, "pending": 0}
    stored = v1.stored_ids()
    assert sorted(stored) == sorted(spooled) and len(v1.receipts()) == 2
