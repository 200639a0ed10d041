"""Answer 408 to a request whose body does not arrive in time (plain ASGI middleware).

A client that sends its headers and then dribbles its body (or stops half-way) would otherwise hold
a connection, and the request's memory, for as long as it likes. The whole body must have arrived
within ``seconds`` of the request's start; the read that would pass the deadline fails with
``HTTPException(408)`` (which FastAPI's body reading passes through unchanged) and the answer
closes the connection. Once the body is complete nothing is timed any more, so a slow download of
an answer is not cut.
"""

from __future__ import annotations

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOO_SLOW = "Sorry, the request body did not arrive within {seconds:g} s."


class BodyDeadlineMiddleware:
    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = anyio.current_time() + self.seconds
        body_complete = False

        async def receive_in_time() -> Message:
            nonlocal body_complete
            if body_complete:
                return await receive()
            with anyio.move_on_after(max(0.0, deadline - anyio.current_time())) as timer:
                message = await receive()
            if timer.cancelled_caught:
                raise HTTPException(
                    status_code=408,
                    detail=TOO_SLOW.format(seconds=self.seconds),
                    headers={"Connection": "close"},
                )
            body_complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, receive_in_time, send)
