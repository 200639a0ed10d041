"""versions.py: PEP 440 order exactly as ``packaging`` has it, and the first-seen fallback."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from packaging.version import Version

from notebook_error_reporter.versions import is_older, pep440_key

VERSIONS = [
    "0.9", "1.0", "1.0.0", "v1.0", "1.0.post1", "1.0-1", "1.0.dev1", "1.0a1", "1.0a1.dev2", "1.0b2.post3",
    "1.0rc1", "1.0c2", "1!0.1", "1.0+local.1", "1.0+local.a", "1.0+abc", "1.1", "2026.12.1", "1.0.0.0.1",
]  # fmt: skip


def test_pep440_order_is_packaging_s() -> None:
    for a, b in itertools.product(VERSIONS, VERSIONS):
        assert (pep440_key(a) < pep440_key(b)) == (Version(a) < Version(b)), (a, b)  # type: ignore[operator]
        assert (pep440_key(a) == pep440_key(b)) == (Version(a) == Version(b)), (a, b)


def test_what_is_not_pep440() -> None:
    for text in ("2026-12-01", "copy of nb", "", "1.0+", "latest", "1..0"):
        assert pep440_key(text) is None, text


def test_is_older_by_pep440_whatever_was_seen_first() -> None:
    t = datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert is_older("1.9", "1.10", {"1.10": t, "1.9": t + timedelta(days=1)})
    assert not is_older("1.10", "1.9")
    assert not is_older("2.0", "2.0") and not is_older("2.0.0", "2.0")


def test_is_older_by_first_seen_when_either_does_not_parse() -> None:
    t = datetime(2026, 12, 1, tzinfo=timezone.utc)
    seen = {"old copy": t, "2026-12-01": t + timedelta(hours=1), "1.0": t + timedelta(hours=2)}
    assert is_older("old copy", "2026-12-01", seen)
    assert not is_older("2026-12-01", "old copy", seen)
    assert is_older("2026-12-01", "1.0", seen)  # "1.0" parses, the other does not: first seen
    assert not is_older("never seen", "old copy", seen)  # never seen: the newest
    assert is_older("old copy", "never seen", seen)
    assert not is_older("old copy", "old copy", seen)
    assert not is_older("a", "b")  # nothing known: not older (the conservative answer)
