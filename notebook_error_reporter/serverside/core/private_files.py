"""The SQLite database and the files beside it are readable by the server's user alone.

The database holds the server's secret keys, every session id and every report. SQLite creates a
new database file with mode 0644 (less the umask), but its ``-wal`` and ``-shm`` files, whenever it
makes them again later, take the mode of the database file itself. So making the database file
0600 *before* SQLite first opens it keeps every file SQLite adds private; files left readable by
an older version are narrowed at start.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_FILE = 0o600
# What SQLite and the server keep beside ``<database>``.
COMPANION_SUFFIXES = ("-wal", "-shm", "-journal", "-turn")


def prepare_private_database(path: str) -> None:
    """Create the SQLite file ``path`` empty and 0600 if it is missing (in a directory that exists:
    a missing one stays an unreachable database, as SQLite makes none); narrow it and its
    companions to 0600 if they are wider."""
    database = Path(path)
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except (FileExistsError, FileNotFoundError):
        pass
    for file in [database, *(Path(f"{database}{suffix}") for suffix in COMPANION_SUFFIXES)]:
        narrow_to_owner(file)


def narrow_to_owner(path: Path) -> None:
    """Take away every permission of group and others from ``path``, if it exists and is ours."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, mode & 0o700)
    except FileNotFoundError:
        pass
    except PermissionError:  # not our file (another user's database we may read): leave it
        pass
