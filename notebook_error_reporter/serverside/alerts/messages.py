"""What an alert says: Slack Block Kit and generic JSON payloads (pure functions, no I/O).

One alert becomes a message about its issue: notebook, error, message, the cell's first line, how
often and in how many sessions it happened, and a link to its page. Several alerts gathered in a
digest window become one message that names how many there are ("5 new issues in protein-design")
and lists the first few. Everything in a report was written by a stranger, so in Slack it is
shown inside code marks as inert text (``slack_message.quoted`` and ``code``: one line, escaped,
no markup, no links, no bidi tricks). The JSON webhook gets the plain values in their fields, and
a ``text`` summary made the same way for chat apps that post it as it is (code marks, one line,
URLs broken; not escaped, since it is no Slack markup).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Dict, List, Sequence

from ...inert_text import inert
from ...slack_message import code, cut, inline_code, quoted
from .outbox import ClaimedAlert

MAX_LISTED = 10  # issues listed in a digest; the rest are counted
MAX_MESSAGE_CHARS = 1000
MAX_LIST_MESSAGE_CHARS = 120
MAX_FIRST_LINE_CHARS = 200
MAX_FALLBACK_CHARS = 300
MAX_NAME_CHARS = 150
WEBHOOK_TYPE = "notebook_error_reporter.alerts"


def issue_url(base_url: str, issue_id: int) -> str:
    """The issue's page on the dashboard."""
    return f"{base_url.rstrip('/')}/issues/{issue_id}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _webhook_quoted(text: str) -> str:
    """A stranger's value in the webhook's summary: one line, inert, in code marks."""
    return "`" + (inert(text).replace("`", "'") or " ") + "`"


def headline(alerts: Sequence[ClaimedAlert], show: Callable[[str], str] = _webhook_quoted) -> str:
    """One line for people (and Slack's notification text), each stranger's value through ``show``.

    ``New issue in `nb`: `KeyError```, ``Regression in `nb`: `KeyError```, or for a digest
    ``5 new issues in `nb```, ``3 new issues and 1 regression in 2 notebooks``.
    """
    if len(alerts) == 1:
        alert = alerts[0]
        what = "New issue" if alert.kind == "new" else "Regression"
        return f"{what} in {show(alert.notebook)}: {show(alert.error_name)}"
    kinds = Counter(alert.kind for alert in alerts)
    parts = []
    if kinds["new"]:
        parts.append(_plural(kinds["new"], "new issue"))
    if kinds["regression"]:
        parts.append(_plural(kinds["regression"], "regression"))
    notebooks = sorted({alert.notebook for alert in alerts})
    where = show(notebooks[0]) if len(notebooks) == 1 else f"{len(notebooks)} notebooks"
    return f"{' and '.join(parts)} in {where}"


def _seen(alert: ClaimedAlert) -> str:
    return f"{_plural(alert.event_count, 'report')} in {_plural(alert.session_count, 'session')}"


def slack_payload(alerts: Sequence[ClaimedAlert], base_url: str) -> Dict[str, Any]:
    """The Slack message for one alert or a digest: ``text`` (the fallback) and ``blocks``."""
    if not alerts:
        raise ValueError("no alerts to announce")
    if len(alerts) == 1:
        blocks = _single_blocks(alerts[0], base_url)
    else:
        blocks = _digest_blocks(alerts, base_url)
    return {"text": cut(headline(alerts, _slack_quoted), MAX_FALLBACK_CHARS), "blocks": blocks}


def _slack_quoted(text: str) -> str:
    return quoted(cut(text, MAX_NAME_CHARS))


def _single_blocks(alert: ClaimedAlert, base_url: str) -> List[Dict[str, Any]]:
    url = issue_url(base_url, alert.issue_id)
    title = ":rotating_light: *New issue*" if alert.kind == "new" else ":repeat: *Regression* (was resolved)"
    lines = [
        f"{title} in {_slack_quoted(alert.notebook)}",
        _slack_quoted(alert.error_name),
        f"```{code(cut(alert.message, MAX_MESSAGE_CHARS))}```",
    ]
    if alert.first_line:
        lines.append(f"First line: `{inline_code(cut(alert.first_line, MAX_FIRST_LINE_CHARS))}`")
    if alert.culprit:
        lines.append(f"In `{inline_code(cut(alert.culprit, MAX_FIRST_LINE_CHARS))}`")
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"{_seen(alert)} · <{url}|Open issue #{alert.issue_id}>"}
            ],
        },
    ]


def _digest_blocks(alerts: Sequence[ClaimedAlert], base_url: str) -> List[Dict[str, Any]]:
    lines = []
    for alert in alerts[:MAX_LISTED]:
        mark = "" if alert.kind == "new" else " _(regression)_"
        message = inline_code(cut(alert.message, MAX_LIST_MESSAGE_CHARS))
        url = issue_url(base_url, alert.issue_id)
        lines.append(
            f"• <{url}|#{alert.issue_id}> {_slack_quoted(alert.error_name)}{mark} `{message}`"
            f" in {_slack_quoted(alert.notebook)} ({_plural(alert.event_count, 'report')})"
        )
    if len(alerts) > MAX_LISTED:
        lines.append(f"…and {len(alerts) - MAX_LISTED} more")
    return [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f":rotating_light: *{headline(alerts, _slack_quoted)}*"},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
    ]


def webhook_payload(alerts: Sequence[ClaimedAlert], base_url: str) -> Dict[str, Any]:
    """The generic webhook's JSON: a summary line and every alert with its issue's plain values."""
    if not alerts:
        raise ValueError("no alerts to announce")
    return {
        "type": WEBHOOK_TYPE,
        "text": headline(alerts),
        "alerts": [
            {
                "kind": "new_issue" if alert.kind == "new" else "regression",
                "issue_id": alert.issue_id,
                "url": issue_url(base_url, alert.issue_id),
                "notebook": alert.notebook,
                "error_name": alert.error_name,
                "error_message": alert.message,
                "first_line": alert.first_line,
                "culprit": alert.culprit,
                "count": alert.event_count,
                "session_count": alert.session_count,
                "first_seen": alert.first_seen.isoformat(),
                "last_seen": alert.last_seen.isoformat(),
            }
            for alert in alerts
        ],
    }
