"""The dashboard application: pages, sessions, security headers, errors as pages.

`create_dashboard` makes a Starlette app that `tijarat.asgi` mounts beside the HTTP API. It
reads the shared `Container` through a function, because the API builds the container only
when the server starts.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tijarat.bootstrap import Container
from tijarat.kernel.errors import DomainError
from tijarat.settings import Settings
from tijarat.web import business, operator, orders, public, supplies
from tijarat.web.messages import ERRORS
from tijarat.web.routing import choose_language, site_of
from tijarat.web.site import STATIC_CACHE_S, Site

SESSION_COOKIE = "tijarat_session"
SESSION_MAX_AGE_S = 12 * 3_600  # a working day; then sign in again
GZIP_BYTES_MIN = 500  # slow mobile links: compress anything worth it
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
log = structlog.get_logger("tijarat.web")


class SecurityHeaders:
    """Headers every dashboard response carries (CSP, no framing, no sniffing)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuse request bodies over the limit as they stream in (413).

    The API's middleware checks Content-Length; a chunked upload has none, and a multipart
    parser spools files to disk, so without this a client could fill the disk.
    """

    def __init__(self, app: ASGIApp, limit_bytes: int) -> None:
        self.app = app
        self.limit_bytes = limit_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit_bytes:
                    raise HTTPException(413, "the request is too large")
            return message

        await self.app(scope, counted, send)


async def _static(request: Request) -> Response:
    site = site_of(request)
    found = site.static.get(request.path_params["name"])
    if found is None:
        raise HTTPException(404)
    etag = f'"{found.version}"'
    versioned = request.query_params.get("v") == found.version
    headers = {
        "etag": etag,
        "cache-control": f"public, max-age={STATIC_CACHE_S}, immutable"
        if versioned
        else "public, max-age=300",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


async def _domain_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    site = site_of(request)
    if not hasattr(request.state, "language"):
        request.state.language = choose_language(request, None)
    language = request.state.language
    known = ERRORS.get(error.code)
    message = site.translate(language, known) if known else error.message
    return site.render(
        request,
        "error.html",
        {"code": error.code, "message": message, "status": error.status},
        status=error.status,
    )


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if not _wants_html(request):
        # Not a browser (an API client that missed its route, say): answer in kind.
        code = "not_found" if error.status_code == 404 else "http_error"
        return JSONResponse(
            {"status": error.status_code, "code": code, "detail": str(error.detail)},
            status_code=error.status_code,
            media_type="application/problem+json",
        )
    request.state.language = getattr(request.state, "language", None) or choose_language(
        request, None
    )
    site = site_of(request)
    not_found = ERRORS["web_not_found"]
    message = site.translate(request.state.language, not_found)
    if error.status_code != 404:
        message = str(error.detail)
    return site.render(
        request,
        "error.html",
        {"code": f"http_{error.status_code}", "message": message, "status": error.status_code},
        status=error.status_code,
    )


def create_dashboard(container: Callable[[], Container], settings: Settings) -> Starlette:
    """The dashboard over the container `container()` answers (called per request)."""
    site = Site(container, production=settings.environment == "production")
    routes = [
        *public.pages.routes,
        *operator.pages.routes,
        *business.pages.routes,
        *orders.pages.routes,
        *supplies.pages.routes,
        Route("/static/{name}", _static, methods=["GET"], name="static"),
    ]
    assert settings.session_secret is not None  # Settings refuses to start without one
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(GZipMiddleware, minimum_size=GZIP_BYTES_MIN),
            Middleware(BodyLimit, limit_bytes=settings.request_body_max_bytes),
            Middleware(
                SessionMiddleware,
                secret_key=settings.session_secret,
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_MAX_AGE_S,
                same_site="lax",
                https_only=site.production,
            ),
        ],
        exception_handlers={DomainError: _domain_error, HTTPException: _http_error},
    )
    app.state.site = site
    return app
