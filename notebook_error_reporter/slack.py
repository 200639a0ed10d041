"""ErrorSlack: post reports to a Slack incoming webhook. PLACEHOLDER until the Slack work lands."""

from __future__ import annotations

from typing import Any, Hashable, Optional

from .reporter import ErrorEvent
from .types import EventMessageType


class ErrorSlack(ErrorEvent):
    def __init__(
        self, notebook: str = "unknown", slack_webhook: Optional[str] = None, **options: Any
    ) -> None:
        super().__init__(notebook, **options)
        self.slack_webhook = slack_webhook

    def target_key(self) -> Hashable:
        return ("ErrorSlack", self.slack_webhook, self.notebook)

    def destination(self) -> str:
        return "a Slack channel"

    def _deliver(self, event: EventMessageType) -> None:
        raise NotImplementedError("Slack delivery is not written yet")
