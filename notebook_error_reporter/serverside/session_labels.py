"""How reads show session ids: in full to the admin, as a short label to anybody else.

A session id is the key to its session: whoever holds it may read the session's reports and write
new ones into it (using up its limits). With ``max_transparency`` anybody may read the issues and
reports, so those reads show each session as a label instead: the first 8 hex digits of an HMAC
of the id under a server secret. Reports of one session share a label, and the label cannot be
turned back into the id. Pure functions over the read models; the routes choose the view.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Optional

from .models import EventsPage, LegacyError, LegacyUsage

LABEL_HEX_DIGITS = 8


def session_label(key: bytes, session_id: str) -> str:
    """The session's public label: 8 hex digits, the same for every report of the session."""
    return hmac.new(key, session_id.encode(), hashlib.sha256).hexdigest()[:LABEL_HEX_DIGITS]


@dataclass(frozen=True)
class SessionIds:
    """A read's view of session ids: ``label_key`` None shows them in full (the admin's view)."""

    label_key: Optional[bytes]

    @property
    def in_full(self) -> bool:
        return self.label_key is None

    def show(self, session_id: str) -> str:
        return session_id if self.label_key is None else session_label(self.label_key, session_id)

    def events(self, page: EventsPage) -> EventsPage:
        if self.in_full:
            return page
        items = [item.model_copy(update={"session_id": self.show(item.session_id)}) for item in page.items]
        return page.model_copy(update={"items": items})

    def legacy_error(self, error: LegacyError) -> LegacyError:
        return error if self.in_full else error.model_copy(update={"usage_uuid": self.show(error.usage_uuid)})

    def legacy_usage(self, usage: LegacyUsage) -> LegacyUsage:
        if self.in_full:
            return usage
        errors = [self.legacy_error(error) for error in usage.errors]
        return usage.model_copy(update={"uuid": self.show(usage.uuid), "errors": errors})


IN_FULL = SessionIds(label_key=None)
