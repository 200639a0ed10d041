"""Which of two notebook versions is older: PEP 440 order where both parse, else first-seen order.

Pure and dependency-free (the client installs only ipython and requests): a PEP 440 parser with
the ordering of ``packaging.version.Version``, and ``is_older``, the one rule the server uses to
tell a report "from an older copy" from a regression, and the client to say "fixed in version X".
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional, Tuple

# PEP 440's own pattern (its appendix), as ``packaging`` spells it.
_PEP440 = re.compile(
    r"""
    v?
    (?:(?P<epoch>[0-9]+)!)?
    (?P<release>[0-9]+(?:\.[0-9]+)*)
    (?P<pre>[-_\.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_\.]?(?P<pre_n>[0-9]+)?)?
    (?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_\.]?(?P<post_l>post|rev|r)[-_\.]?(?P<post_n2>[0-9]+)?))?
    (?P<dev>[-_\.]?(?P<dev_l>dev)[-_\.]?(?P<dev_n>[0-9]+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_\.][a-z0-9]+)*))?
    """,
    re.VERBOSE | re.IGNORECASE,
)
_PRE_LETTERS = {
    "alpha": "a",
    "a": "a",
    "beta": "b",
    "b": "b",
    "c": "rc",
    "pre": "rc",
    "preview": "rc",
    "rc": "rc",
}

VersionKey = Tuple[Any, ...]


def pep440_key(version: str) -> Optional[VersionKey]:
    """A key that sorts versions in PEP 440 order, or None if ``version`` is not a PEP 440 version."""
    match = _PEP440.fullmatch(version.strip())
    if match is None:
        return None
    release = [int(part) for part in match["release"].split(".")]
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    has_post, has_dev = match["post"] is not None, match["dev"] is not None
    if match["pre"] is not None:
        pre: VersionKey = (1, _PRE_LETTERS[match["pre_l"].lower()], int(match["pre_n"] or 0))
    elif not has_post and has_dev:
        pre = (0,)  # 1.0.dev1 sorts before 1.0a1
    else:
        pre = (2,)
    post: VersionKey = (1, int(match["post_n1"] or match["post_n2"] or 0)) if has_post else (0,)
    dev: VersionKey = (1, int(match["dev_n"] or 0)) if has_dev else (2,)
    local: VersionKey = (0,)
    if match["local"] is not None:
        parts = re.split(r"[-_\.]", match["local"].lower())
        local = (1, tuple((1, int(p), "") if p.isdigit() else (0, 0, p) for p in parts))
    return (int(match["epoch"] or 0), tuple(release), pre, post, dev, local)


def is_older(version: str, than: str, first_seen: Optional[Mapping[str, Any]] = None) -> bool:
    """Whether ``version`` is older than ``than``: PEP 440 order where both parse; otherwise the
    order in which the server first saw them (``first_seen``: version -> a sortable value), a
    version never seen counting as the newest. Equal versions are not older."""
    mine, theirs = pep440_key(version), pep440_key(than)
    if mine is not None and theirs is not None:
        return mine < theirs
    seen = first_seen or {}
    mine_seen, theirs_seen = seen.get(version), seen.get(than)
    if mine_seen is None or version == than:
        return False
    return theirs_seen is None or bool(mine_seen < theirs_seen)
