"""ErrorServer: report to a self-hosted collection server. PLACEHOLDER until the delivery work lands."""

from __future__ import annotations

from typing import Any, Hashable

from .reporter import ErrorEvent
from .types import EventMessageType


class ErrorServer(ErrorEvent):
    def __init__(self, url: str, notebook: str = "unknown", **options: Any) -> None:
        super().__init__(notebook, **options)
        self.url = url.rstrip("/")

    def target_key(self) -> Hashable:
        return ("ErrorServer", self.url, self.notebook)

    def destination(self) -> str:
        return self.url

    def _deliver(self, event: EventMessageType) -> None:
        raise NotImplementedError("delivery is not written yet")
