"""The README's table of settings, made from the settings object so that the two never drift.

    python -m notebook_error_reporter.serverside.settings_table   # prints the table

``tests/serverside/test_settings_table.py`` checks that README.md holds exactly this table.
"""

from __future__ import annotations

from typing import List

from .core.config import ALIASES, DEFAULT_DATABASE_FILE, Settings, flag, variable

START = "<!-- settings:start -->"
END = "<!-- settings:end -->"
# Defaults too long, or too local, to show as they are.
_SHOWN = {
    "database_url": f"sqlite:///{DEFAULT_DATABASE_FILE} (in the working directory)",
    "colab_networks": "Google's published ranges (core/colab_ranges.py)",
    "trusted_proxies": "none",
}


def shown_default(name: str) -> str:
    """A setting's default as people should read it."""
    if name in _SHOWN:
        return _SHOWN[name]
    default = Settings.model_fields[name].default
    if default is None:
        return "unset"
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return str(default)


def settings_table() -> str:
    """The Markdown table: name, flag, variable, default, what it does."""
    rows: List[str] = [
        "| setting | flag | environment variable | default | what it does |",
        "|---|---|---|---|---|",
    ]
    for name, info in Settings.model_fields.items():
        names = f"`{variable(name)}`" + (f" or `{ALIASES[name]}`" if name in ALIASES else "")
        what = (info.description or "").replace("|", "\\|")
        rows.append(f"| {name} | `{flag(name)}` | {names} | {shown_default(name)} | {what} |")
    return "\n".join(rows)


def readme_section() -> str:
    return f"{START}\n{settings_table()}\n{END}"


if __name__ == "__main__":
    import sys

    sys.stdout.write(settings_table() + "\n")
