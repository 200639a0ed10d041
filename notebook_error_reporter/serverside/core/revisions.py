"""The newest revision of the shipped migrations, read from their files' text (pure, no I/O).

Alembic works this out too, but importing it (with Mako and Pygments) costs a server about 10 MB
for good; a server whose database is already at this revision never needs it. Only the plain
one-line form ``revision: str = "0003"`` / ``down_revision: ... = "0002"`` (or ``None``) is
understood: for anything else (a merge of branches) the answer is ``None`` and Alembic decides.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional

_REVISION = re.compile(r"^revision\b[^=\n]*=\s*['\"]([^'\"]+)['\"]\s*$", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\b[^=\n]*=\s*(None|['\"]([^'\"]+)['\"])\s*$", re.MULTILINE)


def single_head(migrations: Iterable[str]) -> Optional[str]:
    """The one revision no other migration builds on, from the texts of the migration files;
    ``None`` if a file is not in the plain form or there is not exactly one such revision."""
    revisions = set()
    parents = set()
    for text in migrations:
        revision, down = _REVISION.findall(text), _DOWN.findall(text)
        if len(revision) != 1 or len(down) != 1:
            return None
        revisions.add(revision[0])
        if down[0][0] != "None":
            parents.add(down[0][1])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None
