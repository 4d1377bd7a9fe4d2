"""Cross-site request forgery: every POST carries the session's secret token.

The token lives in the signed, HttpOnly session cookie and is echoed by each form (a hidden
field) or by script (a header). Another site can make a browser send the cookie, but it cannot
read the token, so its forged form fails. The session cookie is also SameSite=Lax, and a POST
whose Origin header names another site is refused before the token is even looked at.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request

from tijarat.kernel.errors import DomainError
from tijarat.web.errors import WebError

FIELD = "csrf_token"
HEADER = "x-csrf-token"
SESSION_KEY = "csrf"
TOKEN_BYTES = 32


def token(session: MutableMapping[str, Any]) -> str:
    """The session's token, made on first use (also for visitors not yet signed in)."""
    existing = session.get(SESSION_KEY)
    if isinstance(existing, str) and existing:
        return existing
    fresh = secrets.token_urlsafe(TOKEN_BYTES)
    session[SESSION_KEY] = fresh
    return fresh


def rotate(session: MutableMapping[str, Any]) -> str:
    """A new token (at sign-in and sign-out): a token seen before cannot be replayed after."""
    fresh = secrets.token_urlsafe(TOKEN_BYTES)
    session[SESSION_KEY] = fresh
    return fresh


def check(request: Request, form: FormData) -> None:
    origin = request.headers.get("origin")
    if origin is not None and not _same_origin(origin, request):
        raise _failed("the form came from another site")
    expected = request.session.get(SESSION_KEY)
    given = form.get(FIELD) or request.headers.get(HEADER)
    if not (isinstance(expected, str) and expected and isinstance(given, str) and given):
        raise _failed("the form has expired: reload the page and try again")
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise _failed("the form has expired: reload the page and try again")


def _same_origin(origin: str, request: Request) -> bool:
    parts = urlsplit(origin)
    host = request.headers.get("host", "")
    return parts.scheme in ("http", "https") and parts.netloc == host


def _failed(message: str) -> DomainError:
    return DomainError(WebError.CSRF_FAILED, message, status=403)
