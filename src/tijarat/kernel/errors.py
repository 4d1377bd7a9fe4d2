"""DomainError: an operating error with a stable code, turned into RFC 9457 problem+json."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class DomainError(Exception):
    """A refused request: a stable machine code, a human message and structured fields.

    `status` is the HTTP status the edge should answer with; contexts choose it because
    they know whether the input was bad (400/422), missing (404) or conflicting (409).
    """

    def __init__(
        self,
        code: StrEnum | str,
        message: str,
        *,
        status: int = 400,
        fields: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = str(code)
        self.message = message
        self.status = status
        self.fields = fields or {}

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.message!r}, fields={self.fields!r})"
