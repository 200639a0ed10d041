"""What regrouping stored reports changes: from the old issues and where their reports now belong,
the new issues with their counters and statuses (pure: no database; ``regroup.py`` reads and writes).

Every stored report goes to the issue its fingerprint gives it today. An old issue's reports may
land in one new issue (kept, or renamed when only its key changed), in several (a split), or share
a new issue with other old issues' reports (a merge). The rules:

* Ids: a new issue keeps the id of the old issue that already has its fingerprint, else of the
  lowest-numbered old issue whose first report it holds; otherwise it is new. An old issue whose
  id is not kept is deleted once its reports and alerts have moved; its alerts (and anything else
  pointing at it) follow its first report.
* Counters are recomputed from the reports: count, first and last seen, reports per day, sessions.
  Reports deleted by retention are gone, but the old issue's counters still hold them: that
  remainder (count, days, sessions, first/last seen) stays with the new issue that holds the old
  issue's first remaining report. So the counts of all issues add up as before: nothing is lost.
* Status: a new issue made of one old issue's reports (a split keeps it in every part) has its
  status, regression flag and times. Made of several, open wins over resolved, and resolved over
  ignored (somebody still has to look at it), ties going to the lowest-numbered old issue.
* Note, note link and fixed-in version (migration 0005) go with the status: every part of a split
  keeps them; a merge keeps those of the old issue whose status wins, or, if it has none, of the
  first old issue in the same order that has any.
* Message, error name and culprit are those of the new issue's first report.
* An old issue with no reports left keeps everything (nothing says where they would go), unless
  its fingerprint is a new issue's: then it is merged into that one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Dict, Iterable, List, Optional, Set, Tuple

STATUS_RANK = {"open": 0, "resolved": 1, "ignored": 2}

Notes = Dict[str, Optional[str]]  # the issue's NOTE_FIELDS (note_rules.py) that exist in the database


@dataclass
class IssueColumns:
    """The columns of an issue row that regrouping reads and writes (besides its id)."""

    fingerprint: str
    notebook_id: int
    error_name: str
    message: str
    culprit: str
    status: str
    regression: bool
    regressed_at: Optional[datetime]
    status_changed_at: Optional[datetime]
    event_count: int
    first_seen: datetime
    last_seen: datetime


@dataclass
class OldIssue(IssueColumns):
    """An issue as stored, with its daily counts and sessions."""

    id: int
    days: Dict[date, int] = field(default_factory=dict)
    sessions: Set[int] = field(default_factory=set)
    notes: Notes = field(default_factory=dict)  # empty where the columns do not exist yet


@dataclass
class Part:
    """The stored reports of one old issue that belong to one new fingerprint."""

    count: int = 0
    first: Optional[Tuple[datetime, int]] = None  # (occurred_at, row id) of the earliest report
    first_error: Tuple[str, str, str] = ("", "", "")  # its error name, message and culprit
    last_seen: Optional[datetime] = None
    days: Counter[date] = field(default_factory=Counter)
    sessions: Set[int] = field(default_factory=set)

    def add(self, row_id: int, when: datetime, session_pk: int, error: Tuple[str, str, str]) -> None:
        self.count += 1
        if self.first is None or (when, row_id) < self.first:
            self.first, self.first_error = (when, row_id), error
        if self.last_seen is None or when > self.last_seen:
            self.last_seen = when
        self.days[when.date()] += 1
        self.sessions.add(session_pk)


@dataclass
class NewIssue(IssueColumns):
    """An issue as it is to be stored; ``id`` None means a new row."""

    id: Optional[int]
    days: Dict[date, int]
    sessions: Set[int]
    notes: Notes = field(default_factory=dict)


@dataclass
class Plan:
    """The changes: issues to write (counters recomputed), issues whose key alone changes,
    where each changed old issue's references go (a fingerprint), and which old ids go away."""

    issues: List[NewIssue]
    renamed: Dict[int, str]
    successor: Dict[int, str]
    deleted: List[int]

    @property
    def unchanged(self) -> bool:
        return not (self.issues or self.renamed or self.deleted)


