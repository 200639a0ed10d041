"""``GET /issues``: a notebook's issues, searched, filtered and sorted, a page at a time, each with a
sparkline.

Cost is independent of the number of reports: one page of issue rows (``crud.issues.list_issues``) and
their last 30 days of daily counts (``issue_day``), never the events. Open issues are shown by
default: working through them is what the page is for.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from fastapi import Query, Request
from starlette.responses import Response

from ..api.deps import SessionDep
from ..core.types import utcnow
from ..crud import cells as crud_cells
from ..crud import dashboard as crud_dashboard
from ..crud import issues as crud_issues
from ..scrub import storable
from ..search import MAX_QUERY
from . import charts, time_range
from .deps import PageError, ReaderPageDep
from .render import render
from .routing import page_router
from .time_range import TimeRange

router = page_router()
PAGE_SIZE = 25
# The notebook filter offers the notebooks seen last (and the chosen one); every notebook is
# reachable from the overview's pages.
FILTER_NOTEBOOKS = 200
MAX_PAGE = 100_000
StatusFilter = Literal["open", "resolved", "ignored", "any"]


@router.get("/issues")
def issues_page(
    request: Request,
    viewer: ReaderPageDep,
    session: SessionDep,
    notebook: Annotated[Optional[str], Query(max_length=200)] = None,
    status: StatusFilter = "open",
    sort: Literal["last_seen", "first_seen", "count"] = "last_seen",
    q: Annotated[str, Query(max_length=MAX_QUERY)] = "",
    seen: TimeRange = "any",
    first_day: Annotated[str, Query(alias="from", max_length=10)] = "",
    last_day: Annotated[str, Query(alias="until", max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    version: Annotated[Optional[str], Query(max_length=64)] = None,
    first_line: Annotated[Optional[str], Query(max_length=1000)] = None,
) -> Response:
    chosen = storable(notebook) if notebook else None
    search = storable(q.strip())
    try:
        seen_after, seen_before = time_range.bounds(
            seen, utcnow(), time_range.day(first_day, "from"), time_range.day(last_day, "until")
        )
    except time_range.BadRange as error:
        raise PageError(422, str(error)) from None
    version = storable(version) if version else None
    first_line = storable(first_line) if first_line is not None else None
    now = utcnow()
    found = crud_issues.list_issues(
        session=session,
        notebook=chosen,
        status=None if status == "any" else status,
        search=search,
        seen_after=seen_after,
        seen_before=seen_before,
        sort=sort,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        version=version,
        first_line=first_line,
        now=now,
    )
    days = charts.window(utcnow().date(), charts.SPARK_DAYS)
    daily = crud_dashboard.daily_counts(
        session=session, issue_ids=[issue.id for issue in found.items], since=days[0]
    )
    rows = [(issue, charts.sparkline(daily.get(issue.id, {}), days)) for issue in found.items]
    pages = max(1, -(-found.total // PAGE_SIZE))
    context = {
        "rows": rows,
        "total": found.total,
        "page": page,
        "pages": pages,
        "filters": {
            "notebook": chosen,
            "status": status,
            "sort": sort,
            "q": search or None,
            "seen": None if seen == "any" else seen,
            "from": first_day or None,
            "until": last_day or None,
            "version": version,
            "first_line": first_line,
        },
        "ranges": time_range.RANGES,
        "cells": crud_cells.notebook_cells(session=session, notebook=chosen, now=now) if chosen else [],
        "cells_days": crud_cells.CELLS_DAYS,
        "cells_sample": crud_cells.CELLS_SAMPLE,
        "notebooks": crud_dashboard.notebook_names(session=session, most=FILTER_NOTEBOOKS, chosen=chosen),
        "spark_from": days[0],
        "spark_until": days[-1],
        "title": f"Issues of {chosen}" if chosen else "Issues",
    }
    return render(request, viewer, "issues.html", context)
