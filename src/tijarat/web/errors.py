"""Stable error codes of the dashboard (the contexts' own codes pass through unchanged)."""

from __future__ import annotations

from enum import StrEnum


class WebError(StrEnum):
    UNAUTHENTICATED = "web_unauthenticated"
    FORBIDDEN = "web_forbidden"
    CSRF_FAILED = "web_csrf_failed"
    FORM_INVALID = "web_form_invalid"
    UPLOAD_INVALID = "web_upload_invalid"
    NOT_FOUND = "web_not_found"
    DAYS_INVALID = "web_days_invalid"
