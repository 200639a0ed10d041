"""The regrouping plan (pure): ids kept, splits and merges, statuses, and purged reports' counts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict

from notebook_error_reporter.serverside.regroup_plan import OldIssue, Part, plan

T0 = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)


def old(issue_id: int, fp: str, status: str = "open", count: int = 0, **fields: Any) -> OldIssue:
    values: Dict[str, Any] = dict(
        id=issue_id,
        fingerprint=fp,
        notebook_id=1,
        error_name="KeyError",
        message=f"message {issue_id}",
        culprit="",
        status=status,
        regression=False,
        regressed_at=None,
        status_changed_at=None,
        event_count=count,
        first_seen=T0,
        last_seen=T0,
    )
    values.update(fields)
    return OldIssue(**values)


def part(*reports: Any) -> Part:
    made = Part()
    for row_id, hours, session in reports:
        made.add(row_id, T0 + timedelta(hours=hours), session, ("KeyError", f"report {row_id}", "c"))
    return made


def test_an_issue_already_grouped_right_is_left_alone_and_a_new_key_is_a_rename() -> None:
    same = plan([old(1, "a", count=1)], {1: {"a": part((1, 0, 7))}})
    assert same.unchanged
    renamed = plan([old(1, "old", count=1)], {1: {"a": part((1, 0, 7))}})
    assert renamed.renamed == {1: "a"} and not renamed.issues and not renamed.deleted


def test_a_split_keeps_the_status_in_every_part_and_the_id_with_the_first_report() -> None:
    split = plan(
        [old(1, "old", "resolved", count=3)], {1: {"b": part((2, 1, 7)), "a": part((1, 0, 7), (3, 2, 8))}}
    )
    issues = {issue.fingerprint: issue for issue in split.issues}
    assert (issues["a"].id, issues["b"].id) == (1, None)
    assert {issue.status for issue in split.issues} == {"resolved"}
    assert (issues["a"].event_count, issues["a"].sessions, issues["a"].message) == (2, {7, 8}, "report 1")
    assert split.deleted == [] and split.successor == {1: "a"}


def test_a_merge_prefers_open_then_resolved_then_ignored_and_moves_the_rest() -> None:
    merged = plan(
        [old(1, "x", "ignored", count=1), old(2, "y", "resolved", count=1), old(3, "z", "open", count=1)],
        {1: {"m": part((1, 0, 7))}, 2: {"m": part((2, 1, 8))}, 3: {"m": part((3, 2, 7))}},
    )
    (issue,) = merged.issues
    assert (issue.id, issue.status, issue.event_count, issue.sessions) == (1, "open", 3, {7, 8})
    assert issue.message == "report 1" and merged.deleted == [2, 3]
    assert merged.successor == {1: "m", 2: "m", 3: "m"}
    assert (
        plan(
            [old(1, "x", "ignored", count=1), old(2, "y", "resolved", count=1)],
            {
                1: {"m": part((1, 0, 7))},
                2: {"m": part((2, 1, 8))},
            },
        )
        .issues[0]
        .status
        == "resolved"
    )


def test_the_issue_that_has_the_fingerprint_keeps_its_id() -> None:
    merged = plan(
        [old(1, "x", count=1), old(2, "m", count=1)], {1: {"m": part((1, 0, 7))}, 2: {"m": part((2, 1, 8))}}
    )
    assert merged.issues[0].id == 2 and merged.deleted == [1]


def test_purged_reports_stay_counted_with_the_first_remaining_report() -> None:
    purged = old(
        1, "old", count=5, first_seen=T0 - timedelta(days=20), days={(T0 - timedelta(days=20)).date(): 2}
    )
    purged.days.update({T0.date(): 3})
    purged.sessions = {5, 7, 8}
    result = plan([purged], {1: {"a": part((1, 0, 7)), "b": part((2, 1, 8), (3, 2, 8))}})
    issues = {issue.fingerprint: issue for issue in result.issues}
    assert issues["a"].event_count + issues["b"].event_count == 5
    assert (issues["a"].event_count, issues["a"].first_seen) == (3, T0 - timedelta(days=20))
    assert sum(issues["a"].days.values()) == 3 and issues["a"].sessions == {5, 7}
    assert issues["a"].message == "message 1", "the first report was the old issue's"


def test_an_issue_without_reports_is_kept_unless_a_new_issue_has_its_key() -> None:
    assert plan([old(1, "gone", count=4)], {}).unchanged
    merged = plan([old(1, "a", count=4), old(2, "x", count=1)], {2: {"a": part((1, 0, 7))}})
    (issue,) = merged.issues
    assert (issue.id, issue.event_count) == (1, 5) and merged.deleted == [2]
