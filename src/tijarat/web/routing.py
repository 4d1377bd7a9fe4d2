"""Routes with their guards built in: who may see a page, and the CSRF check on every POST.

Handlers never check sign-in, roles or CSRF themselves: `Pages.page` and `Pages.action` wrap
them, so a new page cannot forget. GET pages render; POST actions read the form (bounded),
check its CSRF token, then act, and usually redirect (POST/redirect/GET).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from tijarat.identity.users import Role, User, get_user
from tijarat.kernel.errors import DomainError
from tijarat.web import csrf
from tijarat.web.errors import WebError
from tijarat.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, language_from_accept
from tijarat.web.messages import ERRORS
from tijarat.web.site import Site, flash, path_for

LANGUAGE_COOKIE = "tijarat_language"
SESSION_USER = "user_id"
SESSION_VERSION = "session_version"
FORM_FIELDS_MAX = 100
FORM_FILES_MAX = 1
# A text field; files are bounded by the request body limit (app.BodyLimit) and the wallet.
FORM_PART_BYTES_MAX = 64 * 1024

PageHandler = Callable[[Request, User], Awaitable[Response]]
ActionHandler = Callable[[Request, User, FormData], Awaitable[Response]]
PublicPageHandler = Callable[[Request], Awaitable[Response]]
PublicActionHandler = Callable[[Request, FormData], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def site_of(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


async def current_user(request: Request) -> User | None:
    """The signed-in user, re-read on every request: a changed password ends old sessions."""
    raw = request.session.get(SESSION_USER)
    if not isinstance(raw, str):
        return None
    try:
        user_id = uuid.UUID(raw)
    except ValueError:
        return None
    user = await run_in_threadpool(get_user, site_of(request).container.engine, user_id)
    if user is None or user.session_version != request.session.get(SESSION_VERSION):
        request.session.clear()
        return None
    return user


def choose_language(request: Request, user: User | None) -> str:
    if user is not None:
        return user.locale
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    return language_from_accept(request.headers.get("accept-language")) or DEFAULT_LANGUAGE


async def _identify(request: Request) -> User | None:
    user = await current_user(request)
    request.state.user = user
    request.state.language = choose_language(request, user)
    return user


def _to_sign_in(request: Request) -> Response:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    sign_in = path_for(request, "sign_in")
    return RedirectResponse(f"{sign_in}?next={quote(target, safe='')}", status_code=303)


def _permitted(request: Request, user: User, roles: tuple[Role, ...]) -> None:
    if user.role not in roles:
        raise DomainError(WebError.FORBIDDEN, "this page is not for your role", status=403)
    if user.role is Role.BUSINESS and user.business_id is None:  # the schema forbids it
        raise DomainError(WebError.FORBIDDEN, "this user has no business", status=403)
    request.state.role = user.role


async def read_form(request: Request) -> FormData:
    form = await request.form(
        max_files=FORM_FILES_MAX, max_fields=FORM_FIELDS_MAX, max_part_size=FORM_PART_BYTES_MAX
    )
    csrf.check(request, form)
    return form


class Pages:
    def __init__(self) -> None:
        self.routes: list[BaseRoute] = []

    def _add(self, path: str, endpoint: Endpoint, method: str, name: str) -> None:
        self.routes.append(Route(path, endpoint, methods=[method], name=name))

    def page(
        self, path: str, *, name: str, roles: tuple[Role, ...]
    ) -> Callable[[PageHandler], PageHandler]:
        def register(handler: PageHandler) -> PageHandler:
            async def endpoint(request: Request) -> Response:
                user = await _identify(request)
                if user is None:
                    return _to_sign_in(request)
                _permitted(request, user, roles)
                return await handler(request, user)

            self._add(path, endpoint, "GET", name)
            return handler

        return register

    def action(
        self, path: str, *, name: str, roles: tuple[Role, ...]
    ) -> Callable[[ActionHandler], ActionHandler]:
        def register(handler: ActionHandler) -> ActionHandler:
            async def endpoint(request: Request) -> Response:
                user = await _identify(request)
                if user is None:
                    site = site_of(request)
                    flash(
                        request,
                        "error",
                        site.translate(request.state.language, "Please sign in again."),
                    )
                    return RedirectResponse(path_for(request, "sign_in"), status_code=303)
                _permitted(request, user, roles)
                form = await read_form(request)
                return await handler(request, user, form)

            self._add(path, endpoint, "POST", name)
            return handler

        return register

    def public_page(self, path: str, *, name: str) -> Callable[[PublicPageHandler], Any]:
        def register(handler: PublicPageHandler) -> PublicPageHandler:
            async def endpoint(request: Request) -> Response:
                await _identify(request)
                return await handler(request)

            self._add(path, endpoint, "GET", name)
            return handler

        return register

    def public_action(self, path: str, *, name: str) -> Callable[[PublicActionHandler], Any]:
        def register(handler: PublicActionHandler) -> PublicActionHandler:
            async def endpoint(request: Request) -> Response:
                await _identify(request)
                form = await read_form(request)
                return await handler(request, form)

            self._add(path, endpoint, "POST", name)
            return handler

        return register


def text(form: FormData, name: str, *, length_max: int = 200) -> str:
    """A text field, stripped; a missing field is empty; an overlong one is refused."""
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DomainError(
            WebError.FORM_INVALID, f"{name} must be text", status=422, fields={"field": name}
        )
    if len(value) > length_max:
        raise DomainError(
            WebError.FORM_INVALID,
            f"{name} has at most {length_max} characters",
            status=422,
            fields={"field": name},
        )
    return value.strip()


def request_id(form: FormData, name: str = "request_id") -> uuid.UUID:
    """The form's idempotency key (rendered into it): submitting twice acts once."""
    raw = text(form, name, length_max=36)
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise DomainError(
            WebError.FORM_INVALID,
            "the form is missing its request id: reload the page",
            status=422,
            fields={"field": name},
        ) from None


def error_text(request: Request, error: DomainError) -> str:
    """The refusal in the user's language when we know the code, else the context's words."""
    known = ERRORS.get(error.code)
    return site_of(request).translate(request.state.language, known) if known else error.message


def redirect(request: Request, name: str, **params: Any) -> RedirectResponse:
    return RedirectResponse(path_for(request, name, **params), status_code=303)


def download(body: bytes | str, media_type: str, file_name: str) -> Response:
    """A file to save (statements, reports, QR images); never cached: it is the user's data."""
    safe = "".join(c if c.isalnum() or c in ".-_" else "_" for c in file_name)[:150]
    return Response(
        body,
        media_type=media_type,
        headers={
            "content-disposition": f'attachment; filename="{safe}"',
            "cache-control": "no-store",
        },
    )
