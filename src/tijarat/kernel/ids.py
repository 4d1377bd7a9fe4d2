"""Identifiers: UUIDv7 (time-ordered) inside, parsed strictly at the edges."""

from __future__ import annotations

import uuid

import uuid6

from tijarat.kernel.errors import DomainError

NIL = uuid.UUID(int=0)
MAX = uuid.UUID(int=(1 << 128) - 1)


def new_id() -> uuid.UUID:
    """A fresh UUIDv7: time-ordered, so B-tree inserts land at the right edge."""
    value = uuid6.uuid7()
    return uuid.UUID(bytes=value.bytes)


def parse_id(text: str, *, field: str = "id") -> uuid.UUID:
    """Parse a canonical UUID string; anything else is a clear, coded error."""
    try:
        return uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        raise DomainError(
            "malformed_id",
            f"{field} must be a UUID such as 0190a7b2-3c4d-7e5f-8a9b-0c1d2e3f4a5b",
            status=422,
            fields={"field": field, "value": str(text)[:64]},
        ) from None
