"""What a request may cost before the routes read it, in one pure-ASGI layer: the address gate, the
body's size and the body's deadline.

1. **Address gate** (``address_gate.py``): a report from an address that has used up its limit is
   refused with 429 before its body is read.
2. **Size**: a ``Content-Length`` over ``max_body_bytes`` is answered 413 at once, without reading a
   byte; a body without one (chunked) is counted as it streams in, and the read that passes the
   limit fails with ``HTTPException(413)``, which FastAPI's body reading passes through unchanged.
   Memory per request is bounded by the limit, whatever a client sends.
3. **Deadline**: the whole body must have arrived within ``body_seconds`` of the request's start;
   the read that would pass the deadline fails with ``HTTPException(408)`` and the answer closes the
   connection. A client that sends its headers and then dribbles its body (or stops half-way) would
   otherwise hold a connection, and the request's memory, for as long as it likes. Once the body is
   complete nothing is timed any more, so a slow download of an answer is not cut.

One layer, not three: every layer is a call and a wrapped ``receive`` per request, and on the
ingest path those cost more than the checks. The deadline is an ``asyncio`` timeout (about half
the cost of an ``anyio`` cancel scope per read; the server runs on asyncio).
"""

from __future__ import annotations

import asyncio
import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .address_gate import refused_spent_address

TOO_LARGE = "Sorry, the request body is too large: at most {limit} bytes."
TOO_SLOW = "Sorry, the request body did not arrive within {seconds:g} s."


class RequestLimitsMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, body_seconds: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_seconds = body_seconds
        self.too_large = TOO_LARGE.format(limit=max_body_bytes)
        self.too_slow = TOO_SLOW.format(seconds=body_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if await refused_spent_address(scope, receive, send):
            return
        limit = self.max_body_bytes
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_large = int(value) > limit
                except ValueError:
                    too_large = False
                if too_large:
                    await _send_413(send, self.too_large)
                    return
        deadline = asyncio.get_running_loop().time() + self.body_seconds
        received = 0
        body_complete = False

        async def limited_receive() -> Message:
            nonlocal received, body_complete
            if body_complete:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise HTTPException(
                    status_code=408, detail=self.too_slow, headers={"Connection": "close"}
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(status_code=413, detail=self.too_large)
                body_complete = not message.get("more_body", False)
            else:
                body_complete = True
            return message

        await self.app(scope, limited_receive, send)


async def _send_413(send: Send, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
