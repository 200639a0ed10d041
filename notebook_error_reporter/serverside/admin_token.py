"""The generated admin token: made once at the first start, kept in a file only its owner can read."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Tuple

from .core.config import DEFAULT_DATABASE_FILE, sqlite_path
from .core.private_files import narrow_to_owner

TOKEN_SUFFIX = ".admin_token"


def token_path(database_url: str) -> Path:
    """Where a generated admin token lives: beside the SQLite file, else in the working directory."""
    path = sqlite_path(database_url)
    if path is not None:
        database = Path(path)
        return database.with_name(database.stem + TOKEN_SUFFIX)
    return Path.cwd() / (Path(DEFAULT_DATABASE_FILE).stem + TOKEN_SUFFIX)


def load_or_create_token(path: Path) -> Tuple[str, bool]:
    """The stored token, or a new one written with mode 0600; True when it was just made."""
    try:
        token = path.read_text(encoding="utf-8").strip()
        narrow_to_owner(path)  # one left readable by others (an older version, a copy) is narrowed
        return token, False
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(32)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile: use theirs
        return path.read_text(encoding="utf-8").strip(), False
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token, True
