"""Drive an ASGI app with a body sent in chunks, as a client without Content-Length does."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Message


def drive(app: Any, scope: dict[str, Any], chunks: list[bytes]) -> tuple[int, bytes, int]:
    """Run one request through `app`, the body one ASGI message per chunk: the status, the
    body answered, and how many chunks the app read (fewer than sent: it stopped early)."""
    read = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal read
        if read >= len(chunks):
            return {"type": "http.disconnect"}
        read += 1
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1, sent  # one answer, whoever gave it
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return starts[0]["status"], body, read
