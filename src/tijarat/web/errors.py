"""Stable error codes of the dashboard (the contexts' own codes pass through unchanged)."""

from __future__ import annotations

from enum import StrEnum


class WebError(StrEnum):
    USER_INVALID = "web_user_invalid"
    USER_EXISTS = "web_user_exists"
    USER_NOT_FOUND = "web_user_not_found"
    SIGN_IN_FAILED = "web_sign_in_failed"
    SIGN_IN_LOCKED = "web_sign_in_locked"
    UNAUTHENTICATED = "web_unauthenticated"
    FORBIDDEN = "web_forbidden"
    CSRF_FAILED = "web_csrf_failed"
    FORM_INVALID = "web_form_invalid"
    UPLOAD_INVALID = "web_upload_invalid"
    NOT_FOUND = "web_not_found"
