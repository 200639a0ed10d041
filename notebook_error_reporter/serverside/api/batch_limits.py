"""A batch costs what its reports cost: each report counts against its address's and its session's
limit, as if it had come on its own.

The reports that fit are stored; the others are answered ``limited`` (per report, with the wait in
``Retry-After``), so a client keeps them and sends them again later, and a limit smaller than a
batch slows a client down without ever locking it out. A batch none of whose reports fits is
refused whole with 429, as a single report would be.

``share_out`` is the pure rule; ``limit_batch`` asks the limiter and counts what was let in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Sequence, Set, Tuple

from fastapi import Request

from ..state import ServerState
from .deps import address_key_for, address_of, check_colab, hashed_session_id, too_many


def share_out(sessions: Sequence[str], address_room: int, session_room: Dict[str, int]) -> List[bool]:
    """Which reports, in order, fit: at most ``address_room`` in all, ``session_room[s]`` of session s."""
    let_in: List[bool] = []
    taken = 0
    taken_of: Dict[str, int] = {}
    for session in sessions:
        fits = taken < address_room and taken_of.get(session, 0) < session_room[session]
        if fits:
            taken += 1
            taken_of[session] = taken_of.get(session, 0) + 1
        let_in.append(fits)
    return let_in


@dataclass(frozen=True)
class BatchAllowance:
    """Which valid reports of a batch go in (by their order among the valid ones), and the seconds
    to wait before the others are worth sending again (0 when all go in)."""

    let_in: List[bool]
    retry_after: int


def limit_batch(request: Request, state: ServerState, sessions: Sequence[str]) -> BatchAllowance:
    """Count the batch's reports (``sessions``: the session of each valid one) against the limits;
    429 if none of them fits. May wait on the limiter's storage: in the event loop only when it is
    in memory."""
    limiter = state.limiter
    address = address_key_for(request, state)
    address_room, address_wait = limiter.room("address", address)
    secret = state.address_secret()
    wanted = Counter(sessions)
    keys = {session: hashed_session_id(session, secret) for session in wanted}
    # While the address has room for every report, a session's reports are counted with one hit
    # when its room suffices (the usual case: one ask of the limiter a session, not two); only a
    # session without that room is asked how much it has, and counted below for what fits.
    counted: Set[str] = set()
    rooms: Dict[str, Tuple[int, int]] = {}
    for session, key in keys.items():
        if address_room >= len(sessions) and limiter.hit("session", key, cost=wanted[session]) is None:
            counted.add(session)
            rooms[session] = (wanted[session], 0)
        else:
            rooms[session] = limiter.room("session", key)
    let_in = share_out(sessions, address_room, {session: room for session, (room, _) in rooms.items()})
    waits = [address_wait] if address_room < len(sessions) else []
    waits += [wait for session, (room, wait) in rooms.items() if room < wanted[session]]
    retry_after = max(waits, default=0)
    if sessions and not any(let_in):
        what = "address" if address_room == 0 else "session"
        raise too_many(retry_after, what)
    counts: Dict[str, int] = {}
    for session, fits in zip(sessions, let_in):
        if fits:
            counts[session] = counts.get(session, 0) + 1
    if counts:
        limiter.hit("address", address, cost=sum(counts.values()))
    for session, count in counts.items():
        if session not in counted:
            limiter.hit("session", keys[session], cost=count)
    return BatchAllowance(let_in=let_in, retry_after=retry_after)


def check_colab_of(request: Request, state: ServerState) -> None:
    """The batch route's guard (``deps.run_guard``): the Colab check only. Its reports are counted
    once they are read (``limit_batch``); an address with no room left was refused before its body
    was read (``address_gate.py``)."""
    check_colab(state, address_of(request, state))
