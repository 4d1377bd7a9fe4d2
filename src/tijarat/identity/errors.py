"""Stable error codes of identity (kept as first published, under the dashboard's prefix)."""

from __future__ import annotations

from enum import StrEnum


class IdentityError(StrEnum):
    USER_INVALID = "web_user_invalid"
    USER_EXISTS = "web_user_exists"
    USER_NOT_FOUND = "web_user_not_found"
    SIGN_IN_FAILED = "web_sign_in_failed"
    SIGN_IN_LOCKED = "web_sign_in_locked"
