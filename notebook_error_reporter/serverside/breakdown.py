"""How an issue's reports split by the reporting side (Python, IPython, platform, reporter version,
Colab or not): counts and shares per value, like Sentry's tag breakdown. Pure: the caller reads the
``client`` objects of a bounded sample of reports (``crud/dashboard.recent_clients``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

# (key in a report's ``client``, what the page calls it)
FACETS: Tuple[Tuple[str, str], ...] = (
    ("python", "Python"),
    ("ipython", "IPython"),
    ("platform", "Platform"),
    ("reporter", "Reporter"),
    ("colab", "Colab"),
)
UNKNOWN = "not reported"
OTHER = "other values"
COLAB_WORDS: Dict[str, str] = {"yes": "Colab", "no": "not Colab"}
MOST_VALUES = 5  # per facet; the rest are summed as OTHER


@dataclass(frozen=True)
class Share:
    value: str
    count: int
    share: float  # of the facet's reports, 0 to 1

    @property
    def percent(self) -> str:
        return f"{self.share:.0%}" if self.share >= 0.01 or self.share == 0 else "<1%"


@dataclass(frozen=True)
class Facet:
    key: str
    label: str
    shares: List[Share]


def _value(client: Optional[Mapping[str, str]], key: str) -> str:
    value = (client or {}).get(key) or ""
    if key == "colab":
        return COLAB_WORDS.get(value, UNKNOWN)
    return value or UNKNOWN


def breakdown(clients: Sequence[Tuple[Optional[Mapping[str, str]], int]]) -> List[Facet]:
    """Per facet, its values by count (most first, ties by value), the tail beyond ``MOST_VALUES``
    summed into one ``OTHER`` entry; no facets for no reports. ``clients``: each distinct client
    object (None: reports without one) with how many reports carry it."""
    total = sum(count for _, count in clients)
    if not total:
        return []
    facets = []
    for key, label in FACETS:
        tally: Counter[str] = Counter()
        for client, count in clients:
            tally[_value(client, key)] += count
        counts = sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))
        kept = counts[:MOST_VALUES]
        rest = sum(count for _, count in counts[MOST_VALUES:])
        if rest:
            kept.append((OTHER, rest))
        facets.append(Facet(key, label, [Share(value, count, count / total) for value, count in kept]))
    return facets
