"""The worker factory: it builds the app from the environment and tunes the process's collector."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

from notebook_error_reporter.serverside.asgi import OLDER_GENERATION_THRESHOLD, YOUNG_GENERATION_THRESHOLD

PROBE = """
import gc, json
before = gc.get_threshold()
from notebook_error_reporter.serverside.asgi import app_from_env
app = app_from_env()
print(json.dumps({"before": before, "after": gc.get_threshold(), "frozen": gc.get_freeze_count(),
                  "title": app.title}))
"""


def test_the_factory_freezes_start_up_objects_and_raises_the_thresholds(tmp_path: Path) -> None:
    # In a process of its own: the tuning is process-wide, and this test process must keep its own.
    env = {"NOTEBOOK_ERROR_REPORTER_DATABASE_URL": f"sqlite:///{tmp_path / 'gc.db'}", "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["before"][0] < YOUNG_GENERATION_THRESHOLD
    older = OLDER_GENERATION_THRESHOLD
    assert seen["after"] == [YOUNG_GENERATION_THRESHOLD, older, older]
    assert seen["frozen"] > 10_000  # modules, routes, schemas: all of start-up
    assert seen["title"]
    assert gc.get_threshold()[0] < YOUNG_GENERATION_THRESHOLD  # this process untouched
