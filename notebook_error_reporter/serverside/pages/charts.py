"""Geometry of the dashboard's charts, computed on the server and drawn as inline SVG by the templates.

Numbers only leave this module (coordinates, counts, ISO dates), so nothing a report says can end
up inside the SVG markup; and there is no script, which the Content-Security-Policy would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import List, Mapping

SPARK_DAYS = 30
CHART_DAYS = 90


def window(today: date, days: int) -> List[date]:
    """The ``days`` UTC days ending with ``today``, oldest first."""
    return [today - timedelta(days=days - 1 - n) for n in range(days)]


@dataclass(frozen=True)
class Sparkline:
    width: int
    height: int
    points: str  # "x,y x,y ..." for a <polyline>
    area: str  # the same line closed along the bottom, for a filled <polygon>
    total: int
    peak: int
    days: int


def sparkline(counts: Mapping[date, int], days: List[date], width: int = 120, height: int = 24) -> Sparkline:
    """One point per day; the highest day touches the top, a day without reports sits on the bottom."""
    values = [int(counts.get(day, 0)) for day in days]
    peak = max(values, default=0)
    step = width / max(len(values) - 1, 1)
    usable = height - 2  # keep the stroke inside the box

    def y(value: int) -> float:
        return height - 1 - (usable * value / peak if peak else 0)

    coordinates = [f"{n * step:.1f},{y(v):.1f}" for n, v in enumerate(values)]
    points = " ".join(coordinates)
    area = f"0,{height} {points} {width},{height}" if coordinates else ""
    return Sparkline(width, height, points, area, sum(values), peak, len(values))


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: str
    count: int


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: List[Bar]
    peak: int
    total: int
    first_day: str
    last_day: str


def bar_chart(counts: Mapping[date, int], days: List[date], width: int = 720, height: int = 140) -> BarChart:
    """A bar per day (a zero day has no bar but keeps its place), scaled to the highest day."""
    values = [int(counts.get(day, 0)) for day in days]
    peak = max(values, default=0)
    slot = width / max(len(values), 1)
    gap = 1.0 if slot > 3 else 0.0
    bars = []
    for n, (day, value) in enumerate(zip(days, values)):
        tall = (height - 1) * value / peak if peak else 0.0
        if value and tall < 1:
            tall = 1.0
        bars.append(
            Bar(
                x=round(n * slot, 2),
                y=round(height - tall, 2),
                width=round(max(slot - gap, 0.5), 2),
                height=round(tall, 2),
                day=day.isoformat(),
                count=value,
            )
        )
    return BarChart(
        width=width,
        height=height,
        bars=bars,
        peak=peak,
        total=sum(values),
        first_day=days[0].isoformat() if days else "",
        last_day=days[-1].isoformat() if days else "",
    )
