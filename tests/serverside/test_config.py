"""Settings: arguments over environment over safe defaults; workers rebuild them exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from notebook_error_reporter.serverside.core.config import Settings, SettingsError, normalise_database_url


def test_defaults_are_the_safe_choices() -> None:
    settings = Settings.from_env({})
    assert settings.host == "127.0.0.1" and settings.port == 8000
    assert settings.max_transparency is False and settings.colab_only is False
    assert settings.trusted_proxies == () and settings.admin_token is None
    assert settings.database_url.startswith("sqlite:////") and settings.database_url.endswith(
        "/notebook_errors.db"
    )
    assert settings.ratelimit_storage_url == "memory://"


def test_environment_then_arguments() -> None:
    env = {
        "DATABASE_URL": "postgres://u:p@db/errors",
        "NOTEBOOK_ERROR_REPORTER_MAX_TRANSPARENCY": "yes",
        "NOTEBOOK_ERROR_REPORTER_PORT": "9000",
        "NOTEBOOK_ERROR_REPORTER_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1",
        "RATELIMIT_STORAGE_URL": "redis://cache:6379",
    }
    settings = Settings.from_env(env)
    assert settings.database_url == "postgresql+psycopg://u:p@db/errors"
    assert settings.max_transparency is True and settings.port == 9000
    assert settings.trusted_proxies == ("10.0.0.0/8", "192.168.1.1")
    assert settings.ratelimit_storage_url == "redis://cache:6379"
    assert Settings.from_env(env, port=9100, max_transparency=False).port == 9100
    assert Settings.from_env(env, max_transparency=False).max_transparency is False


def test_to_env_and_from_env_are_inverses() -> None:
    settings = Settings(
        database_url="sqlite:////tmp/x.db",
        admin_token="a" * 20,
        workers=3,
        colab_only=True,
        colab_networks=("34.0.0.0/8",),
        retention_days=30,
    )
    assert Settings.from_env(settings.to_env()) == settings


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("NOTEBOOK_ERROR_REPORTER_PORT", "eighty", "whole number"),
        ("NOTEBOOK_ERROR_REPORTER_COLAB_ONLY", "maybe", "COLAB_ONLY"),
        ("NOTEBOOK_ERROR_REPORTER_TRUSTED_PROXIES", "10.0.0.0/33", "CIDR"),
        ("NOTEBOOK_ERROR_REPORTER_RATE_LIMIT_ADDRESS", "lots", "rate_limit_address"),
        ("NOTEBOOK_ERROR_REPORTER_ADMIN_TOKEN", "short", "16 characters"),
        ("NOTEBOOK_ERROR_REPORTER_WORKERS", "0", "workers"),
    ],
)
def test_bad_values_are_refused_by_name(variable: str, value: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        Settings.from_env({variable: value})


def test_unknown_setting_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="colour"):
        Settings.from_env({}, colour="blue")


def test_colab_networks_from_googles_json_file(tmp_path: Path) -> None:
    path = tmp_path / "goog.json"
    path.write_text(
        json.dumps({"prefixes": [{"ipv4Prefix": "8.8.8.0/24"}, {"ipv6Prefix": "2001:4860::/32"}]})
    )
    settings = Settings.from_env({"NOTEBOOK_ERROR_REPORTER_COLAB_NETWORKS": f"@{path}"})
    assert settings.colab_networks == ("8.8.8.0/24", "2001:4860::/32")
    listed = tmp_path / "ranges.txt"
    listed.write_text("# Google\n34.0.0.0/15\n\n35.184.0.0/13  # more\n")
    assert Settings.from_env({"NOTEBOOK_ERROR_REPORTER_COLAB_NETWORKS": f"@{listed}"}).colab_networks == (
        "34.0.0.0/15",
        "35.184.0.0/13",
    )


def test_token_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("t" * 24 + "\n")
    assert Settings.from_env({"NOTEBOOK_ERROR_REPORTER_ADMIN_TOKEN_FILE": str(path)}).admin_token == "t" * 24


def test_database_urls_are_normalised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert normalise_database_url("sqlite:///errors.db") == f"sqlite:///{tmp_path}/errors.db"
    assert normalise_database_url("postgresql://h/db") == "postgresql+psycopg://h/db"
    assert normalise_database_url("sqlite://") == "sqlite://"


def test_the_readmes_settings_table_is_made_from_the_settings() -> None:
    from notebook_error_reporter.serverside.settings_table import readme_section

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert readme_section() in readme, (
        "README.md's settings table is stale: paste the output of "
        "`python -m notebook_error_reporter.serverside.settings_table` between its markers"
    )
    for name in Settings.model_fields:
        assert f"| {name} | `--{name.replace('_', '-')}` |" in readme


def test_flags_over_environment_over_dotenv_over_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NOTEBOOK_ERROR_REPORTER_PORT", "NOTEBOOK_ERROR_REPORTER_WORKERS", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "NOTEBOOK_ERROR_REPORTER_PORT=9001\nNOTEBOOK_ERROR_REPORTER_WORKERS=3\n"
        "DATABASE_URL=sqlite:///dotenv.db\nSOMETHING_ELSE=ignored\n"
    )
    monkeypatch.setenv("NOTEBOOK_ERROR_REPORTER_WORKERS", "2")
    settings = Settings.from_env()
    assert (settings.port, settings.workers) == (9001, 2)
    assert settings.database_url == f"sqlite:///{tmp_path}/dotenv.db"
    assert Settings.from_env(port=9100, workers=4).port == 9100
    assert Settings.from_env({}).port == 8000, "an explicit environment leaves .env out"


def test_bad_values_name_the_flag_and_the_variable_and_hide_secrets() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"NOTEBOOK_ERROR_REPORTER_PORT": "eighty"})
    assert str(refused.value) == (
        "port (--port, NOTEBOOK_ERROR_REPORTER_PORT): expected a whole number, not 'eighty'"
    )
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"NOTEBOOK_ERROR_REPORTER_ADMIN_TOKEN": "short-secret"})
    assert "short-secret" not in str(refused.value) and "16 characters" in str(refused.value)


def test_core_config_depends_on_nothing_above_core() -> None:
    import ast

    from notebook_error_reporter.serverside.core import config

    tree = ast.parse(Path(config.__file__).read_text(encoding="utf-8"))
    relative = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level]
    assert relative and all(node.level == 1 for node in relative), "only modules of core/ itself"


def test_a_token_file_and_a_different_token_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("t" * 24 + "\n")
    env = {"NOTEBOOK_ERROR_REPORTER_ADMIN_TOKEN_FILE": str(path)}
    settings = Settings.from_env(dict(env, NOTEBOOK_ERROR_REPORTER_ADMIN_TOKEN="t" * 24))
    assert Settings.from_env(settings.to_env()) == settings
    assert "NOTEBOOK_ERROR_REPORTER_ADMIN_TOKEN" not in settings.to_env(), "workers read the file"
    with pytest.raises(SettingsError, match="disagree"):
        Settings.from_env(dict(env, NOTEBOOK_ERROR_REPORTER_ADMIN_TOKEN="u" * 24))
    with pytest.raises(SettingsError, match="cannot read"):
        Settings.from_env({"NOTEBOOK_ERROR_REPORTER_ADMIN_TOKEN_FILE": str(tmp_path / "missing")})