def plan(old: Iterable[OldIssue], parts: Dict[int, Dict[str, Part]]) -> Plan:
    """The plan for the old issues, given each one's reports by new fingerprint (``parts``)."""
    issues = {issue.id: issue for issue in old}
    new_prints = {fp for by_print in parts.values() for fp in by_print}
    successor: Dict[int, str] = {}
    for issue in issues.values():
        by_print = parts.get(issue.id)
        if by_print:
            successor[issue.id] = _holding_the_first(by_print)
        elif issue.fingerprint in new_prints:
            successor[issue.id] = issue.fingerprint
    members: Dict[str, Set[int]] = {fp: set() for fp in new_prints}
    for issue_id, by_print in parts.items():
        for fp in by_print:
            members[fp].add(issue_id)
    for issue_id, fp in successor.items():
        members[fp].add(issue_id)
    ids = _kept_ids(issues, members, successor)
    result = Plan([], {}, {}, [])
    for fp in sorted(new_prints):
        group = sorted(members[fp])
        kept = ids.get(fp)
        if kept is not None and group == [kept] and set(parts.get(kept, {})) == {fp}:
            if issues[kept].fingerprint != fp:
                result.renamed[kept] = fp
            continue
        result.issues.append(_merged(fp, kept, [issues[i] for i in group], parts, successor))
        for issue_id in group:
            result.successor[issue_id] = successor[issue_id]
    reused = set(ids.values())
    result.deleted = sorted(i for i in result.successor if i not in reused)
    return result


def _holding_the_first(by_print: Dict[str, Part]) -> str:
    """The fingerprint whose part holds the earliest report (row id breaking ties)."""
    return min((part.first, fp) for fp, part in by_print.items() if part.first is not None)[1]


def _kept_ids(
    issues: Dict[int, OldIssue], members: Dict[str, Set[int]], successor: Dict[int, str]
) -> Dict[str, int]:
    """Which old id each new fingerprint keeps (see the module docstring)."""
    ids: Dict[str, int] = {}
    taken: Set[int] = set()
    for fp in sorted(members):
        same = [i for i in sorted(members[fp]) if issues[i].fingerprint == fp]
        if same:
            ids[fp] = same[0]
            taken.add(same[0])
    for fp in sorted(members):
        if fp in ids:
            continue
        heirs = [i for i in sorted(members[fp]) if successor.get(i) == fp and i not in taken]
        if heirs:
            ids[fp] = heirs[0]
            taken.add(heirs[0])
    return ids


def _merged(
    fp: str,
    kept: Optional[int],
    group: List[OldIssue],
    parts: Dict[int, Dict[str, Part]],
    successor: Dict[int, str],
) -> NewIssue:
    """One new issue from its reports, plus the purged remainders of the old issues it succeeds."""
    count = 0
    days: Counter[date] = Counter()
    sessions: Set[int] = set()
    firsts: List[Tuple[datetime, int, Tuple[str, str, str]]] = []
    lasts: List[datetime] = []
    for issue in group:
        mine = parts.get(issue.id, {})
        part = mine.get(fp)
        if part is not None and part.first is not None and part.last_seen is not None:
            count += part.count
            days.update(part.days)
            sessions |= part.sessions
            firsts.append((part.first[0], 0, part.first_error))
            lasts.append(part.last_seen)
        if successor.get(issue.id) != fp:
            continue
        remainder = issue.event_count - sum(p.count for p in mine.values())
        if remainder > 0:  # reports deleted by retention: they stay counted here
            count += remainder
            stored_days: Counter[date] = Counter()
            for p in mine.values():
                stored_days.update(p.days)
            days.update({d: n - stored_days[d] for d, n in issue.days.items() if n > stored_days[d]})
            firsts.append((issue.first_seen, 1, (issue.error_name, issue.message, issue.culprit)))
            lasts.append(issue.last_seen)
        stored_sessions = set().union(*(p.sessions for p in mine.values())) if mine else set()
        sessions |= issue.sessions - stored_sessions
    first_seen, _, (error_name, message, culprit) = min(firsts, key=lambda item: (item[0], item[1]))
    by_status = sorted(group, key=lambda issue: (STATUS_RANK.get(issue.status, 0), issue.id))
    winner = by_status[0]
    noted = [issue.notes for issue in by_status if any(v is not None for v in issue.notes.values())]
    return NewIssue(
        fingerprint=fp,
        id=kept,
        notebook_id=group[0].notebook_id,
        error_name=error_name,
        message=message,
        culprit=culprit,
        status=winner.status,
        regression=winner.regression,
        regressed_at=winner.regressed_at,
        status_changed_at=winner.status_changed_at,
        event_count=count,
        first_seen=first_seen,
        last_seen=max(lasts),
        days=dict(days),
        sessions=sessions,
        notes=dict(noted[0] if noted else winner.notes),
    )
