"""The command line: token file handling, migrate and purge subcommands, bad settings, run_app.py."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from notebook_error_reporter.serverside.cli import load_or_create_token, main, token_path

ROOT = Path(__file__).resolve().parents[2]


def test_token_lives_beside_the_sqlite_file_with_owner_only_access(tmp_path: Path) -> None:
    path = token_path(f"sqlite:///{tmp_path / 'errors.db'}")
    assert path == tmp_path / "errors.admin_token"
    token, created = load_or_create_token(path)
    assert created and len(token) >= 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_token(path) == (token, False), "made once, then reused"


def test_token_for_other_databases_lives_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert token_path("postgresql+psycopg://db/errors") == tmp_path / "notebook_errors.admin_token"


def test_migrate_subcommand(database_url: str, capsys: Any) -> None:
    assert main(["migrate", "--database-url", database_url]) == 0
    assert "newest schema" in capsys.readouterr().out


def test_a_bad_setting_is_one_line_and_exit_code_2(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("NOTEBOOK_ERROR_REPORTER_COLAB_NETWORKS", "not-a-network")
    assert main(["--port", "8123"]) == 2
    assert "not a network" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, str(ROOT / "run_app.py"), "--help"],
        [sys.executable, "-m", "notebook_error_reporter.serverside", "--help"],
        [str(Path(sys.executable).parent / "notebook-error-server"), "purge", "--help"],
    ],
)
def test_entry_points_answer_help(command: Any) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=str(ROOT))
    assert done.returncode == 0, done.stderr
    assert "--database-url" in done.stdout
